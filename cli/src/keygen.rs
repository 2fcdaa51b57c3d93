//! `jwtgate keygen`: a new signing key as a private JWK, a PKCS#8 PEM and a public JWKS, for tests
//! and local development (`mint` signs with it, `jwks serve` publishes it, `verify` checks it).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use jwtgate::Algorithm;
use jwtgate::sign::SigningKey;
use serde_json::{Value, json};

use crate::keyfile;
use crate::ui::{self, BOLD, DIM, Failure, paint};

#[derive(Args, Debug)]
pub(crate) struct KeygenArgs {
    /// Signature algorithm: RS256, PS256, ES256, ES384, EdDSA or HS256 (also RS384, RS512, PS384,
    /// PS512, HS384, HS512). RSA keys are 2048 bits; HMAC secrets are random, of the hash length.
    #[arg(long, value_name = "ALG", value_parser = parse_alg)]
    alg: Algorithm,

    /// Key id (default: the key's RFC 7638 thumbprint, which anyone can recompute from the key).
    #[arg(long)]
    kid: Option<String>,

    /// Write <kid>.private.jwk.json, <kid>.private.pem and <kid>.jwks.json into DIR (created if
    /// missing; private files are readable by the owner only) instead of printing the keys.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Print one JSON document {alg, kid, private_jwk, private_pem, public_jwks}.
    #[arg(long, conflicts_with = "out")]
    json: bool,
}

pub(crate) fn parse_alg(text: &str) -> Result<Algorithm, String> {
    text.parse::<Algorithm>().map_err(|_| {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
        format!("unsupported algorithm (one of {})", names.join(", "))
    })
}

/// A generated key in every form `keygen` writes.
struct Generated {
    key: SigningKey,
    private_jwk: Value,
    private_pem: Option<String>,
    public_jwks: Option<Value>,
}

pub(crate) fn run(args: &KeygenArgs) -> ExitCode {
    ui::finish(generate(args).and_then(|generated| output(args, &generated)))
}

fn generate(args: &KeygenArgs) -> Result<Generated, Failure> {
    let failed = |e: String| {
        Failure::usage(
            format!("cannot generate the {} key: {e}", args.alg),
            "try another --alg",
        )
    };
    let key = SigningKey::generate(args.alg, args.kid.clone().unwrap_or_default())
        .map_err(|e| failed(e.to_string()))?;
    let key = match &args.kid {
        Some(_) => key,
        None => {
            keyfile::with_kid(&key, &keyfile::default_kid(&key).map_err(failed)?).map_err(failed)?
        }
    };
    let private_jwk = keyfile::private_jwk(&key).map_err(failed)?;
    let public_jwks = key
        .public_jwk()
        .map(|_| serde_json::from_str(&key.public_jwks()).map_err(|e| failed(e.to_string())))
        .transpose()?;
    Ok(Generated {
        private_pem: key.pkcs8_pem(),
        private_jwk,
        public_jwks,
        key,
    })
}

fn output(args: &KeygenArgs, g: &Generated) -> Result<ExitCode, Failure> {
    if let Some(dir) = &args.out {
        return write_files(dir, g);
    }
    if args.json {
        ui::print_json(&json!({
            "alg": g.key.algorithm().as_str(),
            "kid": g.key.kid(),
            "private_jwk": g.private_jwk,
            "private_pem": g.private_pem,
            "public_jwks": g.public_jwks,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    ui::outln!(
        "{}",
        paint(
            BOLD,
            format!("# {} key, kid {}", g.key.algorithm(), g.key.kid())
        )
    );
    ui::outln!(
        "{}",
        paint(
            DIM,
            "# private key (JWK): keep it secret; `jwtgate mint --key FILE` signs with it"
        )
    );
    ui::outln!("{}", pretty(&g.private_jwk));
    if let Some(pem) = &g.private_pem {
        ui::outln!(
            "{}",
            paint(DIM, "# private key (PKCS#8 PEM): keep it secret")
        );
        ui::write_out(format_args!("{pem}"));
    }
    match &g.public_jwks {
        Some(jwks) => {
            ui::outln!(
                "{}",
                paint(
                    DIM,
                    "# public JWKS: publish it (`jwtgate jwks serve DIR`, or your provider)"
                )
            );
            ui::outln!("{}", pretty(jwks));
        }
        None => ui::outln!(
            "{}",
            paint(
                DIM,
                "# no public JWKS: an HMAC secret is never published; verifiers are configured with the secret itself (`jwtgate verify --key FILE`)"
            )
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// A kid made safe as a file name.
fn file_stem(kid: &str) -> String {
    let stem: String = kid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("key{stem}")
    } else {
        stem
    }
}

fn write_files(dir: &Path, g: &Generated) -> Result<ExitCode, Failure> {
    let io = |path: &Path, e: std::io::Error| {
        Failure::usage(
            format!("cannot write {}: {e}", path.display()),
            "check that the directory is writable",
        )
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let stem = file_stem(g.key.kid());
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    let mut files = vec![(
        format!("{stem}.private.jwk.json"),
        pretty(&g.private_jwk),
        true,
    )];
    if let Some(pem) = &g.private_pem {
        files.push((format!("{stem}.private.pem"), pem.clone(), true));
    }
    if let Some(jwks) = &g.public_jwks {
        files.push((format!("{stem}.jwks.json"), pretty(jwks), false));
    }
    for (name, _, _) in &files {
        let path = dir.join(name);
        if path.exists() {
            return Err(Failure::usage(
                format!("{} already exists", path.display()),
                "keys are never overwritten: pass another --kid or --out directory",
            ));
        }
    }
    ui::outln!(
        "{} key, kid {}",
        g.key.algorithm(),
        paint(BOLD, g.key.kid())
    );
    for (name, content, private) in &files {
        let path = dir.join(name);
        write(&path, content, *private).map_err(|e| io(&path, e))?;
        let note = if *private {
            "private: keep it secret"
        } else {
            "public: publish it"
        };
        ui::outln!("  {}  {}", path.display(), paint(DIM, note));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a new file; private ones are created with mode 0600 on Unix, so the secret is never
/// readable by others, not even briefly.
fn write(path: &Path, content: &str, private: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)?.write_all(content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_become_safe_file_names() {
        assert_eq!(file_stem("abc-DEF_1.2"), "abc-DEF_1.2");
        assert_eq!(file_stem("../etc/passwd"), "key.._etc_passwd");
        assert_eq!(file_stem(""), "key");
    }
}

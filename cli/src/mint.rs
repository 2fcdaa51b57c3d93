//! `jwtgate mint`: signs an RFC 9068-shaped access token with a local key, for tests and local
//! development. The token alone goes to stdout, so `TOKEN=$(jwtgate mint …)` works.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use jwtgate::Algorithm;
use serde_json::{Map, Value, json};

use crate::ui::{self, Failure};
use crate::{keyfile, keygen};

#[derive(Args, Debug)]
pub(crate) struct MintArgs {
    /// The private key: a private JWK (`keygen`'s .private.jwk.json, alg and kid included) or a
    /// PKCS#8 PEM private key.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,

    /// Signature algorithm (default: the JWK's alg, else the key type; RSA defaults to RS256).
    #[arg(long, value_name = "ALG", value_parser = keygen::parse_alg)]
    alg: Option<Algorithm>,

    /// Key id in the header (default: the JWK's kid, else the key's RFC 7638 thumbprint).
    #[arg(long)]
    kid: Option<String>,

    /// The iss claim: the issuer verifiers are configured with.
    #[arg(long, value_name = "URL")]
    iss: String,

    /// The aud claim; repeat for several (one value is a string, several an array).
    #[arg(long, value_name = "AUDIENCE")]
    aud: Vec<String>,

    /// Scopes for the scope claim; repeat or separate with spaces.
    #[arg(long, value_name = "SCOPE")]
    scope: Vec<String>,

    /// Lifetime: exp = now + TTL (e.g. 30s, 10m, 1h). A negative TTL (-5m) mints a token that
    /// expired that long ago (issued 10 minutes before it expired), for testing rejections.
    #[arg(long, value_name = "TTL", default_value = "10m", value_parser = parse_ttl, allow_hyphen_values = true)]
    ttl: f64,

    /// The sub claim.
    #[arg(long, default_value = "jwtgate-dev")]
    sub: String,

    /// The client_id claim (RFC 9068).
    #[arg(long, value_name = "ID", default_value = "jwtgate-cli")]
    client_id: String,

    /// An extra or replacing claim; VALUE is JSON when it parses as JSON (numbers, true, arrays,
    /// objects), else a string; `null` removes the claim. Repeatable.
    #[arg(long = "claim", value_name = "NAME=VALUE", value_parser = parse_claim)]
    claims: Vec<(String, Value)>,

    /// The header's typ (RFC 9068 access tokens use at+jwt).
    #[arg(long, default_value = "at+jwt")]
    typ: String,

    /// Print {token, header, claims} as JSON instead of the bare token.
    #[arg(long)]
    json: bool,
}

/// A signed duration in seconds: humantime syntax with an optional leading `-`.
fn parse_ttl(text: &str) -> Result<f64, String> {
    let (sign, rest) = match text.trim().strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.trim()),
    };
    ui::parse_duration(rest).map(|d| sign * d.as_secs_f64())
}

fn parse_claim(text: &str) -> Result<(String, Value), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or("expected NAME=VALUE, e.g. tenant=acme or roles=[\"admin\"]")?;
    if name.is_empty() {
        return Err("the claim name is empty".into());
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
    Ok((name.to_string(), value))
}

pub(crate) fn run(args: &MintArgs) -> ExitCode {
    ui::finish(mint(args))
}

fn mint(args: &MintArgs) -> Result<ExitCode, Failure> {
    let key = keyfile::load_signing_key(&args.key, args.alg, args.kid.as_deref())?;
    let now = jwtgate::now_unix();
    let mut claims = Map::new();
    claims.insert("iss".into(), args.iss.clone().into());
    claims.insert("sub".into(), args.sub.clone().into());
    match args.aud.as_slice() {
        [] => {}
        [one] => {
            claims.insert("aud".into(), one.clone().into());
        }
        many => {
            claims.insert("aud".into(), json!(many));
        }
    }
    claims.insert("client_id".into(), args.client_id.clone().into());
    let scopes: Vec<&str> = args
        .scope
        .iter()
        .flat_map(|s| s.split_whitespace())
        .collect();
    if !scopes.is_empty() {
        claims.insert("scope".into(), scopes.join(" ").into());
    }
    let exp = (now as f64 + args.ttl).max(0.0).round() as u64;
    // An expired token (negative TTL) was issued ten minutes before it expired, like a real one.
    let iat = if args.ttl < 0.0 {
        exp.saturating_sub(600)
    } else {
        now
    };
    claims.insert("iat".into(), iat.into());
    claims.insert("exp".into(), exp.into());
    claims.insert("jti".into(), random_id()?.into());
    for (name, value) in &args.claims {
        if value.is_null() {
            claims.remove(name);
        } else {
            claims.insert(name.clone(), value.clone());
        }
    }
    let header = json!({ "typ": args.typ });
    let token = key
        .mint_with_header(&header, &claims)
        .map_err(|e| Failure::usage(format!("cannot sign: {e}"), "check the key and --alg"))?;
    if args.json {
        ui::print_json(&json!({
            "token": token,
            "header": { "alg": key.algorithm().as_str(), "kid": key.kid(), "typ": args.typ },
            "claims": claims,
        }));
    } else {
        ui::outln!("{token}");
    }
    Ok(ExitCode::SUCCESS)
}

/// 128 random bits, hex: a jti that does not repeat.
fn random_id() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| Failure::usage("the system random generator failed", "try again"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_parse_as_json_or_string() {
        assert_eq!(parse_claim("n=5").unwrap(), ("n".into(), json!(5)));
        assert_eq!(parse_claim("t=acme").unwrap(), ("t".into(), json!("acme")));
        assert_eq!(
            parse_claim("r=[\"a\"]").unwrap(),
            ("r".into(), json!(["a"]))
        );
        assert_eq!(parse_claim("x=null").unwrap(), ("x".into(), Value::Null));
        assert!(parse_claim("novalue").is_err());
    }

    #[test]
    fn ttl_may_be_negative() {
        assert_eq!(parse_ttl("10m"), Ok(600.0));
        assert_eq!(parse_ttl("-5m"), Ok(-300.0));
        assert!(parse_ttl("soon").is_err());
    }
}

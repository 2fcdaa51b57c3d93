//! `jwtgate jwks serve DIR`: a loopback issuer publishing the public keys found in DIR, for
//! local development against `mint`ed tokens (discovery + JWKS, no token endpoint).
//!
//! DIR is read again on every request, so `keygen --out DIR` adds a key and deleting a
//! `.jwks.json` file withdraws one, while verifiers keep running: rotation can be rehearsed
//! locally. Only `*.jwks.json` files are read, and each key goes through core's JWKS parser
//! first, so a key the verifier would skip (private members, weak RSA, unknown curve) is never
//! published; the reason is printed instead.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Args, Subcommand};
use jwtgate::KeySet;
use serde_json::{Value, json};

use crate::issuer::Issuer;
use crate::ui::{self, BOLD, DIM, Failure, WARN, paint};

#[derive(Args, Debug)]
pub(crate) struct JwksArgs {
    #[command(subcommand)]
    command: JwksCommand,
}

#[derive(Subcommand, Debug)]
enum JwksCommand {
    /// Serve DIR's public keys as an issuer on 127.0.0.1: discovery + JWKS, re-read on every
    /// request.
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Directory of *.jwks.json files (as `jwtgate keygen --out DIR` writes them).
    dir: PathBuf,

    /// Port on 127.0.0.1 (0: any free port; the issuer URL is printed).
    #[arg(long, default_value_t = 8787)]
    port: u16,

    /// Do not log requests on stderr.
    #[arg(long)]
    quiet: bool,
}

pub(crate) fn run(args: &JwksArgs) -> ExitCode {
    match &args.command {
        JwksCommand::Serve(serve) => ui::finish(run_serve(serve)),
    }
}

fn run_serve(args: &ServeArgs) -> Result<ExitCode, Failure> {
    if !args.dir.is_dir() {
        return Err(Failure::usage(
            format!("{} is not a directory", args.dir.display()),
            "create keys first: `jwtgate keygen --alg ES256 --out DIR`",
        ));
    }
    let (initial, notes) = collect(&args.dir);
    print_notes(&notes);
    let last_notes = Arc::new(Mutex::new(notes));
    let dir = args.dir.clone();
    let source = Arc::new(move || {
        let (jwks, notes) = collect(&dir);
        let mut last = last_notes.lock().unwrap_or_else(|p| p.into_inner());
        if *last != notes {
            print_notes(&notes);
            *last = notes;
        }
        jwks
    });
    let issuer = Issuer::start(args.port, source, !args.quiet)
        .map_err(|e| Failure::usage(e, "pick another --port (or 0 for any free port)"))?;
    let url = issuer.issuer();
    let kids: Vec<String> = serde_json::from_str::<Value>(&initial)
        .ok()
        .and_then(|d| d["keys"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|k| k["kid"].as_str().unwrap_or("(no kid)").to_string())
        .collect();
    ui::outln!(
        "{} {} key{} from {}{}",
        paint(BOLD, "jwtgate jwks serve:"),
        kids.len(),
        if kids.len() == 1 { "" } else { "s" },
        args.dir.display(),
        if kids.is_empty() {
            String::new()
        } else {
            format!(" ({})", kids.join(", "))
        }
    );
    ui::outln!("  issuer     {url}");
    ui::outln!("  discovery  {url}/.well-known/openid-configuration");
    ui::outln!("  jwks       {url}/jwks");
    ui::outln!(
        "{}",
        paint(
            DIM,
            format!(
                "Keys are re-read from {} on every request: add one with `jwtgate keygen --alg ES256 --out {}`, withdraw one by deleting its .jwks.json. Ctrl-C stops.",
                args.dir.display(),
                args.dir.display()
            )
        )
    );
    issuer.wait();
    Ok(ExitCode::SUCCESS)
}

/// The JWKS to publish from `dir`, and notes about what was left out and why.
fn collect(dir: &Path) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".jwks.json"))
            })
            .collect(),
        Err(e) => {
            notes.push(format!("cannot read {}: {e}", dir.display()));
            Vec::new()
        }
    };
    files.sort();
    let mut keys = Vec::new();
    let mut kids = HashSet::new();
    for path in files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                notes.push(format!("{name}: {e}"));
                continue;
            }
        };
        let doc: Value = match serde_json::from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                notes.push(format!("{name}: not JSON: {e}"));
                continue;
            }
        };
        // Core decides which keys are usable, with the verifier's own rules.
        let set = match KeySet::from_jwks_json(&text) {
            Ok(set) => set,
            Err(e) => {
                notes.push(format!("{name}: {e}"));
                continue;
            }
        };
        let skipped: HashSet<usize> = set.skipped().iter().map(|s| s.index).collect();
        for s in set.skipped() {
            notes.push(format!(
                "{name}: key {} not published: {}",
                s.kid
                    .as_deref()
                    .map_or_else(|| format!("#{}", s.index), |k| format!("{k:?}")),
                s.reason
            ));
        }
        for (index, jwk) in doc["keys"].as_array().into_iter().flatten().enumerate() {
            if skipped.contains(&index) {
                continue;
            }
            if let Some(kid) = jwk["kid"].as_str() {
                if !kids.insert(kid.to_string()) {
                    notes.push(format!(
                        "{name}: kid {kid:?} is already published by another file; skipped"
                    ));
                    continue;
                }
            }
            keys.push(jwk.clone());
        }
    }
    (json!({ "keys": keys }).to_string(), notes)
}

fn print_notes(notes: &[String]) {
    for note in notes {
        anstream::eprintln!("{} {note}", paint(WARN, "warning:"));
    }
}

//! `jwtgate verify`: one token through the exact verifier a server would build from the same
//! options; prints the claims, or the error code, message and a hint.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;
use jwtgate::{Verified, Verifier};
use serde_json::{Value, json};

use crate::server_policy::ServerPolicy;
use crate::ui::{self, BOLD, CODE, DIM, FAIL, Failure, OK, paint};

#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The token (`-` reads it from stdin; a `Bearer ` prefix is ignored).
    token: String,

    /// The accepted issuer: iss must equal it exactly. Keys are discovered from it
    /// ({issuer}/.well-known/openid-configuration) unless --jwks or --key gives them.
    #[arg(long, value_name = "URL")]
    issuer: String,

    /// Keys from a JWKS file, or a JWKS URL (fetched like a server would).
    #[arg(long, value_name = "FILE|URL")]
    jwks: Option<String>,

    /// A key file: a PEM public key, a public JWK, or an HMAC secret JWK (kty oct, from
    /// `keygen --alg HS256`). Repeatable.
    #[arg(long, value_name = "FILE")]
    key: Vec<PathBuf>,

    #[command(flatten)]
    policy: ServerPolicy,

    /// Skip the audience check, for providers that set no aud: tokens issued for any other
    /// service of this issuer are then accepted too.
    #[arg(long, conflicts_with = "audience")]
    insecure_skip_audience: bool,

    /// Verify as of this time (RFC 3339, e.g. 2025-01-31T12:00:00Z) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<SystemTime>,

    /// How long to wait for discovery and keys.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = ui::parse_duration)]
    timeout: Duration,

    /// Print the result as JSON: {valid: true, claims, …} or {valid: false, code, message, hint}.
    #[arg(long)]
    json: bool,
}

fn parse_time(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(text)
        .map_err(|e| format!("{e} (expected e.g. 2025-01-31T12:00:00Z)"))
}

pub(crate) fn run(args: &VerifyArgs) -> ExitCode {
    ui::finish(verify(args))
}

fn verify(args: &VerifyArgs) -> Result<ExitCode, Failure> {
    let token = ui::read_token(&args.token)?;
    let verifier = build(args)?;
    verifier
        .wait_ready(args.timeout)
        .map_err(|e| Failure::engine("cannot get the keys", &e))?;
    let result = match args.at {
        Some(at) => verifier.verify_at(&token, at),
        None => verifier.verify(&token),
    };
    match result {
        Ok(verified) => {
            print_valid(args, &verified);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let failure = Failure::engine("rejected", &e);
            if args.json {
                ui::print_json(&json!({
                    "valid": false,
                    "code": e.code().as_str(),
                    "message": e.message(),
                    "claim": e.claim(),
                    "hint": e.code().hint(),
                }));
            } else {
                ui::outln!(
                    "{} ({}): {}",
                    paint(FAIL, "rejected"),
                    paint(CODE, e.code()),
                    e
                );
                ui::outln!("  {} {}", paint(BOLD, "hint:"), e.code().hint());
            }
            Ok(ExitCode::from(failure.exit))
        }
    }
}

/// The verifier exactly as a server would configure it from these options.
fn build(args: &VerifyArgs) -> Result<Verifier, Failure> {
    if args.policy.audience.is_empty() && !args.insecure_skip_audience {
        return Err(Failure::usage(
            "no --audience given",
            "pass the audience your tokens carry in aud (`jwtgate inspect TOKEN` shows it), or --insecure-skip-audience for providers that set none",
        ));
    }
    let mut builder = args.policy.builder(&args.issuer, args.timeout);
    if let Some(jwks) = &args.jwks {
        builder = if jwks.starts_with("https://") || jwks.starts_with("http://") {
            builder.jwks_uri(jwks)
        } else {
            builder.jwks(&ui::read_file(std::path::Path::new(jwks), "the JWKS file")?)
        };
    }
    for path in &args.key {
        builder = crate::keyfile::add_verification_keys(builder, path)?;
    }
    builder
        .build()
        .map_err(|e| Failure::engine("invalid verifier configuration", &e))
}

fn print_valid(args: &VerifyArgs, v: &Verified) {
    let claims: Value = serde_json::from_str(v.claims_json()).unwrap_or(Value::Null);
    if args.json {
        ui::print_json(&json!({
            "valid": true,
            "alg": v.alg().map(|a| a.as_str()),
            "kid": v.kid(),
            "typ": v.typ(),
            "iss": v.iss(),
            "sub": v.sub(),
            "aud": v.aud(),
            "client_id": v.client_id(),
            "scopes": v.scopes(),
            "exp": v.exp(),
            "claims": claims,
        }));
        return;
    }
    let now = match args.at {
        Some(at) => ui::unix_seconds(at),
        None => ui::unix_now(),
    };
    let alg = v.alg().map_or("-", |a| a.as_str());
    ui::outln!(
        "{}  {alg}, kid {}, issuer {}",
        paint(OK, "valid"),
        v.kid().unwrap_or("(none)"),
        v.iss().unwrap_or("-")
    );
    let row = |name: &str, value: String| ui::outln!("  {:<10} {value}", name);
    row("sub", v.sub().unwrap_or("-").to_string());
    row("client_id", v.client_id().unwrap_or("-").to_string());
    row("aud", v.aud().join(", "));
    row("scopes", v.scopes().join(" "));
    if let Some(exp) = v.exp() {
        let exp = exp as f64;
        row(
            "expires",
            format!(
                "{}  {}",
                ui::utc(exp),
                paint(DIM, format!("({})", ui::relative(exp, now)))
            ),
        );
    }
    ui::outln!("{}", paint(BOLD, "claims"));
    ui::outln!(
        "{}",
        serde_json::to_string_pretty(&claims).unwrap_or_default()
    );
}

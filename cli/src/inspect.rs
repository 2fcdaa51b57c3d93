//! `jwtgate inspect`: decodes a token WITHOUT verifying it, for a human to read.
//!
//! Decoding is core's `diagnostics::decode_unverified` (the verifier's own splitting and
//! base64url rules), and the header rules are core's JWS layer (`jws::verify_compact`, with no
//! keys). Nothing here accepts or rejects a token: the warnings name the rules core says the
//! token breaks, then point at header members and claim values that deserve a second look, and
//! the output says loudly that no signature was checked.

use std::process::ExitCode;

use clap::Args;
use jwtgate::diagnostics::{self, UnverifiedToken};
use jwtgate::{Algorithm, ErrorCode, KeySet, jws};
use serde_json::{Value, json};

use crate::ui::{self, BOLD, DIM, FAIL, WARN, paint};

#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// The token (`-` reads it from stdin; a `Bearer ` prefix is ignored).
    token: String,

    /// Print {verified: false, header, claims, times, warnings} as JSON.
    #[arg(long)]
    json: bool,
}

/// The claims shown first, in this order; the rest follow as they appear.
const REGISTERED: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "azp",
    "client_id",
    "scope",
    "scp",
    "jti",
    "typ",
];
/// NumericDate claims, shown as UTC and relative to now.
const TIMES: [&str; 4] = ["iat", "nbf", "exp", "auth_time"];

pub(crate) fn run(args: &InspectArgs) -> ExitCode {
    let token = match ui::read_token(&args.token) {
        Ok(t) => t,
        Err(f) => return f.report(),
    };
    let decoded = match diagnostics::decode_unverified(&token) {
        Ok(d) => d,
        Err(e) => {
            let (finding, summary, fix) = undecodable(&token, &e);
            if args.json {
                ui::print_json(&json!({
                    "verified": false, "jwt": false, "finding": finding,
                    "code": e.code().as_str(), "message": e.message(), "explanation": summary, "fix": fix,
                }));
            } else {
                anstream::eprintln!("{} {summary}", paint(FAIL, "error:"));
                anstream::eprintln!("  {} {fix}", paint(BOLD, "hint:"));
            }
            return ExitCode::from(ui::exit::REJECTED);
        }
    };
    let now = ui::unix_now();
    let warnings = warnings(&token, &decoded, now);
    if args.json {
        let times: serde_json::Map<String, Value> = TIMES
            .iter()
            .filter_map(|name| {
                let v = decoded.claims.as_ref()?.get(*name)?.as_f64()?;
                Some((
                    name.to_string(),
                    json!({"utc": ui::utc(v), "relative": ui::time_phrase(name, v, now)}),
                ))
            })
            .collect();
        ui::print_json(&json!({
            "verified": false,
            "jwt": true,
            "header": decoded.header,
            "claims": decoded.claims,
            "payload_text": if decoded.claims.is_none() { Some(String::from_utf8_lossy(&decoded.payload)) } else { None },
            "signature_bytes": decoded.signature_len,
            "times": times,
            "warnings": warnings,
        }));
        return ExitCode::SUCCESS;
    }
    ui::outln!(
        "{}",
        paint(
            WARN,
            "UNVERIFIED: decoded only. Signature, issuer, audience and expiry were NOT checked (use `jwtgate verify` or `jwtgate doctor`)."
        )
    );
    ui::outln!();
    ui::outln!("{}", paint(BOLD, "header"));
    if let Some(map) = decoded.header.as_object() {
        for (name, value) in map {
            ui::outln!("  {:<10} {}", name, ui::show_json(value));
        }
    }
    ui::outln!("{}", paint(BOLD, "claims"));
    match &decoded.claims {
        Some(Value::Object(map)) => {
            let ordered = REGISTERED
                .iter()
                .chain(TIMES.iter())
                .filter_map(|n| map.get_key_value(*n))
                .chain(map.iter().filter(|(k, _)| {
                    !REGISTERED.contains(&k.as_str()) && !TIMES.contains(&k.as_str())
                }));
            for (name, value) in ordered {
                let shown = match value.as_f64() {
                    Some(t) if TIMES.contains(&name.as_str()) => {
                        format!(
                            "{}  {}",
                            ui::utc(t),
                            paint(DIM, format!("({})", ui::time_phrase(name, t, now)))
                        )
                    }
                    _ => ui::show_json(value),
                };
                ui::outln!("  {name:<10} {shown}");
            }
        }
        Some(other) => ui::outln!("  (not an object) {other}"),
        None => ui::outln!("  (not JSON) {}", String::from_utf8_lossy(&decoded.payload)),
    }
    ui::outln!("{}", paint(BOLD, "signature"));
    ui::outln!(
        "  {} bytes {}",
        decoded.signature_len,
        paint(DIM, "(not checked)")
    );
    if !warnings.is_empty() {
        ui::outln!("{}", paint(BOLD, "warnings"));
        for w in &warnings {
            ui::outln!("  {} {w}", paint(WARN, "!"));
        }
    }
    ExitCode::SUCCESS
}

/// Why a credential did not decode as a JWT: (finding, explanation, what to do). Shared with
/// `doctor`.
pub(crate) fn undecodable(token: &str, error: &jwtgate::Error) -> (&'static str, String, String) {
    let dots = token.matches('.').count();
    if dots == 0 {
        (
            "opaque",
            format!(
                "not a JWT but an opaque (reference) token of {} characters: only its provider can check it (token introspection)",
                token.len()
            ),
            "configure the provider to issue JWT access tokens for this resource: request the token with the resource/audience \
             naming this server (RFC 8707 `resource`, Auth0 `audience`), or enable JWT access tokens for the API \
             (oidc-provider: resourceIndicators with accessTokenFormat 'jwt'; Okta: a custom authorization server)"
                .to_string(),
        )
    } else if dots == 4 {
        (
            "encrypted",
            "not a signed JWT but an encrypted one (JWE, five parts)".to_string(),
            "turn off access-token encryption for this resource at the provider; jwtgate verifies signed tokens (JWS)".to_string(),
        )
    } else {
        (
            "malformed",
            format!("a malformed JWT: {}", error.message()),
            "pass the whole token, without quotes or line breaks".to_string(),
        )
    }
}

/// Whether the claims carry members only ID tokens have (OIDC Core §2, §3.1.3.6): a hint for
/// operators, never a verification decision.
pub(crate) fn looks_like_id_token(claims: Option<&Value>) -> bool {
    claims.and_then(Value::as_object).is_some_and(|c| {
        ["nonce", "at_hash", "c_hash", "auth_time"]
            .iter()
            .any(|m| c.contains_key(*m))
    })
}

/// What the verifier's own JWS layer says about the token: `jws::verify_compact` with no keys
/// applies every header rule (RFC 7515 §4.1: `alg` none or unsupported, `crit`; `b64`, `enc`,
/// `zip` and a nested `cty` refused) and the signature-shape checks before it looks for a key, so
/// any answer but `key_not_found` is a rule this token breaks. No signature is checked.
fn jws_verdict(token: &str) -> Option<jwtgate::Error> {
    jws::verify_compact(token, &KeySet::new(Vec::new()), &Algorithm::ALL)
        .err()
        .filter(|e| e.code() != ErrorCode::KeyNotFound)
}

/// Header members and claim values worth a second look: the JWS rules the token breaks (from
/// core), then advice. Descriptions only: acceptance is decided by the verifier.
pub(crate) fn warnings(raw: &str, token: &UnverifiedToken, now: f64) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = jws_verdict(raw) {
        out.push(format!(
            "jwtgate rejects this token ({}): {}",
            e.code(),
            e.message()
        ));
    }
    let header = &token.header;
    let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    let alg = text(header, "alg").and_then(|a| a.parse::<Algorithm>().ok());
    if let Some(alg) = alg.filter(|a| a.is_symmetric()) {
        out.push(format!(
            "alg {alg}: a shared secret signs and verifies, so every verifier can also mint tokens; never accept HS* where a JWKS is used"
        ));
    }
    for (member, why) in [
        (
            "jku",
            "a key URL chosen by whoever made the token: never fetch it (jwtgate ignores it)",
        ),
        (
            "x5u",
            "a certificate URL chosen by whoever made the token: never fetch it (jwtgate ignores it)",
        ),
        (
            "jwk",
            "an embedded key: trusting it lets anyone sign (jwtgate ignores it)",
        ),
        (
            "x5c",
            "an embedded certificate chain: trusting it without pinning lets anyone sign (jwtgate ignores it)",
        ),
    ] {
        if header.get(member).is_some() {
            out.push(format!("header {member}: {why}"));
        }
    }
    match text(header, "kid") {
        None => out.push("no kid: the key is chosen by algorithm alone, which fails once the JWKS has two keys for it".to_string()),
        Some(kid) if kid.contains('/') || kid.contains('\\') || kid.contains("..") => {
            out.push(format!("kid {kid:?} looks like a path: a verifier that builds file paths or queries from kid is injectable"))
        }
        Some(_) => {}
    }
    let typ = text(header, "typ");
    let claims = token.claims.as_ref().and_then(Value::as_object);
    let looks_like_id_token = looks_like_id_token(token.claims.as_ref());
    match typ.as_deref() {
        // RFC 7515 §4.1.9 (case-insensitive, "application/" optional), as core compares typ;
        // core does not expose the comparison outside a verifier that requires a typ.
        Some(t)
            if t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt") => {
        }
        other => {
            let shown = other.map_or("absent".to_string(), |t| format!("{t:?}"));
            out.push(format!(
                "typ {shown}, not at+jwt: not marked as an RFC 9068 access token"
            ));
        }
    }
    if looks_like_id_token {
        out.push("looks like an ID token (nonce / at_hash / auth_time): send the access token to APIs; ID tokens are for the client, and their lifetime is not the access token's".to_string());
    }
    let Some(claims) = claims else {
        out.push("the payload is not a JSON object".to_string());
        return out;
    };
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    for name in TIMES {
        if claims.get(name).is_some_and(|v| !v.is_number()) {
            out.push(format!(
                "{name} is not a number (NumericDate): verifiers reject it"
            ));
        }
    }
    match number("exp") {
        None if !claims.contains_key("exp") => {
            out.push("no exp: the token never expires (jwtgate requires exp)".to_string())
        }
        Some(exp) if exp <= now => out.push(ui::time_phrase("exp", exp, now)),
        _ => {}
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = number(name).filter(|t| *t > now + 1.0) {
            out.push(format!(
                "{name} is in the future ({}): clocks differ, or the token is not valid yet",
                ui::relative(t, now)
            ));
        }
    }
    if let (Some(iat), Some(exp)) = (number("iat").or(number("nbf")), number("exp")) {
        if exp - iat > 86_400.0 {
            out.push(format!(
                "long-lived: {} from issue to expiry; a leaked token stays usable that long",
                ui::compact_duration(exp - iat)
            ));
        }
    }
    if !claims.contains_key("aud") {
        out.push("no aud: any service that trusts this issuer would accept it".to_string());
    }
    if !claims.contains_key("iss") {
        out.push("no iss".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risky_headers_are_named() {
        // {"alg":"HS256","jku":"https://evil.example/k","kid":"../../dev/null"} . {"sub":"x"} . sig
        let token = "eyJhbGciOiJIUzI1NiIsImprdSI6Imh0dHBzOi8vZXZpbC5leGFtcGxlL2siLCJraWQiOiIuLi8uLi9kZXYvbnVsbCJ9.eyJzdWIiOiJ4In0.c2ln";
        let w = warnings(token, &diagnostics::decode_unverified(token).unwrap(), 0.0).join("\n");
        for needle in [
            "HS256",
            "header jku",
            "looks like a path",
            "no exp",
            "no aud",
            "not at+jwt",
        ] {
            assert!(w.contains(needle), "{needle} missing from:\n{w}");
        }
    }

    /// A compact JWS with this header, claims and an all-zero signature of `sig_len` bytes.
    fn jws(header: &str, sig_len: usize) -> String {
        let b64 = |bytes: &[u8]| base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes);
        format!(
            "{}.{}.{}",
            b64(header.as_bytes()),
            b64(br#"{"iss":"https://idp.example","aud":"api","exp":4102444800}"#),
            b64(&vec![0; sig_len])
        )
    }

    fn rule_warnings(token: &str) -> Vec<String> {
        let decoded = diagnostics::decode_unverified(token).unwrap();
        warnings(token, &decoded, 0.0)
            .into_iter()
            .filter(|w| w.starts_with("jwtgate rejects"))
            .collect()
    }

    #[test]
    fn header_rules_are_the_verifiers() {
        for (header, code) in [
            (
                r#"{"alg":"none","kid":"k","typ":"at+jwt"}"#,
                "alg_not_allowed",
            ),
            (
                r#"{"alg":"XS256","kid":"k","typ":"at+jwt"}"#,
                "alg_not_allowed",
            ),
            (r#"{"kid":"k","typ":"at+jwt"}"#, "token_malformed"),
            (
                r#"{"alg":"ES256","kid":"k","crit":["exp"]}"#,
                "header_unsupported",
            ),
            (
                r#"{"alg":"ES256","kid":"k","zip":"DEF"}"#,
                "header_unsupported",
            ),
            (
                r#"{"alg":"ES256","kid":"k","cty":"JWT"}"#,
                "header_unsupported",
            ),
        ] {
            let found = rule_warnings(&jws(header, 64));
            assert_eq!(found.len(), 1, "{header}: {found:?}");
            assert!(
                found[0].contains(&format!("({code})")),
                "{header}: {found:?}"
            );
        }
        // The signature's shape is checked too: a DER-encoded ES256 signature is the wrong size.
        let der = rule_warnings(&jws(r#"{"alg":"ES256","kid":"k"}"#, 71));
        assert!(der[0].contains("signature_invalid"), "{der:?}");
        // A token that breaks no rule gets no verdict: only a key could tell more.
        let clean = jws(
            r#"{"alg":"ES256","kid":"k","typ":"at+jwt","jku":"https://x"}"#,
            64,
        );
        assert_eq!(rule_warnings(&clean), Vec::<String>::new());
    }

    #[test]
    fn opaque_and_encrypted_tokens_are_told_apart() {
        let err = diagnostics::decode_unverified("2YotnFZFEjr1zCsicMWpAA").unwrap_err();
        assert_eq!(undecodable("2YotnFZFEjr1zCsicMWpAA", &err).0, "opaque");
        assert_eq!(undecodable("a.b.c.d.e", &err).0, "encrypted");
        assert_eq!(undecodable("a.b", &err).0, "malformed");
    }
}

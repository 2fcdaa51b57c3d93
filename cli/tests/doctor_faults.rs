//! `jwtgate doctor` against broken set-ups served by the fault server: each one must produce
//! its own finding and a non-zero exit; the healthy set-up must pass.

#[path = "../../core/tests/common/fault_server.rs"]
mod fault_server;

mod common;

use std::time::{Duration, SystemTime};

use common::{Run, check, jwtgate};
use fault_server::{AUD, Behaviour, FaultServer, discovery_doc, jwks};
use jwtgate::Algorithm;
use jwtgate::sign::SigningKey;
use serde_json::{Value, json};

/// A provider on the fault server: discovery and a JWKS with one ES256 key, kid "k1".
struct Provider {
    server: FaultServer,
    key: SigningKey,
    issuer: String,
}

impl Provider {
    fn start() -> Provider {
        let server = FaultServer::start();
        let issuer = server.base();
        let key = SigningKey::generate(Algorithm::ES256, "k1").unwrap();
        server.set(
            "/.well-known/openid-configuration",
            Behaviour::json(discovery_doc(&issuer, &server.url("/jwks"))),
        );
        server.set("/jwks", Behaviour::json(jwks(&[&key])));
        Provider {
            server,
            key,
            issuer,
        }
    }

    /// RFC 9068 claims for this issuer and `AUD`; `changes` replace members (`null` removes).
    fn claims(&self, changes: Value) -> Value {
        let now = jwtgate::now_unix();
        let mut claims = json!({
            "iss": self.issuer, "aud": AUD, "sub": "alice", "client_id": "mcp-client",
            "scope": "tools:call read", "iat": now, "exp": now + 300, "jti": "j-1",
        });
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    /// A token signed by the published key, typ at+jwt.
    fn token(&self, changes: Value) -> String {
        self.key
            .mint_with_header(&json!({"typ": "at+jwt"}), &self.claims(changes))
            .unwrap()
    }

    /// `doctor --json` with this issuer and audience, plus `extra`.
    fn doctor(&self, extra: &[&str]) -> (Run, Value) {
        self.doctor_as(&self.issuer.clone(), extra)
    }

    fn doctor_as(&self, issuer: &str, extra: &[&str]) -> (Run, Value) {
        let mut args = vec!["doctor", "--issuer", issuer, "--audience", AUD, "--json"];
        args.extend_from_slice(extra);
        let run = jwtgate(&args);
        let report = run.json();
        (run, report)
    }
}

/// Asserts that check `id` has `status` and `finding`, and returns the run's exit code.
fn expect(report: &Value, run: &Run, id: &str, status: &str, finding: Option<&str>) {
    let c = check(report, id);
    assert_eq!(c["status"], status, "{id}: {c:#}\n{}", run.describe());
    assert_eq!(
        c["finding"].as_str(),
        finding,
        "{id}: {c:#}\n{}",
        run.describe()
    );
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let p = Provider::start();
    let token = p.token(json!({}));
    let (run, report) = p.doctor(&[
        "--token",
        &token,
        "--scope",
        "tools:call",
        "--typ",
        "at+jwt",
    ]);
    run.expect_code(0);
    assert_eq!(report["ok"], true);
    for (id, status, _) in common::checks(&report) {
        assert!(
            status == "ok" || (id == "clock" && status == "skip"),
            "{id} is {status}: {report:#}"
        );
    }
    // Without a token, the provider side alone.
    p.doctor(&[]).0.expect_code(0);
}

#[test]
fn unreachable_discovery_is_named() {
    let p = Provider::start();
    // Nothing is served at this issuer's path.
    let (run, report) = p.doctor_as(&format!("{}/realms/none", p.issuer), &[]);
    run.expect_code(1);
    expect(&report, &run, "discovery", "fail", Some("unreachable"));
    // A closed port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (run, report) = p.doctor_as(&format!("http://127.0.0.1:{port}"), &[]);
    run.expect_code(1);
    expect(&report, &run, "discovery", "fail", Some("unreachable"));
}

#[test]
fn a_trailing_slash_on_the_issuer_is_called_out() {
    let p = Provider::start();
    let token = p.token(json!({}));
    let issuer = format!("{}/", p.issuer);
    let (run, report) = p.doctor_as(&issuer, &["--token", &token]);
    run.expect_code(1);
    expect(
        &report,
        &run,
        "discovery",
        "fail",
        Some("issuer_trailing_slash"),
    );
    expect(
        &report,
        &run,
        "token.iss",
        "fail",
        Some("issuer_trailing_slash"),
    );
    // The later steps still run, with the provider's spelling.
    expect(&report, &run, "jwks", "ok", None);
    let human = jwtgate(&["doctor", "--issuer", &issuer, "--audience", AUD]);
    human.expect_code(1);
    assert!(
        human.stdout.contains("trailing slash"),
        "{}",
        human.describe()
    );
}

#[test]
fn a_document_naming_another_issuer_is_called_out() {
    let p = Provider::start();
    p.server.set(
        "/.well-known/openid-configuration",
        Behaviour::json(discovery_doc(
            "https://login.other.example",
            &p.server.url("/jwks"),
        )),
    );
    let (run, report) = p.doctor(&[]);
    run.expect_code(1);
    expect(&report, &run, "discovery", "fail", Some("issuer_mismatch"));
}

#[test]
fn an_unreachable_jwks_is_named() {
    let p = Provider::start();
    p.server.set("/jwks", Behaviour::status(500, "oops"));
    let (run, report) = p.doctor(&[]);
    run.expect_code(1);
    expect(&report, &run, "jwks", "fail", Some("unreachable"));
    expect(&report, &run, "verifier", "fail", Some("keys_unavailable"));
}

#[test]
fn unusable_keys_are_named_with_their_reasons() {
    let p = Provider::start();
    let mut private = p.key.public_jwk().unwrap();
    private["kid"] = json!("leaked");
    private["d"] = json!("AAAA");
    let bad = json!({"keys": [
        {"kty": "oct", "kid": "secret", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
        private,
    ]});
    p.server.set("/jwks", Behaviour::json(bad.to_string()));
    let (run, report) = p.doctor(&[]);
    run.expect_code(1);
    expect(&report, &run, "jwks", "fail", Some("no_usable_keys"));
    let details = check(&report, "jwks")["details"].to_string();
    assert!(details.contains("private"), "{details}");

    // One good key next to a bad one: a warning, not a failure.
    let mut mixed: Value = serde_json::from_str(&jwks(&[&p.key])).unwrap();
    mixed["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "oct", "kid": "secret", "k": "c2VjcmV0"}));
    p.server.set("/jwks", Behaviour::json(mixed.to_string()));
    let (run, report) = p.doctor(&[]);
    run.expect_code(0);
    expect(&report, &run, "keys", "warn", Some("unusable_keys"));
}

#[test]
fn advertised_algorithms_are_compared_with_the_keys() {
    let p = Provider::start();
    let doc = |algs: Value| {
        json!({"issuer": p.issuer, "jwks_uri": p.server.url("/jwks"),
               "id_token_signing_alg_values_supported": algs})
        .to_string()
    };
    p.server.set(
        "/.well-known/openid-configuration",
        Behaviour::json(doc(json!(["ES256", "ES256K"]))),
    );
    let (run, report) = p.doctor(&[]);
    run.expect_code(0);
    expect(
        &report,
        &run,
        "algorithms",
        "warn",
        Some("unsupported_algorithms"),
    );
    p.server.set(
        "/.well-known/openid-configuration",
        Behaviour::json(doc(json!(["PS384"]))),
    );
    let (run, report) = p.doctor(&[]);
    run.expect_code(1);
    expect(
        &report,
        &run,
        "algorithms",
        "fail",
        Some("no_common_algorithm"),
    );
}

#[test]
fn an_opaque_token_is_recognised_and_explained() {
    let p = Provider::start();
    let (run, report) = p.doctor(&["--token", "2YotnFZFEjr1zCsicMWpAA-opaque-reference"]);
    run.expect_code(1);
    expect(&report, &run, "token.format", "fail", Some("opaque"));
    let fix = check(&report, "token.format")["fix"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fix.contains("JWT access tokens"), "{fix}");
    let human = jwtgate(&[
        "doctor",
        "--issuer",
        &p.issuer,
        "--audience",
        AUD,
        "--token",
        "2YotnFZFEjr1zCsicMWpAA",
    ]);
    human.expect_code(1);
    assert!(human.stdout.contains("opaque"), "{}", human.describe());
}

#[test]
fn issuer_and_audience_mismatches_are_shown_side_by_side() {
    let p = Provider::start();
    let token = p.token(json!({"iss": "https://evil.example"}));
    let (run, report) = p.doctor(&["--token", &token]);
    run.expect_code(1);
    expect(&report, &run, "token.iss", "fail", Some("issuer_mismatch"));
    expect(&report, &run, "verifier", "fail", Some("issuer_mismatch"));
    let details = check(&report, "token.iss")["details"].to_string();
    assert!(
        details.contains("https://evil.example") && details.contains(&p.issuer),
        "{details}"
    );

    let token = p.token(json!({"aud": "https://other.example"}));
    let (run, report) = p.doctor(&["--token", &token]);
    run.expect_code(1);
    expect(
        &report,
        &run,
        "token.aud",
        "fail",
        Some("audience_mismatch"),
    );
    let details = check(&report, "token.aud")["details"].to_string();
    assert!(
        details.contains("https://other.example") && details.contains(AUD),
        "{details}"
    );

    let token = p.token(json!({"aud": null}));
    let (run, report) = p.doctor(&["--token", &token]);
    run.expect_code(1);
    expect(&report, &run, "token.aud", "fail", Some("aud_missing"));
}

#[test]
fn token_times_are_checked_against_the_local_clock() {
    let p = Provider::start();
    let now = jwtgate::now_unix();
    let token = p.token(json!({"iat": now - 420, "exp": now - 120}));
    let (run, report) = p.doctor(&["--token", &token]);
    run.expect_code(1);
    expect(&report, &run, "token.time", "fail", Some("expired"));
    let token = p.token(json!({"nbf": now + 300, "exp": now + 600}));
    let (run, report) = p.doctor(&["--token", &token]);
    run.expect_code(1);
    expect(&report, &run, "token.time", "fail", Some("not_yet_valid"));
    // A token without exp fails the time check only.
    let token = p.token(json!({"exp": null}));
    let (run, report) = p.doctor(&["--token", &token]);
    run.expect_code(1);
    expect(&report, &run, "token.time", "fail", Some("exp_missing"));
    expect(&report, &run, "token.iss", "ok", None);
    expect(&report, &run, "token.aud", "ok", None);
}

#[test]
fn clock_skew_is_measured_from_the_providers_date_header() {
    let p = Provider::start();
    let ten_minutes_ago = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(600));
    p.server.set(
        "/.well-known/openid-configuration",
        Behaviour::json_with(
            discovery_doc(&p.issuer, &p.server.url("/jwks")),
            &[("Date", ten_minutes_ago.as_str())],
        ),
    );
    // Expired by this machine's clock, valid by the provider's.
    let now = jwtgate::now_unix();
    let token = p.token(json!({"iat": now - 700, "exp": now - 60}));
    let (run, report) = p.doctor(&["--token", &token]);
    run.expect_code(1);
    expect(&report, &run, "clock", "fail", Some("clock_skew"));
    expect(&report, &run, "token.time", "fail", Some("clock_skew"));
}

#[test]
fn a_kid_missing_from_the_jwks_and_a_bad_signature_are_told_apart() {
    let p = Provider::start();
    let other = SigningKey::generate(Algorithm::ES256, "k2").unwrap();
    let claims = p.claims(json!({}));
    let token = other
        .mint_with_header(&json!({"typ": "at+jwt"}), &claims)
        .unwrap();
    let (run, report) = p.doctor(&["--token", &token]);
    run.expect_code(1);
    expect(
        &report,
        &run,
        "token.signature",
        "fail",
        Some("kid_not_found"),
    );
    expect(&report, &run, "verifier", "fail", Some("key_not_found"));
    assert!(
        check(&report, "token.signature")["details"]
            .to_string()
            .contains("k1")
    );

    let forged = other
        .mint_with_header(&json!({"typ": "at+jwt", "kid": "k1"}), &claims)
        .unwrap();
    let (run, report) = p.doctor(&["--token", &forged]);
    run.expect_code(1);
    expect(
        &report,
        &run,
        "token.signature",
        "fail",
        Some("signature_invalid"),
    );
}

#[test]
fn typ_id_tokens_and_scopes_are_checked() {
    let p = Provider::start();
    let jwt_typ = p
        .key
        .mint_with_header(&json!({"typ": "JWT"}), &p.claims(json!({})))
        .unwrap();
    let (run, report) = p.doctor(&["--token", &jwt_typ, "--typ", "at+jwt"]);
    run.expect_code(1);
    expect(&report, &run, "token.typ", "fail", Some("typ_mismatch"));
    // Without a typ requirement it is only a warning.
    let (run, report) = p.doctor(&["--token", &jwt_typ]);
    run.expect_code(0);
    expect(&report, &run, "token.typ", "warn", Some("not_at_jwt"));

    let id_token = p
        .key
        .mint_with_header(
            &json!({"typ": "JWT"}),
            &p.claims(json!({"nonce": "n-0S6_WzA2Mj"})),
        )
        .unwrap();
    let (run, report) = p.doctor(&["--token", &id_token]);
    expect(&report, &run, "token.typ", "warn", Some("id_token"));

    let token = p.token(json!({}));
    let (run, report) = p.doctor(&["--token", &token, "--scope", "admin"]);
    run.expect_code(1);
    expect(&report, &run, "token.scope", "fail", Some("missing_scopes"));
    expect(
        &report,
        &run,
        "verifier",
        "fail",
        Some("insufficient_scope"),
    );
}

#[test]
fn verify_exits_3_when_the_keys_cannot_be_fetched() {
    let p = Provider::start();
    p.server.set("/jwks", Behaviour::status(404, "gone"));
    let token = p.token(json!({}));
    let run = jwtgate(&[
        "verify",
        &token,
        "--issuer",
        &p.issuer,
        "--audience",
        AUD,
        "--timeout",
        "2s",
    ]);
    run.expect_code(3);
    assert!(run.stderr.contains("hint:"), "{}", run.describe());
}

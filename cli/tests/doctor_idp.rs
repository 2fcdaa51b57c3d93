//! `jwtgate doctor` and `jwtgate verify` against a real identity provider (oidc-provider, see
//! tests/idp): the healthy set-up passes, a trailing slash on the issuer is called out.
//!
//! Needs Node 20+ and `npm ci --prefix tests/idp` (.ci/run does both).

#[path = "../../core/tests/common/idp.rs"]
mod idp;

mod common;

use common::{check, checks, jwtgate};

#[test]
fn doctor_and_verify_against_oidc_provider() {
    let idp = idp::start(&idp::IdpOptions::default());
    // oidc-provider's issuer has no trailing slash; its RFC 9068 tokens carry the resource as aud.
    assert!(!idp.issuer.ends_with('/'));
    let token = idp.token("ES256", Some("tools:call"));
    let audience = idp::DEFAULT_RESOURCE;

    // Healthy: every check passes, exit 0.
    let run = jwtgate(&[
        "doctor",
        "--issuer",
        &idp.issuer,
        "--audience",
        audience,
        "--token",
        &token,
        "--scope",
        "tools:call",
        "--typ",
        "at+jwt",
        "--json",
    ]);
    run.expect_code(0);
    let report = run.json();
    for (id, status, _) in checks(&report) {
        assert_eq!(status, "ok", "{id}: {report:#}");
    }
    let human = jwtgate(&[
        "doctor",
        "--issuer",
        &idp.issuer,
        "--audience",
        audience,
        "--token",
        &token,
    ]);
    human.expect_code(0);
    assert!(
        human.stdout.contains("all checks passed"),
        "{}",
        human.describe()
    );

    // A trailing slash the provider does not use: found, explained, non-zero exit.
    let slashed = format!("{}/", idp.issuer);
    let run = jwtgate(&[
        "doctor",
        "--issuer",
        &slashed,
        "--audience",
        audience,
        "--token",
        &token,
        "--json",
    ]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(
        check(&report, "discovery")["finding"],
        "issuer_trailing_slash",
        "{report:#}"
    );
    assert_eq!(
        check(&report, "token.iss")["finding"],
        "issuer_trailing_slash",
        "{report:#}"
    );
    let human = jwtgate(&["doctor", "--issuer", &slashed, "--audience", audience]);
    human.expect_code(1);
    assert!(
        human.stdout.contains("trailing slash"),
        "{}",
        human.describe()
    );

    // The audience the provider never sets.
    let run = jwtgate(&[
        "doctor",
        "--issuer",
        &idp.issuer,
        "--audience",
        "https://mcp.test",
        "--token",
        &token,
        "--json",
    ]);
    run.expect_code(1);
    assert_eq!(
        check(&run.json(), "token.aud")["finding"],
        "audience_trailing_slash"
    );

    // verify: the exact verifier, through discovery.
    let run = jwtgate(&[
        "verify",
        &token,
        "--issuer",
        &idp.issuer,
        "--audience",
        audience,
        "--scope",
        "tools:call",
        "--typ",
        "at+jwt",
        "--json",
    ]);
    run.expect_code(0);
    let result = run.json();
    assert_eq!(result["valid"], true);
    assert_eq!(result["claims"]["client_id"], "client-es256");
    let run = jwtgate(&[
        "verify",
        &token,
        "--issuer",
        &idp.issuer,
        "--audience",
        "https://elsewhere.test/",
    ]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("audience_mismatch"),
        "{}",
        run.describe()
    );
    assert!(run.stdout.contains("hint:"), "{}", run.describe());
}

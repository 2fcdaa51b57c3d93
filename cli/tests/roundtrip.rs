//! End to end with the built binary: keygen → mint → verify / inspect for every algorithm,
//! `jwks serve` as the issuer of minted tokens, and `bench`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{jwtgate, temp_dir};
use serde_json::Value;

const ISS: &str = "https://idp.roundtrip.test";
const AUD: &str = "https://mcp.roundtrip.test/";

/// `keygen --json` for `alg`: (kid, private JWK file, PEM file, public JWKS file) in `dir`.
fn keygen(dir: &Path, alg: &str) -> (String, PathBuf, Option<PathBuf>, Option<PathBuf>) {
    let run = jwtgate(&["keygen", "--alg", alg, "--json"]);
    run.expect_code(0);
    let doc = run.json();
    let kid = doc["kid"].as_str().unwrap().to_string();
    assert_eq!(doc["alg"], alg);
    assert_eq!(doc["private_jwk"]["kid"], kid.as_str());
    let jwk = dir.join(format!("{alg}.private.jwk.json"));
    std::fs::write(&jwk, doc["private_jwk"].to_string()).unwrap();
    let pem = doc["private_pem"].as_str().map(|pem| {
        let path = dir.join(format!("{alg}.private.pem"));
        std::fs::write(&path, pem).unwrap();
        path
    });
    let jwks = doc["public_jwks"].as_object().map(|jwks| {
        let path = dir.join(format!("{alg}.jwks.json"));
        std::fs::write(&path, Value::Object(jwks.clone()).to_string()).unwrap();
        path
    });
    (kid, jwk, pem, jwks)
}

fn mint(key: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "mint",
        "--key",
        key.to_str().unwrap(),
        "--iss",
        ISS,
        "--aud",
        AUD,
        "--scope",
        "tools:call read",
    ];
    args.extend_from_slice(extra);
    let run = jwtgate(&args);
    run.expect_code(0);
    run.stdout.trim().to_string()
}

fn verify(token: &str, keys: &[&str], extra: &[&str]) -> common::Run {
    let mut args = vec!["verify", token, "--issuer", ISS, "--audience", AUD];
    args.extend_from_slice(keys);
    args.extend_from_slice(extra);
    jwtgate(&args)
}

#[test]
fn keygen_mint_verify_inspect_for_every_algorithm() {
    let tmp = temp_dir("roundtrip");
    let dir = tmp.path();
    for alg in ["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"] {
        let (kid, jwk, pem, jwks) = keygen(dir, alg);
        let token = mint(&jwk, &[]);
        // The verification key: the public JWKS, or the secret itself for HMAC.
        let key_args: Vec<String> = match &jwks {
            Some(jwks) => vec!["--jwks".into(), jwks.display().to_string()],
            None => vec!["--key".into(), jwk.display().to_string()],
        };
        let key_args: Vec<&str> = key_args.iter().map(String::as_str).collect();
        let run = verify(
            &token,
            &key_args,
            &["--scope", "tools:call", "--typ", "at+jwt", "--json"],
        );
        run.expect_code(0);
        let result = run.json();
        assert_eq!(result["valid"], true, "{alg}");
        assert_eq!(result["alg"], alg);
        assert_eq!(result["kid"], kid.as_str());
        assert_eq!(result["claims"]["scope"], "tools:call read");

        // The PEM file signs too, and gets the same kid (the RFC 7638 thumbprint) by default.
        if let Some(pem) = &pem {
            let token = mint(pem, &["--alg", alg]);
            let run = verify(&token, &key_args, &["--json"]);
            run.expect_code(0);
            assert_eq!(run.json()["kid"], kid.as_str(), "{alg}");
        }

        // Rejections: exit 1, the code, a hint.
        let run = verify(&token, &key_args, &["--scope", "admin"]);
        run.expect_code(1);
        assert!(
            run.stdout.contains("insufficient_scope"),
            "{}",
            run.describe()
        );
        assert!(run.stdout.contains("hint:"), "{}", run.describe());
        let expired = mint(&jwk, &["--ttl", "-5m"]);
        let run = verify(&expired, &key_args, &["--json"]);
        run.expect_code(1);
        assert_eq!(run.json()["code"], "token_expired");

        // inspect: decoded, loudly unverified, times in UTC and relative.
        let run = jwtgate(&["inspect", &token]);
        run.expect_code(0);
        assert!(run.stdout.contains("UNVERIFIED"), "{}", run.describe());
        assert!(
            run.stdout.contains("expires in 10m") || run.stdout.contains("expires in 9m"),
            "{}",
            run.describe()
        );
        let doc = jwtgate(&["inspect", &token, "--json"]).json();
        assert_eq!(doc["verified"], false);
        assert_eq!(doc["header"]["alg"], alg);
        assert!(doc["times"]["exp"]["utc"].as_str().unwrap().ends_with('Z'));
    }
}

#[test]
fn mint_sets_rfc9068_claims_and_custom_ones() {
    let tmp = temp_dir("mint-claims");
    let (_, jwk, _, jwks) = keygen(tmp.path(), "ES256");
    let run = jwtgate(&[
        "mint",
        "--key",
        jwk.to_str().unwrap(),
        "--iss",
        ISS,
        "--aud",
        AUD,
        "--aud",
        "second",
        "--scope",
        "a",
        "--scope",
        "b",
        "--ttl",
        "90s",
        "--claim",
        "tenant=acme",
        "--claim",
        "level=3",
        "--claim",
        "client_id=null",
        "--json",
    ]);
    run.expect_code(0);
    let doc = run.json();
    let claims = &doc["claims"];
    assert_eq!(claims["aud"], serde_json::json!([AUD, "second"]));
    assert_eq!(claims["scope"], "a b");
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["level"], 3);
    assert!(claims.get("client_id").is_none());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        90
    );
    assert_eq!(doc["header"]["typ"], "at+jwt");
    let token = doc["token"].as_str().unwrap();
    verify(token, &["--jwks", jwks.unwrap().to_str().unwrap()], &[]).expect_code(0);
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let run = jwtgate(&["verify", "a.b.c", "--issuer", ISS]);
    run.expect_code(2);
    assert!(run.stderr.contains("no --audience"), "{}", run.describe());
    assert!(run.stderr.contains("hint:"), "{}", run.describe());
    let run = jwtgate(&["mint", "--key", "/nonexistent/key.json", "--iss", ISS]);
    run.expect_code(2);
    assert!(run.stderr.contains("hint:"), "{}", run.describe());
    jwtgate(&["keygen", "--alg", "none"]).expect_code(2);
}

#[test]
fn inspect_says_what_a_non_jwt_is() {
    let run = jwtgate(&["inspect", "2YotnFZFEjr1zCsicMWpAA"]);
    run.expect_code(1);
    assert!(run.stderr.contains("opaque"), "{}", run.describe());
    let doc = jwtgate(&["inspect", "2YotnFZFEjr1zCsicMWpAA", "--json"]).json();
    assert_eq!(doc["finding"], "opaque");
}

/// `jwks serve DIR` on a free port; killed on drop.
struct Served {
    child: Child,
    issuer: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwtgate"))
        .args([
            "jwks",
            "serve",
            dir.to_str().unwrap(),
            "--port",
            "0",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jwks serve starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("issuer") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let issuer = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("jwks serve prints its issuer");
    Served { child, issuer }
}

#[test]
fn jwks_serve_is_an_issuer_for_minted_tokens() {
    let tmp = temp_dir("serve");
    let dir = tmp.path();
    let run = jwtgate(&[
        "keygen",
        "--alg",
        "EdDSA",
        "--kid",
        "ed-1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    run.expect_code(0);
    // Never overwrites.
    jwtgate(&[
        "keygen",
        "--alg",
        "EdDSA",
        "--kid",
        "ed-1",
        "--out",
        dir.to_str().unwrap(),
    ])
    .expect_code(2);
    let served = serve(dir);
    let key = dir.join("ed-1.private.jwk.json");
    let token_for = |extra: &[&str]| {
        let mut args = vec![
            "mint",
            "--key",
            key.to_str().unwrap(),
            "--iss",
            &served.issuer,
            "--aud",
            AUD,
        ];
        args.extend_from_slice(extra);
        let run = jwtgate(&args);
        run.expect_code(0);
        run.stdout.trim().to_string()
    };
    let token = token_for(&[]);
    jwtgate(&[
        "verify",
        &token,
        "--issuer",
        &served.issuer,
        "--audience",
        AUD,
    ])
    .expect_code(0);
    let run = jwtgate(&[
        "doctor",
        "--issuer",
        &served.issuer,
        "--audience",
        AUD,
        "--token",
        &token,
        "--json",
    ]);
    run.expect_code(0);
    // The served discovery document has a Date header: the clock is compared.
    assert_eq!(common::check(&run.json(), "clock")["status"], "ok");

    // A key added to the directory is published at once (rotation rehearsal).
    jwtgate(&[
        "keygen",
        "--alg",
        "ES256",
        "--kid",
        "es-2",
        "--out",
        dir.to_str().unwrap(),
    ])
    .expect_code(0);
    let key2 = dir.join("es-2.private.jwk.json");
    let run = jwtgate(&[
        "mint",
        "--key",
        key2.to_str().unwrap(),
        "--iss",
        &served.issuer,
        "--aud",
        AUD,
    ]);
    let token2 = run.stdout.trim().to_string();
    jwtgate(&[
        "verify",
        &token2,
        "--issuer",
        &served.issuer,
        "--audience",
        AUD,
    ])
    .expect_code(0);
}

#[test]
fn bench_prints_the_ratio_table() {
    let run = jwtgate(&[
        "bench",
        "--seconds",
        "0.05",
        "--alg",
        "ES256",
        "--alg",
        "HS256",
    ]);
    run.expect_code(0);
    for needle in [
        "crypto floor",
        "jwtgate cold",
        "jwtgate cached",
        "floor/cached",
        "ES256",
        "HS256",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.describe());
    }
    let doc = jwtgate(&["bench", "--seconds", "0.02", "--alg", "EdDSA", "--json"]).json();
    assert_eq!(doc["failures"], 0);
    assert_eq!(doc["results"][0]["algorithm"], "EdDSA");
}

//! A user-supplied `Fetcher` (the trait users implement to bring their own HTTP client), and the
//! Cache-Control handling seen through it.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use jwtgate::{Algorithm, ErrorCode, FetchLimits, FetchResponse, Fetcher, Verifier};

/// A stored response: status, body, Cache-Control.
type Document = (u16, String, Option<String>);

/// Serves fixed documents from memory and records every URL asked for.
struct MemoryFetcher {
    documents: Mutex<HashMap<String, Document>>,
    calls: Mutex<Vec<String>>,
}

impl Fetcher for MemoryFetcher {
    fn get(&self, url: &str, limits: &FetchLimits) -> Result<FetchResponse, String> {
        assert_eq!(limits.max_body_bytes, 256 * 1024);
        self.calls.lock().unwrap().push(url.to_string());
        match self.documents.lock().unwrap().get(url) {
            Some((status, body, cache_control)) => Ok(FetchResponse {
                status: *status,
                body: body.clone().into_bytes(),
                cache_control: cache_control.clone(),
                date: None,
            }),
            None => Err("connection refused".into()),
        }
    }
}

fn fetcher(issuer: &str, jwks: &str, cache_control: Option<&str>) -> Arc<MemoryFetcher> {
    let mut documents = HashMap::new();
    documents.insert(
        format!("{issuer}/.well-known/openid-configuration"),
        (
            200,
            format!(r#"{{"issuer":"{issuer}","jwks_uri":"{issuer}/keys"}}"#),
            None,
        ),
    );
    documents.insert(
        format!("{issuer}/keys"),
        (200, jwks.to_string(), cache_control.map(str::to_owned)),
    );
    Arc::new(MemoryFetcher {
        documents: Mutex::new(documents),
        calls: Mutex::new(Vec::new()),
    })
}

#[test]
fn a_custom_fetcher_serves_discovery_and_keys() {
    let k = key(Algorithm::EdDSA, "ed");
    let f = fetcher(ISS, &k.public_jwks(), Some("public, max-age=3600"));
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .fetcher(f.clone())
        .build()
        .unwrap();
    v.wait_ready(Duration::from_secs(5)).unwrap();
    v.verify(&k.mint(&claims()).unwrap()).unwrap();
    assert_eq!(
        *f.calls.lock().unwrap(),
        [
            format!("{ISS}/.well-known/openid-configuration"),
            format!("{ISS}/keys")
        ]
    );
    let status = v.keys_status();
    assert_eq!(status.max_age, Some(Duration::from_secs(3600)));
    assert_eq!(status.kids, ["ed"]);
}

#[test]
fn cache_lifetimes_are_clamped() {
    let k = key(Algorithm::ES256, "ec");
    for (header, expected) in [
        (Some("max-age=5"), 60),
        (Some("max-age=999999"), 86_400),
        (None, 600),
        (Some("no-store"), 600),
    ] {
        let f = fetcher(ISS, &k.public_jwks(), header);
        let v = Verifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .fetcher(f)
            .build()
            .unwrap();
        v.wait_ready(Duration::from_secs(5)).unwrap();
        assert_eq!(
            v.keys_status().max_age,
            Some(Duration::from_secs(expected)),
            "{header:?}"
        );
    }
}

#[test]
fn rfc8414_metadata_is_used_when_oidc_discovery_fails() {
    let k = key(Algorithm::ES256, "ec");
    let issuer = "https://idp.example.com/tenant-7";
    let f = fetcher("https://unused.example", "{}", None);
    {
        let mut docs = f.documents.lock().unwrap();
        docs.insert(
            "https://idp.example.com/.well-known/oauth-authorization-server/tenant-7".into(),
            (
                200,
                format!(
                    r#"{{"issuer":"{issuer}","jwks_uri":"https://idp.example.com/tenant-7/jwks"}}"#
                ),
                None,
            ),
        );
        docs.insert(
            "https://idp.example.com/tenant-7/jwks".into(),
            (200, k.public_jwks(), None),
        );
    }
    let v = Verifier::builder()
        .issuer(issuer)
        .audience(AUD)
        .fetcher(f.clone())
        .build()
        .unwrap();
    v.wait_ready(Duration::from_secs(5)).unwrap();
    let calls = f.calls.lock().unwrap().clone();
    assert_eq!(
        calls[0],
        format!("{issuer}/.well-known/openid-configuration")
    );
    assert_eq!(
        calls[1],
        "https://idp.example.com/.well-known/oauth-authorization-server/tenant-7"
    );
    let token = k
        .mint(&claims_with(serde_json::json!({"iss": issuer})))
        .unwrap();
    v.verify(&token).unwrap();
}

#[test]
fn static_verifiers_report_static_status() {
    let k = key(Algorithm::ES256, "ec");
    let status = verifier(&[k]).keys_status();
    assert_eq!(status.source, "static");
    assert!(status.ready);
    assert_eq!(status.kids, ["ec"]);
    let remote = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .fetcher(fetcher(ISS, &k.public_jwks(), None))
        .build()
        .unwrap();
    remote.wait_ready(Duration::from_secs(5)).unwrap();
    assert_eq!(
        remote
            .set_keys(jwtgate::KeySet::default())
            .unwrap_err()
            .code(),
        ErrorCode::ConfigInvalid
    );
}

#[test]
fn verify_nonblocking_never_waits_for_a_fetch() {
    let k = key(Algorithm::ES256, "ec");
    let late = key(Algorithm::ES256, "late");
    let f = fetcher(ISS, &k.public_jwks(), None);
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .fetcher(f.clone())
        .refresh_cooldown(Duration::from_millis(100))
        .build()
        .unwrap();
    v.wait_ready(Duration::from_secs(5)).unwrap();
    assert!(
        v.verify_nonblocking(&k.mint(&claims()).unwrap())
            .unwrap()
            .is_ok()
    );
    // Publish a new key; a token naming it needs a fetch: no answer now, an answer later.
    f.documents.lock().unwrap().insert(
        format!("{ISS}/keys"),
        (200, jwtgate::sign::jwks(&[k, late]), None),
    );
    let token = late.mint(&claims()).unwrap();
    assert!(v.verify_nonblocking(&token).is_none());
    v.wait_ready(Duration::from_secs(5)).unwrap();
    let mut answer = None;
    for _ in 0..500 {
        answer = v.verify_nonblocking(&token);
        if answer.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    answer.expect("answered once the fetch finished").unwrap();
}

#[test]
fn a_jwks_url_that_disappears_is_discovered_again() {
    let old = key(Algorithm::ES256, "old");
    let new = key(Algorithm::ES256, "moved");
    let f = fetcher(ISS, &old.public_jwks(), None);
    let v = Verifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .fetcher(f.clone())
        .refresh_cooldown(Duration::from_millis(100))
        .build()
        .unwrap();
    v.wait_ready(Duration::from_secs(5)).unwrap();
    // The provider moves its JWKS: the old URL now answers 404, discovery names the new one.
    {
        let mut docs = f.documents.lock().unwrap();
        docs.insert(format!("{ISS}/keys"), (404, "gone".into(), None));
        docs.insert(
            format!("{ISS}/.well-known/openid-configuration"),
            (
                200,
                format!(r#"{{"issuer":"{ISS}","jwks_uri":"{ISS}/keys-v2"}}"#),
                None,
            ),
        );
        docs.insert(
            format!("{ISS}/keys-v2"),
            (200, jwtgate::sign::jwks(&[old, new]), None),
        );
    }
    let token = new.mint(&claims()).unwrap();
    // First on-demand fetch hits the 404; a later one re-runs discovery and finds the keys.
    let mut result = v.verify(&token);
    for _ in 0..50 {
        if result.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        result = v.verify(&token);
    }
    result.unwrap();
    assert_eq!(v.keys_status().source, format!("{ISS}/keys-v2"));
}

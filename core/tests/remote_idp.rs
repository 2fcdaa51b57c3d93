//! Remote keys against a real identity provider (oidc-provider on 127.0.0.1): discovery, RFC 9068
//! access tokens for every algorithm it signs with, and key rotation while threads verify.
#![cfg(feature = "http")] // these tests fetch over real HTTP with the built-in client

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::idp::{self, Idp, IdpOptions};
use jwtgate::{ErrorCode, Verifier};

const ALGS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

fn start(issuer_path: Option<&str>) -> Idp {
    idp::start(&IdpOptions {
        issuer_path: issuer_path.map(str::to_owned),
        ..IdpOptions::default()
    })
}

fn verifier(idp: &Idp) -> Verifier {
    Verifier::builder()
        .issuer(&idp.issuer)
        .audience(&idp.resource)
        .typ("at+jwt")
        .required_scopes(["tools:call"])
        .refresh_cooldown(Duration::from_millis(200))
        .build()
        .unwrap()
}

#[test]
fn discovery_finds_the_keys_and_every_algorithm_verifies() {
    let idp = start(None);
    let v = verifier(&idp);
    v.wait_ready(Duration::from_secs(10)).unwrap();
    let status = v.keys_status();
    assert!(status.ready);
    assert_eq!(status.source, format!("{}/jwks", idp.issuer));
    assert_eq!(status.key_count, 4);
    assert_eq!(status.fetches, 2, "discovery + JWKS");
    assert!(status.last_error.is_none());
    for alg in ALGS {
        let token = idp.token(alg, Some("tools:call read"));
        let verified = v.verify(&token).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.alg().unwrap().as_str(), alg);
        assert_eq!(verified.iss(), Some(idp.issuer.as_str()));
        assert_eq!(verified.aud(), std::slice::from_ref(&idp.resource));
        assert_eq!(
            verified.client_id(),
            Some(format!("client-{}", alg.to_lowercase()).as_str())
        );
        assert!(verified.has_scope("tools:call") && verified.has_scope("read"));
        assert_eq!(verified.typ(), Some("at+jwt"));
    }
    // The provider silently drops unknown scopes; the missing one is named.
    let err = v.verify(&idp.token("ES256", Some("read"))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert!(err.message().contains("tools:call"), "{err}");
    // No extra fetch happened for known kids.
    assert_eq!(v.keys_status().fetches, 2);
}

#[test]
fn issuer_with_a_path_and_the_wrong_audience() {
    let idp = start(Some("/realms/test"));
    assert!(idp.issuer.ends_with("/realms/test"));
    let v = verifier(&idp);
    v.wait_ready(Duration::from_secs(10)).unwrap();
    v.verify(&idp.token("EdDSA", Some("tools:call"))).unwrap();
    let other = Verifier::builder()
        .issuer(&idp.issuer)
        .audience("https://another-server.example/")
        .build()
        .unwrap();
    let err = other
        .verify(&idp.token("RS256", Some("tools:call")))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AudienceMismatch);
    // A trailing slash the provider does not use is a discovery error that names both strings.
    let slash = Verifier::builder()
        .issuer(format!("{}/", idp.issuer))
        .audience(&idp.resource)
        .build()
        .unwrap();
    let err = slash.wait_ready(Duration::from_secs(10)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
    assert!(
        err.message().contains(&format!("\"{}\"", idp.issuer)),
        "{err}"
    );
    assert_eq!(
        slash
            .verify(&idp.token("RS256", Some("tools:call")))
            .unwrap_err()
            .code(),
        ErrorCode::JwksUnavailable
    );
}

#[test]
fn verify_async_waits_for_the_first_fetch() {
    let idp = start(None);
    let token = idp.token("ES256", Some("tools:call"));
    let v = verifier(&idp);
    // No wait_ready: the first call arrives while the first fetch may still be under way.
    let verified = block_on(v.verify_async(&token)).unwrap();
    assert_eq!(verified.alg().unwrap().as_str(), "ES256");
}

#[test]
fn rotation_is_followed_while_threads_verify() {
    let idp = start(None);
    let v = verifier(&idp);
    v.wait_ready(Duration::from_secs(10)).unwrap();
    let old_es = idp.token("ES256", Some("tools:call"));
    let old_rs = idp.token("RS256", Some("tools:call"));
    let old_es_kid = idp.kids["ES256"].clone();
    let old_rs_kid = idp.kids["RS256"].clone();
    let jwks_path = "/jwks";
    let before = idp.request_count(jwks_path);

    let stop = AtomicBool::new(false);
    let verified = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..3 {
            let (v, stop, verified) = (&v, &stop, &verified);
            let tokens = [&old_es, &old_rs];
            s.spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    // Both old keys stay published through the rotation: never a failure.
                    v.verify(tokens[i % 2])
                        .unwrap_or_else(|e| panic!("old token failed during rotation: {e}"));
                    verified.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            });
        }
        // Rotate: a new ES256 signing key; the old ES256 and RS256 keys stay published.
        let rotated = idp.rotate(&["ES256"], &[&old_es_kid, &old_rs_kid]);
        let new_es = idp.token("ES256", Some("tools:call"));
        let started = Instant::now();
        let result = v.verify(&new_es);
        let picked_up = started.elapsed();
        let new_kid = idp::kid_map(&rotated["kids"])["ES256"].clone();
        let verified_new =
            result.unwrap_or_else(|e| panic!("new key {new_kid} not picked up: {e}"));
        assert_eq!(verified_new.kid(), Some(new_kid.as_str()));
        println!("rotation picked up in {picked_up:?} (one kid-triggered fetch)");
        while verified.load(Ordering::Relaxed) < 500 {
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(
        idp.request_count(jwks_path),
        before + 1,
        "exactly one kid-triggered fetch"
    );

    // Withdraw the old keys: their tokens keep working until the next refresh, then fail.
    let rotated = idp.rotate(&["ES256"], &[]);
    v.verify(&old_es).unwrap();
    std::thread::sleep(Duration::from_millis(250)); // past the 200 ms cooldown of this verifier
    let newest = idp.token("ES256", Some("tools:call"));
    v.verify(&newest).unwrap(); // unknown kid → refresh → the withdrawn keys are gone
    assert_eq!(
        idp::kid_map(&rotated["kids"])["ES256"],
        v.verify(&newest).unwrap().kid().unwrap()
    );
    assert_eq!(
        v.verify(&old_es).unwrap_err().code(),
        ErrorCode::KeyNotFound
    );
    assert_eq!(
        v.verify(&old_rs).unwrap_err().code(),
        ErrorCode::KeyNotFound
    );
    let status = v.keys_status();
    assert_eq!(status.key_count, 1);
    assert!(status.generation >= 3);
}

/// A minimal executor: polls the future on this thread, parking between wake-ups.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park_timeout(Duration::from_secs(1));
    }
}

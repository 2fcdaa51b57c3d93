//! Fault injection for remote keys: discovery and JWKS fetched from a programmable loopback
//! server that answers with errors, garbage, huge or endless bodies, redirects, or not at all.
//!
//! Every test runs under a watchdog (a bound on waiting, not an assertion about speed), and the
//! verifiers use a short fetch timeout, so a hang is reported as a failure instead of blocking
//! the suite.
#![cfg(feature = "http")] // these tests fetch over real HTTP with the built-in client

#[path = "common/fault_server.rs"]
mod fault_server;

use std::future::Future;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Barrier, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fault_server::*;
use jwtgate::sign::SigningKey;
use jwtgate::{
    Algorithm, Error, ErrorCode, FetchLimits, FetchResponse, Fetcher, HttpFetcher, Verified,
    Verifier, VerifierBuilder,
};
use serde_json::json;

/// Deadline of each HTTP request the verifiers under test make.
const FETCH_TIMEOUT: Duration = Duration::from_millis(400);
/// How long a test waits for keys that should arrive.
const READY: Duration = Duration::from_secs(5);
/// Longest any test may run before the watchdog calls it hung.
const WATCHDOG: Duration = Duration::from_secs(45);

const OIDC: &str = "/.well-known/openid-configuration";
const OAUTH: &str = "/.well-known/oauth-authorization-server";

// ---- helpers ----

/// Runs `test` on its own thread and fails if it has not finished within `WATCHDOG`.
fn watchdog(test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let handle = thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => handle.join().unwrap(),
        Err(RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("the test hung for more than {WATCHDOG:?}"),
    }
}

fn es256(kid: &str) -> SigningKey {
    SigningKey::generate(Algorithm::ES256, kid).unwrap()
}

/// A remote-keys builder for `issuer` and `AUD` with the test fetch timeout.
fn builder(issuer: &str) -> VerifierBuilder {
    Verifier::builder()
        .issuer(issuer)
        .audience(AUD)
        .fetch_timeout(FETCH_TIMEOUT)
}

/// The error of a verification that must fail.
fn rejection(result: Result<Verified, Error>) -> Error {
    match result {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e,
    }
}

/// A random-looking string (no `rand` dependency): splitmix64 of a seed.
fn random_kid(seed: u64) -> String {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    format!("kid-{:016x}", z ^ (z >> 31))
}

fn time_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A minimal executor: polls on this thread and parks between wake-ups.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion; panics if it is not done within `limit` (a hang guard).
/// Returns the output and the number of polls.
fn block_on<F: Future>(future: F, limit: Duration) -> (F::Output, usize) {
    try_block_on(future, limit)
        .unwrap_or_else(|| panic!("the future was not woken within {limit:?}"))
}

/// Runs `future` until it completes or `limit` passes (`None`).
fn try_block_on<F: Future>(future: F, limit: Duration) -> Option<(F::Output, usize)> {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let deadline = Instant::now() + limit;
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some((output, polls));
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::park_timeout(deadline - now);
    }
}

/// A `Fetcher` that delegates to the built-in client: lets a test hold a `Weak` to it and so
/// observe when the verifier's refresh thread has let go of it (i.e. exited).
struct TrackedFetcher(HttpFetcher);

impl Fetcher for TrackedFetcher {
    fn get(&self, url: &str, limits: &FetchLimits) -> Result<FetchResponse, String> {
        self.0.get(url, limits)
    }
}

/// A `Fetcher` that never touches the network.
struct OfflineFetcher;

impl Fetcher for OfflineFetcher {
    fn get(&self, _url: &str, _limits: &FetchLimits) -> Result<FetchResponse, String> {
        Err("offline test fetcher".into())
    }
}

// ---- 1. happy path ----

#[test]
fn discovery_happy_path() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = server.base();
        let key = es256("k1");
        server.set(
            OIDC,
            Behaviour::json(discovery_doc(&issuer, &server.url("/jwks"))),
        );
        server.set(
            "/jwks",
            Behaviour::json_with(jwks(&[&key]), &[("Cache-Control", "public, max-age=120")]),
        );
        let verifier = builder(&issuer).build().unwrap();
        verifier.wait_ready(READY).unwrap();

        let verified = verifier.verify(&token(&key, &issuer)).unwrap();
        assert_eq!(verified.sub(), Some("alice"));
        assert_eq!(verified.kid(), Some("k1"));
        assert_eq!(verified.iss(), Some(issuer.as_str()));

        let status = verifier.keys_status();
        assert!(status.ready);
        assert_eq!(status.kids, ["k1"]);
        assert_eq!(status.key_count, 1);
        assert_eq!(status.fetches, 2, "discovery + JWKS");
        assert_eq!(status.failures, 0);
        assert_eq!(status.source, server.url("/jwks"));
        assert!(status.last_error.is_none(), "{:?}", status.last_error);
        assert!(status.skipped.is_empty());
        assert_eq!(status.generation, 2, "one swap after the initial empty set");
        assert_eq!(status.max_age, Some(Duration::from_secs(120)));
        assert_eq!(server.count(OIDC), 1);
        assert_eq!(server.count(OAUTH), 0);
        assert_eq!(server.count("/jwks"), 1);
    });
}

// ---- 2. JWKS failing at start, then recovering ----

#[test]
fn jwks_500_at_start_then_recovers() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = server.base();
        let jwks_url = server.url("/jwks");
        let key = es256("k1");
        server.set(OIDC, Behaviour::json(discovery_doc(&issuer, &jwks_url)));
        server.set("/jwks", Behaviour::status(500, "upstream on fire"));
        let verifier = builder(&issuer).build().unwrap();
        let good = token(&key, &issuer);

        let err = verifier.wait_ready(READY).unwrap_err();
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        assert!(err.message().contains(&jwks_url), "{err}");
        assert!(err.message().contains("HTTP 500"), "{err}");

        let err = rejection(verifier.verify(&good));
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        assert!(err.message().contains("HTTP 500"), "{err}");
        let status = verifier.keys_status();
        assert!(!status.ready);
        assert_eq!(status.source, jwks_url);
        assert!(status.failures >= 1);

        // The provider comes back: the back-off retries (1 s, 2 s, …) pick it up. A failure
        // already in flight when the server switched can still end one wait_ready with the
        // old error, so keep waiting (bounded) until Ok.
        server.set("/jwks", Behaviour::json(jwks(&[&key])));
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut result = verifier.wait_ready(Duration::from_secs(10));
        while result.is_err() && Instant::now() < deadline {
            assert_eq!(
                result.as_ref().unwrap_err().code(),
                ErrorCode::JwksUnavailable
            );
            result = verifier.wait_ready(deadline.saturating_duration_since(Instant::now()));
        }
        result.expect("the verifier did not recover once the JWKS was good again");

        assert_eq!(verifier.verify(&good).unwrap().kid(), Some("k1"));
        let status = verifier.keys_status();
        assert!(status.ready);
        assert!(status.last_error.is_none(), "{:?}", status.last_error);
        assert_eq!(status.kids, ["k1"]);
        // Discovery is not repeated when only the JWKS fails.
        assert_eq!(server.count(OIDC), 1);
        assert!(server.count("/jwks") >= 2);
    });
}

// ---- 3. keep the last good keys through every kind of failed refresh ----
// (A JWKS that parses but holds no usable key is not a failure: it replaces the keys; see
// attacks.rs, withdrawn_keys_stop_verifying_when_the_provider_publishes_no_usable_key.)

#[test]
fn failed_refreshes_keep_the_last_good_keys() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = "https://idp.example.com";
        let key = es256("good");
        let good_jwks = jwks(&[&key]);
        let known = token(&key, issuer);
        let unknown = token_with_kid(&key, issuer, "rotated-in");
        server.set("/elsewhere", Behaviour::json(good_jwks.clone()));
        let ten_thousand_keys = format!(
            r#"{{"keys":[{}]}}"#,
            vec![r#"{"kty":"EC"}"#; 10_000].join(",")
        );
        let faults: Vec<(&str, Behaviour, &str)> = vec![
            ("HTTP 500", Behaviour::status(500, "oops"), "HTTP 500"),
            ("HTTP 404", Behaviour::status(404, "gone"), "HTTP 404"),
            (
                "invalid JSON",
                Behaviour::json(r#"{"keys": [{"kty":"#),
                "not valid JSON",
            ),
            (
                "10 MB body",
                Behaviour::HugeBody { len: 10 << 20 },
                "exceeds",
            ),
            (
                "10,000 keys",
                Behaviour::json(ten_thousand_keys),
                "at most 100",
            ),
            (
                "302 redirect",
                Behaviour::redirect(302, &server.url("/elsewhere")),
                "redirect",
            ),
            ("hang", Behaviour::Hang, "timed out"),
            (
                "slow body",
                Behaviour::SlowBody {
                    body: good_jwks.clone().into_bytes().into(),
                    delay: Duration::from_millis(50),
                },
                "timed out",
            ),
            ("closed connection", Behaviour::Close, "connection failed"),
        ];

        for (i, (name, fault, expected)) in faults.into_iter().enumerate() {
            let path = format!("/jwks/{i}");
            let url = server.url(&path);
            server.set(&path, Behaviour::json(good_jwks.clone()));
            let verifier = builder(issuer)
                .jwks_uri(&url)
                .refresh_cooldown(Duration::from_millis(100))
                .build()
                .unwrap();
            verifier
                .wait_ready(READY)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let generation = verifier.keys_status().generation;

            server.set(&path, fault);
            // The unknown kid forces a refresh, which fails; the caller waits at most the
            // fetch timeout and gets key_not_found.
            let err = rejection(verifier.verify(&unknown));
            assert_eq!(err.code(), ErrorCode::KeyNotFound, "{name}: {err}");
            assert!(err.message().contains("rotated-in"), "{name}: {err}");
            // The known key keeps working, even while the failing fetch may still be running.
            assert!(verifier.verify(&known).is_ok(), "{name}");
            assert!(
                eventually(READY, || verifier.keys_status().failures >= 1),
                "{name}: the failing refresh never finished"
            );

            let status = verifier.keys_status();
            assert!(status.ready, "{name}");
            assert_eq!(status.kids, ["good"], "{name}");
            assert_eq!(
                status.generation, generation,
                "{name}: the set was replaced"
            );
            let last = status
                .last_error
                .unwrap_or_else(|| panic!("{name}: no last_error"));
            assert_eq!(last.code(), ErrorCode::JwksUnavailable, "{name}: {last}");
            assert!(last.message().contains(&url), "{name}: {last}");
            assert!(last.message().contains(expected), "{name}: {last}");
            eprintln!("{name}: last_error = {last}");

            // Another forced refresh after the cooldown: same outcome.
            thread::sleep(Duration::from_millis(150));
            assert_eq!(
                rejection(verifier.verify(&unknown)).code(),
                ErrorCode::KeyNotFound,
                "{name}"
            );
            assert_eq!(
                verifier.verify(&known).unwrap().kid(),
                Some("good"),
                "{name}"
            );
            assert!(server.count(&path) >= 2, "{name}");
        }
        assert_eq!(server.count("/elsewhere"), 0, "a redirect was followed");
    });
}

// ---- 4. discovery: issuer mismatch, RFC 8414 fallback, policy, nothing found ----

#[test]
fn discovery_naming_another_issuer_fails() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = server.base();
        let other = format!("{issuer}/");
        let key = es256("k1");
        server.set(
            OIDC,
            Behaviour::json(discovery_doc(&other, &server.url("/jwks"))),
        );
        server.set(OAUTH, Behaviour::json(discovery_doc(&issuer, "unused")));
        server.set("/jwks", Behaviour::json(jwks(&[&key])));
        let verifier = builder(&issuer).build().unwrap();

        let err = verifier.wait_ready(READY).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed, "{err}");
        assert!(err.message().contains(&format!("\"{other}\"")), "{err}");
        assert!(err.message().contains(&format!("\"{issuer}\"")), "{err}");
        assert!(err.message().contains("trailing slash"), "{err}");

        let err = rejection(verifier.verify(&token(&key, &issuer)));
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        assert!(err.message().contains("names issuer"), "{err}");
        // A document that answers but is wrong is not second-guessed with RFC 8414, and no
        // JWKS is fetched on its word.
        assert!(server.count(OIDC) >= 1);
        assert_eq!(server.count(OAUTH), 0);
        assert_eq!(server.count("/jwks"), 0);
    });
}

#[test]
fn rfc8414_fallback_for_an_issuer_with_a_path() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = server.url("/tenant1");
        let oidc = format!("/tenant1{OIDC}");
        let oauth = format!("{OAUTH}/tenant1");
        let key = es256("t1");
        server.set(&oidc, Behaviour::status(404, "no oidc here"));
        server.set(
            &oauth,
            Behaviour::json(discovery_doc(&issuer, &server.url("/tenant1/jwks"))),
        );
        server.set("/tenant1/jwks", Behaviour::json(jwks(&[&key])));
        let verifier = builder(&issuer).build().unwrap();
        verifier.wait_ready(READY).unwrap();

        assert_eq!(
            verifier.verify(&token(&key, &issuer)).unwrap().kid(),
            Some("t1")
        );
        assert_eq!(server.count(&oidc), 1);
        assert_eq!(server.count(&oauth), 1);
        assert_eq!(server.count("/tenant1/jwks"), 1);
        assert_eq!(server.count(OIDC), 0);
        let status = verifier.keys_status();
        assert_eq!(status.fetches, 3);
        assert_eq!(status.source, server.url("/tenant1/jwks"));
    });
}

#[test]
fn discovery_with_plain_http_jwks_uri_off_loopback_fails() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = server.base();
        server.set(
            OIDC,
            Behaviour::json(discovery_doc(&issuer, "http://keys.example.com/jwks")),
        );
        let verifier = builder(&issuer).build().unwrap();
        let err = verifier.wait_ready(READY).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed, "{err}");
        assert!(err.message().contains("plain http"), "{err}");
        assert!(
            err.message().contains("http://keys.example.com/jwks"),
            "{err}"
        );
    });
}

#[test]
fn discovery_404_on_both_paths_fails_naming_both() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = server.base();
        let verifier = builder(&issuer).build().unwrap();
        let err = verifier.wait_ready(READY).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed, "{err}");
        assert!(err.message().contains(&server.url(OIDC)), "{err}");
        assert!(err.message().contains(&server.url(OAUTH)), "{err}");
        assert!(err.message().contains("HTTP 404"), "{err}");
        // wait_ready retried (with the refresh back-off) until its deadline, not just once.
        assert!(server.count(OIDC) >= 2, "{}", server.count(OIDC));
        assert_eq!(server.count(OIDC), server.count(OAUTH));
    });
}

// ---- 5. connection refused ----

/// A loopback port with (almost certainly) nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn connection_refused() {
    watchdog(|| {
        let key = es256("k1");

        // Through discovery.
        let issuer = format!("http://127.0.0.1:{}", closed_port());
        let verifier = builder(&issuer).build().unwrap();
        let err = verifier.wait_ready(READY).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed, "{err}");
        assert!(err.message().contains(&issuer), "{err}");
        assert!(err.message().to_lowercase().contains("refused"), "{err}");
        let err = rejection(verifier.verify(&token(&key, &issuer)));
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        assert!(err.message().to_lowercase().contains("refused"), "{err}");

        // A JWKS URL given directly.
        let url = format!("http://127.0.0.1:{}/jwks", closed_port());
        let verifier = builder("https://idp.example.com")
            .jwks_uri(&url)
            .build()
            .unwrap();
        let err = verifier.wait_ready(READY).unwrap_err();
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        assert!(err.message().contains(&url), "{err}");
        assert!(err.message().to_lowercase().contains("refused"), "{err}");
        let err = rejection(verifier.verify(&token(&key, "https://idp.example.com")));
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        assert!(!verifier.keys_status().ready);
    });
}

// ---- 6. unusable keys are skipped, the good one is used ----

#[test]
fn unusable_keys_are_skipped_with_reasons() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = "https://idp.example.com";
        let key = es256("good");
        let mut rsa1024_n = vec![0xff_u8; 128];
        rsa1024_n[127] = 0xfb; // odd
        let doc = json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": b64url(&[7; 32])},
            {"kty": "OKP", "crv": "Ed448", "kid": "ed448", "x": b64url(&[1; 57])},
            {"kty": "RSA", "kid": "rsa1024", "n": b64url(&rsa1024_n), "e": "AQAB"},
            {"kty": "EC", "crv": "P-521", "kid": "p521", "x": b64url(&[2; 66]), "y": b64url(&[3; 66])},
            key.public_jwk().unwrap(),
        ]});
        server.set("/jwks", Behaviour::json(doc.to_string()));
        let verifier = builder(issuer)
            .jwks_uri(server.url("/jwks"))
            .build()
            .unwrap();
        verifier.wait_ready(READY).unwrap();

        assert_eq!(
            verifier.verify(&token(&key, issuer)).unwrap().kid(),
            Some("good")
        );
        let status = verifier.keys_status();
        assert_eq!(status.kids, ["good"]);
        assert_eq!(status.key_count, 1);
        let skipped: Vec<(Option<&str>, usize, &str)> = status
            .skipped
            .iter()
            .map(|s| (s.kid.as_deref(), s.index, s.reason.as_str()))
            .collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        let expect = [
            ("hmac", 0, "oct"),
            ("ed448", 1, "Ed448"),
            ("rsa1024", 2, "1024 bits"),
            ("p521", 3, "P-521"),
        ];
        for ((kid, index, reason), found) in expect.iter().zip(&skipped) {
            assert_eq!(found.0, Some(*kid), "{skipped:?}");
            assert_eq!(found.1, *index, "{skipped:?}");
            assert!(found.2.contains(reason), "{kid}: {}", found.2);
        }

        // A token naming a skipped key finds no key.
        let err = rejection(verifier.verify(&token_with_kid(&key, issuer, "rsa1024")));
        assert_eq!(err.code(), ErrorCode::KeyNotFound, "{err}");
    });
}

// ---- 7. refetch storm ----

#[test]
fn unknown_kid_storm_fetches_at_most_once_per_cooldown() {
    watchdog(|| {
        const THREADS: usize = 4;
        const TOKENS: usize = 10_000;
        let server = FaultServer::start();
        let issuer = "https://idp.example.com";
        let key = es256("good");
        server.set("/jwks", Behaviour::json(jwks(&[&key])));
        // Default cooldown (30 s).
        let verifier = builder(issuer)
            .jwks_uri(server.url("/jwks"))
            .build()
            .unwrap();
        verifier.wait_ready(READY).unwrap();
        let before = server.count("/jwks");
        assert_eq!(before, 1);

        let seed = time_seed();
        let start = Barrier::new(THREADS);
        let key_not_found = AtomicUsize::new(0);
        thread::scope(|scope| {
            for t in 0..THREADS {
                let (verifier, key, start, key_not_found) =
                    (&verifier, &key, &start, &key_not_found);
                scope.spawn(move || {
                    let tokens: Vec<String> = (t * TOKENS / THREADS..(t + 1) * TOKENS / THREADS)
                        .map(|i| token_with_kid(key, issuer, &random_kid(seed ^ i as u64)))
                        .collect();
                    start.wait();
                    for token in &tokens {
                        match verifier.verify(token) {
                            Err(e) if e.code() == ErrorCode::KeyNotFound => {
                                key_not_found.fetch_add(1, Ordering::Relaxed);
                            }
                            other => panic!("expected key_not_found, got {other:?}"),
                        }
                    }
                });
            }
        });
        assert_eq!(key_not_found.load(Ordering::Relaxed), TOKENS);
        let extra = server.count("/jwks") - before;
        eprintln!(
            "refetch storm: {TOKENS} unknown-kid tokens from {THREADS} threads caused {extra} extra JWKS fetch(es)"
        );
        assert_eq!(
            extra, 1,
            "an unknown-kid storm must cause exactly one on-demand fetch per cooldown"
        );
        let status = verifier.keys_status();
        assert_eq!(status.fetches, 2);
        assert!(status.ready);
        assert_eq!(status.kids, ["good"]);
    });
}

// ---- 8. verify_async ----

#[test]
fn verify_async_waits_for_the_on_demand_refresh() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = "https://idp.example.com";
        let k1 = es256("k1");
        let k2 = es256("k2");
        server.set("/jwks", Behaviour::json(jwks(&[&k1])));
        let verifier = builder(issuer)
            .jwks_uri(server.url("/jwks"))
            .build()
            .unwrap();
        verifier.wait_ready(READY).unwrap();

        let (result, _) = block_on(verifier.verify_async(&token(&k1, issuer)), READY);
        assert_eq!(result.unwrap().kid(), Some("k1"));

        // The provider rotates in k2; a k2 token triggers the refresh and then verifies.
        server.set("/jwks", Behaviour::json(jwks(&[&k1, &k2])));
        let (result, polls) = block_on(verifier.verify_async(&token(&k2, issuer)), READY);
        let verified = result.expect("verify_async after the on-demand refresh");
        assert_eq!(verified.kid(), Some("k2"));
        eprintln!("verify_async: ready after {polls} poll(s)");
        assert_eq!(server.count("/jwks"), 2);
        assert_eq!(verifier.keys_status().kids, ["k1", "k2"]);

        // Within the cooldown, a kid that is still unknown fails at once.
        let k3 = es256("k3");
        let (result, _) = block_on(verifier.verify_async(&token(&k3, issuer)), READY);
        assert_eq!(rejection(result).code(), ErrorCode::KeyNotFound);
        assert_eq!(server.count("/jwks"), 2);
    });
}

#[test]
fn verify_async_before_keys_arrive_ends_with_the_fetch_error() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = "https://idp.example.com";
        let key = es256("k1");
        server.set("/jwks", Behaviour::Hang);
        let verifier = builder(issuer)
            .jwks_uri(server.url("/jwks"))
            .build()
            .unwrap();
        let (result, _) = block_on(verifier.verify_async(&token(&key, issuer)), READY);
        let err = rejection(result);
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        eprintln!("verify_async during a hanging first fetch: {err}");
    });
}

// ---- 9. https-only policy ----

#[test]
fn plain_http_needs_loopback_or_opt_in() {
    watchdog(|| {
        // As written in the brief: no issuer either, so it fails (for that reason first).
        let err = Verifier::builder()
            .jwks_uri("http://example.com/jwks")
            .build()
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{err}");

        // Fully configured: the transport policy is what rejects it.
        let configured = || {
            Verifier::builder()
                .issuer("https://idp.example.com")
                .audience(AUD)
                .jwks_uri("http://example.com/jwks")
                .fetch_timeout(FETCH_TIMEOUT)
        };
        let err = configured().build().unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{err}");
        assert!(err.message().contains("http://example.com/jwks"), "{err}");
        assert!(err.message().contains("plain http"), "{err}");
        assert!(err.message().contains("allow_insecure_http"), "{err}");

        // Discovery from a plain-http issuer off loopback: same rule.
        let err = builder("http://idp.example.com").build().unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{err}");
        assert!(err.message().contains("plain http"), "{err}");

        // With the opt-in it builds (an offline fetcher keeps the test off the network).
        let verifier = configured()
            .allow_insecure_http()
            .fetcher(Arc::new(OfflineFetcher))
            .build()
            .unwrap();
        let err = verifier.wait_ready(READY).unwrap_err();
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        assert!(err.message().contains("offline test fetcher"), "{err}");
        assert!(
            builder("http://idp.example.com")
                .allow_insecure_http()
                .fetcher(Arc::new(OfflineFetcher))
                .build()
                .is_ok()
        );
    });
}

// ---- 10. dropping the verifier stops its refresh thread ----

#[test]
fn dropped_verifier_stops_fetching() {
    watchdog(|| {
        let server = FaultServer::start();
        server.set("/jwks", Behaviour::status(500, "down"));
        let fetcher: Arc<dyn Fetcher> = Arc::new(TrackedFetcher(HttpFetcher::new(FETCH_TIMEOUT)));
        let tracked: Weak<dyn Fetcher> = Arc::downgrade(&fetcher);
        let verifier = builder("https://idp.example.com")
            .jwks_uri(server.url("/jwks"))
            .fetcher(fetcher)
            .build()
            .unwrap();
        assert_eq!(
            verifier.wait_ready(READY).unwrap_err().code(),
            ErrorCode::JwksUnavailable
        );
        // While alive, the refresh thread retries with back-off (first retry after 1 s).
        assert!(
            eventually(READY, || server.count("/jwks") >= 2),
            "no background retry"
        );

        drop(verifier);
        // The refresh thread owns a reference to the fetcher until it exits: once the Weak is
        // dead, the thread is gone (it may first finish a fetch in flight).
        assert!(
            eventually(READY, || tracked.upgrade().is_none()),
            "the refresh thread is still alive after the verifier was dropped"
        );
        let after_drop = server.count("/jwks");
        // The next back-off retry (2 s after the second failure) would have come by now.
        thread::sleep(Duration::from_millis(2500));
        assert_eq!(
            server.count("/jwks"),
            after_drop,
            "requests after the verifier was dropped"
        );
    });
}

// ---- limits at their boundaries ----

/// `doc` padded with trailing spaces to exactly `len` bytes.
fn padded(doc: &str, len: usize) -> String {
    assert!(doc.len() <= len);
    format!("{doc}{}", " ".repeat(len - doc.len()))
}

#[test]
fn limits_hold_exactly_at_their_boundaries() {
    watchdog(|| {
        let server = FaultServer::start();
        let issuer = "https://idp.example.com";
        let key = es256("good");
        let good = key.public_jwk().unwrap();
        let with_junk = |junk: usize| {
            let mut keys = vec![json!({"kty": "EC"}); junk];
            keys.push(good.clone());
            json!({ "keys": keys }).to_string()
        };
        let good_jwks = jwks(&[&key]);
        let cases = [
            ("100 keys", with_junk(99), None),
            ("101 keys", with_junk(100), Some("at most 100")),
            ("256 KiB body", padded(&good_jwks, 256 * 1024), None),
            (
                "256 KiB + 1 body",
                padded(&good_jwks, 256 * 1024 + 1),
                Some("exceeds"),
            ),
        ];
        let mut problems = Vec::new();
        for (i, (name, body, failure)) in cases.into_iter().enumerate() {
            let path = format!("/jwks/{i}");
            server.set(&path, Behaviour::json(body));
            let verifier = builder(issuer).jwks_uri(server.url(&path)).build().unwrap();
            let outcome = match (verifier.wait_ready(READY), failure) {
                (Ok(()), None) => match verifier.verify(&token(&key, issuer)) {
                    Ok(v) if v.kid() == Some("good") => None,
                    other => Some(format!("{name}: loaded, but the token gave {other:?}")),
                },
                (Err(e), Some(expected))
                    if e.code() == ErrorCode::JwksUnavailable && e.message().contains(expected) =>
                {
                    None
                }
                (result, expected) => Some(format!(
                    "{name}: got {result:?}, expected {}",
                    expected.map_or("success".to_string(), |e| format!("a failure with {e:?}"))
                )),
            };
            problems.extend(outcome);
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    });
}

// ---- a panicking Fetcher ----

/// Serves a fixed JWKS on the first call and panics on every later one.
struct PanickyFetcher {
    jwks: String,
    calls: AtomicUsize,
}

impl Fetcher for PanickyFetcher {
    fn get(&self, _url: &str, _limits: &FetchLimits) -> Result<FetchResponse, String> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Ok(FetchResponse {
                status: 200,
                body: self.jwks.clone().into_bytes(),
                cache_control: None,
                date: None,
            })
        } else {
            panic!("injected fetcher panic");
        }
    }
}

#[test]
fn a_panicking_fetcher_does_not_wedge_the_verifier() {
    watchdog(|| {
        let issuer = "https://idp.example.com";
        let key = es256("good");
        let fetcher = Arc::new(PanickyFetcher {
            jwks: jwks(&[&key]),
            calls: AtomicUsize::new(0),
        });
        let verifier = builder(issuer)
            .jwks_uri("https://idp.example.com/jwks")
            .fetcher(fetcher.clone())
            .refresh_cooldown(Duration::from_millis(100))
            .build()
            .unwrap();
        verifier.wait_ready(READY).unwrap();
        let unknown = token_with_kid(&key, issuer, "new-kid");

        // The forced refresh panics inside the fetcher.
        let err = rejection(verifier.verify(&unknown));
        assert_eq!(err.code(), ErrorCode::KeyNotFound, "{err}");
        assert!(eventually(READY, || fetcher.calls.load(Ordering::SeqCst) >= 2));
        assert!(verifier.verify(&token(&key, issuer)).is_ok());

        // An async caller needing a refresh must still be answered (not left pending
        // forever), and refreshes must keep happening (the panic counts as a failed fetch).
        thread::sleep(Duration::from_millis(150));
        let limit = Duration::from_secs(3);
        let async_result = try_block_on(verifier.verify_async(&unknown), limit);
        let async_done = async_result.is_some();
        let refetched = eventually(limit, || fetcher.calls.load(Ordering::SeqCst) >= 3);
        assert!(
            async_done && refetched,
            "after the fetcher panicked: verify_async completed within {limit:?} = {async_done}; \
             fetcher called again = {refetched} (calls = {}); keys_status = {:?}",
            fetcher.calls.load(Ordering::SeqCst),
            verifier.keys_status()
        );
        let (result, _) = async_result.unwrap();
        assert_eq!(rejection(result).code(), ErrorCode::KeyNotFound);
    });
}

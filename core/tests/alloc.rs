//! Allocation counts on the verification paths, with a counting global allocator: a cache hit
//! allocates nothing (ARCHITECTURE.md §6: the hot path of an MCP session, which re-sends its token with
//! every request), and a full verification allocates a small, fixed number of times.
//!
//! The counter is per thread, so the test harness's other threads do not disturb it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, AuthRequest, Verifier};
use serde_json::json;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// The one `unsafe` in the tests: a global allocator can only be written as an `unsafe impl`
// (the library itself forbids unsafe code). It forwards every call to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is passed through unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const ISSUER: &str = "https://idp.example.com";
const AUDIENCE: &str = "https://mcp.example.com";

fn fixture(alg: Algorithm, cache: usize) -> (Verifier, String) {
    let key = SigningKey::generate(alg, "k1").expect("key");
    let builder = Verifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .required_scopes(["tools:call"])
        .cache_size(cache);
    let verifier = match key.secret() {
        Some(secret) => builder.hmac_secret(alg, secret),
        None => builder.jwks(&key.public_jwks()),
    }
    .build()
    .expect("verifier");
    let token = key
        .mint_with_header(
            &json!({"typ": "at+jwt"}),
            &json!({
                "iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "client_id": "inspector",
                "scope": "tools:call resources:read", "jti": "j-1",
                "iat": jwtgate::now_unix(), "exp": jwtgate::now_unix() + 600,
            }),
        )
        .expect("token");
    (verifier, token)
}

#[test]
fn cache_hits_allocate_nothing() {
    for alg in [Algorithm::ES256, Algorithm::HS256, Algorithm::EdDSA] {
        let (verifier, token) = fixture(alg, 1024);
        // The first call verifies and fills the cache (and the thread's stripe).
        let first = verifier.verify(&token).expect("valid");
        let header = format!("Bearer {token}");
        let request = AuthRequest::new("GET", "https://mcp.example.com/mcp", Some(&header), &[]);
        verifier.verify_request(&request).expect("valid");
        let hits = verifier.stats().cache_hits;
        let before = allocations();
        for _ in 0..1_000 {
            let hit = verifier.verify(&token).expect("valid");
            assert_eq!(hit.token_id(), first.token_id());
            verifier.verify_request(&request).expect("valid");
        }
        let during = allocations() - before;
        assert_eq!(
            during, 0,
            "{alg}: 2,000 cache hits allocated {during} times"
        );
        assert_eq!(verifier.stats().cache_hits - hits, 2_000, "{alg}");
    }
}

#[test]
fn a_full_verification_allocates_a_few_times() {
    let (verifier, token) = fixture(Algorithm::ES256, 0);
    verifier.verify(&token).expect("valid");
    let before = allocations();
    let verified = verifier.verify(&token).expect("valid");
    let during = allocations() - before;
    // The decoded claims (which become the result's one buffer), the result, and little else: a
    // bound, not a timing. It was about twenty before the claims were kept in one buffer, and
    // eleven before `aud` and the scopes became spans of it (ARCHITECTURE.md §2, step 17).
    assert!(during <= 6, "a cold verification allocated {during} times");
    assert_eq!(verified.sub(), Some("alice"));
    // The lists are made on first use, once.
    assert_eq!(verified.scopes(), ["tools:call", "resources:read"]);
    assert_eq!(verified.aud(), [AUDIENCE]);
    let before = allocations();
    assert_eq!(verified.scopes().len() + verified.aud().len(), 3);
    assert_eq!(allocations() - before, 0, "the lists are made once");
}

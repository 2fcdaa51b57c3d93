//! Properties over random inputs (proptest): round trips for every algorithm, single-bit
//! changes always rejected, the cache never changing an answer, and allocation bounded by the
//! token size, and no panic from any public entry point however the verifier is configured.

mod common;
#[path = "common/config_ops.rs"]
mod config_ops;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use jwtgate::{Algorithm, Verifier};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Counts the bytes this thread allocates while `COUNTING` is set.
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: delegates every call to the system allocator unchanged; the counters are thread-local
// `Cell`s that never allocate, so counting cannot recurse into the allocator.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATED.with(|a| a.set(a.get() + layout.size()));
        }
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATED.with(|a| a.set(a.get() + new_size));
        }
        // SAFETY: `ptr`/`layout` came from this allocator, which is `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocated_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCATED.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (out, ALLOCATED.with(Cell::get))
}

const ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::PS384,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::HS512,
];

fn verifier_for(alg: Algorithm, cache: usize) -> Verifier {
    let k = key(alg, "p");
    let b = match k.secret() {
        Some(secret) => Verifier::builder()
            .issuer(ISS)
            .audience(AUD)
            .hmac_secret(alg, secret),
        None => builder(&[k]),
    };
    b.cache_size(cache).build().unwrap()
}

/// Random but valid claims: our registered claims plus arbitrary extra members.
fn arb_claims() -> impl Strategy<Value = Value> {
    (
        "[a-zA-Z0-9 _.@-]{0,40}",
        proptest::collection::vec("[a-z:]{1,12}", 0..6),
        proptest::collection::btree_map("x_[a-z]{1,8}", any::<i64>().prop_map(Value::from), 0..6),
        proptest::option::of("[ -~]{0,30}"),
    )
        .prop_map(|(sub, scopes, extra, tenant)| {
            let mut c = claims_with(json!({"sub": sub, "scope": scopes.join(" ")}));
            for (k, v) in extra {
                c[k] = v;
            }
            if let Some(t) = tenant {
                c["tenant"] = json!(t);
            }
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips(claims in arb_claims(), alg_index in 0..ALGS.len()) {
        let alg = ALGS[alg_index];
        let token = key(alg, "p").mint(&claims).unwrap();
        let v = verifier_for(alg, 0).verify(&token).unwrap();
        prop_assert_eq!(v.sub(), claims["sub"].as_str());
        let scopes: Vec<&str> = claims["scope"].as_str().unwrap().split(' ').filter(|s| !s.is_empty()).collect();
        prop_assert_eq!(v.scopes().iter().map(String::as_str).collect::<Vec<_>>(), scopes);
        let raw: Value = serde_json::from_str(v.claims_json()).unwrap();
        prop_assert_eq!(raw, claims);
    }

    #[test]
    fn any_single_bit_change_is_rejected(bit in any::<usize>(), alg_index in 0..ALGS.len()) {
        let alg = ALGS[alg_index];
        let token = key(alg, "p").mint(&claims()).unwrap();
        let mut bytes = token.clone().into_bytes();
        let i = bit / 8 % bytes.len();
        bytes[i] ^= 1 << (bit % 8);
        // A flipped bit may leave the string invalid UTF-8: then it is not a token at all.
        if let Ok(changed) = String::from_utf8(bytes) {
            prop_assert!(verifier_for(alg, 1024).verify(&changed).is_err(), "accepted a changed token: {}", changed);
        }
    }

    #[test]
    fn the_cache_never_changes_the_answer(
        claims in arb_claims(),
        exp_offset in -100i64..100,
        scope_required in any::<bool>(),
        tamper in any::<bool>(),
    ) {
        let alg = Algorithm::ES256;
        let mut claims = claims;
        claims["exp"] = json!(jwtgate::now_unix() as i64 + exp_offset);
        let mut token = key(alg, "p").mint(&claims).unwrap();
        if tamper {
            token = with_segment(&token, 1, &b64(br#"{"sub":"x"}"#));
        }
        let build = |cache| {
            let b = builder(&[key(alg, "p")]).cache_size(cache);
            if scope_required { b.required_scopes(["admin"]) } else { b }.build().unwrap()
        };
        let (cached, uncached) = (build(64), build(0));
        for _ in 0..3 {
            let a = cached.verify(&token).map(|v| v.sub().map(str::to_owned)).map_err(|e| e.code());
            let b = uncached.verify(&token).map(|v| v.sub().map(str::to_owned)).map_err(|e| e.code());
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn allocation_is_bounded_by_the_token_size(pad in 0usize..8_000, alg_index in 0..ALGS.len()) {
        let alg = ALGS[alg_index];
        let token = key(alg, "p").mint(&claims_with(json!({"pad": "x".repeat(pad)}))).unwrap();
        let v = verifier_for(alg, 0);
        v.verify(&token).unwrap(); // first use parses the key for this algorithm
        let (result, bytes) = allocated_during(|| v.verify(&token));
        result.unwrap();
        // The decoded payload, the owned claims text and the result: a few copies of the
        // payload plus a constant.
        prop_assert!(bytes <= 4 * token.len() + 4096, "{} bytes allocated for a {}-byte token", bytes, token.len());
        // A rejected token allocates no more than an accepted one.
        let bad = with_segment(&token, 2, &b64(&[0u8; 64]));
        let (_, rejected) = allocated_during(|| v.verify(&bad));
        prop_assert!(rejected <= 4 * token.len() + 4096);
    }
}

/// A string that is often shaped like what the option expects (URLs, JWKS, PEM), else arbitrary.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        Just("https://fuzz.example".to_string()),
        Just("http://127.0.0.1:9/jwks".to_string()),
        Just("https://evil\\.example/".to_string()),
        Just(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}"#.to_string()),
        Just("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n".to_string()),
        Just("applicationé/at+jwt".to_string()),
        "[a-z,]{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_configuration_and_no_token_makes_a_public_entry_point_panic(
        ops in prop::collection::vec((any::<u8>(), any::<u64>(), hostile_text()), 0..10),
        tokens in prop::collection::vec(".{0,60}", 0..4),
    ) {
        config_ops::check(&ops, &tokens, key(Algorithm::ES256, "p"));
    }
}

//! Key-set swaps under concurrent verification: no failure for tokens whose key is in both the old
//! and the new set, no panic, and the swap is seen.

mod common;

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use jwtgate::{Algorithm, ErrorCode, KeySet};

#[test]
fn verification_never_fails_for_keys_present_across_swaps() {
    let stable = key(Algorithm::ES256, "stable");
    let rsa = key(Algorithm::RS256, "stable-rsa");
    let rotating_a = key(Algorithm::ES256, "rot-a");
    let rotating_b = key(Algorithm::EdDSA, "rot-b");
    let set_a = jwtgate::sign::jwks(&[stable, rsa, rotating_a]);
    let set_b = jwtgate::sign::jwks(&[stable, rsa, rotating_b]);
    let verifier = builder(&[stable, rsa, rotating_a]).build().unwrap();

    let stable_tokens: Vec<String> = (0..32)
        .map(|i| {
            let k = if i % 2 == 0 { stable } else { rsa };
            k.mint(&claims_with(serde_json::json!({"jti": format!("s{i}")})))
                .unwrap()
        })
        .collect();
    let rot_a_token = rotating_a.mint(&claims()).unwrap();
    let rot_b_token = rotating_b.mint(&claims()).unwrap();

    let threads = 4;
    let done = AtomicBool::new(false);
    let verified = AtomicUsize::new(0);
    let rotating_ok = AtomicUsize::new(0);
    let rotating_missing = AtomicUsize::new(0);
    let start = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (verifier, stable_tokens, done, verified) =
                (&verifier, &stable_tokens, &done, &verified);
            let (rot_a_token, rot_b_token, rotating_ok, rotating_missing) =
                (&rot_a_token, &rot_b_token, &rotating_ok, &rotating_missing);
            let start = &start;
            scope.spawn(move || {
                start.wait();
                let mut i = t;
                while !done.load(Ordering::Relaxed) {
                    let token = &stable_tokens[i % stable_tokens.len()];
                    let v = verifier
                        .verify(token)
                        .unwrap_or_else(|e| panic!("stable token failed: {e}"));
                    assert_eq!(v.sub(), Some("alice"));
                    verified.fetch_add(1, Ordering::Relaxed);
                    // Tokens of rotating keys pass or fail with key_not_found, nothing else.
                    let rotating = if i % 2 == 0 { rot_a_token } else { rot_b_token };
                    match verifier.verify(rotating) {
                        Ok(_) => rotating_ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            assert_eq!(e.code(), ErrorCode::KeyNotFound, "{e}");
                            rotating_missing.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    i += 1;
                }
            });
        }
        start.wait();
        let mut last_generation = verifier.key_set().unwrap().generation();
        for swap in 0..400 {
            let jwks = if swap % 2 == 0 { &set_b } else { &set_a };
            let generation = verifier
                .set_keys(KeySet::from_jwks_json(jwks).unwrap())
                .unwrap();
            assert!(generation > last_generation);
            last_generation = generation;
            std::thread::yield_now();
        }
        // Let the workers run a little against the final set before stopping them.
        while verified.load(Ordering::Relaxed) < 2_000 {
            std::thread::yield_now();
        }
        done.store(true, Ordering::Relaxed);
    });
    assert!(verified.load(Ordering::Relaxed) >= 2_000);
    // The last swap (index 399) stored set A: its rotating key verifies, B's does not.
    verifier.verify(&rot_a_token).unwrap();
    assert_eq!(
        verifier.verify(&rot_b_token).unwrap_err().code(),
        ErrorCode::KeyNotFound
    );
    assert!(rotating_ok.load(Ordering::Relaxed) > 0);
    assert!(rotating_missing.load(Ordering::Relaxed) > 0);
}

#[test]
fn set_keys_refuses_mixing_secrets_with_public_keys() {
    let ec = key(Algorithm::ES256, "ec");
    let verifier = verifier(&[ec]);
    let mixed = KeySet::new(vec![
        jwtgate::Key::from_jwk_json(&ec.public_jwk().unwrap().to_string()).unwrap(),
        jwtgate::Key::hmac_secret(Algorithm::HS256, [3u8; 32]).unwrap(),
    ]);
    assert_eq!(
        verifier.set_keys(mixed).unwrap_err().code(),
        ErrorCode::ConfigInvalid
    );
    // The verifier still works with its old set.
    verifier.verify(&ec.mint(&claims()).unwrap()).unwrap();
}

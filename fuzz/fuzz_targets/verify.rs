//! The full verifier on structure-aware inputs: the fuzzer writes the header and the payload
//! JSON, and chooses the signature — a valid one made in-process with the trusted key (so inputs
//! get past the signature to the claims checks), a mutated one, or raw bytes. The verifier must
//! never panic, must agree with and without its cache, and may accept only validly signed tokens.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use jwtgate::sign::{SigningKey, jwks};
use jwtgate::{Algorithm, Verifier};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Signature<'a> {
    Valid,
    FlipBit(u16),
    Truncate(u8),
    Raw(&'a [u8]),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    key: u8,
    header: &'a str,
    payload: &'a str,
    signature: Signature<'a>,
}

struct Fixture {
    keys: Vec<SigningKey>,
    asymmetric: Verifier,
    asymmetric_uncached: Verifier,
    hmac: Verifier,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let es = SigningKey::generate(Algorithm::ES256, "es").expect("keygen");
        let ed = SigningKey::generate(Algorithm::EdDSA, "ed").expect("keygen");
        let hs = SigningKey::hmac(Algorithm::HS256, "hs", &[7u8; 32]).expect("hmac");
        let builder = || {
            Verifier::builder()
                .issuer("https://fuzz.example")
                .audience("fuzz")
                .required_scopes(["read"])
                .jwks(&jwks(&[&es, &ed]))
        };
        Fixture {
            asymmetric: builder().build().expect("verifier"),
            asymmetric_uncached: builder().cache_size(0).build().expect("verifier"),
            hmac: Verifier::builder()
                .issuer("https://fuzz.example")
                .audience("fuzz")
                .hmac_secret(Algorithm::HS256, [7u8; 32])
                .build()
                .expect("verifier"),
            keys: vec![es, ed, hs],
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    s
}

fuzz_target!(|input: Input<'_>| {
    let f = fixture();
    let key = &f.keys[input.key as usize % f.keys.len()];
    let signing_input = format!("{}.{}", b64(input.header.as_bytes()), b64(input.payload.as_bytes()));
    let valid = key.sign_bytes(signing_input.as_bytes()).expect("sign");
    let (signature, genuine) = match input.signature {
        Signature::Valid => (valid, true),
        Signature::FlipBit(bit) => {
            let mut s = valid;
            let i = bit as usize / 8 % s.len();
            s[i] ^= 1 << (bit % 8);
            (s, false)
        }
        Signature::Truncate(n) => {
            let keep = n as usize % valid.len();
            (valid[..keep].to_vec(), false)
        }
        Signature::Raw(raw) => (raw.to_vec(), raw == valid.as_slice()),
    };
    let token = format!("{signing_input}.{}", b64(&signature));
    if key.algorithm() == Algorithm::HS256 {
        let result = f.hmac.verify(&token);
        assert!(genuine || result.is_err(), "accepted a forged HMAC token");
    } else {
        let first = f.asymmetric.verify(&token).map(|v| v.sub().map(str::to_owned)).map_err(|e| e.code());
        let again = f.asymmetric.verify(&token).map(|v| v.sub().map(str::to_owned)).map_err(|e| e.code());
        let uncached = f.asymmetric_uncached.verify(&token).map(|v| v.sub().map(str::to_owned)).map_err(|e| e.code());
        assert_eq!(first, again, "cache changed the answer");
        assert_eq!(first, uncached, "cache changed the answer");
        assert!(genuine || first.is_err(), "accepted a forged token");
    }
});

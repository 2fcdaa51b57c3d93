//! DPoP proofs (RFC 9449) on structure-aware inputs: the fuzzer writes the proof's header and
//! payload JSON, the Authorization value, the method and the URL, and chooses the signature — a
//! valid one by the key the token is bound to, a mutated one, or raw bytes. The verifier must
//! never panic, may accept only proofs genuinely signed by the bound key, and never accepts the
//! same proof twice.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use jwtgate::sign::{SigningKey, jwks};
use jwtgate::{Algorithm, AuthRequest, Verifier};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Signature<'a> {
    Valid,
    FlipBit(u16),
    Raw(&'a [u8]),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    header: &'a str,
    payload: &'a str,
    signature: Signature<'a>,
    /// Use the real bound token (else `authorization` verbatim).
    real_token: bool,
    scheme: &'a str,
    authorization: &'a str,
    method: &'a str,
    url: &'a str,
    extra_proof: Option<&'a str>,
}

struct Fixture {
    client: SigningKey,
    token: String,
    verifier: Verifier,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let issuer = SigningKey::generate(Algorithm::ES256, "issuer").expect("keygen");
        let client = SigningKey::generate(Algorithm::ES256, "client").expect("keygen");
        let token = issuer
            .mint(&serde_json::json!({
                "iss": "https://fuzz.example", "aud": "fuzz", "sub": "s",
                "exp": 4_000_000_000u64, "cnf": {"jkt": client.thumbprint().expect("jkt")},
            }))
            .expect("mint");
        let verifier = Verifier::builder()
            .issuer("https://fuzz.example")
            .audience("fuzz")
            .jwks(&jwks(&[&issuer]))
            .build()
            .expect("verifier");
        Fixture { client, token, verifier }
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
    let signing_input = format!("{}.{}", b64(input.header.as_bytes()), b64(input.payload.as_bytes()));
    let valid = f.client.sign_bytes(signing_input.as_bytes()).expect("sign");
    let (signature, genuine) = match input.signature {
        Signature::Valid => (valid, true),
        Signature::FlipBit(bit) => {
            let mut s = valid;
            let i = bit as usize / 8 % s.len();
            s[i] ^= 1 << (bit % 8);
            (s, false)
        }
        Signature::Raw(raw) => (raw.to_vec(), false),
    };
    let proof = format!("{signing_input}.{}", b64(&signature));
    let authorization = if input.real_token {
        format!("{} {}", input.scheme, f.token)
    } else {
        input.authorization.to_owned()
    };
    let mut proofs = vec![proof.as_str()];
    if let Some(extra) = input.extra_proof {
        proofs.push(extra);
    }
    let request = AuthRequest::new(input.method, input.url, Some(&authorization), &proofs);
    let first = f.verifier.verify_request(&request);
    if first.is_ok() {
        assert!(genuine, "accepted a proof not signed by the bound key");
        assert!(input.real_token, "accepted a credential other than the bound token");
        assert!(f.verifier.verify_request(&request).is_err(), "accepted a replayed proof");
    }
});

//! DPoP proofs (RFC 9449) on structure-aware inputs: the fuzzer edits the members of a valid proof
//! (or writes its header and payload JSON whole), the Authorization value, the method and the
//! URL, and chooses the signature — a valid one by the key the token is bound to, a mutated one,
//! or raw bytes. The verifier must
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

/// A proof built from a valid template: each member the fuzzer sets replaces the template's (a
/// string that parses as JSON is used as that JSON value), so most inputs reach the deep checks.
#[derive(Arbitrary, Debug)]
struct Input<'a> {
    typ: Option<&'a str>,
    alg: Option<&'a str>,
    jwk: Option<&'a str>,
    extra_header: Option<(&'a str, &'a str)>,
    jti: Option<&'a str>,
    htm: Option<&'a str>,
    htu: Option<&'a str>,
    iat_offset: Option<i32>,
    ath: Option<&'a str>,
    extra_claim: Option<(&'a str, &'a str)>,
    /// Replaces the whole header or payload text.
    raw_header: Option<&'a str>,
    raw_payload: Option<&'a str>,
    signature: Signature<'a>,
    /// Use the real bound token (else `authorization` verbatim).
    real_token: bool,
    scheme: &'a str,
    authorization: &'a str,
    method: Option<&'a str>,
    url: Option<&'a str>,
    extra_proof: Option<&'a str>,
}

fn value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
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

const URL: &str = "https://mcp.fuzz.example/mcp";

fuzz_target!(|input: Input<'_>| {
    let f = fixture();
    let template = f.client.dpop_proof("POST", URL, Some(&f.token), None).expect("proof");
    let part = |i: usize| -> serde_json::Map<String, serde_json::Value> {
        let seg = template.split('.').nth(i).expect("segment");
        serde_json::from_slice(&jwtgate::base64url_decode(seg).expect("b64")).expect("json")
    };
    let (mut header, mut payload) = (part(0), part(1));
    for (name, set) in [("typ", input.typ), ("alg", input.alg), ("jwk", input.jwk)] {
        if let Some(text) = set {
            header.insert(name.into(), value(text));
        }
    }
    if let Some((name, text)) = input.extra_header {
        header.insert(name.into(), value(text));
    }
    for (name, set) in [("jti", input.jti), ("htm", input.htm), ("htu", input.htu), ("ath", input.ath)] {
        if let Some(text) = set {
            payload.insert(name.into(), value(text));
        }
    }
    if let Some(offset) = input.iat_offset {
        let iat = payload["iat"].as_i64().unwrap_or(0) + i64::from(offset);
        payload.insert("iat".into(), iat.into());
    }
    if let Some((name, text)) = input.extra_claim {
        payload.insert(name.into(), value(text));
    }
    let header = input.raw_header.map_or_else(|| serde_json::Value::Object(header).to_string(), str::to_owned);
    let payload = input.raw_payload.map_or_else(|| serde_json::Value::Object(payload).to_string(), str::to_owned);
    let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
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
    let method = input.method.unwrap_or("POST");
    let request = AuthRequest::new(method, input.url.unwrap_or(URL), Some(&authorization), &proofs);
    let first = f.verifier.verify_request(&request);
    if first.is_ok() {
        assert!(genuine, "accepted a proof not signed by the bound key");
        assert!(input.real_token, "accepted a credential other than the bound token");
        assert!(input.extra_proof.is_none(), "accepted a request with two DPoP headers");
        assert!(f.verifier.verify_request(&request).is_err(), "accepted a replayed proof");
    }
});

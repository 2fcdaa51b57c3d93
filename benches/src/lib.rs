//! Shared fixtures for the benchmarks: one key and one realistic access token per algorithm, and
//! the same verification expressed with the crypto floor and with each Rust peer.
//!
//! "Same checks" everywhere: signature, `iss`, `aud`, `exp` and the presence of the `tools:call`
//! scope. The peers are configured for that and nothing else.

// The floor is defined once, in the CLI's source, and compiled into both crates: see the
// file's header for why it is shared as a file and not through a crate dependency.
#[path = "../../cli/src/floor.rs"]
mod floor;

pub use floor::Floor;

pub mod introspection_server;
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, Verifier};
use serde::Deserialize;
use serde_json::{Value, json};

/// Issuer of the benchmark tokens.
pub const ISSUER: &str = "https://idp.bench.example";
/// Audience of the benchmark tokens.
pub const AUDIENCE: &str = "https://mcp.bench.example";
/// The scope every verifier requires.
pub const SCOPE: &str = "tools:call";

/// A verification under test: returns whether the token was accepted.
pub type Check = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// A key, a token it signed, and verifiers for it.
pub struct Fixture {
    /// The algorithm.
    pub alg: Algorithm,
    /// The signing key.
    pub key: SigningKey,
    /// An RFC 9068-shaped access token (about 300 bytes of claims).
    pub token: String,
    /// jwtgate with the verified-token cache off.
    pub cold: Verifier,
    /// jwtgate with the default cache.
    pub cached: Verifier,
}

/// Claims as the peers deserialize them.
#[derive(Deserialize)]
pub struct PeerClaims {
    /// Space-separated scopes.
    pub scope: String,
}

fn has_scope(scope: &str) -> bool {
    scope.split(' ').any(|s| s == SCOPE)
}

/// The verifier builder for a key: its JWKS, or its secret for HMAC.
pub fn builder_for(key: &SigningKey) -> jwtgate::VerifierBuilder {
    let builder = Verifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .required_scopes([SCOPE]);
    match key.secret() {
        Some(secret) => builder.hmac_secret(key.algorithm(), secret),
        None => builder.jwks(&key.public_jwks()),
    }
}

/// Claims of the benchmark tokens.
pub fn claims(sub: &str) -> Value {
    let now = jwtgate::now_unix();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "client_id": "mcp-inspector",
        "scope": "tools:call resources:read prompts:get", "jti": "5b1c1e0e-8f4e-4d7b-9a61-0c3c5f2b7d11",
        "iat": now, "exp": now + 3600,
    })
}

/// Builds the fixture for `alg`.
pub fn fixture(alg: Algorithm) -> Fixture {
    let key = SigningKey::generate(alg, format!("bench-{alg}")).expect("keygen");
    let token = key
        .mint_with_header(&json!({"typ": "at+jwt"}), &claims("user-2f6c1a"))
        .expect("mint");
    let cold = builder_for(&key).cache_size(0).build().expect("verifier");
    let cached = builder_for(&key).build().expect("verifier");
    assert!(cold.verify(&token).is_ok() && cached.verify(&token).is_ok());
    Fixture {
        alg,
        key,
        token,
        cold,
        cached,
    }
}

fn jwk_bytes(jwk: &Value, member: &str) -> Vec<u8> {
    jwtgate::base64url_decode(jwk[member].as_str().expect("member")).expect("base64url")
}

impl Fixture {
    /// The crypto floor: the same signature over the same bytes, checked with a pre-parsed
    /// aws-lc-rs key and nothing else (no parsing, no claims).
    pub fn floor(&self) -> Check {
        let floor = Floor::new(&self.key, &self.token).expect("floor");
        Box::new(move |_| floor.check())
    }

    /// `jsonwebtoken` 11 (aws-lc-rs backend), with the key decoded once.
    pub fn jsonwebtoken(&self) -> Check {
        use jsonwebtoken::{Algorithm as A, DecodingKey, Validation, decode};
        let (alg, key) = match self.key.public_jwk() {
            None => (
                A::HS256,
                DecodingKey::from_secret(&self.key.secret().expect("secret")),
            ),
            Some(jwk) => {
                let s = |m: &str| jwk[m].as_str().expect("member").to_string();
                match self.alg {
                    Algorithm::RS256 => (
                        A::RS256,
                        DecodingKey::from_rsa_components(&s("n"), &s("e")).expect("rsa"),
                    ),
                    Algorithm::PS256 => (
                        A::PS256,
                        DecodingKey::from_rsa_components(&s("n"), &s("e")).expect("rsa"),
                    ),
                    Algorithm::ES256 => (
                        A::ES256,
                        DecodingKey::from_ec_components(&s("x"), &s("y")).expect("ec"),
                    ),
                    Algorithm::ES384 => (
                        A::ES384,
                        DecodingKey::from_ec_components(&s("x"), &s("y")).expect("ec"),
                    ),
                    Algorithm::EdDSA => (
                        A::EdDSA,
                        DecodingKey::from_ed_components(&s("x")).expect("ed"),
                    ),
                    other => panic!("no jsonwebtoken setup for {other}"),
                }
            }
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        Box::new(move |token| {
            decode::<PeerClaims>(token, &key, &validation)
                .is_ok_and(|data| has_scope(&data.claims.scope))
        })
    }

    /// `jwt-simple` 0.15 (pure-Rust backend), with the key decoded once. `None` for algorithms
    /// the bench does not set up.
    pub fn jwt_simple(&self) -> Option<Check> {
        use jwt_simple::prelude::*;
        let options = VerificationOptions {
            allowed_issuers: Some(HashSet::from([ISSUER.to_string()])),
            allowed_audiences: Some(HashSet::from([AUDIENCE.to_string()])),
            time_tolerance: Some(Duration::from_secs(0)),
            ..Default::default()
        };
        let jwk = self.key.public_jwk();
        let b = |m: &str| jwk_bytes(jwk.as_ref().expect("public key"), m);
        let check = |scope: Result<JWTClaims<PeerClaims>, jwt_simple::Error>| {
            scope.is_ok_and(|c| has_scope(&c.custom.scope))
        };
        Some(match self.alg {
            Algorithm::HS256 => {
                let key = HS256Key::from_bytes(&self.key.secret().expect("secret"));
                Box::new(move |t| check(key.verify_token::<PeerClaims>(t, Some(options.clone()))))
            }
            Algorithm::RS256 => {
                let key = RS256PublicKey::from_components(&b("n"), &b("e")).ok()?;
                Box::new(move |t| check(key.verify_token::<PeerClaims>(t, Some(options.clone()))))
            }
            Algorithm::PS256 => {
                let key = PS256PublicKey::from_components(&b("n"), &b("e")).ok()?;
                Box::new(move |t| check(key.verify_token::<PeerClaims>(t, Some(options.clone()))))
            }
            Algorithm::ES256 => {
                let mut point = vec![4];
                point.extend(b("x"));
                point.extend(b("y"));
                let key = ES256PublicKey::from_bytes(&point).ok()?;
                Box::new(move |t| check(key.verify_token::<PeerClaims>(t, Some(options.clone()))))
            }
            Algorithm::EdDSA => {
                let key = Ed25519PublicKey::from_bytes(&b("x")).ok()?;
                Box::new(move |t| check(key.verify_token::<PeerClaims>(t, Some(options.clone()))))
            }
            _ => return None,
        })
    }
}

/// A verifier trusting `n` keys (RS256, ES256 and EdDSA in turn) and a token from the last one.
pub fn key_set_fixture(n: usize) -> (Verifier, String) {
    let families = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
    let keys: Vec<SigningKey> = (0..n)
        .map(|i| SigningKey::generate(families[i % 3], format!("set-{i}")).expect("keygen"))
        .collect();
    let jwks = jwtgate::sign::jwks(&keys.iter().collect::<Vec<_>>());
    let verifier = Verifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .required_scopes([SCOPE])
        .jwks(&jwks)
        .cache_size(0)
        .build()
        .expect("verifier");
    let signer = keys
        .iter()
        .rev()
        .find(|k| k.algorithm() == Algorithm::RS256)
        .expect("an RS256 key");
    let token = signer
        .mint_with_header(&json!({"typ": "at+jwt"}), &claims("user-set"))
        .expect("mint");
    assert!(verifier.verify(&token).is_ok());
    (verifier, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contender accepts the fixture token and rejects a tampered one, so the benchmarks
    /// compare equal work.
    #[test]
    fn every_contender_accepts_the_token_and_rejects_tampering() {
        for alg in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ] {
            let f = fixture(alg);
            let mut tampered = f.token.clone();
            let last = tampered.pop().expect("char");
            tampered.push(if last == 'A' { 'B' } else { 'A' });
            let mut checks = vec![("floor", f.floor()), ("jsonwebtoken", f.jsonwebtoken())];
            if let Some(c) = f.jwt_simple() {
                checks.push(("jwt-simple", c));
            }
            for (name, check) in checks {
                assert!(check(&f.token), "{name} {alg} rejects the token");
                if name != "floor" {
                    assert!(!check(&tampered), "{name} {alg} accepts a tampered token");
                }
            }
        }
        let (v, t) = key_set_fixture(20);
        assert_eq!(v.key_set().expect("keys").len(), 20);
        assert!(v.verify(&t).is_ok());
    }
}

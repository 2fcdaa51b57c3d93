//! The issuer side: two generations of signing keys and an HMAC key, the in-process issuer that
//! publishes the JWKS through discovery (`crate::issuer` serves it over HTTP on 127.0.0.1), and
//! the access tokens (RFC 9068) it mints into sessions.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;

use arc_swap::ArcSwap;
use jwtgate::Algorithm;
use jwtgate::sign::{self, SigningKey};
use serde_json::json;

use super::shared::Entry;
use super::{AUDIENCE, HMAC_ROW, PUBLISHED, ROWS, TOKEN_SCOPE, join};
use crate::issuer::Issuer;
use crate::ui::Failure;

/// Keys of both generations, and the HMAC key.
pub(super) struct Keys {
    old: Vec<SigningKey>,
    new: Vec<SigningKey>,
    hmac: SigningKey,
}

/// Both generations of keys, generated in parallel (RSA generation dominates the set-up).
pub(super) fn generate_keys() -> Result<Keys, Failure> {
    let generate = |alg: Algorithm, generation: u8| {
        SigningKey::generate(
            alg,
            format!("demo-{}-{generation}", alg.as_str().to_ascii_lowercase()),
        )
        .map_err(|e| Failure::engine(&format!("generating an {alg} key"), &e))
    };
    let (old, new) = thread::scope(|s| {
        let old: Vec<_> = PUBLISHED
            .iter()
            .map(|&a| s.spawn(move || generate(a, 1)))
            .collect();
        let new: Vec<_> = PUBLISHED
            .iter()
            .map(|&a| s.spawn(move || generate(a, 2)))
            .collect();
        (
            old.into_iter().map(join).collect::<Result<Vec<_>, _>>(),
            new.into_iter().map(join).collect::<Result<Vec<_>, _>>(),
        )
    });
    Ok(Keys {
        old: old?,
        new: new?,
        hmac: generate(Algorithm::HS256, 1)?,
    })
}

/// The running issuer: it serves the first generation's JWKS until the rotation swaps it.
pub(super) struct DemoIssuer {
    keys: Keys,
    /// The JWKS document served; swapped during the rotation.
    published: Arc<ArcSwap<String>>,
    /// Serves discovery and JWKS until dropped.
    _server: Issuer,
    url: String,
    /// Seconds each minted token lives.
    lifetime: u64,
}

impl DemoIssuer {
    /// Starts serving the first generation's keys on a free loopback port.
    pub(super) fn start(keys: Keys, lifetime: u64) -> Result<DemoIssuer, Failure> {
        let published = Arc::new(ArcSwap::from_pointee(jwks_of(&[&keys.old])));
        let source = {
            let published = Arc::clone(&published);
            Arc::new(move || (**published.load()).clone())
        };
        let server = Issuer::start(0, source, false)
            .map_err(|e| Failure::usage(e, "the demo needs a free port on 127.0.0.1"))?;
        Ok(DemoIssuer {
            keys,
            published,
            url: server.issuer(),
            _server: server,
            lifetime,
        })
    }

    /// `http://127.0.0.1:PORT`, as in its discovery document.
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// The HS256 key, which a server configures instead of discovering.
    pub(super) fn hmac_key(&self) -> &SigningKey {
        &self.keys.hmac
    }

    /// Overlap: the new keys published next to the old ones, so a verifier that fetches now can
    /// verify tokens of both.
    pub(super) fn publish_new_keys(&self) {
        self.published
            .store(Arc::new(jwks_of(&[&self.keys.old, &self.keys.new])));
    }

    /// The old keys withdrawn: only the new ones are published.
    pub(super) fn withdraw_old_keys(&self) {
        self.published.store(Arc::new(jwks_of(&[&self.keys.new])));
    }

    /// One token for each of `sessions` sessions, row by row, with the first keys.
    pub(super) fn first_sessions(&self, sessions: usize) -> Result<Vec<Entry>, Failure> {
        (0..sessions)
            .map(|i| self.mint(i % ROWS.len(), 0))
            .collect()
    }

    /// An access token for `row` (an index into `ROWS`), signed with the key of `generation`
    /// (0: first, 1: rotated in; the HMAC key is never rotated).
    pub(super) fn mint(&self, row: usize, generation: u8) -> Result<Entry, Failure> {
        let key = if row == HMAC_ROW {
            &self.keys.hmac
        } else if generation == 0 {
            &self.keys.old[row]
        } else {
            &self.keys.new[row]
        };
        let now = jwtgate::now_unix();
        let mut jti = [0u8; 12];
        let _ = aws_lc_rs::rand::fill(&mut jti);
        let claims = json!({
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": format!("user-{}", jti[0]),
            "client_id": "mcp-demo-client",
            "scope": TOKEN_SCOPE,
            "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "iat": now,
            "exp": now + self.lifetime,
        });
        let token = key
            .mint_with_header(&json!({"typ": "at+jwt"}), &claims)
            .map_err(|e| Failure::engine("minting", &e))?;
        Ok(Entry {
            token,
            row,
            generation,
            used: AtomicBool::new(false),
        })
    }
}

fn jwks_of(generations: &[&[SigningKey]]) -> String {
    let keys: Vec<&SigningKey> = generations.iter().flat_map(|g| g.iter()).collect();
    sign::jwks(&keys)
}

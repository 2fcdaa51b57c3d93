//! An immutable set of verification keys, and the lock-free holder that swaps sets atomically.
//!
//! A [`KeySet`] never changes once built. Refreshing keys means building a new set and storing it
//! in the holder; verifications that already loaded the old set finish with it. Each store bumps a
//! generation number, which lets caches tell which set verified what.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use serde_json::Value;

use crate::alg::Algorithm;
use crate::der;
use crate::error::{Error, ErrorCode, quote};
use crate::jwk::Key;

/// A key that was left out of a set, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key's `kid`, if it had one.
    pub kid: Option<String>,
    /// Its position in the JWKS `keys` array.
    pub index: usize,
    /// Why it cannot be used.
    pub reason: String,
}

/// An immutable set of keys, indexed by `kid`.
///
/// ```
/// use jwtgate::KeySet;
/// let jwks = r#"{"keys":[
///   {"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///   {"kty":"oct","kid":"b","k":"c2VjcmV0"}
/// ]}"#;
/// let set = KeySet::from_jwks_json(jwks).unwrap();
/// assert_eq!(set.len(), 1);
/// assert_eq!(set.skipped()[0].kid.as_deref(), Some("b")); // oct keys never come from a JWKS
/// ```
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<Key>,
    by_kid: HashMap<Box<str>, Vec<usize>>,
    skipped: Vec<SkippedKey>,
    generation: u64,
    /// Whether keys without a `kid` answer tokens whose `kid` is not in the set. True for keys
    /// configured locally (a PEM key or a secret carries no kid, yet IdP tokens name one); false
    /// for a set fetched from a JWKS URL, where an unknown kid means a rotation to follow.
    kidless_keys_answer_unknown_kids: bool,
}

/// The keys a token may be verified with, by index into the set.
pub(crate) enum Candidates {
    One(usize),
    Several(Vec<usize>),
}

impl Default for KeySet {
    /// An empty, locally configured set (as `KeySet::new(Vec::new())`).
    fn default() -> KeySet {
        KeySet::new(Vec::new())
    }
}

impl KeySet {
    /// Builds a set from already parsed keys.
    pub fn new(keys: Vec<Key>) -> KeySet {
        let mut by_kid: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            if let Some(kid) = key.kid() {
                by_kid.entry(kid.into()).or_default().push(i);
            }
        }
        KeySet {
            keys,
            by_kid,
            skipped: Vec::new(),
            generation: 0,
            kidless_keys_answer_unknown_kids: true,
        }
    }

    /// Marks the set as fetched from a provider: a token's unknown `kid` is then never answered
    /// by a key without one (it asks for a refresh instead).
    pub(crate) fn fetched_remotely(mut self) -> KeySet {
        self.kidless_keys_answer_unknown_kids = false;
        self
    }

    /// "N keys" plus, when the set is empty because keys were skipped, why.
    fn describe(&self) -> String {
        if !self.keys.is_empty() || self.skipped.is_empty() {
            return format!("{} keys", self.keys.len());
        }
        let reasons: Vec<&str> = self
            .skipped
            .iter()
            .take(3)
            .map(|s| s.reason.as_str())
            .collect();
        format!(
            "no usable key: the JWKS published {} keys and every one was skipped: {}",
            self.skipped.len(),
            reasons.join("; ")
        )
    }

    /// Parses a JWKS document (`{"keys":[…]}`). Unusable keys are skipped and listed in
    /// [`skipped`](KeySet::skipped), with one log line; the set may end up empty.
    ///
    /// # Errors
    /// `key_unusable` if the document is not a JSON object with a `keys` array.
    pub fn from_jwks_json(json: &str) -> Result<KeySet, Error> {
        KeySet::from_jwks_json_limited(json, usize::MAX)
    }

    /// As [`from_jwks_json`](KeySet::from_jwks_json), refusing documents with over `max_keys` keys.
    pub(crate) fn from_jwks_json_limited(json: &str, max_keys: usize) -> Result<KeySet, Error> {
        crate::json::check_document(json.as_bytes(), "the JWKS")
            .map_err(|e| Error::new(ErrorCode::KeyUnusable, e.message()))?;
        let doc: Value = serde_json::from_str(json).map_err(|e| {
            Error::new(
                ErrorCode::KeyUnusable,
                format!("JWKS is not valid JSON: {e}"),
            )
        })?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::new(ErrorCode::KeyUnusable, "JWKS has no \"keys\" array"))?;
        if keys.len() > max_keys {
            return Err(Error::new(
                ErrorCode::KeyUnusable,
                format!(
                    "JWKS has {} keys; at most {max_keys} are accepted",
                    keys.len()
                ),
            ));
        }
        let mut parsed = Vec::with_capacity(keys.len());
        let mut skipped = Vec::new();
        for (index, jwk) in keys.iter().enumerate() {
            match Key::from_jwk_value(jwk) {
                Ok(key) => parsed.push(key),
                Err(reason) => skipped.push(SkippedKey {
                    kid: jwk.get("kid").and_then(Value::as_str).map(str::to_owned),
                    index,
                    reason,
                }),
            }
        }
        if !skipped.is_empty() {
            let list: Vec<String> = skipped
                .iter()
                .map(|s| {
                    let name = s
                        .kid
                        .as_deref()
                        .map_or_else(|| format!("#{}", s.index), quote);
                    format!("{name}: {}", s.reason)
                })
                .collect();
            log::warn!(
                "jwtgate: skipped {} of {} JWKS keys: {}",
                skipped.len(),
                keys.len(),
                list.join("; ")
            );
        }
        let mut set = KeySet::new(parsed);
        set.skipped = skipped;
        Ok(set)
    }

    /// Parses one or more PEM public keys (`PUBLIC KEY` or `RSA PUBLIC KEY` blocks).
    ///
    /// # Errors
    /// `key_unusable` for anything that is not a usable public key.
    pub fn from_pem(pem: &str) -> Result<KeySet, Error> {
        let unusable = |m: String| Error::new(ErrorCode::KeyUnusable, m);
        let blocks =
            der::parse_pem(pem).map_err(|e| unusable(format!("not a PEM public key: {e}")))?;
        let keys = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                Key::from_pem_block(b).map_err(|e| unusable(format!("PEM block {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeySet::new(keys))
    }

    /// Takes the keys out of the set.
    pub(crate) fn into_keys(self) -> Vec<Key> {
        self.keys
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Keys of the source document that were left out, with reasons.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The generation number this set received when it was stored in a verifier (0 before).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether a token with this `alg` and `kid` would still be checked against the key with
    /// this fingerprint: the key is published, under a binding (kid, alg, use) that still
    /// selects it. The verified-token cache asks this after every key-set change, so that a hit is
    /// never looser than a fresh verification.
    pub(crate) fn still_selects(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        fingerprint: &[u8; 32],
    ) -> bool {
        match self.candidates(alg, kid) {
            Ok(Candidates::One(i)) => self.keys[i].fingerprint() == fingerprint,
            Ok(Candidates::Several(indices)) => indices
                .iter()
                .any(|&i| self.keys[i].fingerprint() == fingerprint),
            Err(_) => false,
        }
    }

    /// Whether any key is an HMAC secret.
    pub(crate) fn has_secrets(&self) -> bool {
        self.keys
            .iter()
            .any(|k| k.family() == crate::alg::KeyFamily::Hmac)
    }

    /// The algorithms at least one key can verify.
    pub(crate) fn usable_algorithms(&self) -> Vec<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(|&a| self.keys.iter().any(|k| k.can_verify(a)))
            .collect()
    }

    pub(crate) fn key(&self, index: usize) -> &Key {
        &self.keys[index]
    }

    /// Chooses the keys that may verify a token with `alg` and `kid`.
    ///
    /// With a `kid`, keys with that `kid` are considered. If none has it, a locally configured
    /// set lets its one key without a kid that fits the algorithm answer (PEM keys and secrets
    /// carry no kid); several such keys are as ambiguous as a token without a kid, so an
    /// invented kid cannot widen the choice. Otherwise — and always for a fetched set — the
    /// error is `key_not_found` (which a remote key source answers with a refresh). Without a
    /// `kid`, exactly one key of the set must fit the algorithm.
    pub(crate) fn candidates(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<Candidates, Error> {
        match kid {
            Some(kid) => {
                let Some(indices) = self.by_kid.get(kid) else {
                    if self.kidless_keys_answer_unknown_kids {
                        let mut kidless = (0..self.keys.len()).filter(|&i| {
                            self.keys[i].kid().is_none() && self.keys[i].can_verify(alg)
                        });
                        match (kidless.next(), kidless.next()) {
                            (Some(one), None) => return Ok(Candidates::One(one)),
                            (Some(_), Some(_)) => {
                                return Err(Error::new(
                                    ErrorCode::KeyNotFound,
                                    format!(
                                        "no key with kid {} in the key set, and {} keys without a kid can verify {alg}; give the keys kids",
                                        quote(kid),
                                        2 + kidless.count()
                                    ),
                                ));
                            }
                            (None, _) => {}
                        }
                    }
                    return Err(Error::new(
                        ErrorCode::KeyNotFound,
                        format!(
                            "no key with kid {} in the key set ({})",
                            quote(kid),
                            self.describe()
                        ),
                    ));
                };
                let fitting: Vec<usize> = indices
                    .iter()
                    .copied()
                    .filter(|&i| self.keys[i].can_verify(alg))
                    .collect();
                match fitting.as_slice() {
                    [] => Err(self.keys[indices[0]].unusable_for(alg)),
                    [one] => Ok(Candidates::One(*one)),
                    _ => Ok(Candidates::Several(fitting)),
                }
            }
            None => {
                let mut fitting = self
                    .keys
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.can_verify(alg));
                match (fitting.next(), fitting.next()) {
                    (Some((i, _)), None) => Ok(Candidates::One(i)),
                    (None, _) => Err(Error::new(
                        ErrorCode::KeyNotFound,
                        format!(
                            "token has no kid and no key in the set can verify {alg} ({})",
                            self.describe()
                        ),
                    )),
                    (Some(_), Some(_)) => Err(Error::new(
                        ErrorCode::KeyNotFound,
                        format!(
                            "token has no kid and {} keys in the set can verify {alg}; the issuer must set kid",
                            2 + fitting.count()
                        ),
                    )),
                }
            }
        }
    }
}

/// Holds the current key set of a verifier; reads are lock-free and allocation-free.
#[derive(Debug)]
pub(crate) struct KeyHolder {
    current: ArcSwap<KeySet>,
    next_generation: AtomicU64,
}

impl KeyHolder {
    pub(crate) fn new(mut keys: KeySet) -> KeyHolder {
        keys.generation = 1;
        KeyHolder {
            current: ArcSwap::from_pointee(keys),
            next_generation: AtomicU64::new(2),
        }
    }

    /// A snapshot of the current set (an `Arc` guard; no lock).
    #[inline]
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.current.load()
    }

    /// Replaces the set; returns its new generation.
    pub(crate) fn store(&self, mut keys: KeySet) -> u64 {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        keys.generation = generation;
        self.current.store(Arc::new(keys));
        generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn set(json: &str) -> KeySet {
        KeySet::from_jwks_json(json).unwrap()
    }

    #[test]
    fn unknown_kid_is_key_not_found() {
        let s = set(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"a","x":"{ED_X}"}}]}}"#
        ));
        let Err(e) = s.candidates(Algorithm::EdDSA, Some("zz")) else {
            panic!()
        };
        assert_eq!(e.code(), ErrorCode::KeyNotFound);
    }

    #[test]
    fn kid_with_wrong_family_is_key_unusable() {
        let s = set(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"a","x":"{ED_X}"}}]}}"#
        ));
        let Err(e) = s.candidates(Algorithm::RS256, Some("a")) else {
            panic!()
        };
        assert_eq!(e.code(), ErrorCode::KeyUnusable);
        assert!(e.message().contains("Ed25519"), "{e}");
    }

    #[test]
    fn no_kid_needs_exactly_one_fitting_key() {
        let one = set(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}}]}}"#
        ));
        assert!(matches!(
            one.candidates(Algorithm::EdDSA, None),
            Ok(Candidates::One(0))
        ));
        let two = set(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"a","x":"{ED_X}"}},{{"kty":"OKP","crv":"Ed25519","kid":"b","x":"{ED_X}"}}]}}"#
        ));
        let Err(e) = two.candidates(Algorithm::EdDSA, None) else {
            panic!()
        };
        assert_eq!(e.code(), ErrorCode::KeyNotFound);
        assert!(e.message().contains("2 keys"), "{e}");
    }

    #[test]
    fn holder_bumps_generation_on_every_store() {
        let holder = KeyHolder::new(KeySet::default());
        assert_eq!(holder.load().generation(), 1);
        assert_eq!(holder.store(KeySet::default()), 2);
        assert_eq!(holder.store(KeySet::default()), 3);
        assert_eq!(holder.load().generation(), 3);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for doc in ["[]", "{}", r#"{"keys":{}}"#, "nope"] {
            assert_eq!(
                KeySet::from_jwks_json(doc).unwrap_err().code(),
                ErrorCode::KeyUnusable,
                "{doc}"
            );
        }
    }
}

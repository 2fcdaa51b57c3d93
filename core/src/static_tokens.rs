//! Static bearer tokens and API keys ("multi-auth").
//!
//! Each configured secret is kept only as its SHA-256 digest. A presented credential is hashed
//! and compared with *every* configured digest in constant time, without early exit, so neither
//! the position of a match nor the number of matching leading bytes shows in the timing.

use crate::crypto::{constant_time_eq, sha256};
use crate::verified::Verified;

/// A configured static bearer token or API key and the identity it grants.
///
/// ```
/// use jwtgate::StaticToken;
/// let t = StaticToken::new("s3cret", "ci-bot").with_scopes(["deploy", "read"]);
/// assert_eq!(t.client_id(), "ci-bot");
/// assert_eq!(t.scopes(), ["deploy", "read"]);
/// ```
#[derive(Clone)]
pub struct StaticToken {
    digest: [u8; 32],
    client_id: String,
    scopes: Vec<String>,
    audience: Option<String>,
    blank: bool,
}

impl StaticToken {
    /// A token granting `client_id` no scopes. The secret itself is not retained.
    pub fn new(secret: impl AsRef<str>, client_id: impl Into<String>) -> StaticToken {
        let secret = secret.as_ref();
        StaticToken {
            digest: sha256(secret.as_bytes()),
            client_id: client_id.into(),
            scopes: Vec::new(),
            audience: None,
            blank: secret.trim().is_empty(),
        }
    }

    /// Sets the scopes the token grants.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> StaticToken
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the resource (audience) the token is for: results carry it as `aud` and
    /// [`audience_matched`](crate::Verified::audience_matched), so frameworks that check a token's
    /// resource (RFC 8707; the MCP SDKs) accept static tokens as they accept JWTs.
    pub fn with_audience(mut self, audience: impl Into<String>) -> StaticToken {
        self.audience = Some(audience.into());
        self
    }

    /// The resource (audience) the token is for, if configured.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The identity the token grants.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The scopes the token grants.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticToken")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// The configured static tokens of a verifier.
#[derive(Debug, Clone, Default)]
pub(crate) struct StaticTokens {
    tokens: Vec<StaticToken>,
}

impl StaticTokens {
    /// Whitespace-only secrets are dropped (an unset environment variable must not become a
    /// token that an empty `Authorization: Bearer ` header matches).
    pub(crate) fn new(tokens: Vec<StaticToken>) -> StaticTokens {
        StaticTokens {
            tokens: tokens.into_iter().filter(|t| !t.blank).collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The token whose secret equals `credential`, comparing against every entry.
    /// The result for a configured credential (`None` if it is not one).
    pub(crate) fn verify(&self, credential: &str) -> Option<Verified> {
        self.find(credential)
            .map(|token| Verified::from_static(credential, token))
    }

    pub(crate) fn find(&self, credential: &str) -> Option<&StaticToken> {
        if self.tokens.is_empty() {
            return None;
        }
        let digest = sha256(credential.as_bytes());
        let mut found = usize::MAX;
        for (i, token) in self.tokens.iter().enumerate() {
            let hit = constant_time_eq(&token.digest, &digest);
            // Branch-free select of the first match: `&` on bools does not short-circuit.
            let take = hit & (found == usize::MAX);
            let mask = (take as usize).wrapping_neg();
            found = (i & mask) | (found & !mask);
        }
        self.tokens.get(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_matching_token_among_several() {
        let set = StaticTokens::new(vec![
            StaticToken::new("alpha", "a"),
            StaticToken::new("bravo", "b").with_scopes(["x"]),
            StaticToken::new("charlie", "c"),
        ]);
        assert_eq!(set.find("bravo").unwrap().client_id(), "b");
        assert_eq!(set.find("charlie").unwrap().client_id(), "c");
        assert_eq!(set.find("alpha").unwrap().client_id(), "a");
        assert!(set.find("delta").is_none());
        assert!(set.find("bravo ").is_none());
        assert!(set.find("").is_none());
    }

    #[test]
    fn blank_secrets_are_ignored() {
        let set = StaticTokens::new(vec![
            StaticToken::new("  ", "blank"),
            StaticToken::new("", "empty"),
        ]);
        assert!(set.is_empty());
        assert!(set.find("").is_none());
        assert!(set.find("  ").is_none());
    }

    #[test]
    fn first_of_duplicate_secrets_wins() {
        let set = StaticTokens::new(vec![
            StaticToken::new("same", "first"),
            StaticToken::new("same", "second"),
        ]);
        assert_eq!(set.find("same").unwrap().client_id(), "first");
    }
}

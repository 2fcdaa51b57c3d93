//! The checks a server makes, as the flags `verify` and `doctor` share (`--audience`, `--scope`,
//! `--typ`, `--leeway`, `--allow-http`), and their one mapping onto `jwtgate::VerifierBuilder`:
//! both commands judge a token by the same configuration a server would build.

use std::time::Duration;

use clap::Args;
use jwtgate::{Verifier, VerifierBuilder};

use crate::ui;

/// The server's policy flags, flattened into `verify` and `doctor`.
#[derive(Args, Debug)]
pub(crate) struct ServerPolicy {
    /// An audience the server accepts (any aud value must equal one). Repeatable.
    #[arg(long, value_name = "AUDIENCE")]
    pub(crate) audience: Vec<String>,

    /// A scope the server requires (in scope or scp). Repeatable.
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Vec<String>,

    /// The header typ the server requires (at+jwt for RFC 9068 access tokens).
    #[arg(long)]
    pub(crate) typ: Option<String>,

    /// The server's clock-skew tolerance for exp, nbf and iat (at most 10m).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = ui::parse_duration)]
    pub(crate) leeway: Duration,

    /// Allow plain-http discovery and JWKS URLs on non-loopback hosts (never in production).
    #[arg(long)]
    pub(crate) allow_http: bool,
}

impl ServerPolicy {
    /// The verifier builder for tokens of `issuer` under these checks, fetching keys with
    /// `fetch_timeout` per request. Keys are discovered from the issuer unless the caller adds a
    /// key source; without `--audience` the audience check is skipped (the caller decides whether
    /// that is allowed).
    pub(crate) fn builder(&self, issuer: &str, fetch_timeout: Duration) -> VerifierBuilder {
        let mut builder = Verifier::builder()
            .issuer(issuer)
            .required_scopes(self.scope.iter().cloned())
            .leeway(self.leeway)
            .fetch_timeout(fetch_timeout);
        // One by one: `audiences([])` would be an explicit empty list, which core refuses.
        for audience in &self.audience {
            builder = builder.audience(audience);
        }
        if self.audience.is_empty() {
            builder = builder.insecure_skip_audience_check();
        }
        if let Some(typ) = &self.typ {
            builder = builder.typ(typ);
        }
        if self.allow_http {
            builder = builder.allow_insecure_http();
        }
        builder
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use jwtgate::sign::SigningKey;
    use jwtgate::{Algorithm, ErrorCode, FetchLimits, FetchResponse, Fetcher};
    use serde_json::{Value, json};

    use super::*;

    const ISSUER: &str = "https://idp.example";
    const TIMEOUT: Duration = Duration::from_secs(5);

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        policy: ServerPolicy,
    }

    /// The policy the flags say, as clap parses them for `verify` and `doctor`.
    fn flags(args: &[&str]) -> ServerPolicy {
        Flags::try_parse_from(std::iter::once("jwtgate").chain(args.iter().copied()))
            .expect("flags parse")
            .policy
    }

    fn token(key: &SigningKey, typ: &str, claims: Value) -> String {
        let now = jwtgate::now_unix();
        let mut all = json!({"iss": ISSUER, "iat": now, "exp": now + 300});
        for (name, value) in claims.as_object().expect("claims") {
            all[name] = value.clone();
        }
        key.mint_with_header(&json!({ "typ": typ }), &all)
            .expect("mint")
    }

    /// Verifies `token` with the verifier the flags build, trusting `key`.
    fn verdict(args: &[&str], key: &SigningKey, token: &str) -> Option<ErrorCode> {
        let verifier = flags(args)
            .builder(ISSUER, TIMEOUT)
            .jwks(&key.public_jwks())
            .build()
            .expect("verifier");
        verifier.verify(token).err().map(|e| e.code())
    }

    #[test]
    fn audience_scope_and_typ_flags_reach_the_verifier() {
        let key = SigningKey::generate(Algorithm::ES256, "k1").expect("key");
        let args = [
            "--audience",
            "https://a.example",
            "--audience",
            "https://b.example",
            "--scope",
            "tools:call",
            "--typ",
            "at+jwt",
        ];
        let good = json!({"aud": "https://b.example", "scope": "tools:call read"});
        let cases = [
            (token(&key, "at+jwt", good.clone()), None),
            (
                token(
                    &key,
                    "at+jwt",
                    json!({"aud": "https://c.example", "scope": "tools:call"}),
                ),
                Some(ErrorCode::AudienceMismatch),
            ),
            (
                token(
                    &key,
                    "at+jwt",
                    json!({"aud": "https://a.example", "scope": "read"}),
                ),
                Some(ErrorCode::InsufficientScope),
            ),
            (token(&key, "JWT", good), Some(ErrorCode::TypMismatch)),
        ];
        for (token, expected) in cases {
            assert_eq!(verdict(&args, &key, &token), expected);
        }
    }

    #[test]
    fn no_audience_flag_skips_the_audience_check() {
        let key = SigningKey::generate(Algorithm::EdDSA, "k1").expect("key");
        let token = token(&key, "JWT", json!({"aud": "https://anything.example"}));
        assert_eq!(verdict(&[], &key, &token), None);
    }

    #[test]
    fn leeway_flag_reaches_the_verifier() {
        let key = SigningKey::generate(Algorithm::EdDSA, "k1").expect("key");
        let now = jwtgate::now_unix();
        let expired = token(&key, "at+jwt", json!({"iat": now - 120, "exp": now - 30}));
        assert_eq!(verdict(&[], &key, &expired), Some(ErrorCode::TokenExpired));
        assert_eq!(verdict(&["--leeway", "1m"], &key, &expired), None);
    }

    /// A fetcher that never reaches a network: the transport test only builds verifiers.
    struct Offline;

    impl Fetcher for Offline {
        fn get(&self, _url: &str, _limits: &FetchLimits) -> Result<FetchResponse, String> {
            Err("offline".into())
        }
    }

    fn build(args: &[&str], issuer: &str, timeout: Duration) -> Result<(), ErrorCode> {
        flags(args)
            .builder(issuer, timeout)
            .fetcher(std::sync::Arc::new(Offline))
            .build()
            .map(|_| ())
            .map_err(|e| e.code())
    }

    #[test]
    fn transport_settings_reach_the_verifier() {
        let plain = "http://idp.example";
        assert_eq!(build(&[], plain, TIMEOUT), Err(ErrorCode::ConfigInvalid));
        assert_eq!(build(&["--allow-http"], plain, TIMEOUT), Ok(()));
        // Core bounds the fetch timeout: a zero one shows the value got there.
        assert_eq!(
            build(&[], ISSUER, Duration::ZERO),
            Err(ErrorCode::ConfigInvalid)
        );
    }
}

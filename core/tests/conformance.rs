//! The Rust runner of the cross-language conformance fixtures (`tests/conformance/cases.json`,
//! written by `tests/conformance/generate.mjs`). The Python and Node test suites run the same file
//! through their bindings; all three must report the same outcome for every case: one engine.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, UNIX_EPOCH};

use jwtgate::{
    Algorithm, AudienceMatch, AuthRequest, ClientAuth, DpopMode, ErrorCode, StaticToken, Verified,
    Verifier, VerifierBuilder,
};
use serde_json::Value;

fn fixtures() -> Value {
    fixture_file("cases.json")
}

/// `requests.json`: the request path (Authorization schemes, DPoP), by generate-requests.mjs.
fn request_fixtures() -> Value {
    fixture_file("requests.json")
}

fn fixture_file(name: &str) -> Value {
    let path = format!("{}/../tests/conformance/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read the fixture file"))
        .expect("the fixture file is JSON")
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().expect("a string").to_owned())
            .collect(),
        other => panic!("expected a string or a list, got {other}"),
    }
}

fn seconds(value: &Value) -> Duration {
    Duration::from_secs_f64(value.as_f64().expect("seconds"))
}

/// Every option name the fixtures may use (the Node names of the DESIGN option table), mapped
/// onto the builder.
const OPTIONS: [&str; 32] = [
    "introspection",
    "audienceMatch",
    "scopeImplies",
    "scopeClaims",
    "clientIdClaims",
    "idToken",
    "providers",
    "dpop",
    "dpopAlgorithms",
    "dpopIatWindow",
    "dpopNonce",
    "dpopReplayCacheSize",
    "issuer",
    "audience",
    "jwks",
    "jwksUri",
    "publicKey",
    "hmacSecret",
    "algorithms",
    "requiredScopes",
    "requiredClaims",
    "typ",
    "clockTolerance",
    "staticTokens",
    "cacheSize",
    "maxTokenBytes",
    "fetchTimeout",
    "refreshCooldown",
    "maxStale",
    "allowInsecureHttp",
    "insecureSkipAudienceCheck",
    "insecureAllowMissingExp",
];

fn builder(options: &Value) -> VerifierBuilder {
    let mut b = Verifier::builder();
    for (name, value) in options.as_object().expect("options object") {
        b = match name.as_str() {
            "issuer" => b.issuers(strings(value)),
            "audience" => b.audiences(strings(value)),
            "jwks" => b.jwks(&value.to_string()),
            "jwksUri" => b.jwks_uri(value.as_str().unwrap()),
            "publicKey" => b.public_key_pem(value.as_str().unwrap()),
            "hmacSecret" => b.hmac_secret_for_algorithms(
                jwtgate::base64url_decode(value.as_str().unwrap()).unwrap(),
            ),
            "algorithms" => b.algorithms(
                strings(value)
                    .iter()
                    .map(|a| a.parse::<Algorithm>().unwrap()),
            ),
            "requiredScopes" => b.required_scopes(strings(value)),
            "requiredClaims" => b.require_claims(strings(value)),
            "typ" => b.typ(value.as_str().unwrap()),
            "clockTolerance" => b.leeway(seconds(value)),
            "staticTokens" => b.static_tokens(value.as_array().unwrap().iter().map(|t| {
                let token = StaticToken::new(
                    t["token"].as_str().unwrap(),
                    t["clientId"].as_str().unwrap(),
                )
                .with_scopes(strings(&t["scopes"]));
                match t["audience"].as_str() {
                    Some(aud) => token.with_audience(aud),
                    None => token,
                }
            })),
            "cacheSize" => b.cache_size(value.as_u64().unwrap() as usize),
            "maxTokenBytes" => b.max_token_bytes(value.as_u64().unwrap() as usize),
            "fetchTimeout" => b.fetch_timeout(seconds(value)),
            "refreshCooldown" => b.refresh_cooldown(seconds(value)),
            "maxStale" => b.max_stale(seconds(value)),
            // An unknown mode cannot be expressed in Rust's types; `build` reports it as the
            // bindings do (config_invalid) before it gets here.
            "dpop" => b.dpop(DpopMode::from_name(value.as_str().unwrap()).unwrap()),
            "dpopAlgorithms" => b.dpop_algorithms(
                strings(value)
                    .iter()
                    .map(|a| a.parse::<Algorithm>().unwrap()),
            ),
            "dpopIatWindow" => b.dpop_iat_window(seconds(value)),
            "dpopNonce" => b.dpop_nonce(value.as_bool().unwrap()),
            // Unknown names cannot be expressed in Rust's types; `build` reports them.
            "audienceMatch" => b.audience_match(audience_match(value).unwrap()),
            "scopeImplies" => {
                let mut b = b;
                for (broader, narrower) in value.as_object().unwrap() {
                    for n in strings(narrower) {
                        b = b.scope_implies(broader.clone(), n);
                    }
                }
                b
            }
            "scopeClaims" => b.scope_claims(strings(value)),
            "clientIdClaims" => b.client_id_claims(strings(value)),
            "idToken" => b.id_token(value.as_str().unwrap()),
            "introspection" => {
                let o = |name: &str| value.get(name).filter(|v| !v.is_null());
                let mut b = b.introspection(
                    o("clientId").and_then(Value::as_str).unwrap(),
                    o("clientSecret").and_then(Value::as_str).unwrap(),
                );
                if let Some(url) = o("endpoint") {
                    b = b.introspection_endpoint(url.as_str().unwrap());
                }
                if let Some(auth) = o("clientAuth") {
                    b = b.introspection_client_auth(client_auth(auth).unwrap());
                }
                if let Some(jwts) = o("jwts") {
                    b = b.introspect_jwts(jwts.as_bool().unwrap());
                }
                if let Some(ttl) = o("cacheTtl") {
                    b = b.introspection_cache_ttl(seconds(ttl));
                }
                if let Some(size) = o("cacheSize") {
                    b = b.introspection_cache_size(size.as_u64().unwrap() as usize);
                }
                if let Some(n) = o("maxConcurrent") {
                    b = b.introspection_max_concurrent(n.as_u64().unwrap() as usize);
                }
                b
            }
            "providers" => {
                let mut b = b;
                for provider in value.as_array().unwrap() {
                    b = b.provider(builder(provider));
                }
                b
            }
            "dpopReplayCacheSize" => b.dpop_replay_cache_size(value.as_u64().unwrap() as usize),
            "allowInsecureHttp" if value == &Value::Bool(true) => b.allow_insecure_http(),
            "insecureSkipAudienceCheck" if value == &Value::Bool(true) => {
                b.insecure_skip_audience_check()
            }
            "insecureAllowMissingExp" if value == &Value::Bool(true) => {
                b.insecure_allow_missing_exp()
            }
            other => panic!("option {other} is not mapped in this runner"),
        };
    }
    b
}

/// The identity facts every language reports for an accepted credential.
fn identity(v: &Verified) -> Value {
    serde_json::json!({
        "sub": v.sub(),
        "clientId": v.client_id(),
        "scopes": v.scopes(),
        "audienceMatched": v.audience_matched(),
        "kind": v.kind().as_str(),
    })
}

#[test]
fn every_case_gives_the_expected_outcome() {
    let f = fixtures();
    let now = UNIX_EPOCH + Duration::from_secs(f["now"].as_u64().unwrap());
    let verifiers: HashMap<&str, Verifier> = f["verifiers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, options)| {
            (
                name.as_str(),
                builder(options)
                    .build()
                    .unwrap_or_else(|e| panic!("{name}: {e}")),
            )
        })
        .collect();
    for case in f["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let v = &verifiers[case["verifier"].as_str().unwrap_or("default")];
        let result = v.verify_at(case["token"].as_str().unwrap(), now);
        match (case["code"].as_str(), result) {
            (None, Ok(verified)) => assert_eq!(identity(&verified), case["claims"], "{name}"),
            (None, Err(e)) => panic!("{name}: expected success, got {e:?}"),
            (Some(code), Ok(v)) => panic!("{name}: expected {code}, got {v:?}"),
            (Some(code), Err(e)) => {
                assert_eq!(e.code().as_str(), code, "{name}: {e}");
                assert_eq!(e.claim(), case["claim"].as_str(), "{name}: {e}");
                if let Some(claims) = case.get("claims") {
                    assert_eq!(
                        identity(e.credential().expect("credential")),
                        *claims,
                        "{name}"
                    );
                }
            }
        }
    }
    for wait in f["waits"].as_array().unwrap() {
        let name = wait["name"].as_str().unwrap();
        let e = verifiers[wait["verifier"].as_str().unwrap()]
            .wait_ready(seconds(&wait["timeout"]))
            .unwrap_err();
        assert_eq!(
            e.code().as_str(),
            wait["code"].as_str().unwrap(),
            "{name}: {e}"
        );
    }
    for config in f["configs"].as_array().unwrap() {
        let name = config["name"].as_str().unwrap();
        let code = build(&config["options"])
            .err()
            .unwrap_or_else(|| panic!("{name} built"));
        assert_eq!(code, config["code"].as_str().unwrap(), "{name}");
    }
}

#[test]
fn the_fixtures_cover_every_error_code_and_every_option() {
    let f = fixtures();
    let r = request_fixtures();
    let mut codes = BTreeSet::new();
    for (file, list) in [
        (&f, "cases"),
        (&f, "waits"),
        (&f, "configs"),
        (&r, "requests"),
        (&r, "configs"),
    ] {
        for case in file[list].as_array().unwrap() {
            if let Some(code) = case["code"].as_str() {
                codes.insert(code.to_owned());
            }
        }
    }
    // token_inactive is the provider's answer: no fixture can give it without a live provider.
    // Each language tests it against the real identity provider (introspection tests).
    const NEEDS_A_LIVE_PROVIDER: [&str; 1] = ["token_inactive"];
    for code in ErrorCode::ALL {
        if NEEDS_A_LIVE_PROVIDER.contains(&code.as_str()) {
            continue;
        }
        assert!(codes.contains(code.as_str()), "no fixture for {code}");
    }
    let mut options = BTreeSet::new();
    for file in [&f, &r] {
        for verifier in file["verifiers"].as_object().unwrap().values() {
            options.extend(verifier.as_object().unwrap().keys().cloned());
        }
        for config in file["configs"].as_array().unwrap() {
            options.extend(config["options"].as_object().unwrap().keys().cloned());
        }
    }
    for option in OPTIONS {
        assert!(options.contains(option), "no fixture uses {option}");
    }
}

/// The binding option names of `AudienceMatch`.
fn audience_match(value: &Value) -> Option<AudienceMatch> {
    match value.as_str()? {
        "exact" => Some(AudienceMatch::Exact),
        "canonical" => Some(AudienceMatch::CanonicalUri),
        _ => None,
    }
}

/// The binding option names of `ClientAuth`.
fn client_auth(value: &Value) -> Option<ClientAuth> {
    match value.as_str()? {
        "basic" => Some(ClientAuth::Basic),
        "post" => Some(ClientAuth::Post),
        _ => None,
    }
}

/// Builds a fixture verifier; `Err` holds the error code, as the bindings report it.
fn build(options: &Value) -> Result<Verifier, String> {
    if let Some(mode) = options.get("dpop") {
        if DpopMode::from_name(mode.as_str().unwrap_or("")).is_none() {
            return Err("config_invalid".into());
        }
    }
    if options
        .get("audienceMatch")
        .is_some_and(|m| audience_match(m).is_none())
    {
        return Err("config_invalid".into());
    }
    let auth = options
        .get("introspection")
        .and_then(|i| i.get("clientAuth"));
    if auth.is_some_and(|a| client_auth(a).is_none()) {
        return Err("config_invalid".into());
    }
    builder(options)
        .build()
        .map_err(|e| e.code().as_str().to_owned())
}

#[test]
fn every_request_gives_the_expected_outcome() {
    let f = request_fixtures();
    let now = UNIX_EPOCH + Duration::from_secs(f["now"].as_u64().unwrap());
    let verifiers: HashMap<&str, Verifier> = f["verifiers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, options)| {
            let v = build(options).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name.as_str(), v)
        })
        .collect();
    for case in f["requests"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let v = &verifiers[case["verifier"].as_str().unwrap()];
        let proofs: Vec<&str> = case["dpop"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let request = AuthRequest::new(
            case["method"].as_str().unwrap(),
            case["url"].as_str().unwrap(),
            case["authorization"].as_str(),
            &proofs,
        );
        match (case["code"].as_str(), v.verify_request_at(&request, now)) {
            (None, Ok(verified)) => assert_eq!(identity(&verified), case["claims"], "{name}"),
            (None, Err(e)) => panic!("{name}: expected success, got {e:?}"),
            (Some(code), Ok(v)) => panic!("{name}: expected {code}, got {v:?}"),
            (Some(code), Err(e)) => assert_eq!(e.code().as_str(), code, "{name}: {e}"),
        }
    }
    for case in f["bearer"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let v = &verifiers[case["verifier"].as_str().unwrap()];
        match (
            case["code"].as_str(),
            v.verify_at(case["token"].as_str().unwrap(), now),
        ) {
            (None, Ok(verified)) => assert_eq!(identity(&verified), case["claims"], "{name}"),
            (None, Err(e)) => panic!("{name}: expected success, got {e:?}"),
            (Some(code), Ok(v)) => panic!("{name}: expected {code}, got {v:?}"),
            (Some(code), Err(e)) => assert_eq!(e.code().as_str(), code, "{name}: {e}"),
        }
    }
    for config in f["configs"].as_array().unwrap() {
        let name = config["name"].as_str().unwrap();
        let code = build(&config["options"])
            .err()
            .unwrap_or_else(|| panic!("{name} built"));
        assert_eq!(code, config["code"].as_str().unwrap(), "{name}");
    }
}

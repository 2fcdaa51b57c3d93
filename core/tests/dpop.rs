//! DPoP (RFC 9449) at the resource server: a bound token is accepted only with a valid proof of
//! its key, through `Verifier::verify_request`; each check of RFC 9449 §4.3 refuses its own kind
//! of bad proof with a stable code; the challenges and metadata say what the server accepts.

mod common;

use common::*;
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, AuthRequest, DpopMode, ErrorCode, Verifier, VerifierBuilder};
use serde_json::{Value, json};

const URL: &str = "https://mcp.example.com/mcp";
const RESOURCE: &str = "https://mcp.example.com/mcp";

fn issuer_key() -> &'static SigningKey {
    key(Algorithm::ES256, "issuer")
}

fn client_key() -> &'static SigningKey {
    key(Algorithm::ES256, "client")
}

/// A token bound to `client` (cnf.jkt = its thumbprint).
fn bound_token(client: &SigningKey, extra: Value) -> String {
    let mut c = claims_with(extra);
    c["cnf"] = json!({"jkt": client.thumbprint().unwrap()});
    issuer_key().mint(&c).unwrap()
}

fn dpop_builder() -> VerifierBuilder {
    builder(&[issuer_key()])
}

fn dpop_verifier() -> Verifier {
    dpop_builder().build().unwrap()
}

fn request<'a>(method: &'a str, auth: &'a str, proofs: &'a [&'a str]) -> AuthRequest<'a> {
    AuthRequest::new(method, URL, Some(auth), proofs)
}

/// A proof with the given claims and header changes, signed by `signer`.
fn custom_proof(signer: &SigningKey, header: Value, claims: Value) -> String {
    let mut h = json!({"typ": "dpop+jwt", "alg": signer.algorithm().as_str(), "jwk": signer.public_jwk().unwrap_or(json!({}))});
    for (k, v) in header.as_object().unwrap() {
        if v.is_null() {
            h.as_object_mut().unwrap().remove(k);
        } else {
            h[k] = v.clone();
        }
    }
    signer
        .sign_raw(
            serde_json::to_string(&h).unwrap().as_bytes(),
            serde_json::to_string(&claims).unwrap().as_bytes(),
        )
        .unwrap()
}

fn ath(token: &str) -> String {
    // base64url(SHA-256(token)), computed through a proof the library made for this token.
    let proof = client_key()
        .dpop_proof("GET", URL, Some(token), None)
        .unwrap();
    let payload: Value = serde_json::from_slice(&unb64(proof.split('.').nth(1).unwrap())).unwrap();
    payload["ath"].as_str().unwrap().to_owned()
}

fn proof_claims(token: &str, changes: Value) -> Value {
    let mut c = json!({
        "jti": format!("jti-{}", rand_suffix()), "htm": "POST", "htu": URL,
        "iat": jwtgate::now_unix(), "ath": ath(token),
    });
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn a_bound_token_with_a_valid_proof_is_accepted_and_shows_its_binding() {
    let v = dpop_verifier();
    let token = bound_token(client_key(), json!({}));
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    let auth = format!("DPoP {token}");
    let verified = v
        .verify_request(&request("POST", &auth, &[&proof]))
        .unwrap();
    assert_eq!(
        verified.confirmation_jkt(),
        client_key().thumbprint().as_deref()
    );
    assert_eq!(verified.sub(), Some("alice"));
    // The scheme is case-insensitive (RFC 9110 §11.1); a second request needs a new proof.
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    let auth = format!("dpop {token}");
    v.verify_request(&request("POST", &auth, &[&proof]))
        .unwrap();
    let stats = v.stats();
    assert_eq!((stats.accepted, stats.rejected), (2, 0));
}

#[test]
fn a_bound_token_presented_as_bearer_is_refused_everywhere() {
    let v = dpop_verifier();
    let token = bound_token(client_key(), json!({}));
    let bearer = format!("Bearer {token}");
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    // Even with a valid proof beside it: the scheme says Bearer (RFC 9449 §7.2).
    assert_eq!(
        code(v.verify_request(&request("POST", &bearer, &[&proof]))),
        ErrorCode::DpopProofMissing
    );
    // Plain verify takes a credential as Bearer: refused, after a full check and from the cache.
    assert_eq!(code(v.verify(&token)), ErrorCode::DpopProofMissing);
    assert_eq!(code(v.verify(&token)), ErrorCode::DpopProofMissing);
    assert!(
        matches!(v.verify_cached(&token), Some(Err(e)) if e.code() == ErrorCode::DpopProofMissing)
    );
    assert!(
        matches!(v.verify_nonblocking(&token), Some(Err(e)) if e.code() == ErrorCode::DpopProofMissing)
    );
    let stats = v.stats();
    assert_eq!(stats.accepted, 0, "{stats:?}");
    assert_eq!(stats.rejected, 5);
    // With DPoP off, a bound token cannot be honoured at all.
    let off = dpop_builder().dpop(DpopMode::Off).build().unwrap();
    assert_eq!(code(off.verify(&token)), ErrorCode::DpopProofMissing);
    let dpop_auth = format!("DPoP {token}");
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    assert_eq!(
        code(off.verify_request(&request("POST", &dpop_auth, &[&proof]))),
        ErrorCode::CredentialMissing
    );
}

#[test]
fn a_replayed_proof_is_refused() {
    let v = dpop_verifier();
    let token = bound_token(client_key(), json!({}));
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    let auth = format!("DPoP {token}");
    v.verify_request(&request("POST", &auth, &[&proof]))
        .unwrap();
    assert_eq!(
        code(v.verify_request(&request("POST", &auth, &[&proof]))),
        ErrorCode::DpopProofReplayed
    );
}

#[test]
fn each_proof_check_of_rfc_9449_refuses_its_bad_proof() {
    let v = dpop_verifier();
    let token = bound_token(client_key(), json!({}));
    let auth = format!("DPoP {token}");
    let now = jwtgate::now_unix();
    let other = key(Algorithm::ES256, "another-client");
    let mut private_jwk = client_key().public_jwk().unwrap();
    private_jwk["d"] = json!(b64(&[7u8; 32]));
    let hs = SigningKey::hmac(Algorithm::HS256, "h", &[1u8; 32]).unwrap();
    let cases: Vec<(&str, String, ErrorCode)> = vec![
        (
            "wrong htu",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"htu": "https://mcp.example.com/other"})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "wrong host in htu",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"htu": "https://evil.example/mcp"})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "wrong htm",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"htm": "GET"})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "stale iat",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"iat": now - 301})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "future iat",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"iat": now + 400})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "iat as a string",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"iat": now.to_string()})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "wrong ath",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"ath": ath("another-token")})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "no ath",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"ath": null})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "no jti",
            custom_proof(
                client_key(),
                json!({}),
                proof_claims(&token, json!({"jti": null})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "key is not the bound one",
            custom_proof(other, json!({}), proof_claims(&token, json!({}))),
            ErrorCode::DpopKeyMismatch,
        ),
        (
            "private key in the header",
            custom_proof(
                client_key(),
                json!({"jwk": private_jwk}),
                proof_claims(&token, json!({})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "typ JWT",
            custom_proof(
                client_key(),
                json!({"typ": "JWT"}),
                proof_claims(&token, json!({})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "no typ",
            custom_proof(
                client_key(),
                json!({"typ": null}),
                proof_claims(&token, json!({})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "no jwk",
            custom_proof(
                client_key(),
                json!({"jwk": null}),
                proof_claims(&token, json!({})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "jwk of another key than the signer",
            custom_proof(
                other,
                json!({"jwk": client_key().public_jwk().unwrap()}),
                proof_claims(&token, json!({})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "symmetric alg",
            custom_proof(
                &hs,
                json!({"jwk": client_key().public_jwk().unwrap()}),
                proof_claims(&token, json!({})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "alg none",
            {
                let p = custom_proof(
                    client_key(),
                    json!({"alg": "none"}),
                    proof_claims(&token, json!({})),
                );
                let parts: Vec<&str> = p.split('.').collect();
                format!("{}.{}.", parts[0], parts[1])
            },
            ErrorCode::DpopProofInvalid,
        ),
        (
            "altered payload",
            {
                let p = client_key()
                    .dpop_proof("POST", URL, Some(&token), None)
                    .unwrap();
                let forged = b64(serde_json::to_string(&proof_claims(&token, json!({})))
                    .unwrap()
                    .as_bytes());
                with_segment(&p, 1, &forged)
            },
            ErrorCode::DpopProofInvalid,
        ),
        (
            "not a JWS",
            "not-a-proof".to_owned(),
            ErrorCode::DpopProofInvalid,
        ),
        (
            "crit header",
            custom_proof(
                client_key(),
                json!({"crit": ["exp"]}),
                proof_claims(&token, json!({})),
            ),
            ErrorCode::DpopProofInvalid,
        ),
        ("oversized", "a".repeat(9000), ErrorCode::DpopProofInvalid),
    ];
    for (name, proof, expected) in cases {
        let got = v.verify_request(&request("POST", &auth, &[&proof]));
        assert_eq!(code(got), expected, "{name}");
    }
    // Header-count rules: none, two, or two folded into one value.
    let good = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    assert_eq!(
        code(v.verify_request(&request("POST", &auth, &[]))),
        ErrorCode::DpopProofMissing
    );
    assert_eq!(
        code(v.verify_request(&request("POST", &auth, &[&good, &good]))),
        ErrorCode::DpopProofInvalid
    );
    let folded = format!("{good}, {good}");
    assert_eq!(
        code(v.verify_request(&request("POST", &auth, &[&folded]))),
        ErrorCode::DpopProofInvalid
    );
    // None of those refusals used up the good proof.
    v.verify_request(&request("POST", &auth, &[&good])).unwrap();
}

#[test]
fn htu_is_compared_after_rfc_3986_normalisation_and_without_the_query() {
    let v = dpop_verifier();
    let token = bound_token(client_key(), json!({}));
    let auth = format!("DPoP {token}");
    let proof = custom_proof(
        client_key(),
        json!({}),
        proof_claims(&token, json!({"htu": "HTTPS://MCP.Example.COM:443/mcp"})),
    );
    let proofs = [proof.as_str()];
    let req = AuthRequest::new(
        "POST",
        "https://mcp.example.com/mcp?session=1",
        Some(&auth),
        &proofs,
    );
    v.verify_request(&req).unwrap();
}

#[test]
fn an_unbound_token_with_the_dpop_scheme_is_a_key_mismatch() {
    let v = dpop_verifier();
    let token = issuer_key().mint(&claims()).unwrap();
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    let auth = format!("DPoP {token}");
    assert_eq!(
        code(v.verify_request(&request("POST", &auth, &[&proof]))),
        ErrorCode::DpopKeyMismatch
    );
    // The same token as Bearer is fine in the default mode...
    let bearer = format!("Bearer {token}");
    v.verify_request(&request("POST", &bearer, &[])).unwrap();
    // ...and refused before any signature check when DPoP is required.
    let required = dpop_builder().dpop(DpopMode::Required).build().unwrap();
    assert_eq!(
        code(required.verify_request(&request("POST", &bearer, &[]))),
        ErrorCode::DpopProofMissing
    );
}

#[test]
fn missing_or_foreign_authorization_is_credential_missing() {
    let v = dpop_verifier();
    for auth in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer"),
        Some("Bearer   "),
        Some(""),
    ] {
        let req = AuthRequest::new("GET", URL, auth, &[]);
        assert_eq!(
            code(v.verify_request(&req)),
            ErrorCode::CredentialMissing,
            "{auth:?}"
        );
    }
}

#[test]
fn a_bound_token_lacking_scope_needs_its_proof_before_it_hears_403() {
    let v = dpop_builder().required_scopes(["admin"]).build().unwrap();
    let token = bound_token(client_key(), json!({}));
    let auth = format!("DPoP {token}");
    let stolen = format!("DPoP {token}");
    let foreign = custom_proof(
        key(Algorithm::ES256, "thief"),
        json!({}),
        proof_claims(&token, json!({})),
    );
    assert_eq!(
        code(v.verify_request(&request("POST", &stolen, &[&foreign]))),
        ErrorCode::DpopKeyMismatch
    );
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    assert_eq!(
        code(v.verify_request(&request("POST", &auth, &[&proof]))),
        ErrorCode::InsufficientScope
    );
}

#[test]
fn server_nonces_are_demanded_then_accepted() {
    let v = dpop_builder().dpop_nonce(true).build().unwrap();
    let resource = v.protected_resource(RESOURCE, &[], &[]).unwrap();
    let token = bound_token(client_key(), json!({}));
    let auth = format!("DPoP {token}");
    let first = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    let err = v
        .verify_request(&request("POST", &auth, &[&first]))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopNonceRequired);
    let challenge = resource.challenge(Some(&err), &[]);
    assert_eq!(challenge.status, 401);
    let header = challenge.www_authenticate.unwrap();
    assert!(
        header.contains(r#"DPoP algs=""#) && header.contains(r#"error="use_dpop_nonce""#),
        "{header}"
    );
    let nonce = challenge
        .dpop_nonce
        .expect("a nonce for the DPoP-Nonce header");
    let retry = client_key()
        .dpop_proof("POST", URL, Some(&token), Some(&nonce))
        .unwrap();
    v.verify_request(&request("POST", &auth, &[&retry]))
        .unwrap();
    let forged = client_key()
        .dpop_proof(
            "POST",
            URL,
            Some(&token),
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .unwrap();
    assert_eq!(
        code(v.verify_request(&request("POST", &auth, &[&forged]))),
        ErrorCode::DpopNonceRequired
    );
}

#[test]
fn metadata_and_challenges_advertise_dpop_per_rfc_9728_and_9449() {
    let allowed = dpop_builder()
        .required_scopes(["tools:call"])
        .build()
        .unwrap();
    let r = allowed.protected_resource(RESOURCE, &[], &[]).unwrap();
    let doc: Value = serde_json::from_str(&r.metadata_json()).unwrap();
    assert_eq!(doc["authorization_servers"], json!([ISS]));
    assert_eq!(doc["scopes_supported"], json!(["tools:call"]));
    assert!(
        doc["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
    assert!(
        !doc["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("HS256"))
    );
    assert!(doc.get("dpop_bound_access_tokens_required").is_none());
    let meta = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    let none = r.challenge(None, &["tools:call"]).www_authenticate.unwrap();
    assert!(
        none.starts_with(&format!(
            r#"Bearer resource_metadata="{meta}", scope="tools:call", DPoP algs=""#
        )),
        "{none}"
    );
    assert!(!none.contains("error="), "{none}");
    // credential_missing is answered as no credential.
    let missing = allowed
        .verify_request(&AuthRequest::new("GET", URL, None, &[]))
        .unwrap_err();
    assert_eq!(
        r.challenge(Some(&missing), &["tools:call"])
            .www_authenticate
            .unwrap(),
        none
    );
    // A proof error goes in the DPoP challenge; the Bearer one stays error-free.
    let token = bound_token(client_key(), json!({"scope": "tools:call"}));
    let auth = format!("DPoP {token}");
    let bad = custom_proof(
        client_key(),
        json!({}),
        proof_claims(&token, json!({"htm": "GET"})),
    );
    let err = allowed
        .verify_request(&request("POST", &auth, &[&bad]))
        .unwrap_err();
    let c = r.challenge(Some(&err), &["tools:call"]);
    let header = c.www_authenticate.unwrap();
    let (bearer, dpop) = header.split_once(", DPoP ").unwrap();
    assert!(!bearer.contains("error="), "{header}");
    assert!(dpop.contains(r#"error="invalid_dpop_proof""#), "{header}");
    assert_eq!(c.status, 401);
    // An expired token sent with the DPoP scheme: invalid_token, in the DPoP challenge.
    let expired = bound_token(
        client_key(),
        json!({"exp": jwtgate::now_unix() - 1000, "iat": jwtgate::now_unix() - 2000}),
    );
    let auth = format!("DPoP {expired}");
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&expired), None)
        .unwrap();
    let err = allowed
        .verify_request(&request("POST", &auth, &[&proof]))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenExpired);
    let header = r.challenge(Some(&err), &[]).www_authenticate.unwrap();
    let (bearer, dpop) = header.split_once(", DPoP ").unwrap();
    assert!(
        !bearer.contains("error=") && dpop.contains(r#"error="invalid_token""#),
        "{header}"
    );

    let required = dpop_builder().dpop(DpopMode::Required).build().unwrap();
    let r = required
        .protected_resource(RESOURCE, &["https://as.example"], &["a"])
        .unwrap();
    let doc: Value = serde_json::from_str(&r.metadata_json()).unwrap();
    assert_eq!(doc["dpop_bound_access_tokens_required"], json!(true));
    assert_eq!(doc["authorization_servers"], json!(["https://as.example"]));
    let header = r.challenge(None, &[]).www_authenticate.unwrap();
    assert!(
        header.starts_with("DPoP algs=") && !header.contains("Bearer"),
        "{header}"
    );

    let off = dpop_builder().dpop(DpopMode::Off).build().unwrap();
    let r = off.protected_resource(RESOURCE, &[], &[]).unwrap();
    assert!(!r.metadata_json().contains("dpop"));
    assert!(
        !r.challenge(None, &[])
            .www_authenticate
            .unwrap()
            .contains("DPoP")
    );
}

#[test]
fn tokens_bound_by_a_method_jwtgate_cannot_check_are_refused() {
    let v = dpop_verifier();
    let token = issuer_key()
        .mint(&claims_with(
            json!({"cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}),
        ))
        .unwrap();
    let err = v.verify(&token).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ClaimInvalid);
    assert!(err.message().contains("x5t#S256"), "{err}");
    // Bound to both a DPoP key and a certificate: the certificate binding cannot be honoured.
    let both = json!({"jkt": client_key().thumbprint().unwrap(), "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"});
    let both = issuer_key()
        .mint(&claims_with(json!({"cnf": both})))
        .unwrap();
    assert_eq!(code(v.verify(&both)), ErrorCode::ClaimInvalid);
    for bad in [
        json!({"jkt": 5}),
        json!({"jkt": ""}),
        json!("jkt"),
        json!([1]),
    ] {
        let token = issuer_key()
            .mint(&claims_with(json!({"cnf": bad})))
            .unwrap();
        assert_eq!(code(v.verify(&token)), ErrorCode::ClaimInvalid, "{bad}");
    }
}

#[test]
fn absurd_dpop_settings_are_config_invalid() {
    use std::time::Duration;
    let cases: Vec<VerifierBuilder> = vec![
        dpop_builder().dpop_algorithms([Algorithm::HS256]),
        dpop_builder().dpop_algorithms([]),
        dpop_builder().dpop_iat_window(Duration::ZERO),
        dpop_builder().dpop_iat_window(Duration::from_secs(3601)),
        dpop_builder().dpop_replay_cache_size(0),
        dpop_builder().dpop_replay_cache_size(usize::MAX),
    ];
    for b in cases {
        assert_eq!(b.build().unwrap_err().code(), ErrorCode::ConfigInvalid);
    }
    // A narrower algorithm list is honoured.
    let v = dpop_builder()
        .dpop_algorithms([Algorithm::EdDSA])
        .build()
        .unwrap();
    let token = bound_token(client_key(), json!({}));
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    let auth = format!("DPoP {token}");
    assert_eq!(
        code(v.verify_request(&request("POST", &auth, &[&proof]))),
        ErrorCode::DpopProofInvalid
    );
}

#[test]
fn every_client_algorithm_can_sign_proofs() {
    let v = dpop_verifier();
    for alg in Algorithm::ASYMMETRIC
        .into_iter()
        .filter(|a| a.is_available())
    {
        let client = key(alg, "client-any");
        let token = bound_token(client, json!({}));
        let proof = client.dpop_proof("POST", URL, Some(&token), None).unwrap();
        let auth = format!("DPoP {token}");
        v.verify_request(&request("POST", &auth, &[&proof]))
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}

#[test]
fn required_mode_refuses_every_credential_without_a_proof_on_every_entry_point() {
    let v = dpop_builder()
        .dpop(DpopMode::Required)
        .static_token("api-key", "ci")
        .build()
        .unwrap();
    let unbound = issuer_key().mint(&claims()).unwrap();
    for credential in [unbound.as_str(), "api-key"] {
        assert_eq!(
            code(v.verify(credential)),
            ErrorCode::DpopProofMissing,
            "{credential}"
        );
        assert_eq!(
            code(v.verify(credential)),
            ErrorCode::DpopProofMissing,
            "cached: {credential}"
        );
        assert!(
            matches!(v.verify_cached(credential), Some(Err(e)) if e.code() == ErrorCode::DpopProofMissing)
        );
        assert!(
            matches!(v.verify_nonblocking(credential), Some(Err(e)) if e.code() == ErrorCode::DpopProofMissing)
        );
    }
    let stats = v.stats();
    assert_eq!(stats.accepted, 0, "{stats:?}");
    // With its proof, a bound token is accepted.
    let token = bound_token(client_key(), json!({}));
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    let auth = format!("DPoP {token}");
    v.verify_request(&request("POST", &auth, &[&proof]))
        .unwrap();
}

#[test]
fn a_shared_nonce_secret_lets_processes_accept_each_others_nonces() {
    let secret = [42u8; 32];
    let one = dpop_builder().dpop_nonce_secret(secret).build().unwrap();
    let two = dpop_builder().dpop_nonce_secret(secret).build().unwrap();
    let other = dpop_builder().dpop_nonce(true).build().unwrap();
    let token = bound_token(client_key(), json!({}));
    let auth = format!("DPoP {token}");
    let resource = one.protected_resource(RESOURCE, &[], &[]).unwrap();
    let nonce = resource.challenge(None, &[]).dpop_nonce.unwrap();
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), Some(&nonce))
        .unwrap();
    two.verify_request(&request("POST", &auth, &[&proof]))
        .unwrap();
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), Some(&nonce))
        .unwrap();
    assert_eq!(
        code(other.verify_request(&request("POST", &auth, &[&proof]))),
        ErrorCode::DpopNonceRequired
    );
    assert_eq!(
        dpop_builder()
            .dpop_nonce_secret([1u8; 16])
            .build()
            .unwrap_err()
            .code(),
        ErrorCode::ConfigInvalid
    );
}

#[test]
fn api_keys_in_x_api_key_are_static_tokens_only() {
    let v = dpop_builder().static_token("k-123", "ci").build().unwrap();
    let ok = AuthRequest::new("GET", URL, None, &[]).with_api_key(Some("k-123"));
    assert_eq!(v.verify_request(&ok).unwrap().client_id(), Some("ci"));
    let wrong = AuthRequest::new("GET", URL, None, &[]).with_api_key(Some("k-124"));
    assert_eq!(code(v.verify_request(&wrong)), ErrorCode::TokenUnknown);
    // A JWT in X-API-Key is not a credential there.
    let jwt = issuer_key().mint(&claims()).unwrap();
    let as_key = AuthRequest::new("GET", URL, None, &[]).with_api_key(Some(&jwt));
    assert_eq!(code(v.verify_request(&as_key)), ErrorCode::TokenUnknown);
    // Authorization wins when both are sent; a blank key is no credential.
    let bearer = format!("Bearer {jwt}");
    let both = AuthRequest::new("GET", URL, Some(&bearer), &[]).with_api_key(Some("nope"));
    v.verify_request(&both).unwrap();
    let blank = AuthRequest::new("GET", URL, None, &[]).with_api_key(Some("  "));
    assert_eq!(code(v.verify_request(&blank)), ErrorCode::CredentialMissing);
    // With DPoP required, an API key is a credential without a proof.
    let required = dpop_builder()
        .static_token("k-123", "ci")
        .dpop(DpopMode::Required)
        .build()
        .unwrap();
    assert_eq!(
        code(required.verify_request(&ok)),
        ErrorCode::DpopProofMissing
    );
}

#[test]
fn a_later_scope_check_on_a_dpop_credential_challenges_with_dpop() {
    let v = dpop_verifier();
    let r = v.protected_resource(RESOURCE, &[], &[]).unwrap();
    let token = bound_token(client_key(), json!({}));
    let proof = client_key()
        .dpop_proof("POST", URL, Some(&token), None)
        .unwrap();
    let auth = format!("DPoP {token}");
    let verified = v
        .verify_request(&request("POST", &auth, &[&proof]))
        .unwrap();
    assert!(verified.presented_with_dpop());
    let err = verified.require_scopes(&["files:write"]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    let c = r.challenge(Some(&err), &["files:write"]);
    assert_eq!(c.status, 403);
    let header = c.www_authenticate.unwrap();
    let (bearer, dpop) = header.split_once(", DPoP ").unwrap();
    assert!(
        !bearer.contains("error=") && dpop.contains(r#"error="insufficient_scope""#),
        "{header}"
    );
    // A Bearer credential's later scope check stays on the Bearer challenge.
    let plain = issuer_key().mint(&claims()).unwrap();
    let bearer_auth = format!("Bearer {plain}");
    let verified = v
        .verify_request(&request("POST", &bearer_auth, &[]))
        .unwrap();
    assert!(!verified.presented_with_dpop());
    let err = verified.require_scopes(&["files:write"]).unwrap_err();
    let header = r.challenge(Some(&err), &[]).www_authenticate.unwrap();
    assert!(
        header.starts_with(r#"Bearer error="insufficient_scope""#),
        "{header}"
    );
}

//! The Rust half of the shared error fixtures (`test/fixtures/errors.json`): the core must give
//! every token the code the Node tests (`test/errors.test.mjs`) expect from the binding.
//! The options use the Node names (DESIGN.md "Option names"), mapped to the builder here.

use jwtgate::{Algorithm, StaticToken, Verifier, VerifierBuilder};
use serde_json::Value;
use std::time::Duration;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test/fixtures/errors.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read errors.json"))
        .expect("errors.json is JSON")
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

fn builder(options: &Value) -> VerifierBuilder {
    let mut b = Verifier::builder();
    for (name, value) in options.as_object().expect("options object") {
        b = match name.as_str() {
            "issuer" => b.issuers(strings(value)),
            "audience" => b.audiences(strings(value)),
            "jwks" => b.jwks(&value.to_string()),
            "requiredScopes" => b.required_scopes(strings(value)),
            "requiredClaims" => b.require_claims(strings(value)),
            "typ" => b.typ(value.as_str().unwrap()),
            "clockTolerance" => b.leeway(Duration::from_secs_f64(value.as_f64().unwrap())),
            "algorithms" => b.algorithms(
                strings(value)
                    .iter()
                    .map(|a| a.parse::<Algorithm>().expect("known algorithm")),
            ),
            "staticTokens" => b.static_tokens(value.as_array().unwrap().iter().map(|t| {
                StaticToken::new(
                    t["token"].as_str().unwrap(),
                    t["clientId"].as_str().unwrap(),
                )
                .with_scopes(strings(&t["scopes"]))
            })),
            other => panic!("option {other} is not mapped in this test"),
        };
    }
    b
}

#[test]
fn tokens_get_the_codes_the_node_binding_reports() {
    let fixtures = fixtures();
    let verifiers: std::collections::HashMap<&str, Verifier> = fixtures["verifiers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, options)| (name.as_str(), builder(options).build().expect(name)))
        .collect();
    let cases = fixtures["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let verifier = &verifiers[case["verifier"].as_str().unwrap_or("default")];
        let result = verifier.verify(case["token"].as_str().unwrap());
        match (case["code"].as_str(), result) {
            (None, Ok(_)) => {}
            (None, Err(e)) => panic!("{name}: expected success, got {e:?}"),
            (Some(code), Ok(_)) => panic!("{name}: expected {code}, got success"),
            (Some(code), Err(e)) => {
                assert_eq!(e.code().as_str(), code, "{name}: {e}");
                if let Some(claim) = case["claim"].as_str() {
                    assert_eq!(e.claim(), Some(claim), "{name}");
                }
            }
        }
    }
}

#[test]
fn configurations_get_the_codes_the_node_binding_reports() {
    for case in fixtures()["configs"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let err = builder(&case["options"]).build().expect_err(name);
        assert_eq!(
            err.code().as_str(),
            case["code"].as_str().unwrap(),
            "{name}"
        );
    }
}

//! End to end: the built `jwtgate` binary runs the live demo — an embedded issuer, verification
//! through discovery, a key rotation mid-run — and every token verifies.

mod common;

use common::jwtgate;

#[test]
fn demo_rotates_keys_without_failures() {
    let run = jwtgate(&["demo", "--seconds", "2"]);
    run.expect_code(0);
    let stdout = &run.stdout;
    for alg in ["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"] {
        assert!(stdout.contains(alg), "{alg} missing:\n{}", run.describe());
    }
    assert!(
        stdout.contains("rotation picked up after"),
        "{}",
        run.describe()
    );
    assert!(stdout.contains("old keys withdrawn"), "{}", run.describe());
    assert!(stdout.contains("cache hit rate"), "{}", run.describe());

    let total = stdout
        .lines()
        .find_map(|line| line.strip_prefix("total: "))
        .unwrap_or_else(|| panic!("no total line in:\n{stdout}"));
    let (count, failures) = total
        .split_once(" verifications, ")
        .unwrap_or_else(|| panic!("unexpected total line: {total}"));
    let count: u64 = count
        .parse()
        .unwrap_or_else(|_| panic!("unexpected count in: {total}"));
    assert!(count > 0, "{total}");
    assert_eq!(failures, "0 failures", "{total}\n{stdout}");
}

#[test]
fn demo_json_reports_the_rotation() {
    let run = jwtgate(&[
        "demo",
        "--seconds",
        "1",
        "--threads",
        "1",
        "--tokens",
        "32",
        "--json",
    ]);
    run.expect_code(0);
    let doc = run.json();
    assert_eq!(doc["total"]["failures"], 0, "{doc:#}");
    assert!(doc["total"]["verifications"].as_u64().unwrap() > 0);
    assert!(doc["rotation"]["picked_up_after_ms"].is_number(), "{doc:#}");
    // Start-up, then one fetch for the first unknown kid: the rotation costs one JWKS request.
    assert_eq!(doc["fetches"]["jwks"], 2, "{doc:#}");
    assert_eq!(doc["fetches"]["kid_refreshes"], 1, "{doc:#}");
    assert!(doc["key_generation"].as_u64().unwrap() >= 2, "{doc:#}");
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);

    // Cache use is the verifiers' own count. Every call a worker counted as a hit was answered
    // by the cache; the verifier may count a few more (a token cached by another worker between
    // the cache lookup and the full verification).
    let hits = doc["cache"]["hits"].as_u64().unwrap();
    let per_algorithm: u64 = results
        .iter()
        .map(|r| r["cache_hits"].as_u64().unwrap())
        .sum();
    assert!(per_algorithm > 0 && hits >= per_algorithm, "{doc:#}");
    let rate = doc["cache_hit_rate"].as_f64().unwrap();
    assert!(rate > 0.0 && rate <= 1.0, "{doc:#}");
}

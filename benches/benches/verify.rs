//! One criterion run with every contender, so the ratios compare like with like:
//! the crypto floor, jwtgate cold and cached, `jsonwebtoken` and `jwt-simple`, per algorithm;
//! and jwtgate with 1-, 3- and 20-key sets; an introspected opaque token, first call against
//! cached; one provider against several.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jwtgate::Algorithm;
use jwtgate::Verifier;
use jwtgate_benches::{
    AUDIENCE, ISSUER, builder_for, fixture, introspection_server, key_set_fixture,
};

const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::HS256,
];

fn per_algorithm(c: &mut Criterion) {
    for alg in ALGORITHMS {
        let f = fixture(alg);
        let mut group = c.benchmark_group(alg.as_str());
        let floor = f.floor();
        group.bench_function("floor", |b| b.iter(|| assert!(floor(black_box(&f.token)))));
        group.bench_function("jwtgate_cold", |b| {
            b.iter(|| f.cold.verify(black_box(&f.token)).expect("valid"))
        });
        group.bench_function("jwtgate_cached", |b| {
            b.iter(|| f.cached.verify(black_box(&f.token)).expect("valid"))
        });
        let jsonwebtoken = f.jsonwebtoken();
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| assert!(jsonwebtoken(black_box(&f.token))))
        });
        if let Some(jwt_simple) = f.jwt_simple() {
            group.bench_function("jwt_simple", |b| {
                b.iter(|| assert!(jwt_simple(black_box(&f.token))))
            });
        }
        group.finish();
    }
}

fn key_set_size(c: &mut Criterion) {
    let mut group = c.benchmark_group("keyset_RS256");
    for n in [1, 3, 20] {
        let (verifier, token) = key_set_fixture(n);
        group.bench_function(format!("{n}_keys"), |b| {
            b.iter(|| verifier.verify(black_box(&token)).expect("valid"))
        });
    }
    group.finish();
}

/// An opaque token through RFC 7662 introspection on loopback: every call a new token (a first
/// call: one HTTP round trip) against one token again (the answer cache), next to a JWT cache
/// hit — the cached introspected path should cost about what a cached JWT costs.
fn introspection(c: &mut Criterion) {
    let endpoint = introspection_server::start(ISSUER, AUDIENCE);
    let f = fixture(Algorithm::ES256);
    let verifier = builder_for(&f.key)
        .introspection("bench-rs", "bench-secret")
        .introspection_endpoint(endpoint)
        .introspection_cache_size(1 << 16)
        .build()
        .expect("verifier");
    let mut group = c.benchmark_group("introspection");
    let mut n = 0u64;
    group.bench_function("first_call", |b| {
        b.iter(|| {
            n += 1;
            verifier
                .verify(black_box(&format!("opaque-{n}")))
                .expect("active")
        })
    });
    verifier.verify("opaque-cached").expect("active");
    group.bench_function("cached", |b| {
        b.iter(|| verifier.verify(black_box("opaque-cached")).expect("active"))
    });
    verifier.verify(&f.token).expect("valid");
    group.bench_function("jwt_cached", |b| {
        b.iter(|| verifier.verify(black_box(&f.token)).expect("valid"))
    });
    group.finish();
}

/// One issuer against the same issuer as the first of two providers (the token's `iss` read to
/// route): several providers must not slow the single-issuer path.
fn providers(c: &mut Criterion) {
    let f = fixture(Algorithm::ES256);
    let other = jwtgate::sign::SigningKey::generate(Algorithm::EdDSA, "other").expect("keygen");
    let two = |cache: usize| {
        Verifier::builder()
            .provider(builder_for(&f.key).cache_size(cache))
            .provider(
                Verifier::builder()
                    .issuer("https://other.example")
                    .audience(AUDIENCE)
                    .jwks(&other.public_jwks()),
            )
            .required_scopes(["tools:call"])
            .build()
            .expect("verifier")
    };
    let (two_cold, two_cached) = (two(0), two(1024));
    let mut group = c.benchmark_group("providers_ES256");
    group.bench_function("one_issuer_cold", |b| {
        b.iter(|| f.cold.verify(black_box(&f.token)).expect("valid"))
    });
    group.bench_function("two_providers_cold", |b| {
        b.iter(|| two_cold.verify(black_box(&f.token)).expect("valid"))
    });
    group.bench_function("one_issuer_cached", |b| {
        b.iter(|| f.cached.verify(black_box(&f.token)).expect("valid"))
    });
    group.bench_function("two_providers_cached", |b| {
        b.iter(|| two_cached.verify(black_box(&f.token)).expect("valid"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = per_algorithm, key_set_size, introspection, providers
}
criterion_main!(benches);

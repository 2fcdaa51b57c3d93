//! One criterion run with every contender, so the ratios compare like with like:
//! the crypto floor, jwtgate cold and cached, `jsonwebtoken` and `jwt-simple`, per algorithm;
//! and jwtgate with 1-, 3- and 20-key sets.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jwtgate::Algorithm;
use jwtgate_benches::{fixture, key_set_fixture};

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

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = per_algorithm, key_set_size
}
criterion_main!(benches);

//! Cold verification (no cache) per algorithm. Issue #4 extends this with the crypto floor, the
//! cache and the Rust peers in the same run.

use criterion::{Criterion, criterion_group, criterion_main};
use jwtgate::Algorithm;
use jwtgate_benches::fixture;

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("jwtgate_verify");
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::HS256,
    ] {
        let f = fixture(alg);
        f.verifier.verify(&f.token).expect("fixture verifies");
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| f.verifier.verify(std::hint::black_box(&f.token)))
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);

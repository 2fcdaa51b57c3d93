//! A loop of cold verifications for profilers (`perf record`, callgrind): one algorithm, cache off.
//! Usage: cargo run --release -p jwtgate-benches --bin profile_cold -- [ALG] [ITERATIONS]

fn main() {
    let mut args = std::env::args().skip(1);
    let alg: jwtgate::Algorithm = args
        .next()
        .as_deref()
        .unwrap_or("HS256")
        .parse()
        .expect("algorithm name");
    let iterations: u64 = args
        .next()
        .map_or(1_000_000, |n| n.parse().expect("iterations"));
    let f = jwtgate_benches::fixture(alg);
    for _ in 0..iterations {
        std::hint::black_box(
            f.cold
                .verify(std::hint::black_box(&f.token))
                .expect("valid"),
        );
    }
}

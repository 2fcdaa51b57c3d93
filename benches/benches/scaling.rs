//! Multi-thread scaling: verifications/s of one shared verifier on 1 and 2 threads (and every
//! core when the machine has more), cold and cached, while another thread swaps the key set every
//! 10 ms. Writes `target/jwtgate-bench/scaling.json` for the report.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jwtgate::{Algorithm, KeySet, Verifier};
use jwtgate_benches::fixture;
use serde_json::json;

const RUN: Duration = Duration::from_secs(3);

fn rate(verifier: &Verifier, token: &str, jwks: &str, threads: usize) -> f64 {
    let stop = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let start = Barrier::new(threads + 1);
    let elapsed = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                start.wait();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        verifier.verify(token).expect("valid");
                    }
                    n += 64;
                }
                count.fetch_add(n, Ordering::Relaxed);
            });
        }
        start.wait();
        let began = Instant::now();
        while began.elapsed() < RUN {
            std::thread::sleep(Duration::from_millis(10));
            verifier
                .set_keys(KeySet::from_jwks_json(jwks).expect("jwks"))
                .expect("swap");
        }
        stop.store(true, Ordering::Relaxed);
        began.elapsed()
    });
    count.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

fn main() {
    // `cargo bench` passes flags such as --bench; this harness takes none.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts = vec![1, 2];
    if cores > 2 {
        thread_counts.push(cores);
    }
    let mut rows = Vec::new();
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let f = fixture(alg);
        let jwks = f.key.public_jwks();
        for (mode, verifier) in [("cold", &f.cold), ("cached", &f.cached)] {
            for &threads in &thread_counts {
                let per_second = rate(verifier, &f.token, &jwks, threads);
                println!("scaling/{alg}/{mode}/{threads}_threads: {per_second:.0} verifications/s");
                rows.push(json!({"alg": alg.as_str(), "mode": mode, "threads": threads, "per_second": per_second}));
            }
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/jwtgate-bench");
    std::fs::create_dir_all(&dir).expect("output dir");
    let doc = json!({"cores": cores, "rows": rows});
    std::fs::write(
        dir.join("scaling.json"),
        serde_json::to_string_pretty(&doc).expect("json"),
    )
    .expect("write");
}

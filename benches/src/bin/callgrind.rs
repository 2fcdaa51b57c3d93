//! Instruction counts per verification, for `valgrind --tool=callgrind` (repeatable on a loaded
//! machine, unlike wall-clock time). Only the calls inside `measured` are counted
//! (`--toggle-collect`), so key generation and the fixture's set-up stay out of the numbers:
//!
//! ```text
//! cargo build --release -p jwtgate-benches --bin callgrind
//! valgrind --tool=callgrind --toggle-collect='*callgrind*measured*' --callgrind-out-file=/tmp/cg.out \
//!     target/release/callgrind ES256 cold 2000
//! ```
//!
//! Modes: `floor` (the bare signature check, see cli/src/floor.rs), `cold` (cache off), `cached`
//! (every call a cache hit). Divide the total by the iteration count for instructions per call.

use std::hint::black_box;

#[inline(never)]
fn measured(f: &dyn Fn() -> bool, iterations: u64) -> u64 {
    let mut ok = 0;
    for _ in 0..iterations {
        ok += u64::from(black_box(f()));
    }
    ok
}

fn main() {
    let mut args = std::env::args().skip(1);
    let alg: jwtgate::Algorithm = args
        .next()
        .as_deref()
        .unwrap_or("HS256")
        .parse()
        .expect("algorithm name");
    let mode = args.next().unwrap_or_else(|| "cold".into());
    let iterations: u64 = args
        .next()
        .map_or(1_000, |n| n.parse().expect("iterations"));
    let f = jwtgate_benches::fixture(alg);
    let floor = f.floor();
    let token = f.token.as_str();
    let ok = match mode.as_str() {
        "floor" => measured(&|| floor(black_box(token)), iterations),
        "cold" => measured(&|| f.cold.verify(black_box(token)).is_ok(), iterations),
        "cached" => measured(&|| f.cached.verify(black_box(token)).is_ok(), iterations),
        other => panic!("mode must be floor, cold or cached, not {other}"),
    };
    assert_eq!(ok, iterations, "every call must succeed");
}

//! End to end: the built `jwtgate` binary runs the demo and every token verifies.

use std::process::Command;

#[test]
fn demo_verifies_every_algorithm_without_failures() {
    let output = Command::new(env!("CARGO_BIN_EXE_jwtgate"))
        .args(["demo", "--seconds", "0.2"])
        .output()
        .expect("the jwtgate binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "status {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );

    for alg in ["RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"] {
        assert!(stdout.contains(alg), "{alg} missing from:\n{stdout}");
    }

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

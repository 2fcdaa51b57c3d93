//! `jwtgate demo`: proves the engine end to end and shows what it costs, with nothing to set up.
//!
//! Keys are generated and tokens minted in-process so the demo needs no network, no files and no
//! identity provider; every token then goes through the same public [`Verifier`] a server would
//! use, so a failure here is a real verification failure, not a demo artefact.

use std::io::Write;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use jwtgate::sign::{self, SigningKey};
use jwtgate::{Algorithm, Error, Key, Verifier};
use serde_json::json;

/// One algorithm per key family and hash (RSA PKCS#1 and PSS, both curves, Ed25519, HMAC), so the
/// demo covers every verification code path without repeating near-identical rows.
const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::HS256,
];

const ISSUER: &str = "https://demo.jwtgate.local";
const AUDIENCE: &str = "mcp://demo";
const REQUIRED_SCOPE: &str = "tools:call";
const TOKEN_SCOPE: &str = "tools:call read";

/// Tokens stay valid at least this long, like a typical short-lived access token.
const TOKEN_LIFETIME_SECS: u64 = 600;

/// Verifications between clock reads: reading the clock after every HS256 verification would
/// measure the clock as much as the verifier, while 16 slow RSA verifications still overshoot the
/// deadline by well under a millisecond.
const CLOCK_CHECK_INTERVAL: usize = 16;

/// Longest accepted `--seconds`, so the planned run always fits in a `Duration` and in the tokens'
/// lifetime arithmetic.
const MAX_SECONDS: f64 = 3600.0;

/// Options of `jwtgate demo`.
#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// Wall-clock seconds of each measurement (each algorithm is measured on 1 thread and on all
    /// cores unless --threads is given).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = parse_seconds)]
    seconds: f64,

    /// Verify on exactly this many threads (one measurement per algorithm) instead of on 1
    /// thread and on all cores.
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,

    /// Distinct tokens minted per algorithm (different sub and jti).
    #[arg(long, value_name = "N", default_value = "256")]
    tokens: NonZeroUsize,

    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SECONDS {
        Ok(seconds)
    } else {
        Err(format!("must be more than 0 and at most {MAX_SECONDS}"))
    }
}

/// Runs the demo. Exit code 0 only if every verification succeeded, so scripts and CI can use the
/// demo as a smoke test of the build.
pub(crate) fn run(args: &DemoArgs) -> ExitCode {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let thread_counts: Vec<usize> = match args.threads {
        Some(n) => vec![n.get()],
        None if cores > 1 => vec![1, cores],
        None => vec![1],
    };
    let per_run = Duration::from_secs_f64(args.seconds);
    let planned = per_run * (ALGORITHMS.len() * thread_counts.len()) as u32;
    // Tokens must outlive the whole run, however long --seconds makes it, or late measurements
    // would count expirations as failures.
    let lifetime = TOKEN_LIFETIME_SECS.max(planned.as_secs() + 60);

    let mut out = Output::new(args.json);
    out.intro(&format!(
        "jwtgate demo: {} algorithms, {} tokens each, {} s per measurement, {} core{}, crypto backend {}\n\
         policy: issuer {ISSUER}, audience {AUDIENCE}, required scope {REQUIRED_SCOPE}",
        ALGORITHMS.len(),
        args.tokens,
        args.seconds,
        cores,
        if cores == 1 { "" } else { "s" },
        jwtgate::CRYPTO_BACKEND,
    ));

    let cases = match setup(args.tokens.get(), lifetime) {
        Ok(cases) => cases,
        Err(message) => {
            eprintln!("jwtgate demo: setup failed: {message}");
            return ExitCode::FAILURE;
        }
    };

    out.table_header();
    let mut runs = Vec::new();
    for case in &cases {
        for &threads in &thread_counts {
            let run = measure(case, threads, per_run);
            out.row(&run);
            runs.push(run);
        }
    }
    out.finish(&runs, cores, args);

    if runs.iter().all(|r| r.failures == 0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What one algorithm needs for a measurement.
struct Case {
    alg: Algorithm,
    verifier: Verifier,
    tokens: Vec<String>,
}

/// The policy every verifier in the demo enforces; `typ` is left optional because general-purpose
/// identity providers do not all set `at+jwt`.
fn policy() -> jwtgate::VerifierBuilder {
    Verifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .required_scopes([REQUIRED_SCOPE])
}

fn setup(token_count: usize, lifetime: u64) -> Result<Vec<Case>, String> {
    let keys = ALGORITHMS
        .iter()
        .map(|&alg| {
            let kid = format!("demo-{}", alg.as_str().to_ascii_lowercase());
            SigningKey::generate(alg, kid).map_err(|e| describe(&format!("generating {alg}"), &e))
        })
        .collect::<Result<Vec<_>, _>>()?;

    // All public keys in one JWKS, as an identity provider publishes them, so the demo also
    // exercises key selection by kid across families; HMAC must get its own verifier because the
    // engine refuses to mix secrets with public keys (algorithm confusion).
    let public: Vec<&SigningKey> = keys
        .iter()
        .filter(|k| !k.algorithm().is_symmetric())
        .collect();
    let jwks_verifier = policy()
        .jwks_json(&sign::jwks(&public))
        .build()
        .map_err(|e| describe("building the JWKS verifier", &e))?;

    let exp = jwtgate::now_unix() + lifetime;
    // RSA signing dominates setup; minting each algorithm's batch on its own thread keeps the
    // wait short on multi-core machines.
    let batches: Vec<Result<Vec<String>, String>> = thread::scope(|s| {
        let handles: Vec<_> = keys
            .iter()
            .map(|key| s.spawn(move || mint_batch(key, token_count, exp)))
            .collect();
        handles.into_iter().map(join).collect()
    });

    keys.iter()
        .zip(batches)
        .map(|(key, tokens)| {
            let alg = key.algorithm();
            let verifier = if alg.is_symmetric() {
                let secret = key
                    .secret()
                    .ok_or_else(|| format!("the {alg} key has no secret"))?;
                // Not `VerifierBuilder::hmac_secret`: that key has no kid, and the engine only
                // matches a token's kid against keys carrying the same kid.
                let key = Key::hmac_secret(alg, secret)
                    .map_err(|e| describe(&format!("loading the {alg} secret"), &e))?
                    .with_kid(key.kid());
                policy()
                    .key(key)
                    .build()
                    .map_err(|e| describe(&format!("building the {alg} verifier"), &e))?
            } else {
                jwks_verifier.clone()
            };
            Ok(Case {
                alg,
                verifier,
                tokens: tokens?,
            })
        })
        .collect()
}

fn mint_batch(key: &SigningKey, count: usize, exp: u64) -> Result<Vec<String>, String> {
    let alg = key.algorithm();
    let iat = jwtgate::now_unix();
    (0..count)
        .map(|i| {
            let claims = json!({
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": format!("user-{i}"),
                "jti": format!("{alg}-{i}"),
                "iat": iat,
                "exp": exp,
                "scope": TOKEN_SCOPE,
            });
            key.mint(&claims)
                .map_err(|e| describe(&format!("minting {alg} tokens"), &e))
        })
        .collect()
}

fn describe(doing: &str, error: &Error) -> String {
    format!("{doing}: {} ({})", error, error.code())
}

/// Re-raises a worker's panic in the caller so it is reported once, with its original message.
fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The outcome of one measurement.
struct Run {
    alg: Algorithm,
    threads: usize,
    verifications: u64,
    failures: u64,
    elapsed: Duration,
    first_error: Option<Error>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.verifications as f64 / self.elapsed.as_secs_f64()
    }

    /// Cost of one verification on one core, comparable across thread counts: if it grows with
    /// more threads, the cores are contending (shared state, hyper-threads, thermal limits).
    fn micros_per_core(&self) -> f64 {
        self.threads as f64 / self.per_second() * 1e6
    }
}

#[derive(Default)]
struct Tally {
    verifications: u64,
    failures: u64,
    first_error: Option<Error>,
}

fn measure(case: &Case, threads: usize, duration: Duration) -> Run {
    let start = Instant::now();
    let deadline = start + duration;
    let tallies: Vec<Tally> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                // Different starting points, so threads do not walk the same tokens in lockstep.
                let first = t * case.tokens.len() / threads;
                s.spawn(move || verify_until(&case.verifier, &case.tokens, first, deadline))
            })
            .collect();
        handles.into_iter().map(join).collect()
    });
    // Wall time until the last thread stopped: the honest denominator for the combined rate.
    let elapsed = start.elapsed();
    let mut run = Run {
        alg: case.alg,
        threads,
        verifications: 0,
        failures: 0,
        elapsed,
        first_error: None,
    };
    for tally in tallies {
        run.verifications += tally.verifications;
        run.failures += tally.failures;
        if run.first_error.is_none() {
            run.first_error = tally.first_error;
        }
    }
    run
}

fn verify_until(verifier: &Verifier, tokens: &[String], first: usize, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut next = first;
    loop {
        for _ in 0..CLOCK_CHECK_INTERVAL {
            if let Err(e) = verifier.verify(&tokens[next]) {
                tally.failures += 1;
                tally.first_error.get_or_insert(e);
            }
            tally.verifications += 1;
            next += 1;
            if next == tokens.len() {
                next = 0;
            }
        }
        if Instant::now() >= deadline {
            return tally;
        }
    }
}

/// Column headers and widths; rows are printed as each measurement ends, so the widths are fixed
/// up front (wide enough for billions of verifications).
const COLUMNS: [(&str, usize); 6] = [
    ("algorithm", 9),
    ("threads", 7),
    ("verifications", 13),
    ("failures", 8),
    ("verifications/s", 15),
    ("µs/verification/core", 20),
];

/// Writes either the streaming table or, at the end, one JSON document.
struct Output {
    json: bool,
    stdout: std::io::Stdout,
}

impl Output {
    fn new(json: bool) -> Output {
        Output {
            json,
            stdout: std::io::stdout(),
        }
    }

    fn line(&mut self, text: &str) {
        // Flushed per line: rows arrive seconds apart and should show up as they do, even when
        // stdout is a pipe.
        let mut lock = self.stdout.lock();
        // A closed stdout (`jwtgate demo | head`) is not worth aborting the run for.
        let _ = writeln!(lock, "{text}").and_then(|()| lock.flush());
    }

    fn intro(&mut self, text: &str) {
        if !self.json {
            self.line(text);
            self.line("");
        }
    }

    fn table_header(&mut self) {
        if !self.json {
            let cells = COLUMNS.map(|(name, _)| name.to_owned());
            self.line(&format_row(&cells));
        }
    }

    fn row(&mut self, run: &Run) {
        if !self.json {
            let cells = [
                run.alg.as_str().to_owned(),
                run.threads.to_string(),
                group_digits(run.verifications),
                group_digits(run.failures),
                group_digits(run.per_second().round() as u64),
                format!("{:.2}", run.micros_per_core()),
            ];
            self.line(&format_row(&cells));
        }
    }

    fn finish(&mut self, runs: &[Run], cores: usize, args: &DemoArgs) {
        let verifications: u64 = runs.iter().map(|r| r.verifications).sum();
        let failures: u64 = runs.iter().map(|r| r.failures).sum();
        if self.json {
            let results: Vec<_> = runs
                .iter()
                .map(|r| {
                    json!({
                        "algorithm": r.alg.as_str(),
                        "threads": r.threads,
                        "verifications": r.verifications,
                        "failures": r.failures,
                        "seconds": r.elapsed.as_secs_f64(),
                        "verifications_per_second": r.per_second(),
                        "us_per_verification_per_core": r.micros_per_core(),
                        "first_error": r.first_error.as_ref().map(|e| json!({
                            "code": e.code().as_str(),
                            "message": e.message(),
                        })),
                    })
                })
                .collect();
            let document = json!({
                "crypto_backend": jwtgate::CRYPTO_BACKEND,
                "cores": cores,
                "seconds_per_measurement": args.seconds,
                "tokens_per_algorithm": args.tokens.get(),
                "issuer": ISSUER,
                "audience": AUDIENCE,
                "required_scopes": [REQUIRED_SCOPE],
                "results": results,
                "total": { "verifications": verifications, "failures": failures },
            });
            let text = serde_json::to_string_pretty(&document)
                .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize results: {e}\"}}"));
            self.line(&text);
            return;
        }
        self.line("");
        for run in runs {
            if let Some(e) = &run.first_error {
                self.line(&format!(
                    "{} on {} thread{}: first failure: {}: {}",
                    run.alg,
                    run.threads,
                    if run.threads == 1 { "" } else { "s" },
                    e.code(),
                    e
                ));
            }
        }
        // Plain digits: scripts grep this line.
        self.line(&format!(
            "total: {verifications} verifications, {failures} failures"
        ));
    }
}

/// First column left-aligned (a label), the rest right-aligned (numbers).
fn format_row(cells: &[String; 6]) -> String {
    let mut line = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(COLUMNS).enumerate() {
        if i == 0 {
            line.push_str(&format!("{cell:<width$}"));
        } else {
            line.push_str(&format!("  {cell:>width$}"));
        }
    }
    line
}

fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_in_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
    }

    #[test]
    fn seconds_must_be_positive_and_bounded() {
        assert_eq!(parse_seconds("0.2"), Ok(0.2));
        for bad in ["0", "-1", "nan", "inf", "3601", "abc"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}

//! `jwtgate bench`: the headline comparison, in-process and with nothing to set up — per
//! algorithm, the cost of a full jwtgate verification (cache off), of a cached one, and of the
//! bare signature check with aws-lc-rs (the crypto floor no verifier can beat).
//!
//! Keys are generated and one realistic RFC 9068 access token minted per algorithm; there is no
//! network and there are no files. The peers (jsonwebtoken, jwt-simple) live in the criterion
//! suite in benches/, which is where statistically careful numbers come from; this is the
//! quick, honest version a user can run anywhere.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jwtgate::sign::SigningKey;
use jwtgate::{Algorithm, Verifier};
use serde_json::json;

use crate::floor::Floor;
use crate::ui::{self, BOLD, DIM, Failure, paint};

const ISSUER: &str = "https://idp.bench.example";
const AUDIENCE: &str = "https://mcp.bench.example";
const SCOPE: &str = "tools:call";

/// The default line-up: the demo's, one algorithm per key family and hash.
const DEFAULT_ALGS: [Algorithm; 6] = crate::demo::ROWS;

/// Calls between clock reads: cheap enough that the clock does not dominate a cached
/// verification (~0.2 µs), few enough that an ES384 batch overshoots the deadline by < 10 ms.
const BATCH: u64 = 32;

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// Seconds per measurement (three measurements per algorithm, on one thread).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5, value_parser = parse_seconds)]
    seconds: f64,

    /// Algorithms to measure (repeatable; default RS256, PS256, ES256, ES384, EdDSA, HS256).
    #[arg(long = "alg", value_name = "ALG", value_parser = crate::keygen::parse_alg)]
    algs: Vec<Algorithm>,

    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 60.0 => Ok(s),
        _ => Err("must be a number of seconds, more than 0 and at most 60".into()),
    }
}

/// One algorithm's fixture: a token and three ways to check it.
struct Fixture {
    alg: Algorithm,
    token: String,
    cold: Verifier,
    cached: Verifier,
    floor: Floor,
}

/// Mean cost of one call, and whether every call succeeded.
#[derive(Clone, Copy)]
struct Measurement {
    calls: u64,
    failures: u64,
    elapsed: Duration,
}

impl Measurement {
    fn micros(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.calls.max(1) as f64
    }
}

struct Row {
    alg: Algorithm,
    floor: Measurement,
    cold: Measurement,
    cached: Measurement,
}

pub(crate) fn run(args: &BenchArgs) -> ExitCode {
    ui::finish(bench(args))
}

fn bench(args: &BenchArgs) -> Result<ExitCode, Failure> {
    let algs = if args.algs.is_empty() {
        DEFAULT_ALGS.to_vec()
    } else {
        args.algs.clone()
    };
    let per = Duration::from_secs_f64(args.seconds);
    if !args.json {
        ui::outln!(
            "{} {} algorithm{}, 1 thread, {} s per measurement, crypto backend {}",
            paint(BOLD, "jwtgate bench:"),
            algs.len(),
            if algs.len() == 1 { "" } else { "s" },
            args.seconds,
            jwtgate::CRYPTO_BACKEND
        );
        ui::outln!(
            "{}",
            paint(
                DIM,
                "jwtgate checks signature, iss, aud, exp, typ and a required scope; the floor checks the signature only"
            )
        );
    }
    let progress =
        ProgressBar::with_draw_target(Some(algs.len() as u64 * 3), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template("{bar:32.cyan/blue} {pos}/{len} {msg} [{elapsed}]")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut rows = Vec::new();
    for &alg in &algs {
        progress.set_message(format!("{alg}: generating a key"));
        let f = fixture(alg)?;
        progress.set_message(format!("{alg}: crypto floor"));
        let floor = measure(&|| f.floor.check(), per);
        progress.inc(1);
        progress.set_message(format!("{alg}: jwtgate, cache off"));
        let cold = measure(&|| f.cold.verify(&f.token).is_ok(), per);
        progress.inc(1);
        progress.set_message(format!("{alg}: jwtgate, cached"));
        let cached = measure(&|| f.cached.verify(&f.token).is_ok(), per);
        progress.inc(1);
        rows.push(Row {
            alg: f.alg,
            floor,
            cold,
            cached,
        });
    }
    progress.finish_and_clear();
    let failures: u64 = rows
        .iter()
        .map(|r| r.floor.failures + r.cold.failures + r.cached.failures)
        .sum();
    if args.json {
        let results: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "algorithm": r.alg.as_str(),
                    "floor_us": r.floor.micros(),
                    "cold_us": r.cold.micros(),
                    "cached_us": r.cached.micros(),
                    "cold_over_floor": r.cold.micros() / r.floor.micros(),
                    "floor_over_cached": r.floor.micros() / r.cached.micros(),
                    "calls": { "floor": r.floor.calls, "cold": r.cold.calls, "cached": r.cached.calls },
                    "failures": r.floor.failures + r.cold.failures + r.cached.failures,
                })
            })
            .collect();
        ui::print_json(&json!({
            "crypto_backend": jwtgate::CRYPTO_BACKEND,
            "seconds_per_measurement": args.seconds,
            "results": results,
            "failures": failures,
        }));
    } else {
        print_table(&rows);
        if failures > 0 {
            ui::outln!(
                "{} {failures} verifications failed",
                paint(ui::FAIL, "error:")
            );
        }
    }
    Ok(ExitCode::from(if failures == 0 {
        ui::exit::OK
    } else {
        ui::exit::REJECTED
    }))
}

fn print_table(rows: &[Row]) {
    ui::outln!();
    ui::outln!(
        "{}",
        paint(
            BOLD,
            format!(
                "{:<9}  {:>12}  {:>12}  {:>10}  {:>14}  {:>12}",
                "algorithm",
                "crypto floor",
                "jwtgate cold",
                "cold/floor",
                "jwtgate cached",
                "floor/cached"
            )
        )
    );
    for r in rows {
        ui::outln!(
            "{:<9}  {:>9.2} µs  {:>9.2} µs  {:>9.2}×  {:>11.2} µs  {:>11.0}×",
            r.alg.as_str(),
            r.floor.micros(),
            r.cold.micros(),
            r.cold.micros() / r.floor.micros(),
            r.cached.micros(),
            r.floor.micros() / r.cached.micros()
        );
    }
    ui::outln!();
    ui::outln!(
        "{}",
        paint(
            DIM,
            "cold: every call parses, checks the signature and the claims (cache off). cached: the same token again, as MCP clients resend it (exp/nbf and key still re-checked)."
        )
    );
}

fn measure(call: &dyn Fn() -> bool, duration: Duration) -> Measurement {
    // One untimed call: keys are parsed on first use, which is not what is being measured.
    let _ = call();
    let start = Instant::now();
    let (mut calls, mut failures) = (0u64, 0u64);
    loop {
        for _ in 0..BATCH {
            if !call() {
                failures += 1;
            }
        }
        calls += BATCH;
        let elapsed = start.elapsed();
        if elapsed >= duration {
            return Measurement {
                calls,
                failures,
                elapsed,
            };
        }
    }
}

fn fixture(alg: Algorithm) -> Result<Fixture, Failure> {
    let failed =
        |e: String| Failure::usage(format!("cannot set up {alg}: {e}"), "try another --alg");
    let key = SigningKey::generate(alg, format!("bench-{}", alg.as_str().to_ascii_lowercase()))
        .map_err(|e| failed(e.to_string()))?;
    let now = jwtgate::now_unix();
    let token = key
        .mint_with_header(
            &json!({"typ": "at+jwt"}),
            &json!({
                "iss": ISSUER, "aud": AUDIENCE, "sub": "user-2f6c1a", "client_id": "mcp-inspector",
                "scope": "tools:call resources:read prompts:get", "jti": "5b1c1e0e-8f4e-4d7b-9a61-0c3c5f2b7d11",
                "iat": now, "exp": now + 3600,
            }),
        )
        .map_err(|e| failed(e.to_string()))?;
    let builder = || {
        let b = Verifier::builder()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .required_scopes([SCOPE])
            .typ("at+jwt");
        match key.secret() {
            Some(secret) => b.hmac_secret(alg, secret),
            None => b.jwks(&key.public_jwks()),
        }
    };
    let cold = builder()
        .cache_size(0)
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let cached = builder().build().map_err(|e| failed(e.to_string()))?;
    let floor = Floor::new(&key, &token).map_err(failed)?;
    Ok(Fixture {
        alg,
        token,
        cold,
        cached,
        floor,
    })
}

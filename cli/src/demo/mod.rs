//! `jwtgate demo`: the engine end to end, live, with nothing to set up.
//!
//! An issuer runs in-process on 127.0.0.1 (discovery + JWKS, see `crate::issuer`); the verifier
//! is built from its URL exactly as a server's would be and finds its keys through discovery.
//! Worker threads verify tokens from a pool of "sessions" while a minting thread keeps issuing
//! fresh tokens into them. Mid-run the keys rotate the way a provider should do it: new keys are
//! published next to the old ones (the overlap window), minting switches to them, and once no
//! session holds an old token the old keys are withdrawn. The verifier learns the new keys on the
//! first unknown kid — no restart, no failed request.
//!
//! Every token goes through the public `Verifier`, so a failure here is a real verification
//! failure. The run needs no network beyond loopback and no files. Cache hits, key fetches and
//! the key set generation are the verifiers' own counts (`Verifier::stats`); per algorithm, a
//! hit is a call that `Verifier::verify_cached` answered.
//!
//! The parts, in the order a run uses them: `issuer` (the keys, the in-process issuer, minting),
//! `verifiers` (what a server would build), `shared` (the sessions and what the threads share),
//! `rotation` (the minting thread and its key-rotation schedule), `load` (the worker threads and
//! their tallies), `live` (the progress line and the event log), `report` (the summary).

mod issuer;
mod live;
mod load;
mod report;
mod rotation;
mod shared;
mod verifiers;

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use clap::Args;
use jwtgate::Algorithm;

use crate::ui::{self, BOLD, DIM, Failure, paint};
use issuer::DemoIssuer;
use load::Tally;
use report::Outcome;
use rotation::Rotation;
use shared::Shared;
use verifiers::Verifiers;

/// The algorithms whose keys the issuer publishes and rotates: one per key family and hash.
const PUBLISHED: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// Table rows: the published algorithms, then HS256, which a JWKS never carries (HMAC secrets
/// are configured, not discovered), verified with a configured secret and not rotated. Also the
/// line-up `jwtgate bench` measures by default.
pub(crate) const ROWS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::HS256,
];
const HMAC_ROW: usize = 5;

const AUDIENCE: &str = "mcp://demo";
const REQUIRED_SCOPE: &str = "tools:call";
const TOKEN_SCOPE: &str = "tools:call read";

/// Longest accepted `--seconds`.
const MAX_SECONDS: f64 = 3600.0;

/// Options of `jwtgate demo`.
#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// Length of the live run in seconds; the key rotation starts at 40 % of it.
    #[arg(long, value_name = "SECONDS", default_value_t = 8.0, value_parser = parse_seconds)]
    seconds: f64,

    /// Verifying worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,

    /// Sessions: tokens in use at once (each re-sent on many requests, replaced as new tokens
    /// are minted).
    #[arg(long, value_name = "N", default_value = "256")]
    tokens: NonZeroUsize,

    /// Print the summary as JSON (the progress line still goes to stderr on a terminal).
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

pub(crate) fn run(args: &DemoArgs) -> ExitCode {
    ui::finish(demo(args))
}

fn demo(args: &DemoArgs) -> Result<ExitCode, Failure> {
    let threads = announce(args);
    let run_for = Duration::from_secs_f64(args.seconds);
    let issuer = DemoIssuer::start(issuer::generate_keys()?, token_lifetime(run_for))?;
    let verifiers = Verifiers::build(&issuer)?;
    if !args.json {
        print_policy(issuer.url());
    }
    let shared = Shared::new(issuer.first_sessions(args.tokens.get())?);
    shared.event(format!(
        "issuer up with {} keys ({}); verifier ready after {:.1} ms through discovery",
        PUBLISHED.len(),
        PUBLISHED.map(|a| a.as_str()).join(", "),
        verifiers.ready_after.as_secs_f64() * 1e3
    ));
    let live = run_live(&shared, &issuer, &verifiers, threads, run_for, args.json);
    let outcome = Outcome::collect(&shared, &issuer, &verifiers, threads, args.seconds, live);
    if args.json {
        report::print_json(&outcome);
    } else {
        report::print_summary(&outcome);
    }
    Ok(ExitCode::from(if passed(&outcome) {
        ui::exit::OK
    } else {
        ui::exit::REJECTED
    }))
}

/// Prints the first line (not in JSON mode); returns the number of worker threads.
fn announce(args: &DemoArgs) -> usize {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = args.threads.map_or(cores, NonZeroUsize::get);
    if !args.json {
        ui::outln!(
            "{} {} worker thread{} on {} core{}, {} sessions, {} s, crypto backend {}",
            paint(BOLD, "jwtgate demo:"),
            threads,
            plural(threads),
            cores,
            plural(cores),
            args.tokens,
            args.seconds,
            jwtgate::CRYPTO_BACKEND
        );
    }
    threads
}

/// Seconds a token lives: tokens must outlive the run, however long --seconds makes it.
fn token_lifetime(run_for: Duration) -> u64 {
    600u64.max(run_for.as_secs() + 60)
}

fn print_policy(issuer_url: &str) {
    ui::outln!(
        "{}",
        paint(
            DIM,
            format!(
                "issuer {issuer_url} (in-process: discovery + JWKS); policy: audience {AUDIENCE}, typ at+jwt, required scope {REQUIRED_SCOPE}"
            )
        )
    );
    ui::outln!();
}

/// What the live run left: per-algorithm tallies of all workers, the rotation's moments, and
/// how long it took.
struct Live {
    rows: Vec<Tally>,
    rotation: Rotation,
    elapsed: Duration,
}

/// The live run: the minting thread, the worker threads and the live line, until `run_for` has
/// passed.
fn run_live(
    shared: &Shared,
    issuer: &DemoIssuer,
    verifiers: &Verifiers,
    threads: usize,
    run_for: Duration,
    json: bool,
) -> Live {
    let progress = live::progress_bar(run_for);
    let (tallies, rotation) = thread::scope(|s| {
        let minting = s.spawn(|| rotation::mint_and_rotate(issuer, shared, run_for));
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let first = t * shared.sessions.len() / threads;
                s.spawn(move || load::work(shared, verifiers, first))
            })
            .collect();
        live::watch(shared, &progress, run_for, json);
        shared.stop.store(true, Ordering::Relaxed);
        let tallies: Vec<Vec<Tally>> = workers.into_iter().map(join).collect();
        (tallies, join(minting))
    });
    let elapsed = shared.start.elapsed();
    progress.finish_and_clear();
    live::print_events(shared, &progress, json);
    Live {
        rows: load::merge(&tallies),
        rotation,
        elapsed,
    }
}

/// No verification failed, and the rotation was picked up. A rotation that started in the last
/// moment of a very short run may not be observed; one that had a second to be picked up and
/// was not is a failure.
fn passed(o: &Outcome) -> bool {
    let failures: u64 = o.rows.iter().map(|r| r.failures).sum();
    let rotated = match (o.rotation.started_at, o.picked_up) {
        (Some(at), None) => o.elapsed.saturating_sub(at) < Duration::from_secs(1),
        _ => true,
    };
    failures == 0 && rotated
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Re-raises a thread's panic in the caller so it is reported once, with its original message.
fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_must_be_positive_and_bounded() {
        assert_eq!(parse_seconds("0.2"), Ok(0.2));
        for bad in ["0", "-1", "nan", "inf", "3601", "abc"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}

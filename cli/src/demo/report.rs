//! The summary of a run, for a person or as JSON: throughput, failures, the rotation, key
//! fetches, the measured cache hit rate and a row per algorithm.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use super::issuer::DemoIssuer;
use super::load::Tally;
use super::rotation::Rotation;
use super::shared::Shared;
use super::verifiers::Verifiers;
use super::{HMAC_ROW, Live, ROWS, plural};
use crate::ui::{self, BOLD, DIM, FAIL, OK, group_digits, paint};

/// Everything the summary needs.
pub(super) struct Outcome {
    issuer: String,
    threads: usize,
    sessions: usize,
    /// `--seconds`.
    seconds: f64,
    pub(super) elapsed: Duration,
    ready_after: Duration,
    pub(super) rows: Vec<Tally>,
    minted: Vec<u64>,
    pub(super) picked_up: Option<Duration>,
    pub(super) rotation: Rotation,
    discovery_fetches: u64,
    jwks_fetches: u64,
}

impl Outcome {
    /// Gathers the run's results once every thread has finished.
    pub(super) fn collect(
        shared: &Shared,
        issuer: &DemoIssuer,
        verifiers: &Verifiers,
        threads: usize,
        seconds: f64,
        live: Live,
    ) -> Outcome {
        Outcome {
            issuer: issuer.url().to_string(),
            threads,
            sessions: shared.sessions.len(),
            seconds,
            elapsed: live.elapsed,
            ready_after: verifiers.ready_after,
            rows: live.rows,
            minted: shared
                .minted
                .iter()
                .map(|m| m.load(Ordering::Relaxed))
                .collect(),
            picked_up: shared.picked_up(),
            rotation: live.rotation,
            discovery_fetches: issuer.counts().discovery.load(Ordering::Relaxed),
            jwks_fetches: issuer.counts().jwks.load(Ordering::Relaxed),
        }
    }
}

fn micros(ns: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        ns as f64 / n as f64 / 1e3
    }
}

/// Run totals: verifications, failures, re-sent tokens, measured cache hits.
fn totals(o: &Outcome) -> (u64, u64, u64, u64) {
    let verifications: u64 = o.rows.iter().map(Tally::verifications).sum();
    let failures: u64 = o.rows.iter().map(|r| r.failures).sum();
    let repeats: u64 = o.rows.iter().map(|r| r.repeat).sum();
    let hits: u64 = o.rows.iter().map(|r| r.cache().0).sum();
    (verifications, failures, repeats, hits)
}

/// Per algorithm: (hit rate, median µs of a full verification, mean µs of a cache hit).
fn costs(t: &Tally) -> (f64, f64, f64) {
    let (hits, hit_ns, _, _) = t.cache();
    (
        hits as f64 / t.verifications().max(1) as f64,
        t.median_first_ns() as f64 / 1e3,
        micros(hit_ns, hits),
    )
}

pub(super) fn print_summary(o: &Outcome) {
    let (verifications, failures, repeats, hits) = totals(o);
    let secs = o.elapsed.as_secs_f64();
    let waited: u64 = o.rows.iter().map(|r| r.waited).sum();
    let longest_wait = o.rows.iter().map(|r| r.waited_ns).max().unwrap_or(0);
    ui::outln!();
    ui::outln!("{}", paint(BOLD, "summary"));
    let row = |name: &str, value: String| ui::outln!("  {name:<16} {value}");
    row(
        "verifications",
        format!(
            "{} in {secs:.2} s ({}/s on {} thread{})",
            group_digits(verifications),
            group_digits((verifications as f64 / secs) as u64),
            o.threads,
            plural(o.threads)
        ),
    );
    row(
        "failures",
        if failures == 0 {
            paint(OK, "0")
        } else {
            paint(FAIL, group_digits(failures))
        },
    );
    row(
        "rotation",
        match (o.rotation.started_at, o.picked_up) {
            (Some(at), Some(picked)) => format!(
                "picked up after {:.1} ms (new keys published and minting switched at {:.2} s; {} verification{} waited for the key fetch, longest {:.1} ms){}",
                picked.as_secs_f64() * 1e3,
                at.as_secs_f64(),
                waited,
                plural(waited as usize),
                longest_wait as f64 / 1e6,
                o.rotation
                    .withdrawn_at
                    .map(|w| format!("; old keys withdrawn at {:.2} s", w.as_secs_f64()))
                    .unwrap_or_default()
            ),
            (Some(at), None) => paint(
                FAIL,
                format!(
                    "new keys published at {:.2} s, but no new-key token was verified before the end",
                    at.as_secs_f64()
                ),
            ),
            (None, _) => "the run ended before the rotation".to_string(),
        },
    );
    row(
        "key fetches",
        format!(
            "discovery {}, JWKS {} (verifier ready after {:.1} ms)",
            o.discovery_fetches,
            o.jwks_fetches,
            o.ready_after.as_secs_f64() * 1e3
        ),
    );
    let percent = |n: u64| 100.0 * n as f64 / verifications.max(1) as f64;
    row(
        "cache hit rate",
        format!(
            "{:.1}% {}",
            percent(hits),
            paint(
                DIM,
                format!(
                    "(measured; {:.1}% of requests re-sent a token; {} sessions, cache 1,024 per verifier)",
                    percent(repeats),
                    o.sessions
                )
            )
        ),
    );
    ui::outln!();
    ui::outln!(
        "{}",
        paint(
            BOLD,
            format!(
                "{:<9}  {:>6}  {:>13}  {:>8}  {:>8}  {:>7}  {:>6}",
                "algorithm", "minted", "verifications", "failures", "hit rate", "µs full", "µs hit"
            )
        )
    );
    for (i, (alg, t)) in ROWS.iter().zip(&o.rows).enumerate() {
        let (rate, full, hit) = costs(t);
        ui::outln!(
            "{:<9}  {:>6}  {:>13}  {:>8}  {:>7.1}%  {:>7.2}  {:>6.2}",
            alg.as_str(),
            group_digits(o.minted[i]),
            group_digits(t.verifications()),
            group_digits(t.failures),
            100.0 * rate,
            full,
            hit
        );
    }
    ui::outln!(
        "{}",
        paint(
            DIM,
            "µs full: median of first verifications (signature and claims checked); µs hit: mean of answers from the verified-token cache. \
             Core has no hit counter: a re-sent token answered in under half the time of a full verification counts as a hit. \
             HS256: a configured secret (never in a JWKS), not rotated."
        )
    );
    for (alg, t) in ROWS.iter().zip(&o.rows) {
        if let Some(e) = &t.first_error {
            ui::outln!(
                "{} {alg}: first failure: {}: {e}",
                paint(FAIL, "error:"),
                e.code()
            );
        }
    }
    ui::outln!();
    // Plain digits: scripts grep this line.
    ui::outln!("total: {verifications} verifications, {failures} failures");
}

pub(super) fn print_json(o: &Outcome) {
    let (verifications, failures, repeats, hits) = totals(o);
    let results: Vec<_> = ROWS
        .iter()
        .zip(&o.rows)
        .enumerate()
        .map(|(i, (alg, t))| {
            json!({
                "algorithm": alg.as_str(),
                "source": if i == HMAC_ROW { "configured secret" } else { "discovery" },
                "tokens_minted": o.minted[i],
                "verifications": t.verifications(),
                "failures": t.failures,
                "cache_hit_rate": costs(t).0,
                "us_full": costs(t).1,
                "us_hit": costs(t).2,
                "resent": t.repeat,
                "waited_for_key_fetch": t.waited,
                "first_error": t.first_error.as_ref().map(|e| json!({"code": e.code().as_str(), "message": e.message()})),
            })
        })
        .collect();
    ui::print_json(&json!({
        "issuer": o.issuer,
        "crypto_backend": jwtgate::CRYPTO_BACKEND,
        "threads": o.threads,
        "sessions": o.sessions,
        "seconds": o.seconds,
        "elapsed_seconds": o.elapsed.as_secs_f64(),
        "verifier_ready_ms": o.ready_after.as_secs_f64() * 1e3,
        "rotation": {
            "started_at_s": o.rotation.started_at.map(|d| d.as_secs_f64()),
            "picked_up_after_ms": o.picked_up.map(|d| d.as_secs_f64() * 1e3),
            "old_keys_withdrawn_at_s": o.rotation.withdrawn_at.map(|d| d.as_secs_f64()),
        },
        "fetches": { "discovery": o.discovery_fetches, "jwks": o.jwks_fetches },
        "cache_hit_rate": hits as f64 / verifications.max(1) as f64,
        "resent_rate": repeats as f64 / verifications.max(1) as f64,
        "results": results,
        "total": { "verifications": verifications, "failures": failures },
    }));
}

//! The summary of a run, for a person or as JSON: throughput, failures, the rotation, what the
//! verifiers counted (`Verifier::stats`: cache use, key fetches, the key generation) and a row
//! per algorithm.

use std::sync::atomic::Ordering;
use std::time::Duration;

use jwtgate::Stats;
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
    /// What the discovery verifier counted.
    discovery: Stats,
    /// What the HS256 verifier counted.
    hmac: Stats,
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
        let (discovery, hmac) = verifiers.stats();
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
            discovery,
            hmac,
        }
    }

    /// Run totals: verifications, failures, re-sent tokens.
    fn totals(&self) -> (u64, u64, u64) {
        let verifications: u64 = self.rows.iter().map(|r| r.verifications).sum();
        let failures: u64 = self.rows.iter().map(|r| r.failures).sum();
        let resent: u64 = self.rows.iter().map(|r| r.resent).sum();
        (verifications, failures, resent)
    }

    /// The cache counters of both verifiers, added up: (hits, misses, inserts, evictions).
    fn cache(&self) -> (u64, u64, u64, u64) {
        let (d, h) = (&self.discovery, &self.hmac);
        (
            d.cache_hits + h.cache_hits,
            d.cache_misses + h.cache_misses,
            d.cache_inserts + h.cache_inserts,
            d.cache_evictions + h.cache_evictions,
        )
    }
}

fn micros(ns: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        ns as f64 / n as f64 / 1e3
    }
}

/// Per algorithm: (hit rate, median µs of a full verification, mean µs of a cache hit).
fn costs(t: &Tally) -> (f64, f64, f64) {
    (
        t.hits as f64 / t.verifications.max(1) as f64,
        t.median_first_ns() as f64 / 1e3,
        micros(t.hit_ns, t.hits),
    )
}

pub(super) fn print_summary(o: &Outcome) {
    let (verifications, failures, resent) = o.totals();
    let (hits, misses, inserts, evictions) = o.cache();
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
    let keys = &o.discovery;
    row(
        "key fetches",
        format!(
            "discovery {}, JWKS {} ({} for an unknown kid); key set generation {} (verifier ready after {:.1} ms)",
            keys.discovery_fetches,
            keys.jwks_fetches,
            keys.kid_refreshes,
            keys.key_generation,
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
                    "({:.1}% of requests re-sent a token; {} sessions, cache {} per verifier)",
                    percent(resent),
                    o.sessions,
                    group_digits(o.discovery.cache_capacity as u64)
                )
            )
        ),
    );
    row(
        "cache",
        format!(
            "{} hits, {} misses, {} inserts, {} evictions",
            group_digits(hits),
            group_digits(misses),
            group_digits(inserts),
            group_digits(evictions)
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
            group_digits(t.verifications),
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
             Hits, misses, fetches and the key set generation are the verifiers' own counts (Verifier::stats); per algorithm, a hit is a call Verifier::verify_cached answered. \
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
    let (verifications, failures, resent) = o.totals();
    let (hits, misses, inserts, evictions) = o.cache();
    let results: Vec<_> = ROWS
        .iter()
        .zip(&o.rows)
        .enumerate()
        .map(|(i, (alg, t))| {
            let (hit_rate, us_full, us_hit) = costs(t);
            json!({
                "algorithm": alg.as_str(),
                "source": if i == HMAC_ROW { "configured secret" } else { "discovery" },
                "tokens_minted": o.minted[i],
                "verifications": t.verifications,
                "failures": t.failures,
                "cache_hits": t.hits,
                "cache_hit_rate": hit_rate,
                "us_full": us_full,
                "us_hit": us_hit,
                "resent": t.resent,
                "waited_for_key_fetch": t.waited,
                "first_error": t.first_error.as_ref().map(|e| json!({"code": e.code().as_str(), "message": e.message()})),
            })
        })
        .collect();
    let keys = &o.discovery;
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
        "fetches": {
            "discovery": keys.discovery_fetches,
            "jwks": keys.jwks_fetches,
            "kid_refreshes": keys.kid_refreshes,
        },
        "key_generation": keys.key_generation,
        "cache": {
            "hits": hits,
            "misses": misses,
            "inserts": inserts,
            "evictions": evictions,
            "capacity_per_verifier": keys.cache_capacity,
        },
        "cache_hit_rate": hits as f64 / verifications.max(1) as f64,
        "resent_rate": resent as f64 / verifications.max(1) as f64,
        "results": results,
        "total": { "verifications": verifications, "failures": failures },
    }));
}

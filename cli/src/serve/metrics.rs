//! `/metrics`: Prometheus text format (version 0.0.4) from the verifier's `Stats` and the
//! gateway's own counters.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use jwtgate::Verifier;

/// Statuses counted separately; anything else is counted as `other`.
const STATUSES: [u16; 7] = [200, 400, 401, 403, 429, 500, 503];

/// The gateway's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Decisions by the status decided (before any nginx-mode mapping), `STATUSES` order then other.
    decisions: [AtomicU64; STATUSES.len() + 1],
    /// Requests refused by the per-identity limit.
    pub limited_identity: AtomicU64,
    /// Requests refused by the failed-attempt limit.
    pub limited_failed: AtomicU64,
    /// Failed calls to the Redis store.
    pub redis_errors: AtomicU64,
}

impl Metrics {
    /// Counts one decision.
    pub fn decision(&self, status: u16) {
        let index = STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len());
        self.decisions[index].fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text. `limiter` is (buckets held, early evictions), if rate limiting is on.
    pub fn render(&self, verifier: &Verifier, limiter: Option<(usize, u64)>) -> String {
        let mut out = String::new();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        header(
            &mut out,
            "jwtgate_serve_decisions_total",
            "counter",
            "Decisions answered, by HTTP status decided.",
        );
        for (i, status) in STATUSES.iter().enumerate() {
            let _ = writeln!(
                out,
                "jwtgate_serve_decisions_total{{status=\"{status}\"}} {}",
                load(&self.decisions[i])
            );
        }
        let _ = writeln!(
            out,
            "jwtgate_serve_decisions_total{{status=\"other\"}} {}",
            load(&self.decisions[STATUSES.len()])
        );
        header(
            &mut out,
            "jwtgate_serve_rate_limited_total",
            "counter",
            "Requests refused with 429, by limit.",
        );
        let _ = writeln!(
            out,
            "jwtgate_serve_rate_limited_total{{limit=\"identity\"}} {}",
            load(&self.limited_identity)
        );
        let _ = writeln!(
            out,
            "jwtgate_serve_rate_limited_total{{limit=\"failed_attempts\"}} {}",
            load(&self.limited_failed)
        );
        simple(
            &mut out,
            "jwtgate_serve_redis_errors_total",
            "counter",
            "Failed calls to the Redis rate-limit store (local buckets answered instead).",
            load(&self.redis_errors),
        );
        simple(
            &mut out,
            "jwtgate_serve_log_lines_dropped_total",
            "counter",
            "Decision log lines dropped because stderr could not keep up (requests never wait for the log).",
            super::log::dropped(),
        );
        if let Some((keys, evictions)) = limiter {
            simple(
                &mut out,
                "jwtgate_serve_rate_limit_buckets",
                "gauge",
                "Rate-limit buckets held in this process.",
                keys as u64,
            );
            simple(
                &mut out,
                "jwtgate_serve_rate_limit_evictions_total",
                "counter",
                "Buckets dropped before refilling because the bucket cap was reached.",
                evictions,
            );
        }

        let stats = verifier.stats();
        let counters: [(&str, &str, u64); 16] = [
            ("accepted", "Credentials accepted.", stats.accepted),
            (
                "refused_after_verification",
                "Credentials that verified and were then refused (DPoP binding, provider scopes).",
                stats.refused_after_verification,
            ),
            (
                "cache_hits",
                "Accepted from the verified-token cache.",
                stats.cache_hits,
            ),
            (
                "verified",
                "Accepted by a full verification.",
                stats.verified,
            ),
            (
                "static_tokens",
                "Accepted as static tokens (API keys).",
                stats.static_tokens,
            ),
            (
                "introspected",
                "Accepted on an introspection answer.",
                stats.introspected,
            ),
            ("rejected", "Credentials rejected.", stats.rejected),
            (
                "cache_misses",
                "Verified-token cache misses.",
                stats.cache_misses,
            ),
            (
                "cache_inserts",
                "Verified-token cache inserts.",
                stats.cache_inserts,
            ),
            (
                "cache_evictions",
                "Verified-token cache evictions.",
                stats.cache_evictions,
            ),
            (
                "discovery_fetches",
                "Discovery documents fetched.",
                stats.discovery_fetches,
            ),
            (
                "discovery_failures",
                "Discovery fetches that failed.",
                stats.discovery_failures,
            ),
            (
                "jwks_fetches",
                "JWKS documents fetched.",
                stats.jwks_fetches,
            ),
            (
                "jwks_failures",
                "JWKS fetches that failed.",
                stats.jwks_failures,
            ),
            (
                "kid_refreshes",
                "Key refreshes asked for by unknown kids.",
                stats.kid_refreshes,
            ),
            (
                "introspections",
                "Introspection calls.",
                stats.introspections,
            ),
        ];
        for (name, help, value) in counters {
            simple(
                &mut out,
                &format!("jwtgate_verifier_{name}_total"),
                "counter",
                help,
                value,
            );
        }
        simple(
            &mut out,
            "jwtgate_verifier_introspection_failures_total",
            "counter",
            "Introspection calls that failed.",
            stats.introspection_failures,
        );
        header(
            &mut out,
            "jwtgate_verifier_rejected_by_code_total",
            "counter",
            "Rejections by jwtgate error code.",
        );
        for (code, count) in &stats.rejected_by_code {
            let _ = writeln!(
                out,
                "jwtgate_verifier_rejected_by_code_total{{code=\"{}\"}} {count}",
                code.as_str()
            );
        }
        simple(
            &mut out,
            "jwtgate_verifier_cache_entries",
            "gauge",
            "Entries in the verified-token cache.",
            stats.cache_entries as u64,
        );
        simple(
            &mut out,
            "jwtgate_verifier_key_generation",
            "gauge",
            "The current key set's generation.",
            stats.key_generation,
        );
        header(
            &mut out,
            "jwtgate_verifier_key_age_seconds",
            "gauge",
            "Age of the current remote key set.",
        );
        if let Some(age) = stats.key_age {
            let _ = writeln!(
                out,
                "jwtgate_verifier_key_age_seconds {:.3}",
                age.as_secs_f64()
            );
        }
        simple(
            &mut out,
            "jwtgate_verifier_keys_stale",
            "gauge",
            "1 while the last good keys are used because refreshes fail.",
            u64::from(stats.keys_stale),
        );
        simple(
            &mut out,
            "jwtgate_verifier_keys_ready",
            "gauge",
            "1 when keys are available.",
            u64::from(verifier.keys_status().ready),
        );
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn simple(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

//! Turns one benchmark run into the README's tables and chart.
//!
//! Reads criterion's medians (`target/criterion/*/*/new/estimates.json`) and the scaling run
//! (`target/jwtgate-bench/scaling.json`), prints markdown (the per-algorithm table, the targets of
//! issue #4 with their measured ratios, scaling, key-set sizes) and writes `benches/report.md` and
//! `benches/report.svg`. Run `bash benches/report` to measure and report in one go.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

const ALGORITHMS: [&str; 5] = ["RS256", "PS256", "ES256", "EdDSA", "HS256"];

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Median time in nanoseconds of one criterion benchmark, if it ran.
fn median_ns(group: &str, bench: &str) -> Option<f64> {
    let path = target_dir()
        .join("criterion")
        .join(group)
        .join(bench)
        .join("new/estimates.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    doc["median"]["point_estimate"].as_f64()
}

fn time(ns: Option<f64>) -> String {
    match ns {
        None => "–".into(),
        Some(ns) if ns < 1_000.0 => format!("{ns:.0} ns"),
        Some(ns) => format!("{:.2} µs", ns / 1_000.0),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{r:.2}×"))
}

struct Target {
    name: &'static str,
    shown: String,
    met: Option<bool>,
}

fn main() {
    let mut md = String::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // benches/report passes the day of the run (std has no calendar); the line then says when.
    let date = std::env::var("JWTGATE_REPORT_DATE")
        .map(|d| format!(", {d}"))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "Measured on {cpu}, {cores} cores{date}, crypto backend {}; medians of one criterion run.\n",
        jwtgate::CRYPTO_BACKEND
    );

    let _ = writeln!(
        md,
        "| alg | crypto floor | jwtgate cold | cold ÷ floor | jwtgate cached | jsonwebtoken | jsonwebtoken ÷ jwtgate cold | jwt-simple | jwt-simple ÷ jwtgate cold |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    let mut chart = Vec::new();
    for alg in ALGORITHMS {
        let floor = median_ns(alg, "floor");
        let cold = median_ns(alg, "jwtgate_cold");
        let cached = median_ns(alg, "jwtgate_cached");
        let jwt = median_ns(alg, "jsonwebtoken");
        let simple = median_ns(alg, "jwt_simple");
        let _ = writeln!(
            md,
            "| {alg} | {} | {} | {} | {} | {} | {} | {} | {} |",
            time(floor),
            time(cold),
            fmt_ratio(ratio(cold, floor)),
            time(cached),
            time(jwt),
            fmt_ratio(ratio(jwt, cold)),
            time(simple),
            fmt_ratio(ratio(simple, cold)),
        );
        chart.push((
            alg,
            [
                ("floor", floor),
                ("jwtgate cold", cold),
                ("jwtgate cached", cached),
                ("jsonwebtoken", jwt),
                ("jwt-simple", simple),
            ],
        ));
    }

    let scaling: Option<Value> =
        std::fs::read_to_string(target_dir().join("jwtgate-bench/scaling.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
    let rate = |alg: &str, mode: &str, threads: u64| -> Option<f64> {
        scaling.as_ref()?["rows"].as_array()?.iter().find_map(|r| {
            (r["alg"] == alg && r["mode"] == mode && r["threads"] == threads)
                .then(|| r["per_second"].as_f64())
                .flatten()
        })
    };

    let rs_cold = median_ns("RS256", "jwtgate_cold");
    let rs_floor = median_ns("RS256", "floor");
    let es_cold = median_ns("ES256", "jwtgate_cold");
    let es_floor = median_ns("ES256", "floor");
    let rs_cached = median_ns("RS256", "jwtgate_cached");
    let rs_jwt = median_ns("RS256", "jsonwebtoken");
    let scale_cold = ratio(rate("RS256", "cold", 2), rate("RS256", "cold", 1));
    let scale_cached = ratio(rate("RS256", "cached", 2), rate("RS256", "cached", 1));
    let targets = [
        Target {
            name: "cold RS256 within 1.10× of the floor",
            shown: fmt_ratio(ratio(rs_cold, rs_floor)),
            met: ratio(rs_cold, rs_floor).map(|r| r <= 1.10),
        },
        Target {
            name: "cold ES256 within 1.10× of the floor",
            shown: fmt_ratio(ratio(es_cold, es_floor)),
            met: ratio(es_cold, es_floor).map(|r| r <= 1.10),
        },
        Target {
            name: "cold RS256 ≥ 1.2× faster than jsonwebtoken",
            shown: fmt_ratio(ratio(rs_jwt, rs_cold)),
            met: ratio(rs_jwt, rs_cold).map(|r| r >= 1.2),
        },
        Target {
            name: "cache hit under 250 ns",
            shown: time(rs_cached),
            met: rs_cached.map(|t| t < 250.0),
        },
        Target {
            name: "cache hit ≥ 80× faster than jsonwebtoken",
            shown: fmt_ratio(ratio(rs_jwt, rs_cached)),
            met: ratio(rs_jwt, rs_cached).map(|r| r >= 80.0),
        },
        Target {
            name: "2 threads ≥ 1.9× one thread (RS256 cold, swaps every 10 ms)",
            shown: fmt_ratio(scale_cold),
            met: scale_cold.map(|r| r >= 1.9),
        },
        Target {
            name: "2 threads ≥ 1.9× one thread (RS256 cached, swaps every 10 ms)",
            shown: fmt_ratio(scale_cached),
            met: scale_cached.map(|r| r >= 1.9),
        },
    ];
    let _ = writeln!(
        md,
        "\n| target (issue #4) | measured | met |\n|---|---|---|"
    );
    for t in &targets {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        };
        let _ = writeln!(md, "| {} | {} | {met} |", t.name, t.shown);
    }

    if let Some(doc) = &scaling {
        let _ = writeln!(
            md,
            "\n| scaling (shared verifier, key set swapped every 10 ms) | threads | verifications/s | vs 1 thread |\n|---|---|---|---|"
        );
        for row in doc["rows"].as_array().into_iter().flatten() {
            let (alg, mode) = (
                row["alg"].as_str().unwrap_or(""),
                row["mode"].as_str().unwrap_or(""),
            );
            let one = rate(alg, mode, 1);
            let per_second = row["per_second"].as_f64();
            let _ = writeln!(
                md,
                "| {alg} {mode} | {} | {:.0} | {} |",
                row["threads"],
                per_second.unwrap_or(0.0),
                fmt_ratio(ratio(per_second, one))
            );
        }
    }

    let _ = writeln!(
        md,
        "\n| key set (RS256 token, cache off) | time |\n|---|---|"
    );
    for n in ["1_keys", "3_keys", "20_keys"] {
        let _ = writeln!(
            md,
            "| {} | {} |",
            n.replace('_', " "),
            time(median_ns("keyset_RS256", n))
        );
    }

    print!("{md}");
    // JWTGATE_REPORT_DIR: somewhere else than benches/ (a smoke run must not overwrite the
    // committed report).
    let out = std::env::var_os("JWTGATE_REPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf());
    let _ = std::fs::create_dir_all(&out);
    std::fs::write(out.join("report.md"), &md).expect("write report.md");
    std::fs::write(out.join("report.svg"), svg(&chart)).expect("write report.svg");
    eprintln!(
        "wrote {} and {}",
        out.join("report.md").display(),
        out.join("report.svg").display()
    );
}

type Row<'a> = (&'a str, [(&'a str, Option<f64>); 5]);

/// A horizontal bar chart: for each algorithm, each contender's time relative to the floor.
fn svg(rows: &[Row<'_>]) -> String {
    const COLORS: [&str; 5] = ["#9e9e9e", "#1565c0", "#64b5f6", "#ef6c00", "#8e24aa"];
    let bar_h = 14.0;
    let group_h = bar_h * 5.0 + 18.0;
    let (left, width) = (150.0, 520.0);
    let max = rows
        .iter()
        .flat_map(|(_, bars)| bars.iter().filter_map(|(_, v)| ratio(*v, bars[0].1)))
        .fold(1.0_f64, f64::max);
    let height = 40.0 + group_h * rows.len() as f64 + 30.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="sans-serif" font-size="11">
<text x="10" y="20" font-size="13" font-weight="bold">Verification time relative to the crypto floor (shorter is faster)</text>
"#,
        w = left + width + 120.0
    );
    for (g, (alg, bars)) in rows.iter().enumerate() {
        let y0 = 40.0 + g as f64 * group_h;
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" font-weight="bold">{alg}</text>"#,
            y0 + bar_h * 2.5
        );
        for (i, (name, value)) in bars.iter().enumerate() {
            let y = y0 + i as f64 * bar_h;
            let Some(r) = ratio(*value, bars[0].1) else {
                continue;
            };
            let w = (r / max * width).max(1.0);
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{name}</text>"#,
                left - 6.0,
                y + bar_h - 3.0
            );
            let _ = writeln!(
                s,
                r#"<rect x="{left}" y="{y}" width="{w:.1}" height="{}" fill="{}"/>"#,
                bar_h - 2.0,
                COLORS[i]
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}">{r:.2}× ({})</text>"#,
                left + w + 4.0,
                y + bar_h - 3.0,
                time(*value)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

//! The doctor's report: checks with a status, a finding, details and a fix, printed for people
//! or as JSON.

use serde_json::{Value, json};

use super::Doctor;
use crate::ui::{self, BOLD, CODE, DIM, FAIL, OK, WARN, paint};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One step of the report.
#[derive(Debug)]
pub(super) struct Check {
    pub(super) id: &'static str,
    pub(super) status: Status,
    /// A stable name for what was found (`issuer_trailing_slash`, `kid_not_found`, …).
    finding: Option<&'static str>,
    summary: String,
    details: Vec<(String, String)>,
    fix: Option<String>,
}

impl Check {
    pub(super) fn new(
        id: &'static str,
        status: Status,
        finding: Option<&'static str>,
        summary: impl Into<String>,
    ) -> Check {
        Check {
            id,
            status,
            finding,
            summary: summary.into(),
            details: Vec::new(),
            fix: None,
        }
    }
    pub(super) fn ok(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Ok, None, summary)
    }
    pub(super) fn warn(
        id: &'static str,
        finding: &'static str,
        summary: impl Into<String>,
    ) -> Check {
        Check::new(id, Status::Warn, Some(finding), summary)
    }
    pub(super) fn fail(
        id: &'static str,
        finding: &'static str,
        summary: impl Into<String>,
    ) -> Check {
        Check::new(id, Status::Fail, Some(finding), summary)
    }
    pub(super) fn skip(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Skip, None, summary)
    }
    pub(super) fn detail(mut self, name: impl Into<String>, value: impl Into<String>) -> Check {
        self.details.push((name.into(), value.into()));
        self
    }
    pub(super) fn fix(mut self, text: impl Into<String>) -> Check {
        self.fix = Some(text.into());
        self
    }
}

pub(super) fn quoted(s: &str) -> String {
    format!("{s:?}")
}

// ---- output ----

fn status_label(status: Status) -> String {
    match status {
        Status::Ok => paint(OK, "ok  "),
        Status::Warn => paint(WARN, "warn"),
        Status::Fail => paint(FAIL, "FAIL"),
        Status::Skip => paint(DIM, "skip"),
    }
}

pub(super) fn print_human(d: &Doctor<'_>, problems: usize) {
    let args = d.args;
    let mut setup = format!("issuer {}", quoted(&args.issuer));
    if !args.policy.audience.is_empty() {
        setup.push_str(&format!(", audience {}", args.policy.audience.join(", ")));
    }
    if !args.policy.scope.is_empty() {
        setup.push_str(&format!(", scopes {}", args.policy.scope.join(" ")));
    }
    if let Some(typ) = &args.policy.typ {
        setup.push_str(&format!(", typ {typ}"));
    }
    if args.token.is_some() {
        setup.push_str(", with a token");
    }
    ui::outln!("{} {setup}", paint(BOLD, "jwtgate doctor:"));
    ui::outln!();
    const INDENT: &str = "                         ";
    for c in &d.checks {
        ui::outln!("  {}  {:<16} {}", status_label(c.status), c.id, c.summary);
        let width = c
            .details
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            .max(10);
        for (name, value) in &c.details {
            ui::outln!("{INDENT}{}", paint(DIM, format!("{name:<width$}  {value}")));
        }
        if let Some(fix) = &c.fix {
            if c.status != Status::Ok {
                ui::outln!("{INDENT}{} {fix}", paint(BOLD, "fix:"));
            }
        }
        if let Some(finding) = c.finding.filter(|_| c.status != Status::Ok) {
            ui::outln!("{INDENT}{}", paint(CODE, format!("[{finding}]")));
        }
    }
    ui::outln!();
    let warnings = d.checks.iter().filter(|c| c.status == Status::Warn).count();
    let w = if warnings == 0 {
        String::new()
    } else {
        format!(
            ", {warnings} warning{}",
            if warnings == 1 { "" } else { "s" }
        )
    };
    if problems == 0 {
        ui::outln!("{}{w}", paint(OK, "all checks passed"));
    } else {
        ui::outln!(
            "{}{w}",
            paint(
                FAIL,
                format!(
                    "{problems} problem{} found",
                    if problems == 1 { "" } else { "s" }
                )
            )
        );
    }
}

pub(super) fn print_json(d: &Doctor<'_>, problems: usize) {
    let checks: Vec<Value> = d
        .checks
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "status": c.status.as_str(),
                "finding": c.finding,
                "summary": c.summary,
                "details": c.details.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                "fix": c.fix,
            })
        })
        .collect();
    ui::print_json(&json!({
        "issuer": d.args.issuer,
        "audience": d.args.policy.audience,
        "ok": problems == 0,
        "problems": problems,
        "warnings": d.checks.iter().filter(|c| c.status == Status::Warn).count(),
        "clock_skew_seconds": d.skew,
        "checks": checks,
    }));
}

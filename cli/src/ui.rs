//! Output shared by every subcommand: colour, one-line errors with a hint, exit codes, and the
//! formatting of times, durations and counts.
//!
//! Colour is decided by `anstream` (the stream clap itself uses): ANSI styles are written only
//! when the stream is a terminal and `NO_COLOR` is unset (`CLICOLOR_FORCE` forces them), and are
//! stripped otherwise, so piped output and CI logs stay plain text.

use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anstyle::{AnsiColor, Style};
use jwtgate::{Error, ErrorCode};

/// Exit codes, shared by every subcommand and listed in `jwtgate --help`.
pub(crate) mod exit {
    /// Success: the token is valid, every check passed, the command did its job.
    pub(crate) const OK: u8 = 0;
    /// The token was rejected, `doctor` found a problem, or `demo`/`bench` saw a failure.
    pub(crate) const REJECTED: u8 = 1;
    /// Usage or configuration error: bad arguments, unreadable files, an invalid verifier set-up.
    /// (clap also exits with 2 on argument errors.)
    pub(crate) const USAGE: u8 = 2;
    /// The keys could not be obtained: discovery or the JWKS fetch failed (`verify`).
    pub(crate) const KEYS_UNAVAILABLE: u8 = 3;
}

/// Writes formatted text to stdout (ANSI styles stripped by anstream when it is not a
/// terminal), ignoring write errors: a closed pipe (`jwtgate demo | head`) is not worth a panic.
pub(crate) fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = anstream::stdout().write_fmt(args);
}

/// `println!` through [`write_out`].
macro_rules! outln {
    () => {
        $crate::ui::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::ui::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// The exit-code table for `--help` (kept next to the constants it describes).
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success: token valid, every check passed
  1  token rejected, problems found (doctor), or failures (demo, bench); inspect: not a JWT
  2  usage or configuration error (bad arguments, unreadable file, invalid verifier set-up)
  3  keys unavailable: discovery or JWKS fetch failed (verify)";

pub(crate) const OK: Style = AnsiColor::Green.on_default().bold();
pub(crate) const WARN: Style = AnsiColor::Yellow.on_default().bold();
pub(crate) const FAIL: Style = AnsiColor::Red.on_default().bold();
pub(crate) const DIM: Style = Style::new().dimmed();
pub(crate) const BOLD: Style = Style::new().bold();
pub(crate) const CODE: Style = AnsiColor::Cyan.on_default();

/// `text` wrapped in `style` (plain once anstream strips it for a non-terminal).
pub(crate) fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// A command failure: one line saying what went wrong, one saying what to do, and an exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    pub(crate) exit: u8,
}

impl Failure {
    /// A usage or configuration error (exit 2).
    pub(crate) fn usage(message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            hint: Some(hint.into()),
            exit: exit::USAGE,
        }
    }

    /// An error from the engine, with the hint for its code: exit 3 when the keys could not be
    /// fetched, 2 for configuration errors, 1 for rejections.
    pub(crate) fn engine(context: &str, error: &Error) -> Failure {
        let exit = match error.code() {
            ErrorCode::DiscoveryFailed | ErrorCode::JwksUnavailable => exit::KEYS_UNAVAILABLE,
            ErrorCode::ConfigInvalid => exit::USAGE,
            _ => exit::REJECTED,
        };
        Failure {
            message: format!("{context}: {} ({})", error, error.code()),
            hint: Some(error.code().hint().to_string()),
            exit,
        }
    }

    /// Prints the failure to stderr and returns its exit code.
    pub(crate) fn report(&self) -> ExitCode {
        anstream::eprintln!("{} {}", paint(FAIL, "error:"), self.message);
        if let Some(hint) = &self.hint {
            anstream::eprintln!("  {} {hint}", paint(BOLD, "hint:"));
        }
        ExitCode::from(self.exit)
    }
}

/// Runs a subcommand body and turns its `Failure` into the printed error and exit code.
pub(crate) fn finish(result: Result<ExitCode, Failure>) -> ExitCode {
    result.unwrap_or_else(|failure| failure.report())
}

/// Reads a token argument: `-` reads standard input (keeps tokens out of shell history and
/// process lists); surrounding whitespace and a `Bearer ` prefix (pasted from a header) are
/// removed.
pub(crate) fn read_token(arg: &str) -> Result<String, Failure> {
    let text = if arg == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            Failure::usage(
                format!("cannot read the token from stdin: {e}"),
                "pipe the token in, or pass it as the argument",
            )
        })?;
        text
    } else {
        arg.to_string()
    };
    let trimmed = text.trim();
    let token = match trimmed.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => trimmed[7..].trim_start(),
        _ => trimmed,
    };
    if token.is_empty() {
        return Err(Failure::usage(
            "the token is empty",
            "pass the token as the argument, or `-` to read it from stdin",
        ));
    }
    Ok(token.to_string())
}

/// Reads a file into a string, with the path in the error.
pub(crate) fn read_file(path: &std::path::Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(
            format!("cannot read {what} {}: {e}", path.display()),
            "check the path and its permissions",
        )
    })
}

/// Seconds since the Unix epoch, with fractions.
pub(crate) fn unix_now() -> f64 {
    unix_seconds(SystemTime::now())
}

pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A NumericDate as an RFC 3339 UTC timestamp (`2025-11-22T03:04:05Z`).
pub(crate) fn utc(seconds: f64) -> String {
    if !(0.0..=253_402_300_799.0).contains(&seconds) {
        return format!("{seconds} (out of range)");
    }
    let t = UNIX_EPOCH + Duration::from_secs_f64(seconds);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `at` relative to `now`: "in 4m12s", "3m05s ago", "now".
pub(crate) fn relative(at: f64, now: f64) -> String {
    let delta = at - now;
    if delta.abs() < 1.0 {
        "now".to_string()
    } else if delta > 0.0 {
        format!("in {}", compact_duration(delta))
    } else {
        format!("{} ago", compact_duration(-delta))
    }
}

/// A NumericDate claim in words relative to now: "expires in 4m12s", "expired 3m05s ago",
/// "issued 2m ago", "valid in 30s".
pub(crate) fn time_phrase(claim: &str, at: f64, now: f64) -> String {
    let rel = relative(at, now);
    let future = at - now >= 1.0;
    match claim {
        "exp" if future => format!("expires {rel}"),
        "exp" => format!("expired {rel}"),
        "nbf" if future => format!("valid {rel}"),
        "nbf" => format!("valid since {rel}"),
        "iat" if future => format!("issued {rel}, in the future"),
        "iat" => format!("issued {rel}"),
        "auth_time" => format!("authenticated {rel}"),
        _ => rel,
    }
}

/// A duration in the largest two units: `45s`, `4m12s`, `2h05m`, `3d04h`.
pub(crate) fn compact_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{sec:02}s")
    } else {
        format!("{sec}s")
    }
}

/// Parses a duration such as `10m`, `90s`, `1h 30m` (humantime syntax).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 30s, 10m, 1h)"))
}

/// `1234567` as `1,234,567`.
pub(crate) fn group_digits(n: u64) -> String {
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

/// A JSON value as compact text for a one-line display (strings without quotes).
pub(crate) fn show_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            items.iter().map(show_json).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// Writes pretty JSON to stdout (machine output: never coloured).
pub(crate) fn print_json(value: &serde_json::Value) {
    let text =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    outln!("{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_compact() {
        assert_eq!(compact_duration(0.2), "0s");
        assert_eq!(compact_duration(45.0), "45s");
        assert_eq!(compact_duration(252.0), "4m12s");
        assert_eq!(compact_duration(7500.0), "2h05m");
        assert_eq!(compact_duration(273_600.0), "3d04h");
        assert_eq!(relative(1252.0, 1000.0), "in 4m12s");
        assert_eq!(relative(815.0, 1000.0), "3m05s ago");
        assert_eq!(time_phrase("exp", 1252.0, 1000.0), "expires in 4m12s");
        assert_eq!(time_phrase("exp", 815.0, 1000.0), "expired 3m05s ago");
        assert_eq!(time_phrase("iat", 940.0, 1000.0), "issued 1m00s ago");
    }

    #[test]
    fn digits_are_grouped_in_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
    }

    #[test]
    fn utc_is_rfc3339() {
        assert_eq!(utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000.0), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn bearer_prefix_and_whitespace_are_removed() {
        assert_eq!(read_token("  Bearer a.b.c \n").unwrap(), "a.b.c");
        assert_eq!(read_token("bearer   x").unwrap(), "x");
        assert_eq!(read_token("a.b.c").unwrap(), "a.b.c");
        assert!(read_token("   ").is_err());
    }
}

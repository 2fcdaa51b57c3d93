//! Structured logs on stderr: one line per decision, plus start-up and warning lines. JSON by
//! default, or logfmt. Never a token, proof or API key: only what the verifier established
//! (client id, subject, issuer), the error code, the request's method and path (no query: it
//! may carry credentials), and the client address.

//!
//! Lines go through a bounded queue to one writer thread (buffered, flushed whenever the queue
//! runs dry): a request never waits on stderr, and concurrent lines never interleave. When the
//! queue is full (stderr slower than the request rate), decision lines are dropped and counted
//! ([`dropped`], exported as `jwtgate_serve_log_lines_dropped_total`) rather than slowing the
//! proxy's requests down.

use std::io::{BufWriter, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// The line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// `key=value` pairs (values quoted when needed).
    Logfmt,
    /// Decisions not logged (warnings still are).
    Off,
}

impl Format {
    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "json" => Some(Format::Json),
            "logfmt" => Some(Format::Logfmt),
            "off" => Some(Format::Off),
            _ => None,
        }
    }
}

static FORMAT: OnceLock<Format> = OnceLock::new();

/// Lines waiting for the writer thread (about a second of decisions at a high request rate).
const QUEUE_LINES: usize = 16_384;

enum Message {
    Line(String),
    /// Write everything queued before this, then answer.
    Flush(SyncSender<()>),
}

static QUEUE: OnceLock<Option<SyncSender<Message>>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The writer thread's queue (started on first use; `None` if the thread cannot start, and then
/// lines are written directly).
fn queue() -> Option<&'static SyncSender<Message>> {
    QUEUE
        .get_or_init(|| {
            let (sender, receiver) = sync_channel(QUEUE_LINES);
            std::thread::Builder::new()
                .name("jwtgate-log".into())
                .spawn(move || write_lines(receiver))
                .ok()
                .map(|_| sender)
        })
        .as_ref()
}

fn write_lines(receiver: Receiver<Message>) {
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stderr());
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line(text) => {
                    let _ = out.write_all(text.as_bytes());
                }
                Message::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                }
            }
            next = receiver.try_recv().ok();
        }
        // The queue ran dry: what was written is visible now.
        let _ = out.flush();
    }
    let _ = out.flush();
}

/// Decision lines dropped because the writer could not keep up.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Waits (at most `limit`) until every line logged so far is written: at shutdown.
pub fn flush(limit: Duration) {
    if let Some(queue) = queue() {
        let (done, wait) = sync_channel(1);
        if queue.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(limit);
        }
    }
}

/// Sets the format (once, at start-up).
pub fn init(format: Format) {
    let _ = FORMAT.set(format);
}

fn format() -> Format {
    *FORMAT.get().unwrap_or(&Format::Json)
}

/// Writes one line of these fields (after `ts` and `level`).
pub fn line(level: &str, fields: Map<String, Value>, decision: bool) {
    let format = format();
    if decision && format == Format::Off {
        return;
    }
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let ts = humantime::format_rfc3339_millis(UNIX_EPOCH + std::time::Duration::from_secs_f64(ts))
        .to_string();
    let mut all = Map::new();
    all.insert("ts".into(), Value::String(ts));
    all.insert("level".into(), Value::String(level.into()));
    all.extend(fields);
    let text = match format {
        Format::Logfmt => logfmt(&all),
        _ => Value::Object(all).to_string(),
    };
    let text = format!("{text}\n");
    match queue() {
        Some(queue) => match queue.try_send(Message::Line(text)) {
            Ok(()) => {}
            Err(TrySendError::Full(Message::Line(text))) if !decision => {
                // Start-up, warning and shutdown lines are rare and matter: wait for room.
                let _ = queue.send(Message::Line(text));
            }
            Err(_) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        },
        None => {
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

/// A warning line with a message.
pub fn warn(message: &str) {
    let mut fields = Map::new();
    fields.insert("msg".into(), Value::String(message.into()));
    line("warn", fields, false);
}

/// An info line with a message and fields.
pub fn info(message: &str, extra: Map<String, Value>) {
    let mut fields = Map::new();
    fields.insert("msg".into(), Value::String(message.into()));
    fields.extend(extra);
    line("info", fields, false);
}

fn logfmt(fields: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (key, value) in fields {
        if value.is_null() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push_str(key);
        out.push('=');
        if !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '=' && c != '\\')
        {
            out.push_str(&text);
        } else {
            // JSON string escaping is a valid logfmt quoting and escapes control characters.
            out.push_str(&Value::String(text).to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logfmt_quotes_what_needs_it() {
        let mut fields = Map::new();
        fields.insert("a".into(), Value::String("plain".into()));
        fields.insert("b".into(), Value::String("two words\n".into()));
        fields.insert("c".into(), Value::from(401));
        fields.insert("d".into(), Value::Null);
        assert_eq!(logfmt(&fields), r#"a=plain b="two words\n" c=401"#);
    }
}

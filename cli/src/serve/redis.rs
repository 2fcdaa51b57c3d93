//! The shared rate-limit store: token buckets in Redis, decided by one Lua script per request
//! (`EVALSHA`, loaded on first use and again after a `NOSCRIPT`), so that several `jwtgate serve`
//! replicas share one budget per client.
//!
//! The client is a minimal RESP2 one (the Redis serialization protocol: arrays of bulk strings
//! out; simple strings, errors, integers, bulk strings and arrays in) over a small pool of
//! TCP connections: these few commands do not justify a full Redis client's dependencies.
//! Only `redis://[[user]:password@]host[:port][/db]` URLs (no TLS): keep Redis on a private
//! network or loopback.

use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::limit::Rate;

/// Deadline of one script call, connection included: a slow Redis must not stall decisions.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 32;
/// The largest reply element accepted (the script answers three integers).
const MAX_BULK: usize = 64 * 1024;

/// The token-bucket script. KEYS[1]: the identity's bucket, KEYS[2]: the address's
/// failed-attempt bucket. ARGV: rate, burst, failed rate, failed burst (tokens per second and
/// capacities), and 1 when the credential was refused. Time is Redis's own clock (`TIME`, allowed
/// in scripts since Redis 5 with effect replication), so replicas' clocks do not matter.
/// Returns {allowed (0/1), milliseconds until a retry can pass, 1 when the failed-attempt limit
/// refused}. Each bucket is a hash {t: tokens, ts: milliseconds} expiring once it would have
/// refilled (an absent bucket is a full one).
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]) / 1000, tonumber(ARGV[2])
local frate, fburst = tonumber(ARGV[3]) / 1000, tonumber(ARGV[4])
local failed = ARGV[5] == '1'
local function level(key, r, b)
  local v = redis.call('HMGET', key, 't', 'ts')
  local tokens, ts = tonumber(v[1]), tonumber(v[2])
  if tokens == nil or ts == nil then return b end
  if now > ts then tokens = tokens + (now - ts) * r end
  if tokens > b then tokens = b end
  return tokens
end
local function store(key, tokens, r, b)
  redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((b - tokens) / r) + 1000)
end
local f = level(KEYS[2], frate, fburst)
if f < 1 then
  return {0, math.ceil((1 - f) / frate), 1}
end
local i = level(KEYS[1], rate, burst)
local result
if i < 1 then
  result = {0, math.ceil((1 - i) / rate), 0}
else
  store(KEYS[1], i - 1, rate, burst)
  result = {1, 0, 0}
end
if failed then store(KEYS[2], f - 1, frate, fburst) end
return result
";

/// What the script decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOutcome {
    /// Within the limits.
    pub allowed: bool,
    /// When limited: milliseconds until one token is back.
    pub retry_after_ms: u64,
    /// When limited: whether the failed-attempt limit refused.
    pub failed_limit: bool,
}

/// Where Redis is and how to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// `host:port` (IPv6 hosts in brackets).
    pub address: String,
    /// `AUTH` user and password.
    pub user: Option<String>,
    /// The password, when the URL has one.
    pub password: Option<String>,
    /// `SELECT` database.
    pub db: u32,
}

impl RedisUrl {
    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    pub fn parse(url: &str) -> Result<RedisUrl, String> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| "the redis URL must start with redis:// (TLS is not supported: keep Redis on a private network)".to_string())?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (
                    Some(user.to_string()).filter(|u| !u.is_empty()),
                    Some(pass.to_string()),
                ),
                None => (Some(u.to_string()), None),
            },
        };
        if hostport.is_empty() {
            return Err("the redis URL has no host".into());
        }
        let has_port = match hostport.rfind(']') {
            Some(end) => hostport[end..].contains(':'),
            None => hostport.contains(':'),
        };
        let address = if has_port {
            let port = hostport.rsplit_once(':').map_or("", |(_, p)| p);
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(format!(
                    "the redis URL's port {port:?} is not a port number"
                ));
            }
            hostport.to_string()
        } else {
            format!("{hostport}:6379")
        };
        let db = if path.is_empty() {
            0
        } else {
            path.parse::<u32>()
                .map_err(|_| format!("the redis URL's database {path:?} is not a number"))?
        };
        Ok(RedisUrl {
            address,
            user,
            password,
            db,
        })
    }

    /// The URL without its password, for logs and `--check`.
    pub fn redacted(&self) -> String {
        let auth = match (&self.user, &self.password) {
            (Some(u), Some(_)) => format!("{u}:***@"),
            (None, Some(_)) => ":***@".into(),
            (Some(u), None) => format!("{u}@"),
            (None, None) => String::new(),
        };
        format!("redis://{auth}{}/{}", self.address, self.db)
    }
}

/// The shared store.
pub struct Redis {
    url: RedisUrl,
    /// Prepended to every key (several deployments can share one Redis).
    prefix: String,
    sha: String,
    idle: Mutex<Vec<Connection>>,
}

impl Redis {
    /// A store at `url`; nothing is connected until the first call.
    pub fn new(url: RedisUrl, prefix: String) -> Redis {
        Redis {
            url,
            prefix,
            sha: sha1_hex(SCRIPT.as_bytes()),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs the script for one request.
    pub async fn take(
        &self,
        identity: &str,
        address: &str,
        failed: bool,
        client: Rate,
        failed_rate: Rate,
    ) -> Result<RedisOutcome, String> {
        tokio::time::timeout(
            CALL_TIMEOUT,
            self.take_inner(identity, address, failed, client, failed_rate),
        )
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {CALL_TIMEOUT:?}")))
    }

    async fn take_inner(
        &self,
        identity: &str,
        address: &str,
        failed: bool,
        client: Rate,
        failed_rate: Rate,
    ) -> Result<RedisOutcome, String> {
        let mut conn = match self.checkout() {
            Some(conn) => conn,
            None => Connection::open(&self.url).await?,
        };
        let keys = [
            format!("{}i:{identity}", self.prefix),
            format!("{}f:{address}", self.prefix),
        ];
        let args = [
            client.per_second.to_string(),
            client.burst.to_string(),
            failed_rate.per_second.to_string(),
            failed_rate.burst.to_string(),
            if failed { "1" } else { "0" }.to_string(),
        ];
        let mut command: Vec<&[u8]> = vec![b"EVALSHA", self.sha.as_bytes(), b"2"];
        command.extend(keys.iter().map(|k| k.as_bytes()));
        command.extend(args.iter().map(|a| a.as_bytes()));
        let mut reply = conn.call(&command).await?;
        if matches!(&reply, Reply::Error(e) if e.starts_with("NOSCRIPT")) {
            // First use on this Redis (or after SCRIPT FLUSH / a restart): EVAL loads it.
            command[0] = b"EVAL";
            command[1] = SCRIPT.as_bytes();
            reply = conn.call(&command).await?;
        }
        let outcome = match reply {
            Reply::Array(items) => match items.as_slice() {
                [Reply::Int(allowed), Reply::Int(wait), Reply::Int(which)] => RedisOutcome {
                    allowed: *allowed == 1,
                    retry_after_ms: u64::try_from(*wait).unwrap_or(0),
                    failed_limit: *which == 1,
                },
                _ => return Err("unexpected script reply".into()),
            },
            Reply::Error(e) => return Err(format!("redis: {}", truncate(&e))),
            _ => return Err("unexpected script reply".into()),
        };
        self.checkin(conn);
        Ok(outcome)
    }

    fn checkout(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    fn checkin(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}

/// One reply of RESP2.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    async fn open(url: &RedisUrl) -> Result<Connection, String> {
        let stream = TcpStream::connect(&url.address)
            .await
            .map_err(|e| format!("connect to {}: {e}", url.address))?;
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            stream: BufReader::new(stream),
        };
        if let Some(password) = &url.password {
            let reply = match &url.user {
                Some(user) => {
                    conn.call(&[b"AUTH", user.as_bytes(), password.as_bytes()])
                        .await?
                }
                None => conn.call(&[b"AUTH", password.as_bytes()]).await?,
            };
            if let Reply::Error(e) = reply {
                return Err(format!("redis AUTH: {}", truncate(&e)));
            }
        }
        if url.db != 0 {
            let db = url.db.to_string();
            if let Reply::Error(e) = conn.call(&[b"SELECT", db.as_bytes()]).await? {
                return Err(format!("redis SELECT: {}", truncate(&e)));
            }
        }
        Ok(conn)
    }

    async fn call(&mut self, parts: &[&[u8]]) -> Result<Reply, String> {
        let mut out = format!("*{}\r\n", parts.len()).into_bytes();
        for part in parts {
            out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        self.stream
            .get_mut()
            .write_all(&out)
            .await
            .map_err(|e| format!("write: {e}"))?;
        self.read(0).await
    }

    async fn read(&mut self, depth: u8) -> Result<Reply, String> {
        if depth > 2 {
            return Err("reply nested too deep".into());
        }
        let mut line = Vec::new();
        let n = (&mut self.stream)
            .take(MAX_BULK as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        let line = line
            .strip_suffix(b"\r\n")
            .ok_or("reply line without CRLF")?;
        let (kind, rest) = line.split_first().ok_or("empty reply line")?;
        let text = std::str::from_utf8(rest).map_err(|_| "reply is not UTF-8")?;
        let number = || text.parse::<i64>().map_err(|_| "bad number in reply");
        Ok(match kind {
            b'+' => Reply::Simple(text.to_string()),
            b'-' => Reply::Error(text.to_string()),
            b':' => Reply::Int(number()?),
            b'$' => {
                let len = number()?;
                if len < 0 {
                    Reply::Bulk(None)
                } else {
                    let len = usize::try_from(len).map_err(|_| "bad length")?;
                    if len > MAX_BULK {
                        return Err("reply too large".into());
                    }
                    let mut data = vec![0; len + 2];
                    self.stream
                        .read_exact(&mut data)
                        .await
                        .map_err(|e| format!("read: {e}"))?;
                    data.truncate(len);
                    Reply::Bulk(Some(data))
                }
            }
            b'*' => {
                let count = number()?;
                if count < 0 {
                    Reply::Array(Vec::new())
                } else if count > 16 {
                    return Err("reply array too long".into());
                } else {
                    let mut items = Vec::new();
                    for _ in 0..count {
                        items.push(Box::pin(self.read(depth + 1)).await?);
                    }
                    Reply::Array(items)
                }
            }
            _ => return Err("unknown reply type".into()),
        })
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The script's SHA-1 (the name `EVALSHA` calls it by), from the crypto backend core uses.
fn sha1_hex(data: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_and_redacted() {
        let url = RedisUrl::parse("redis://:pw@10.0.0.5:6380/2").unwrap();
        assert_eq!(url.address, "10.0.0.5:6380");
        assert_eq!(url.password.as_deref(), Some("pw"));
        assert_eq!(url.db, 2);
        assert_eq!(url.redacted(), "redis://:***@10.0.0.5:6380/2");
        assert_eq!(
            RedisUrl::parse("redis://[::1]").unwrap().address,
            "[::1]:6379"
        );
        for bad in [
            "http://x",
            "redis://",
            "redis://h:0",
            "redis://h:port",
            "redis://h/x",
            "rediss://h",
        ] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_script_name_is_its_sha1() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}

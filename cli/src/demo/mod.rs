//! `jwtgate demo`: the engine end to end, live, with nothing to set up.
//!
//! An issuer runs in-process on 127.0.0.1 (discovery + JWKS, see `issuer.rs`); the verifier is
//! built from its URL exactly as a server's would be and finds its keys through discovery.
//! Worker threads verify tokens from a pool of "sessions" while a minting thread keeps issuing
//! fresh tokens into them. Mid-run the keys rotate the way a provider should do it: new keys are
//! published next to the old ones (the overlap window), minting switches to them, and once no
//! session holds an old token the old keys are withdrawn. The verifier learns the new keys on the
//! first unknown kid — no restart, no failed request.
//!
//! Every token goes through the public `Verifier`, so a failure here is a real verification
//! failure. The run needs no network beyond loopback and no files.
//!
//! Cache hit rate: core has no hit counters. The workload says which verifications re-send a
//! token seen before, but not whether the cache still held it, so hits are measured: a re-sent
//! token answered in under half the time of a full verification of its algorithm skipped the
//! signature check (see `Tally::cache`).

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jwtgate::sign::{self, SigningKey};
use jwtgate::{Algorithm, Error, Key, Verifier};
use serde_json::json;

use crate::issuer::Issuer;
use crate::ui::{self, BOLD, DIM, FAIL, Failure, OK, group_digits, paint};

/// The algorithms whose keys the issuer publishes and rotates: one per key family and hash.
const PUBLISHED: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// Table rows: the published algorithms, then HS256, which a JWKS never carries (HMAC secrets
/// are configured, not discovered), verified with a configured secret and not rotated.
const ROWS: [Algorithm; 6] = [
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

/// The issuer mints a new token every millisecond (1,000/s), each replacing the token of the
/// next session: sessions get fresh tokens while most requests re-send one, as MCP clients do.
const MINT_INTERVAL: Duration = Duration::from_millis(1);
/// When the rotation starts, as a fraction of the run.
const ROTATE_AT: f64 = 0.4;
/// Verifications between looks at the stop flag and the shared counters.
const BATCH: usize = 16;
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

/// A token in a session.
struct Entry {
    token: String,
    /// Index into `ROWS`.
    row: usize,
    /// 0: signed by a key of the first generation; 1: by a rotated-in key.
    generation: u8,
    /// Set by the first verification, so later ones count as repeats.
    used: AtomicBool,
}

/// Per-algorithm tallies of one worker.
#[derive(Default, Clone)]
struct Tally {
    first: u64,
    /// Durations of first verifications (one per minted token: thousands, not millions), for
    /// the median, which preemption on a busy machine cannot drag the way it drags a mean.
    first_samples: Vec<u64>,
    repeat: u64,
    /// Re-sent tokens by duration: `repeat_count[b]` verifications took [2^(b-1), 2^b) ns.
    repeat_count: [u64; BUCKETS],
    repeat_ns: [u64; BUCKETS],
    /// Verifications of new-key tokens that started before the verifier had the new keys: they
    /// waited for the key fetch and are left out of the µs columns.
    waited: u64,
    waited_ns: u64,
    failures: u64,
    first_error: Option<Error>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.first += other.first;
        self.first_samples.extend_from_slice(&other.first_samples);
        self.repeat += other.repeat;
        for b in 0..BUCKETS {
            self.repeat_count[b] += other.repeat_count[b];
            self.repeat_ns[b] += other.repeat_ns[b];
        }
        self.waited += other.waited;
        self.waited_ns = self.waited_ns.max(other.waited_ns);
        self.failures += other.failures;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }

    fn verifications(&self) -> u64 {
        self.first + self.repeat + self.waited
    }

    /// The median duration of a full verification (a token's first), in ns.
    fn median_first_ns(&self) -> u64 {
        if self.first_samples.is_empty() {
            return 0;
        }
        let mut samples = self.first_samples.clone();
        let middle = samples.len() / 2;
        *samples.select_nth_unstable(middle).1
    }

    fn record_repeat(&mut self, ns: u64) {
        let b = ((u64::BITS - ns.leading_zeros()) as usize).min(BUCKETS - 1);
        self.repeat += 1;
        self.repeat_count[b] += 1;
        self.repeat_ns[b] += ns;
    }

    /// Cache hits among the re-sent tokens, measured: core has no hit counter, but a hit skips
    /// the signature check, so it takes a fraction of a full verification while a re-sent token
    /// that was evicted takes the full time. Re-sent verifications faster than half the mean
    /// first verification (rounded down to a power of two) count as hits.
    /// Returns (hits, their ns, misses among re-sent tokens, their ns).
    fn cache(&self) -> (u64, u64, u64, u64) {
        let full = self.median_first_ns();
        let limit = if self.first_samples.is_empty() {
            BUCKETS
        } else {
            (u64::BITS - (full / 2).leading_zeros()) as usize
        };
        let (mut hits, mut hit_ns, mut misses, mut miss_ns) = (0, 0, 0, 0);
        for b in 0..BUCKETS {
            // Bucket b holds durations below 2^b; it is all hits if 2^b <= full / 2.
            if b < limit {
                hits += self.repeat_count[b];
                hit_ns += self.repeat_ns[b];
            } else {
                misses += self.repeat_count[b];
                miss_ns += self.repeat_ns[b];
            }
        }
        (hits, hit_ns, misses, miss_ns)
    }
}

/// Duration buckets of re-sent verifications (powers of two of nanoseconds, up to ~1 s).
const BUCKETS: usize = 31;

/// State shared by the minting thread, the workers and the progress loop.
struct Shared {
    sessions: Vec<ArcSwap<Entry>>,
    stop: AtomicBool,
    start: Instant,
    /// When minting switched to the new keys.
    switched: OnceLock<Instant>,
    /// Nanoseconds from the switch to the first successful verification of a new-key token.
    picked_up_ns: AtomicU64,
    verified: AtomicU64,
    failures: AtomicU64,
    minted: [AtomicU64; ROWS.len()],
    events: Mutex<Vec<(Duration, String)>>,
    phase: Mutex<&'static str>,
}

impl Shared {
    fn event(&self, text: String) {
        self.event_at(self.start.elapsed(), text);
    }

    fn event_at(&self, at: Duration, text: String) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((at, text));
    }

    fn set_phase(&self, phase: &'static str) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = phase;
    }
}

/// Keys of both generations, and the HMAC key.
struct Keys {
    old: Vec<SigningKey>,
    new: Vec<SigningKey>,
    hmac: SigningKey,
}

/// Everything the summary needs.
struct Outcome {
    issuer: String,
    threads: usize,
    sessions: usize,
    elapsed: Duration,
    ready_after: Duration,
    rows: Vec<Tally>,
    minted: Vec<u64>,
    picked_up: Option<Duration>,
    rotation_at: Option<Duration>,
    withdrawn_at: Option<Duration>,
    discovery_fetches: u64,
    jwks_fetches: u64,
}

pub(crate) fn run(args: &DemoArgs) -> ExitCode {
    ui::finish(demo(args))
}

fn demo(args: &DemoArgs) -> Result<ExitCode, Failure> {
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = args.threads.map_or(cores, NonZeroUsize::get);
    let run_for = Duration::from_secs_f64(args.seconds);
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
    let keys = generate_keys()?;
    // Tokens must outlive the run, however long --seconds makes it.
    let lifetime = 600u64.max(run_for.as_secs() + 60);

    // The issuer: the JWKS it serves is swapped during the rotation.
    let published = Arc::new(ArcSwap::from_pointee(jwks_of(&[&keys.old])));
    let source = {
        let published = Arc::clone(&published);
        Arc::new(move || (**published.load()).clone())
    };
    let issuer = Issuer::start(0, source, false)
        .map_err(|e| Failure::usage(e, "the demo needs a free port on 127.0.0.1"))?;
    let issuer_url = issuer.issuer();

    // The verifier a server would build: the issuer only; keys come through discovery.
    let setup = |what: &str, e: Error| Failure::engine(&format!("demo set-up: {what}"), &e);
    let ready_start = Instant::now();
    let verifier = policy()
        .issuer(&issuer_url)
        .build()
        .map_err(|e| setup("building the verifier", e))?;
    verifier
        .wait_ready(Duration::from_secs(10))
        .map_err(|e| setup("the verifier did not get its keys", e))?;
    let ready_after = ready_start.elapsed();
    let secret = keys
        .hmac
        .secret()
        .ok_or_else(|| Failure::usage("the HS256 key has no secret", "report this bug"))?;
    let hmac_key = Key::hmac_secret(Algorithm::HS256, secret)
        .map_err(|e| setup("loading the HS256 secret", e))?
        .with_kid(keys.hmac.kid());
    let hmac_verifier = policy()
        .issuer(&issuer_url)
        .key(hmac_key)
        .build()
        .map_err(|e| setup("building the HS256 verifier", e))?;
    if !args.json {
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

    let minter = Minter {
        keys: &keys,
        issuer: &issuer_url,
        lifetime,
    };
    let sessions = (0..args.tokens.get())
        .map(|i| minter.mint(i % ROWS.len(), 0).map(ArcSwap::from_pointee))
        .collect::<Result<Vec<_>, _>>()?;
    let shared = Shared {
        sessions,
        stop: AtomicBool::new(false),
        start: Instant::now(),
        switched: OnceLock::new(),
        picked_up_ns: AtomicU64::new(u64::MAX),
        verified: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        minted: Default::default(),
        events: Mutex::new(Vec::new()),
        phase: Mutex::new("first keys published"),
    };
    for i in 0..shared.sessions.len() {
        shared.minted[i % ROWS.len()].fetch_add(1, Ordering::Relaxed);
    }
    shared.event(format!(
        "issuer up with {} keys ({}); verifier ready after {:.1} ms through discovery",
        PUBLISHED.len(),
        PUBLISHED.map(|a| a.as_str()).join(", "),
        ready_after.as_secs_f64() * 1e3
    ));

    let progress = ProgressBar::with_draw_target(
        Some(run_for.as_millis() as u64),
        ProgressDrawTarget::stderr(),
    );
    progress.set_style(
        ProgressStyle::with_template("{spinner:.green} {bar:24.cyan/blue} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );

    let mut rotation = (None, None);
    let tallies: Vec<Vec<Tally>> = thread::scope(|s| {
        let mint_thread = s.spawn(|| minter.run(&shared, &published, run_for));
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (shared, verifier, hmac_verifier) = (&shared, &verifier, &hmac_verifier);
                s.spawn(move || {
                    work(
                        shared,
                        verifier,
                        hmac_verifier,
                        t * shared.sessions.len() / threads,
                    )
                })
            })
            .collect();
        watch(&shared, &progress, run_for, args.json);
        shared.stop.store(true, Ordering::Relaxed);
        let tallies = workers.into_iter().map(join).collect();
        rotation = join(mint_thread);
        tallies
    });
    let elapsed = shared.start.elapsed();
    progress.finish_and_clear();
    print_events(&shared, &progress, args.json);

    let mut rows = vec![Tally::default(); ROWS.len()];
    for worker in &tallies {
        for (row, tally) in rows.iter_mut().zip(worker) {
            row.add(tally);
        }
    }
    let picked = shared.picked_up_ns.load(Ordering::Relaxed);
    let outcome = Outcome {
        issuer: issuer_url,
        threads,
        sessions: shared.sessions.len(),
        elapsed,
        ready_after,
        rows,
        minted: shared
            .minted
            .iter()
            .map(|m| m.load(Ordering::Relaxed))
            .collect(),
        picked_up: (picked != u64::MAX).then(|| Duration::from_nanos(picked)),
        rotation_at: rotation.0,
        withdrawn_at: rotation.1,
        discovery_fetches: issuer.counts().discovery.load(Ordering::Relaxed),
        jwks_fetches: issuer.counts().jwks.load(Ordering::Relaxed),
    };
    let failures: u64 = outcome.rows.iter().map(|r| r.failures).sum();
    if args.json {
        print_json(&outcome, args);
    } else {
        print_summary(&outcome);
    }
    // A rotation that started in the last moment of a very short run may not be observed; one
    // that had a second to be picked up and was not is a failure.
    let rotated = match (outcome.rotation_at, outcome.picked_up) {
        (Some(at), None) => elapsed.saturating_sub(at) < Duration::from_secs(1),
        _ => true,
    };
    Ok(ExitCode::from(if failures == 0 && rotated {
        ui::exit::OK
    } else {
        ui::exit::REJECTED
    }))
}

/// The policy every verifier in the demo enforces, as an MCP server would.
fn policy() -> jwtgate::VerifierBuilder {
    Verifier::builder()
        .audience(AUDIENCE)
        .required_scopes([REQUIRED_SCOPE])
        .typ("at+jwt")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn jwks_of(generations: &[&[SigningKey]]) -> String {
    let keys: Vec<&SigningKey> = generations.iter().flat_map(|g| g.iter()).collect();
    sign::jwks(&keys)
}

/// Both generations of keys, generated in parallel (RSA generation dominates the set-up).
fn generate_keys() -> Result<Keys, Failure> {
    let generate = |alg: Algorithm, generation: u8| {
        SigningKey::generate(
            alg,
            format!("demo-{}-{generation}", alg.as_str().to_ascii_lowercase()),
        )
        .map_err(|e| Failure::engine(&format!("generating an {alg} key"), &e))
    };
    let (old, new) = thread::scope(|s| {
        let old: Vec<_> = PUBLISHED
            .iter()
            .map(|&a| s.spawn(move || generate(a, 1)))
            .collect();
        let new: Vec<_> = PUBLISHED
            .iter()
            .map(|&a| s.spawn(move || generate(a, 2)))
            .collect();
        (
            old.into_iter().map(join).collect::<Result<Vec<_>, _>>(),
            new.into_iter().map(join).collect::<Result<Vec<_>, _>>(),
        )
    });
    Ok(Keys {
        old: old?,
        new: new?,
        hmac: generate(Algorithm::HS256, 1)?,
    })
}

/// The issuer side: mints tokens into sessions and rotates the keys.
struct Minter<'a> {
    keys: &'a Keys,
    issuer: &'a str,
    lifetime: u64,
}

impl Minter<'_> {
    fn mint(&self, row: usize, generation: u8) -> Result<Entry, Failure> {
        let key = if row == HMAC_ROW {
            &self.keys.hmac
        } else if generation == 0 {
            &self.keys.old[row]
        } else {
            &self.keys.new[row]
        };
        let now = jwtgate::now_unix();
        let mut jti = [0u8; 12];
        let _ = aws_lc_rs::rand::fill(&mut jti);
        let claims = json!({
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": format!("user-{}", jti[0]),
            "client_id": "mcp-demo-client",
            "scope": TOKEN_SCOPE,
            "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "iat": now,
            "exp": now + self.lifetime,
        });
        let token = key
            .mint_with_header(&json!({"typ": "at+jwt"}), &claims)
            .map_err(|e| Failure::engine("minting", &e))?;
        Ok(Entry {
            token,
            row,
            generation,
            used: AtomicBool::new(false),
        })
    }

    /// Mints until the run ends; returns when the rotation started and when the old keys were
    /// withdrawn (as offsets from the start).
    fn run(
        &self,
        shared: &Shared,
        published: &ArcSwap<String>,
        run_for: Duration,
    ) -> (Option<Duration>, Option<Duration>) {
        let sessions = shared.sessions.len();
        let rotate_at = shared.start + run_for.mul_f64(ROTATE_AT);
        let (mut generation, mut replaced, mut cursor) = (0u8, 0usize, 0usize);
        let (mut rotation_at, mut withdrawn_at) = (None, None);
        let mut next = Instant::now();
        while !shared.stop.load(Ordering::Relaxed) {
            if generation == 0 && Instant::now() >= rotate_at {
                // Overlap first: publish the new keys next to the old ones, so a verifier that
                // fetches now can verify tokens of both.
                published.store(Arc::new(jwks_of(&[&self.keys.old, &self.keys.new])));
                rotation_at = Some(shared.start.elapsed());
                shared.event(format!(
                    "rotation: {} new keys published next to the old ones (overlap window opens)",
                    PUBLISHED.len()
                ));
                generation = 1;
                let _ = shared.switched.set(Instant::now());
                shared.event("minting switched to the new keys".to_string());
                shared.set_phase("overlap: old + new keys published, minting with new keys");
            }
            if generation == 1 && withdrawn_at.is_none() && replaced >= sessions {
                // Every session now holds a new-key token: the old keys can go.
                published.store(Arc::new(jwks_of(&[&self.keys.new])));
                withdrawn_at = Some(shared.start.elapsed());
                shared.event("old keys withdrawn: every session holds a new-key token".to_string());
                shared.set_phase("rotated: old keys withdrawn");
            }
            let row = cursor % ROWS.len();
            match self.mint(row, generation) {
                Ok(entry) => {
                    shared.sessions[cursor].store(Arc::new(entry));
                    shared.minted[row].fetch_add(1, Ordering::Relaxed);
                }
                Err(f) => shared.event(format!("minting failed: {}", f.message)),
            }
            if generation == 1 {
                replaced += 1;
            }
            cursor = (cursor + 1) % sessions;
            next += MINT_INTERVAL;
            let now = Instant::now();
            if next > now {
                thread::sleep(next - now);
            } else if now - next > Duration::from_millis(50) {
                // Fell behind (a slow RSA signature on a busy core): do not burst to catch up.
                next = now;
            }
        }
        (rotation_at, withdrawn_at)
    }
}

/// A worker: verifies session tokens round-robin until told to stop.
fn work(
    shared: &Shared,
    verifier: &Verifier,
    hmac_verifier: &Verifier,
    first: usize,
) -> Vec<Tally> {
    let mut tallies = vec![Tally::default(); ROWS.len()];
    let sessions = shared.sessions.len();
    let mut next = first % sessions;
    loop {
        let mut failed = 0;
        for _ in 0..BATCH {
            let entry = shared.sessions[next].load_full();
            next = (next + 1) % sessions;
            let repeat = entry.used.swap(true, Ordering::Relaxed);
            let new_key = entry.generation == 1 && entry.row != HMAC_ROW;
            let waiting = new_key && shared.picked_up_ns.load(Ordering::Relaxed) == u64::MAX;
            let v = if entry.row == HMAC_ROW {
                hmac_verifier
            } else {
                verifier
            };
            let started = Instant::now();
            let result = v.verify(&entry.token);
            let ns = started.elapsed().as_nanos() as u64;
            let tally = &mut tallies[entry.row];
            if waiting {
                tally.waited += 1;
                tally.waited_ns = tally.waited_ns.max(ns);
            } else if repeat {
                tally.record_repeat(ns);
            } else {
                tally.first += 1;
                tally.first_samples.push(ns);
            }
            match result {
                Ok(_) if waiting => {
                    if let Some(switched) = shared.switched.get() {
                        let since = switched.elapsed().as_nanos() as u64;
                        shared.picked_up_ns.fetch_min(since, Ordering::Relaxed);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failed += 1;
                    tally.failures += 1;
                    tally.first_error.get_or_insert(e);
                }
            }
        }
        shared.verified.fetch_add(BATCH as u64, Ordering::Relaxed);
        if failed > 0 {
            shared.failures.fetch_add(failed, Ordering::Relaxed);
        }
        if shared.stop.load(Ordering::Relaxed) {
            return tallies;
        }
    }
}

/// The live line: updated ten times a second until the run ends; events print above it.
fn watch(shared: &Shared, progress: &ProgressBar, run_for: Duration, json: bool) {
    let mut last = (Instant::now(), 0u64);
    let mut rate = 0.0;
    let mut reported_pickup = false;
    loop {
        let elapsed = shared.start.elapsed();
        if elapsed >= run_for {
            return;
        }
        thread::sleep(Duration::from_millis(100).min(run_for - elapsed));
        let picked = shared.picked_up_ns.load(Ordering::Relaxed);
        if picked != u64::MAX && !reported_pickup {
            reported_pickup = true;
            // Stamped when it happened, not when this loop noticed.
            let switched = shared
                .switched
                .get()
                .map_or(Duration::ZERO, |t| t.duration_since(shared.start));
            shared.event_at(
                switched + Duration::from_nanos(picked),
                format!(
                    "first new-key token verified: rotation picked up after {:.1} ms",
                    picked as f64 / 1e6
                ),
            );
        }
        print_events(shared, progress, json);
        let verified = shared.verified.load(Ordering::Relaxed);
        let now = Instant::now();
        let window = now.duration_since(last.0).as_secs_f64();
        if window > 0.0 {
            rate = (verified - last.1) as f64 / window;
        }
        last = (now, verified);
        let failures = shared.failures.load(Ordering::Relaxed);
        let phase = *shared.phase.lock().unwrap_or_else(|p| p.into_inner());
        progress.set_position(shared.start.elapsed().as_millis() as u64);
        progress.set_message(format!(
            "{:>4.1} s  {} verified  {}  {}/s  {}",
            shared.start.elapsed().as_secs_f64(),
            group_digits(verified),
            if failures == 0 {
                paint(OK, "0 failures")
            } else {
                paint(FAIL, format!("{failures} failures"))
            },
            group_digits(rate as u64),
            phase
        ));
    }
}

/// Prints pending events above the progress line (stdout; not in JSON mode).
fn print_events(shared: &Shared, progress: &ProgressBar, json: bool) {
    let mut events = std::mem::take(&mut *shared.events.lock().unwrap_or_else(|p| p.into_inner()));
    events.sort_by_key(|(at, _)| *at);
    if json || events.is_empty() {
        return;
    }
    progress.suspend(|| {
        for (at, text) in events {
            ui::outln!(
                "  {}  {text}",
                paint(DIM, format!("{:>5.2} s", at.as_secs_f64()))
            );
        }
    });
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

fn print_summary(o: &Outcome) {
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
        match (o.rotation_at, o.picked_up) {
            (Some(at), Some(picked)) => format!(
                "picked up after {:.1} ms (new keys published and minting switched at {:.2} s; {} verification{} waited for the key fetch, longest {:.1} ms){}",
                picked.as_secs_f64() * 1e3,
                at.as_secs_f64(),
                waited,
                plural(waited as usize),
                longest_wait as f64 / 1e6,
                o.withdrawn_at
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

fn print_json(o: &Outcome, args: &DemoArgs) {
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
        "seconds": args.seconds,
        "elapsed_seconds": o.elapsed.as_secs_f64(),
        "verifier_ready_ms": o.ready_after.as_secs_f64() * 1e3,
        "rotation": {
            "started_at_s": o.rotation_at.map(|d| d.as_secs_f64()),
            "picked_up_after_ms": o.picked_up.map(|d| d.as_secs_f64() * 1e3),
            "old_keys_withdrawn_at_s": o.withdrawn_at.map(|d| d.as_secs_f64()),
        },
        "fetches": { "discovery": o.discovery_fetches, "jwks": o.jwks_fetches },
        "cache_hit_rate": hits as f64 / verifications.max(1) as f64,
        "resent_rate": repeats as f64 / verifications.max(1) as f64,
        "results": results,
        "total": { "verifications": verifications, "failures": failures },
    }));
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

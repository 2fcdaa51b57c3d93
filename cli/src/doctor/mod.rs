//! `jwtgate doctor`: walks discovery → clock → JWKS → keys → algorithms → token → verifier and
//! prints each step as ok / warn / FAIL with what to change.
//!
//! Every verdict comes from core. The fetches are `jwtgate::diagnostics` (the verifier's own code
//! paths and limits); each token check is a real `Verifier` built from the fetched JWKS with
//! every rule but one relaxed (the "probe"), so one run names every problem instead of stopping
//! at the first; the last step builds the verifier exactly as a server would from these options
//! and verifies the token with it. The CLI only explains: it fetches documents again to show
//! what the provider says next to what was configured, and reads the token's claims (unverified)
//! to show them side by side.
//!
//! `report` holds the checks and their output; `token` the token probes and their explanations.

mod report;
mod token;

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;
use jwtgate::diagnostics::{self, FetchedJwks, ProviderMetadata};
use jwtgate::{Algorithm, Error, ErrorCode, FetchLimits, Fetcher, HttpFetcher, KeySet, MAX_LEEWAY};
use serde_json::Value;

use crate::server_policy::ServerPolicy;
use crate::ui::{self, Failure};
use report::{Check, Status, print_human, print_json, quoted};

#[derive(Args, Debug)]
pub(crate) struct DoctorArgs {
    /// The issuer exactly as the server is configured with it (discovery starts here).
    #[arg(long, value_name = "URL")]
    issuer: String,

    /// A token the server should accept (`-` reads it from stdin; a `Bearer ` prefix is ignored).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,

    #[command(flatten)]
    policy: ServerPolicy,

    /// Deadline of each HTTP request of the final verifier check and of the explanations (core's
    /// discovery and JWKS steps use the verifier's default, 5 s).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = ui::parse_duration)]
    timeout: Duration,

    /// Print the report as JSON: {ok, problems, warnings, checks: [{id, status, finding, summary,
    /// details, fix}]}.
    #[arg(long)]
    json: bool,
}

/// A fetched document, as the explanations need it.
enum Raw {
    Failed(String),
    Status(u16),
    Body(Vec<u8>),
}

struct Doctor<'a> {
    args: &'a DoctorArgs,
    fetcher: HttpFetcher,
    limits: FetchLimits,
    checks: Vec<Check>,
    /// The provider's clock minus this machine's, in seconds, from a `Date` header.
    skew: Option<f64>,
    provider_date: Option<String>,
}

/// What the token checks need from the earlier steps.
struct Context {
    /// The JWKS text the probes verify with.
    jwks: Option<String>,
    /// Kids of the usable keys.
    kids: Vec<String>,
}

pub(crate) fn run(args: &DoctorArgs) -> ExitCode {
    ui::finish(doctor(args))
}

fn doctor(args: &DoctorArgs) -> Result<ExitCode, Failure> {
    let token = args.token.as_deref().map(ui::read_token).transpose()?;
    if args.policy.leeway > MAX_LEEWAY {
        return Err(Failure::usage(
            "--leeway is over 10m",
            "jwtgate allows at most 10 minutes of leeway",
        ));
    }
    let mut d = Doctor {
        args,
        fetcher: HttpFetcher::new(args.timeout),
        limits: FetchLimits {
            timeout: args.timeout,
            ..diagnostics::default_limits()
        },
        checks: Vec::new(),
        skew: None,
        provider_date: None,
    };
    let metadata = d.discovery();
    let fetched = metadata.as_ref().and_then(|m| d.jwks(m));
    d.clock();
    d.algorithms(metadata.as_ref(), fetched.as_ref().map(|(f, _)| &f.keys));
    let context = Context {
        kids: fetched
            .as_ref()
            .map(|(f, _)| {
                f.keys
                    .keys()
                    .iter()
                    .filter_map(|k| k.kid().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        jwks: fetched.and_then(|(_, text)| text),
    };
    if let Some(token) = &token {
        d.token(token, &context);
    }
    d.verdict(token.as_deref());
    let problems = d.checks.iter().filter(|c| c.status == Status::Fail).count();
    if args.json {
        print_json(&d, problems);
    } else {
        print_human(&d, problems);
    }
    Ok(ExitCode::from(if problems == 0 {
        ui::exit::OK
    } else {
        ui::exit::REJECTED
    }))
}

impl Doctor<'_> {
    fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    fn fetch(&self, url: &str) -> Raw {
        match self.fetcher.get(url, &self.limits) {
            Err(e) => Raw::Failed(e),
            Ok(r) if r.status != 200 => Raw::Status(r.status),
            Ok(r) => Raw::Body(r.body),
        }
    }

    /// Remembers the provider's clock from a `Date` header.
    fn record_date(&mut self, date: Option<&str>) {
        let local = ui::unix_now();
        if self.skew.is_some() {
            return;
        }
        if let Some(text) = date {
            if let Ok(t) = httpdate::parse_http_date(text) {
                self.skew = Some(ui::unix_seconds(t) - local);
                self.provider_date = Some(text.to_string());
            }
        }
    }

    // ---- discovery ----

    fn discovery(&mut self) -> Option<ProviderMetadata> {
        let issuer = self.args.issuer.clone();
        match diagnostics::discover(&issuer, &self.fetcher, self.args.policy.allow_http) {
            Ok(meta) => {
                self.record_date(meta.date.as_deref());
                let check = Check::ok(
                    "discovery",
                    format!("{} names this issuer exactly", meta.url),
                )
                .detail("issuer", meta.issuer.clone())
                .detail("jwks_uri", meta.jwks_uri.clone());
                self.push(check);
                Some(meta)
            }
            Err(e) if e.code() == ErrorCode::ConfigInvalid => {
                let check = Check::fail("discovery", "issuer_invalid", e.message().to_string()).fix(
                    "the issuer is an absolute https URL, as the provider names itself (plain http only on loopback hosts; --allow-http to test anyway)",
                );
                self.push(check);
                None
            }
            Err(e) => self.explain_discovery(&issuer, &e),
        }
    }

    /// Core said no: find out why, to say what to change.
    fn explain_discovery(&mut self, issuer: &str, error: &Error) -> Option<ProviderMetadata> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let raw = self.fetch(&url);
        let document: Option<Value> = match &raw {
            Raw::Body(body) => serde_json::from_slice(body).ok(),
            _ => None,
        };
        let named = document
            .as_ref()
            .and_then(|d| d.get("issuer")?.as_str().map(str::to_owned));
        match named {
            Some(provider) if provider != issuer => {
                let slash = provider.trim_end_matches('/') == issuer.trim_end_matches('/');
                let (finding, summary) = match (slash, issuer.ends_with('/')) {
                    (true, true) => (
                        "issuer_trailing_slash",
                        "trailing slash: --issuer ends with \"/\", the provider's issuer does not"
                            .to_string(),
                    ),
                    (true, false) => (
                        "issuer_trailing_slash",
                        "trailing slash: the provider's issuer ends with \"/\", --issuer does not"
                            .to_string(),
                    ),
                    (false, _) => (
                        "issuer_mismatch",
                        "the discovery document names another issuer".to_string(),
                    ),
                };
                let mut check = Check::fail("discovery", finding, summary)
                    .detail("--issuer", quoted(issuer))
                    .detail("provider", quoted(&provider))
                    .detail("document", url)
                    .fix(format!(
                        "configure the issuer exactly as the provider names it: {provider} (iss and the discovery issuer are compared byte for byte, no normalisation)"
                    ));
                // Would the provider's own spelling work? Ask core, and go on with it so that
                // the later steps are checked too.
                let confirmed =
                    diagnostics::discover(&provider, &self.fetcher, self.args.policy.allow_http);
                let meta = match confirmed {
                    Ok(meta) => {
                        check = check.detail(
                            "check",
                            format!("discovery with {provider} succeeds; the steps below use it"),
                        );
                        self.record_date(meta.date.as_deref());
                        Some(meta)
                    }
                    Err(e) => {
                        check = check.detail("check", format!("with {provider}: {e}"));
                        None
                    }
                };
                self.push(check);
                meta
            }
            Some(_) => {
                // It names this issuer, so something else in it is wrong (jwks_uri missing or
                // not https): core's message says what.
                let check = Check::fail("discovery", "invalid_document", error.message().to_string()).fix(
                    "the discovery document needs issuer and jwks_uri; jwks_uri must be https (plain http only on loopback hosts)",
                );
                self.push(check);
                None
            }
            None => {
                let why = match raw {
                    Raw::Failed(e) => e,
                    Raw::Status(s) => format!("HTTP {s}"),
                    Raw::Body(_) => "not a JSON document with an issuer".to_string(),
                };
                let check = Check::fail("discovery", "unreachable", format!("no discovery document for {issuer}: {why}"))
                    .detail("error", error.message().to_string())
                    .fix(format!(
                        "check the issuer URL (the provider's issuer identifier, e.g. https://login.example.com/realms/mcp) and that this machine reaches it (DNS, proxy, firewall); \
                         the provider must serve {url} or RFC 8414 metadata at /.well-known/oauth-authorization-server"
                    ));
                self.push(check);
                None
            }
        }
    }

    // ---- keys ----

    /// The JWKS (and its text, for the token probes).
    fn jwks(&mut self, meta: &ProviderMetadata) -> Option<(FetchedJwks, Option<String>)> {
        let uri = meta.jwks_uri.clone();
        match diagnostics::fetch_jwks(&uri, &self.fetcher, self.args.policy.allow_http) {
            Ok(fetched) => {
                self.record_date(fetched.date.as_deref());
                let n = fetched.keys.len();
                if n == 0 {
                    // A JWKS that parses is authoritative: with no usable key, every token fails.
                    self.push(no_usable_keys(&fetched.keys));
                    return None;
                }
                let mut check = Check::ok(
                    "jwks",
                    format!("{n} usable key{} at {uri}", if n == 1 { "" } else { "s" }),
                );
                for key in fetched.keys.keys() {
                    check = check.detail(key.kid().unwrap_or("(no kid)"), describe_key(key));
                }
                self.push(check);
                let skipped = fetched.keys.skipped();
                if skipped.is_empty() {
                    self.push(Check::ok("keys", "every published key is usable"));
                } else {
                    let mut check = Check::warn(
                        "keys",
                        "unusable_keys",
                        format!(
                            "{} of {} published keys cannot be used and are ignored",
                            skipped.len(),
                            skipped.len() + n
                        ),
                    );
                    for s in skipped {
                        check = check.detail(
                            s.kid.clone().unwrap_or_else(|| format!("#{}", s.index)),
                            s.reason.clone(),
                        );
                    }
                    self.push(check.fix(
                        "remove or fix these keys at the provider: tokens signed with them are rejected (key_not_found / key_unusable)",
                    ));
                }
                let text = match self.fetch(&uri) {
                    Raw::Body(body) => String::from_utf8(body).ok(),
                    _ => None,
                };
                Some((fetched, text))
            }
            Err(e) => {
                self.explain_jwks(&uri, &e);
                None
            }
        }
    }

    fn explain_jwks(&mut self, uri: &str, error: &Error) {
        let check = match self.fetch(uri) {
            Raw::Failed(_) | Raw::Status(_) => Check::fail("jwks", "unreachable", format!("cannot fetch the JWKS at {uri}"))
                .detail("error", error.message().to_string())
                .fix("the provider must serve its keys at the jwks_uri of its discovery document, reachable from this machine, with status 200 (redirects are not followed)"),
            Raw::Body(body) => match KeySet::from_jwks_json(&String::from_utf8_lossy(&body)) {
                Ok(set) if set.is_empty() => no_usable_keys(&set),
                Ok(_) => Check::fail("jwks", "rejected", error.message().to_string())
                    .fix("the JWKS must stay within 256 KiB and 100 keys"),
                Err(e) => Check::fail("jwks", "invalid_document", e.message().to_string())
                    .fix("the JWKS must be a JSON object {\"keys\": [...]}"),
            },
        };
        self.push(check);
    }

    // ---- clock ----

    fn clock(&mut self) {
        let tolerance = self.args.policy.leeway.as_secs_f64().max(2.0);
        let check = match (self.skew, &self.provider_date) {
            (Some(skew), Some(date)) => {
                let detail = |c: Check| {
                    c.detail("provider", date.clone())
                        .detail("this machine", httpdate::fmt_http_date(SystemTime::now()))
                };
                if skew.abs() <= tolerance {
                    detail(Check::ok(
                        "clock",
                        format!(
                            "this machine and the provider agree within {} s",
                            tolerance as u64
                        ),
                    ))
                } else {
                    let amount = ui::compact_duration(skew.abs());
                    let (way, effect) = if skew > 0.0 {
                        (
                            "behind",
                            format!(
                                "fresh tokens look issued in the future (iat/nbf) for {amount} and are rejected"
                            ),
                        )
                    } else {
                        ("ahead of", format!("tokens expire {amount} early here"))
                    };
                    detail(Check::fail("clock", "clock_skew", format!("this machine's clock is {amount} {way} the provider's")))
                        .fix(format!(
                            "sync this machine's clock (NTP, e.g. `timedatectl set-ntp true`): {effect}; a leeway of at least {amount} (at most 10m) only hides it"
                        ))
                }
            }
            _ => Check::skip(
                "clock",
                "the provider sent no Date header: clock skew cannot be measured",
            ),
        };
        self.push(check);
    }

    // ---- algorithms ----

    fn algorithms(&mut self, meta: Option<&ProviderMetadata>, keys: Option<&KeySet>) {
        let advertised: Vec<String> = meta.map(|m| m.signing_algs.clone()).unwrap_or_default();
        let Some(keys) = keys else {
            self.push(Check::skip("algorithms", "needs the keys"));
            return;
        };
        let verifiable: Vec<Algorithm> = Algorithm::ASYMMETRIC
            .into_iter()
            .filter(|a| keys.keys().iter().any(|k| k.can_verify(*a)))
            .collect();
        let names = |algs: &[Algorithm]| {
            algs.iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut unsupported = Vec::new();
        let mut symmetric = Vec::new();
        let mut supported = Vec::new();
        for name in &advertised {
            match name.parse::<Algorithm>() {
                Ok(a) if a.is_symmetric() => symmetric.push(name.clone()),
                Ok(a) => supported.push(a),
                Err(_) => unsupported.push(name.clone()),
            }
        }
        let usable: Vec<Algorithm> = supported
            .iter()
            .copied()
            .filter(|a| verifiable.contains(a))
            .collect();
        let mut check = if !supported.is_empty() && usable.is_empty() {
            Check::fail(
                "algorithms",
                "no_common_algorithm",
                format!("the provider advertises {} but its keys verify only {}", names(&supported), names(&verifiable)),
            )
            .fix("publish a key for the algorithm the provider signs with, or have it sign with the algorithm of a published key")
        } else if !unsupported.is_empty() {
            Check::warn(
                "algorithms",
                "unsupported_algorithms",
                format!("the provider advertises {} which jwtgate does not support", unsupported.join(", ")),
            )
            .fix("tokens signed with them are rejected (alg_not_allowed): have the provider sign access tokens with RS256, PS256, ES256, ES384 or EdDSA")
        } else if advertised.is_empty() {
            Check::ok("algorithms", format!("keys verify {}", names(&verifiable)))
        } else {
            Check::ok(
                "algorithms",
                format!("advertised {}: all supported", advertised.join(", ")),
            )
        };
        if !advertised.is_empty() {
            check = check.detail("advertised", advertised.join(", "));
        }
        check = check.detail("keys verify", names(&verifiable));
        if !symmetric.is_empty() {
            check = check.detail(
                "note",
                format!("{} advertised: client-secret-signed ID tokens; HMAC is never taken from a JWKS", symmetric.join(", ")),
            );
        }
        self.push(check);
    }

    // ---- the verifier, as a server would build it ----

    fn verdict(&mut self, token: Option<&str>) {
        let args = self.args;
        let verifier = match args.policy.builder(&args.issuer, args.timeout).build() {
            Ok(v) => v,
            Err(e) => {
                self.push(
                    Check::fail("verifier", "config_invalid", e.message().to_string())
                        .fix(e.code().hint()),
                );
                return;
            }
        };
        let note = |c: Check| {
            if args.policy.audience.is_empty() {
                c.detail("note", "aud not checked: no --audience given")
            } else {
                c
            }
        };
        if let Err(e) = verifier.wait_ready(args.timeout + Duration::from_secs(1)) {
            let check = Check::fail(
                "verifier",
                "keys_unavailable",
                format!("{} ({})", e.message(), e.code()),
            )
            .fix("see the discovery and jwks steps above");
            self.push(check);
            return;
        }
        let status = verifier.keys_status();
        let check = match token.map(|t| verifier.verify(t)) {
            None => Check::ok(
                "verifier",
                format!(
                    "a verifier for this issuer starts and loads {} key{}",
                    status.key_count,
                    if status.key_count == 1 { "" } else { "s" }
                ),
            ),
            Some(Ok(_)) => note(Check::ok(
                "verifier",
                "the verifier built from these options accepts the token",
            )),
            Some(Err(e)) => note(
                Check::fail(
                    "verifier",
                    e.code().as_str(),
                    format!("the verifier built from these options rejects the token: {e}"),
                )
                .detail("code", e.code().as_str())
                .fix(e.code().hint()),
            ),
        };
        self.push(check);
    }
}

fn describe_key(key: &jwtgate::Key) -> String {
    let family = match key.family() {
        jwtgate::KeyFamily::Rsa => "RSA".to_string(),
        jwtgate::KeyFamily::Ec(curve) => format!("EC {}", curve.as_str()),
        jwtgate::KeyFamily::Ed25519 => "OKP Ed25519".to_string(),
        jwtgate::KeyFamily::Hmac => "HMAC".to_string(),
        #[allow(unreachable_patterns)]
        _ => "other".to_string(),
    };
    match key.algorithm() {
        Some(alg) => format!("{family}, alg {alg}"),
        None => format!("{family}, any algorithm of its family"),
    }
}

/// The finding for a JWKS that parses but holds no usable key: every token is rejected.
fn no_usable_keys(set: &KeySet) -> Check {
    let mut check = Check::fail(
        "jwks",
        "no_usable_keys",
        format!(
            "none of the {} published keys can be used",
            set.skipped().len()
        ),
    );
    for s in set.skipped() {
        check = check.detail(
            s.kid.clone().unwrap_or_else(|| format!("#{}", s.index)),
            s.reason.clone(),
        );
    }
    check.fix(
        "publish public signature keys: RSA 2048–8192 bits, EC P-256/P-384 or Ed25519, without private members, with use \"sig\" if any; HMAC secrets never belong in a JWKS",
    )
}

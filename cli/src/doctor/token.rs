//! The token checks: each one a real verifier built from the fetched JWKS with every rule but one
//! relaxed (a "probe"), and the explanation of its answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jwtgate::diagnostics::{self, UnverifiedToken};
use jwtgate::{Error, ErrorCode, MAX_LEEWAY, Verified, Verifier};
use serde_json::Value;

use super::report::{Check, quoted};
use super::{Context, Doctor, DoctorArgs};
use crate::inspect;
use crate::ui;

impl Doctor<'_> {
    // ---- the token ----

    pub(super) fn token(&mut self, token: &str, context: &Context) {
        let decoded = match diagnostics::decode_unverified(token) {
            Ok(decoded) => decoded,
            Err(e) => {
                let (finding, summary, fix) = inspect::undecodable(token, &e);
                self.push(Check::fail("token.format", finding, summary).fix(fix));
                return;
            }
        };
        let facts = Facts::of(&decoded);
        let mut format = Check::ok(
            "token.format",
            format!(
                "a JWT: alg {}, kid {}, typ {} (decoded; checked below)",
                facts.alg.as_deref().unwrap_or("-"),
                facts.kid.as_deref().unwrap_or("(none)"),
                facts.typ.as_deref().unwrap_or("(none)")
            ),
        );
        for (name, value) in &facts.shown {
            format = format.detail(name.clone(), value.clone());
        }
        self.push(format);
        let Some(jwks) = &context.jwks else {
            self.push(Check::skip("token", "the token checks need the JWKS"));
            return;
        };
        let probe = Probe {
            doctor: self.args,
            jwks,
            token,
            facts: &facts,
        };

        // Signature and key first: claims of a token whose signature does not hold are noise.
        let signature = probe.run(|p| p.relaxed());
        match signature {
            Err(e) if is_signature_problem(e.code()) => {
                let check = explain_signature(&e, &facts, context);
                self.push(check);
                self.push(Check::skip(
                    "token.claims",
                    "the signature did not verify, so the claims cannot be trusted",
                ));
                return;
            }
            _ => self.push(Check::ok(
                "token.signature",
                format!(
                    "verifies with key {} ({})",
                    facts.kid.as_deref().map_or("(no kid)".to_string(), quoted),
                    facts.alg.as_deref().unwrap_or("-")
                ),
            )),
        }

        let iss = probe.run(|p| Spec {
            issuer: Some(p.doctor.issuer.clone()),
            ..p.relaxed()
        });
        self.push(explain_iss(iss, self.args, &facts));

        let aud = if self.args.policy.audience.is_empty() {
            None
        } else {
            Some(probe.run(|p| Spec {
                audience: Some(p.doctor.policy.audience.clone()),
                ..p.relaxed()
            }))
        };
        self.push(explain_aud(aud, self.args, &facts));

        let time = probe.run(|p| Spec {
            leeway: p.doctor.policy.leeway,
            at: None,
            require_exp: true,
            ..p.relaxed()
        });
        let at_provider = self.skew.map(|skew| {
            let t = ui::unix_now() + skew;
            (
                t,
                probe.run(|p| Spec {
                    leeway: p.doctor.policy.leeway,
                    at: Some(t),
                    require_exp: true,
                    ..p.relaxed()
                }),
            )
        });
        self.push(explain_time(time, at_provider, &facts));

        let typ = self.args.policy.typ.as_ref().map(|t| {
            probe.run(|p| Spec {
                typ: Some(t.clone()),
                ..p.relaxed()
            })
        });
        self.push(explain_typ(typ, self.args, &facts, &decoded));

        let scope = (!self.args.policy.scope.is_empty()).then(|| {
            probe.run(|p| Spec {
                scopes: p.doctor.policy.scope.clone(),
                ..p.relaxed()
            })
        });
        self.push(explain_scope(scope, self.args, &facts));
    }
}

/// What the token says about itself (unverified; for display and for relaxing probes).
struct Facts {
    alg: Option<String>,
    kid: Option<String>,
    typ: Option<String>,
    iss: Option<String>,
    aud: Vec<String>,
    scopes: Vec<String>,
    exp: Option<f64>,
    from: Option<f64>,
    iat: Option<f64>,
    nbf: Option<f64>,
    shown: Vec<(String, String)>,
}

impl Facts {
    fn of(t: &UnverifiedToken) -> Facts {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let claims = t.claims.as_ref();
        let claim = |name: &str| claims.and_then(|c| c.get(name));
        let number = |name: &str| claim(name).and_then(Value::as_f64);
        let aud = match claim("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let mut scopes: Vec<String> = claim("scope")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        match claim("scp") {
            Some(Value::String(s)) => scopes.extend(s.split_whitespace().map(str::to_owned)),
            Some(Value::Array(items)) => {
                scopes.extend(items.iter().filter_map(|v| v.as_str().map(str::to_owned)))
            }
            _ => {}
        }
        let mut shown = Vec::new();
        for name in ["iss", "sub", "aud", "client_id", "azp", "scope", "scp"] {
            if let Some(v) = claim(name) {
                shown.push((name.to_string(), ui::show_json(v)));
            }
        }
        let (iat, nbf) = (number("iat"), number("nbf"));
        Facts {
            alg: text(t.header.get("alg")),
            kid: text(t.header.get("kid")),
            typ: text(t.header.get("typ")),
            iss: text(claim("iss")),
            aud,
            scopes,
            exp: number("exp"),
            from: match (iat, nbf) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            iat,
            nbf,
            shown,
        }
    }

    fn lifetime(&self) -> Option<f64> {
        Some(self.exp? - self.iat?).filter(|l| *l > 0.0)
    }
}

/// A verifier configuration for one probe.
#[derive(Clone)]
struct Spec {
    issuer: Option<String>,
    /// `None`: audience check skipped.
    audience: Option<Vec<String>>,
    scopes: Vec<String>,
    typ: Option<String>,
    leeway: Duration,
    /// `None`: now.
    at: Option<f64>,
    /// Only the time probe insists on exp, so a token without one is not reported as failing
    /// every other check too.
    require_exp: bool,
}

struct Probe<'a> {
    doctor: &'a DoctorArgs,
    jwks: &'a str,
    token: &'a str,
    facts: &'a Facts,
}

impl Probe<'_> {
    /// Every rule relaxed that can be: the token's own issuer, no audience, scope or typ
    /// requirement, the largest leeway, at a moment inside its validity window.
    fn relaxed(&self) -> Spec {
        let at = match (self.facts.from, self.facts.exp) {
            (Some(from), Some(exp)) if from < exp => Some((from + exp) / 2.0),
            (_, Some(exp)) => Some(exp - 1.0),
            _ => None,
        };
        Spec {
            issuer: self.facts.iss.clone(),
            audience: None,
            scopes: Vec::new(),
            typ: None,
            leeway: MAX_LEEWAY,
            at,
            require_exp: false,
        }
    }

    /// Verifies the token with core under `spec(self)`.
    fn run(&self, spec: impl Fn(&Self) -> Spec) -> Result<Verified, Error> {
        let spec = spec(self);
        let issuer = spec
            .issuer
            .filter(|i| !i.trim().is_empty())
            .unwrap_or_else(|| self.doctor.issuer.clone());
        let mut builder = Verifier::builder()
            .issuer(issuer)
            .jwks(self.jwks)
            .required_scopes(spec.scopes)
            .leeway(spec.leeway)
            .cache_size(0);
        match spec.audience {
            Some(list) => {
                for a in list {
                    builder = builder.audience(a);
                }
            }
            None => builder = builder.insecure_skip_audience_check(),
        }
        if let Some(typ) = spec.typ {
            builder = builder.typ(typ);
        }
        if !spec.require_exp {
            builder = builder.insecure_allow_missing_exp();
        }
        let verifier = builder.build()?;
        let at = spec.at.map_or_else(SystemTime::now, |t| {
            UNIX_EPOCH + Duration::from_secs_f64(t.max(0.0))
        });
        verifier.verify_at(self.token, at)
    }
}

fn is_signature_problem(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::KeyNotFound
            | ErrorCode::KeyUnusable
            | ErrorCode::SignatureInvalid
            | ErrorCode::AlgNotAllowed
            | ErrorCode::HeaderUnsupported
            | ErrorCode::TokenMalformed
            | ErrorCode::TokenTooLarge
    )
}

fn explain_signature(e: &Error, facts: &Facts, context: &Context) -> Check {
    let kid = facts.kid.as_deref().map_or("(none)".to_string(), quoted);
    let iss = facts.iss.as_deref().map_or("(none)".to_string(), quoted);
    let kids = if context.kids.is_empty() {
        "(none with a kid)".to_string()
    } else if context.kids.len() > 10 {
        format!(
            "{}, … ({} in all)",
            context.kids[..10].join(", "),
            context.kids.len()
        )
    } else {
        context.kids.join(", ")
    };
    match e.code() {
        ErrorCode::KeyNotFound if facts.kid.is_none() => Check::fail("token.signature", "no_kid", e.message().to_string())
            .detail("JWKS kids", kids)
            .fix("the provider must put kid in the header when it publishes several keys for one algorithm"),
        ErrorCode::KeyNotFound => Check::fail("token.signature", "kid_not_found", format!("the token's kid {kid} is not in the JWKS"))
            .detail("token kid", kid)
            .detail("JWKS kids", kids)
            .detail("token iss", format!("{iss} (unverified)"))
            .fix(
                "the token was signed with a key this JWKS does not publish: it comes from another issuer, tenant or environment, \
                 or the provider signs with a key it has not published (rotation without overlap); get a token from this issuer, or point --issuer at the token's provider",
            ),
        ErrorCode::KeyUnusable => Check::fail("token.signature", "key_unusable", e.message().to_string()).fix(
            "the published key with this kid is of another type, curve or alg than the token's header says: fix the key's alg/use at the provider, or sign with the key's algorithm",
        ),
        ErrorCode::SignatureInvalid => Check::fail("token.signature", "signature_invalid", e.message().to_string()).fix(
            "the token was altered, or signed by a different key under the same kid (two environments sharing kids?): get a fresh token from this provider",
        ),
        ErrorCode::AlgNotAllowed => Check::fail("token.signature", "alg_not_allowed", e.message().to_string()).fix(e.code().hint()),
        ErrorCode::HeaderUnsupported => Check::fail("token.signature", "header_unsupported", e.message().to_string()).fix(e.code().hint()),
        _ => Check::fail("token.signature", "malformed", e.message().to_string()).fix(e.code().hint()),
    }
}

fn explain_iss(result: Result<Verified, Error>, args: &DoctorArgs, facts: &Facts) -> Check {
    let token_iss = facts.iss.as_deref().map_or("(none)".to_string(), quoted);
    match result {
        Ok(_) => Check::ok("token.iss", format!("iss is {token_iss}, as configured")),
        Err(e) if e.code() == ErrorCode::IssuerMismatch => {
            let slash = facts
                .iss
                .as_deref()
                .is_some_and(|i| i.trim_end_matches('/') == args.issuer.trim_end_matches('/'));
            let (finding, summary) = if slash {
                (
                    "issuer_trailing_slash",
                    "iss and --issuer differ by a trailing slash",
                )
            } else {
                ("issuer_mismatch", "iss is not the configured issuer")
            };
            Check::fail("token.iss", finding, summary)
                .detail("--issuer", quoted(&args.issuer))
                .detail("token iss", token_iss)
                .fix(match &facts.iss {
                    Some(iss) if slash => format!("use {iss:?} exactly, as the provider spells it (no normalisation)"),
                    Some(iss) => format!(
                        "if this token's provider ({iss}) is the right one, configure it as the issuer; otherwise get a token from {}",
                        args.issuer
                    ),
                    None => "have the provider set iss".to_string(),
                })
        }
        Err(e) if e.claim() == Some("iss") => {
            Check::fail("token.iss", "iss_missing", e.message().to_string())
                .fix("the provider must set iss")
        }
        Err(e) => Check::skip("token.iss", format!("not checked: {e}")),
    }
}

fn explain_aud(result: Option<Result<Verified, Error>>, args: &DoctorArgs, facts: &Facts) -> Check {
    let token_aud = if facts.aud.is_empty() {
        "(none)".to_string()
    } else {
        facts
            .aud
            .iter()
            .map(|a| quoted(a))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing_fix = "configure the provider to put this server's resource in aud (RFC 8707 resource indicators, an Auth0 API audience, a Keycloak audience mapper); only if it cannot, skip the audience check explicitly (insecure_skip_audience_check)";
    match result {
        None if facts.aud.is_empty() => Check::warn("token.aud", "aud_missing", "the token has no aud and no --audience was given").fix(missing_fix),
        None => Check::warn("token.aud", "audience_not_configured", format!("no --audience given; the token is for {token_aud}")).fix(
            "servers must check aud: configure the audience (resource) this server's tokens are issued for, and pass it here with --audience",
        ),
        Some(Ok(_)) => Check::ok("token.aud", format!("aud {token_aud} contains a configured audience")),
        Some(Err(e)) if e.code() == ErrorCode::AudienceMismatch => {
            let slash = facts
                .aud
                .iter()
                .any(|a| args.policy.audience.iter().any(|c| a != c && a.trim_end_matches('/') == c.trim_end_matches('/')));
            let configured = args.policy.audience.iter().map(|a| quoted(a)).collect::<Vec<_>>().join(", ");
            Check::fail(
                "token.aud",
                if slash { "audience_trailing_slash" } else { "audience_mismatch" },
                if slash { "aud and --audience differ by a trailing slash" } else { "aud does not contain a configured audience" },
            )
            .detail("--audience", configured)
            .detail("token aud", token_aud)
            .fix(if slash {
                "configure the audience exactly as the provider writes it (no normalisation)".to_string()
            } else {
                "configure the audience the provider sets, or request tokens for this server's resource (RFC 8707 resource=, Auth0 audience=)".to_string()
            })
        }
        Some(Err(e)) if e.claim() == Some("aud") && e.code() == ErrorCode::ClaimMissing => {
            Check::fail("token.aud", "aud_missing", "the token has no aud").detail("--audience", args.policy.audience.join(", ")).fix(missing_fix)
        }
        Some(Err(e)) => Check::skip("token.aud", format!("not checked: {e}")),
    }
}

fn explain_time(
    result: Result<Verified, Error>,
    at_provider: Option<(f64, Result<Verified, Error>)>,
    facts: &Facts,
) -> Check {
    let now = ui::unix_now();
    let lifetime = facts.lifetime().map(ui::compact_duration);
    let with_times = |mut c: Check| {
        for (name, claim, t) in [
            ("iat", "iat", facts.iat),
            ("nbf", "nbf", facts.nbf),
            ("exp", "exp", facts.exp),
        ] {
            if let Some(t) = t {
                c = c.detail(
                    name,
                    format!("{} ({})", ui::utc(t), ui::time_phrase(claim, t, now)),
                );
            }
        }
        if let Some(l) = &lifetime {
            c = c.detail("lifetime", l.clone());
        }
        c
    };
    let skew_explains = matches!(&at_provider, Some((_, Ok(_))));
    match result {
        Ok(_) => with_times(Check::ok(
            "token.time",
            match facts.exp {
                Some(exp) => format!("valid now; expires {}", ui::relative(exp, now)),
                None => "valid now".to_string(),
            },
        )),
        Err(e) if matches!(e.code(), ErrorCode::TokenExpired | ErrorCode::TokenNotYetValid) && skew_explains => {
            let provider_now = at_provider.map(|(t, _)| t).unwrap_or(now);
            with_times(
                Check::fail("token.time", "clock_skew", format!("{e} by this machine's clock, but valid by the provider's"))
                    .detail("provider now", ui::utc(provider_now))
                    .detail("this machine", ui::utc(now))
                    .fix("sync this machine's clock (NTP); a leeway only hides the skew"),
            )
        }
        Err(e) if e.code() == ErrorCode::TokenExpired => with_times(
            Check::fail("token.time", "expired", format!("expired {}", facts.exp.map_or_else(|| "already".to_string(), |x| ui::relative(x, now))))
                .fix(format!(
                    "get a fresh token; tokens from this provider live {}: clients must refresh before exp (an ID token's lifetime is not the access token's)",
                    lifetime.clone().unwrap_or_else(|| "a limited time".into())
                )),
        ),
        Err(e) if e.code() == ErrorCode::TokenNotYetValid => with_times(
            Check::fail("token.time", "not_yet_valid", e.message().to_string())
                .fix("the token's nbf/iat is in the future: sync the clocks (NTP) or allow a small leeway"),
        ),
        Err(e) if e.code() == ErrorCode::ClaimMissing && e.claim() == Some("exp") => {
            Check::fail("token.time", "exp_missing", "the token has no exp").fix("configure the provider to set exp: tokens that never expire are refused")
        }
        Err(e) if e.code() == ErrorCode::ClaimInvalid && matches!(e.claim(), Some("exp" | "nbf" | "iat")) => {
            Check::fail("token.time", "time_claim_invalid", e.message().to_string()).fix("exp, nbf and iat must be JSON numbers (seconds since 1970)")
        }
        Err(e) => Check::skip("token.time", format!("not checked: {e}")),
    }
}

fn explain_typ(
    result: Option<Result<Verified, Error>>,
    args: &DoctorArgs,
    facts: &Facts,
    decoded: &UnverifiedToken,
) -> Check {
    let typ = facts.typ.as_deref().map_or("(none)".to_string(), quoted);
    let id_token = inspect::looks_like_id_token(decoded.claims.as_ref());
    let id_fix = "send the access token: an ID token is meant for the client (its aud is the client id) and its lifetime is not the access token's";
    let is_at_jwt = facts.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    match result {
        Some(Ok(_)) => Check::ok("token.typ", format!("typ {typ}, as required")),
        Some(Err(e)) if e.code() == ErrorCode::TypMismatch => {
            let check = Check::fail("token.typ", if id_token { "id_token" } else { "typ_mismatch" }, format!("typ is {typ}, not {:?}", args.policy.typ.as_deref().unwrap_or_default()))
                .detail("required", args.policy.typ.clone().unwrap_or_default())
                .detail("token typ", typ);
            if id_token {
                check.detail("looks like", "an ID token (nonce / at_hash / auth_time)").fix(id_fix)
            } else {
                check.fix("configure the provider to issue RFC 9068 access tokens (typ at+jwt), or drop the typ requirement for providers that do not")
            }
        }
        Some(Err(e)) => Check::skip("token.typ", format!("not checked: {e}")),
        None if id_token => Check::warn("token.typ", "id_token", format!("typ {typ}: this looks like an ID token (nonce / at_hash / auth_time)")).fix(id_fix),
        None if is_at_jwt => Check::ok("token.typ", format!("typ {typ}: an RFC 9068 access token")),
        None => Check::warn("token.typ", "not_at_jwt", format!("typ is {typ}, not at+jwt")).fix(
            "fine for servers that do not require typ; for RFC 9068 set-ups configure the provider to issue at+jwt access tokens (and require it with typ(\"at+jwt\"))",
        ),
    }
}

fn explain_scope(
    result: Option<Result<Verified, Error>>,
    args: &DoctorArgs,
    facts: &Facts,
) -> Check {
    let has = if facts.scopes.is_empty() {
        "(none)".to_string()
    } else {
        facts.scopes.join(" ")
    };
    match result {
        None => Check::skip("token.scope", format!("no --scope required; the token has {has}")),
        Some(Ok(_)) => Check::ok("token.scope", format!("has the required scopes ({})", args.policy.scope.join(" "))),
        Some(Err(e)) if e.code() == ErrorCode::InsufficientScope => Check::fail("token.scope", "missing_scopes", e.message().to_string())
            .detail("required", args.policy.scope.join(" "))
            .detail("token scopes", has)
            .fix(
                "request the scopes when getting the token (scope=...), and register them at the provider for this resource: many providers drop unknown scopes without an error",
            ),
        Some(Err(e)) => Check::skip("token.scope", format!("not checked: {e}")),
    }
}

//! JWT claims (RFC 7519 §4.1, RFC 9068): one strict parse of the payload, then the policy checks.
//!
//! NumericDate values must be JSON numbers in [0, 253402300799] (fractions allowed); a malformed
//! registered claim is an error (`claim_invalid`), never treated as absent.

use std::borrow::Cow;
#[cfg(any(test, fuzzing))]
use std::fmt;

#[cfg(any(test, fuzzing))]
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::audience::AudienceMatch;
use crate::error::{Error, ErrorCode, ErrorDetail, quote};
#[cfg(any(test, fuzzing))]
use crate::json::{SeenKeys, Skip, Str, duplicate_member, parse_document, parse_str_document};

/// Largest NumericDate accepted: 9999-12-31T23:59:59Z.
pub(crate) const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// The registered claims of one token, borrowed from the decoded payload where possible.
#[derive(Debug, Default)]
pub(crate) struct Claims<'a> {
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) sub: Option<Cow<'a, str>>,
    pub(crate) aud: Strings<'a>,
    pub(crate) exp: Option<f64>,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
    pub(crate) jti: Option<Cow<'a, str>>,
    pub(crate) client_id: Option<Cow<'a, str>>,
    pub(crate) azp: Option<Cow<'a, str>>,
    pub(crate) scope: Option<Cow<'a, str>>,
    pub(crate) scp: Strings<'a>,
    /// `cnf.jkt` (RFC 9449 §6.1): the thumbprint of the key the token is bound to.
    pub(crate) cnf_jkt: Option<Cow<'a, str>>,
    /// Bit i set when `required[i]` is present.
    pub(crate) required_present: u64,
}

/// A claim that is a string or an array of strings (`aud`, `scp`): a single string is kept
/// without allocating a list for it.
#[derive(Debug, Default)]
pub(crate) struct Strings<'a> {
    one: Option<Cow<'a, str>>,
    many: Vec<Cow<'a, str>>,
}

impl<'a> Strings<'a> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Cow<'a, str>> {
        self.one.iter().chain(&self.many)
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.one.is_some()) + self.many.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> Claims<'a> {
    /// Parses a claims set; `required` names claims whose presence is recorded (at most 64).
    /// One pass of the strict scanner in `scan.rs` (ARCHITECTURE.md, "Claims parsing").
    pub(crate) fn parse(payload: &'a [u8], required: &[Box<str>]) -> Result<Claims<'a>, Error> {
        crate::scan::claims(payload, None, required)
    }

    /// [`parse`](Claims::parse) of a payload already checked to be UTF-8 (the verifier keeps the
    /// text as [`Verified::claims_json`](crate::Verified::claims_json) anyway): strings are not
    /// checked again.
    pub(crate) fn parse_str(payload: &'a str, required: &[Box<str>]) -> Result<Claims<'a>, Error> {
        crate::scan::claims(payload.as_bytes(), Some(payload), required)
    }

    /// The serde_json visitor parser the scanner replaced, kept as the oracle the scanner is
    /// tested and fuzzed against: the same verdicts, values and error codes.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn parse_serde(
        payload: &'a [u8],
        required: &[Box<str>],
    ) -> Result<Claims<'a>, Error> {
        parse_document(payload, "token claims", |de, problem| {
            de.deserialize_map(ClaimsVisitor { problem, required })
        })
    }

    /// [`parse_serde`](Claims::parse_serde) of text known to be UTF-8.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn parse_serde_str(
        payload: &'a str,
        required: &[Box<str>],
    ) -> Result<Claims<'a>, Error> {
        parse_str_document(payload, "token claims", |de, problem| {
            de.deserialize_map(ClaimsVisitor { problem, required })
        })
    }

    /// The token's scopes: `scope` split on spaces, then `scp` entries (as
    /// [`Verified::scopes`](crate::Verified::scopes) lists them).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .chain(self.scp.iter().map(|s| &**s))
    }
}

#[cfg(any(test, fuzzing))]
struct ClaimsVisitor<'p, 'r> {
    problem: &'p mut Option<Error>,
    required: &'r [Box<str>],
}

/// A registered claim's raw value.
pub(crate) enum Raw<'de> {
    Str(Cow<'de, str>),
    Num(f64),
    Strings(Vec<Cow<'de, str>>),
    Other(&'static str),
}

#[cfg(any(test, fuzzing))]
impl<'de> de::Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Raw<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a claim value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Raw<'de>, E> {
                Ok(Raw::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Raw<'de>, E> {
                Ok(Raw::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Raw<'de>, E> {
                Ok(Raw::Num(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Raw<'de>, E> {
                Ok(Raw::Num(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Raw<'de>, E> {
                Ok(Raw::Num(v))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Raw<'de>, E> {
                Ok(Raw::Other("a boolean"))
            }
            fn visit_unit<E>(self) -> Result<Raw<'de>, E> {
                Ok(Raw::Other("null"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
                let mut items = Vec::new();
                let mut all_strings = true;
                while let Some(item) = seq.next_element::<Raw<'de>>()? {
                    match item {
                        Raw::Str(s) if all_strings => items.push(s),
                        _ => all_strings = false,
                    }
                }
                Ok(if all_strings {
                    Raw::Strings(items)
                } else {
                    Raw::Other("an array with non-string elements")
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Raw::Other("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The confirmation claim (RFC 7800 `cnf`): the members jwtgate can check, and whether it has
/// others.
#[derive(Default)]
pub(crate) struct Confirmation<'de> {
    pub(crate) jkt: Option<Cow<'de, str>>,
    pub(crate) jkt_invalid: bool,
    /// Another confirmation method, e.g. `x5t#S256` (RFC 8705 certificate binding).
    pub(crate) other: Option<String>,
}

#[cfg(any(test, fuzzing))]
impl<'de> de::Deserialize<'de> for Confirmation<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Confirmation<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Confirmation<'de>, A::Error> {
                let mut out = Confirmation::default();
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    if &*key == "jkt" {
                        if out.jkt.is_some() || out.jkt_invalid {
                            return Err(de::Error::custom("duplicate jkt"));
                        }
                        match map.next_value::<Raw<'de>>()? {
                            Raw::Str(s) if !s.is_empty() => out.jkt = Some(s),
                            _ => out.jkt_invalid = true,
                        }
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                        out.other.get_or_insert_with(|| key.to_string());
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Confirmation<'de> {
    /// The token's `jkt`, or why the confirmation cannot be honoured.
    pub(crate) fn check(self) -> Result<Option<Cow<'de, str>>, Error> {
        if self.jkt_invalid {
            return Err(invalid(
                "cnf",
                "cnf.jkt is not a non-empty string".to_owned(),
            ));
        }
        // Every binding must be honoured: a token also bound to a client certificate cannot be
        // accepted on the strength of its DPoP key alone.
        match (self.jkt, self.other) {
            (jkt, None) => Ok(jkt),
            (_, Some(method)) => Err(invalid(
                "cnf",
                format!(
                    "the token is bound by cnf {} (e.g. an RFC 8705 client certificate), which this verifier cannot check; only DPoP (cnf.jkt) bindings are supported",
                    quote(&method)
                ),
            )),
        }
    }
}

pub(crate) fn invalid(claim: &str, why: String) -> Error {
    Error::for_claim(ErrorCode::ClaimInvalid, claim, why)
}

fn numeric_date(claim: &str, raw: Raw<'_>) -> Result<f64, Error> {
    match raw {
        Raw::Num(n) if (0.0..=MAX_NUMERIC_DATE).contains(&n) => Ok(n),
        Raw::Num(n) => Err(invalid(
            claim,
            format!("{claim} is {n}, outside the NumericDate range 0..=253402300799"),
        )),
        Raw::Str(s) => Err(invalid(
            claim,
            format!(
                "{claim} must be a NumericDate (a JSON number), not the string {}",
                quote(&s)
            ),
        )),
        Raw::Strings(_) => Err(invalid(
            claim,
            format!("{claim} must be a NumericDate, not an array"),
        )),
        Raw::Other(what) => Err(invalid(
            claim,
            format!("{claim} must be a NumericDate, not {what}"),
        )),
    }
}

fn string<'a>(claim: &str, raw: Raw<'a>) -> Result<Cow<'a, str>, Error> {
    match raw {
        Raw::Str(s) => Ok(s),
        Raw::Num(_) => Err(invalid(
            claim,
            format!("{claim} must be a string, not a number"),
        )),
        Raw::Strings(_) => Err(invalid(
            claim,
            format!("{claim} must be a string, not an array"),
        )),
        Raw::Other(what) => Err(invalid(
            claim,
            format!("{claim} must be a string, not {what}"),
        )),
    }
}

fn strings<'a>(claim: &str, raw: Raw<'a>, allow_empty: bool) -> Result<Strings<'a>, Error> {
    match raw {
        Raw::Str(s) => Ok(Strings {
            one: Some(s),
            many: Vec::new(),
        }),
        Raw::Strings(v) if v.is_empty() && !allow_empty => {
            Err(invalid(claim, format!("{claim} is an empty array")))
        }
        Raw::Strings(v) => Ok(Strings { one: None, many: v }),
        Raw::Num(_) => Err(invalid(
            claim,
            format!("{claim} must be a string or an array of strings, not a number"),
        )),
        Raw::Other(what) => Err(invalid(
            claim,
            format!("{claim} must be a string or an array of strings, not {what}"),
        )),
    }
}

/// A claim the parser reads (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 `scp`, RFC 7800 `cnf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registered {
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Jti,
    ClientId,
    Azp,
    Scope,
    Scp,
    Cnf,
}

impl Registered {
    /// The claim called `name`, if the parser reads it.
    pub(crate) fn from_name(name: &str) -> Option<Registered> {
        Some(match name {
            "iss" => Registered::Iss,
            "sub" => Registered::Sub,
            "aud" => Registered::Aud,
            "exp" => Registered::Exp,
            "nbf" => Registered::Nbf,
            "iat" => Registered::Iat,
            "jti" => Registered::Jti,
            "client_id" => Registered::ClientId,
            "azp" => Registered::Azp,
            "scope" => Registered::Scope,
            "scp" => Registered::Scp,
            "cnf" => Registered::Cnf,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Registered::Iss => "iss",
            Registered::Sub => "sub",
            Registered::Aud => "aud",
            Registered::Exp => "exp",
            Registered::Nbf => "nbf",
            Registered::Iat => "iat",
            Registered::Jti => "jti",
            Registered::ClientId => "client_id",
            Registered::Azp => "azp",
            Registered::Scope => "scope",
            Registered::Scp => "scp",
            Registered::Cnf => "cnf",
        }
    }

    /// One bit per claim, for duplicate checks.
    pub(crate) fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// Stores a registered claim's value, if it has the claim's type (`cnf` is read on its own).
pub(crate) fn assign<'a>(
    claims: &mut Claims<'a>,
    claim: Registered,
    raw: Raw<'a>,
) -> Result<(), Error> {
    let name = claim.name();
    match claim {
        Registered::Iss => string(name, raw).map(|v| claims.iss = Some(v)),
        Registered::Sub => string(name, raw).map(|v| claims.sub = Some(v)),
        Registered::Jti => string(name, raw).map(|v| claims.jti = Some(v)),
        Registered::ClientId => string(name, raw).map(|v| claims.client_id = Some(v)),
        Registered::Azp => string(name, raw).map(|v| claims.azp = Some(v)),
        Registered::Scope => string(name, raw).map(|v| claims.scope = Some(v)),
        Registered::Aud => strings(name, raw, false).map(|v| claims.aud = v),
        Registered::Scp => strings(name, raw, true).map(|v| claims.scp = v),
        Registered::Exp => numeric_date(name, raw).map(|v| claims.exp = Some(v)),
        Registered::Nbf => numeric_date(name, raw).map(|v| claims.nbf = Some(v)),
        Registered::Iat => numeric_date(name, raw).map(|v| claims.iat = Some(v)),
        Registered::Cnf => Ok(()),
    }
}

#[cfg(any(test, fuzzing))]
impl<'de> Visitor<'de> for ClaimsVisitor<'_, '_> {
    type Value = Claims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims<'de>, A::Error> {
        let mut claims = Claims::default();
        let mut seen = SeenKeys::default();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if !seen.insert(key.clone()) {
                *self.problem = Some(duplicate_member("token claims", &key));
                return Err(de::Error::custom("duplicate"));
            }
            if let Some(i) = self.required.iter().position(|r| **r == *key) {
                claims.required_present |= 1 << i;
            }
            let name: &str = &key;
            let registered = matches!(
                name,
                "iss"
                    | "sub"
                    | "aud"
                    | "exp"
                    | "nbf"
                    | "iat"
                    | "jti"
                    | "client_id"
                    | "azp"
                    | "scope"
                    | "scp"
                    | "cnf"
            );
            if !registered {
                map.next_value_seed(Skip {
                    depth: 1,
                    what: "token claims",
                    problem: self.problem,
                })?;
                continue;
            }
            if name == "cnf" {
                let confirmation = match map.next_value::<Confirmation<'de>>() {
                    Ok(c) => c,
                    Err(e) => {
                        *self.problem = Some(invalid(
                            "cnf",
                            "cnf is not a JSON object with a string jkt".to_owned(),
                        ));
                        return Err(e);
                    }
                };
                match confirmation.check() {
                    Ok(jkt) => claims.cnf_jkt = jkt,
                    Err(error) => {
                        *self.problem = Some(error);
                        return Err(de::Error::custom("invalid claim"));
                    }
                }
                continue;
            }
            let raw = match map.next_value::<Raw<'de>>() {
                Ok(raw) => raw,
                Err(e) => {
                    // serde_json refuses numbers such as 1e400 before our visitor sees them.
                    *self.problem = Some(invalid(
                        name,
                        format!("{name} is not a valid JSON value of its type"),
                    ));
                    return Err(e);
                }
            };
            let result = match Registered::from_name(name) {
                Some(claim) => assign(&mut claims, claim, raw),
                None => Ok(()),
            };
            if let Err(error) = result {
                *self.problem = Some(error);
                return Err(de::Error::custom("invalid claim"));
            }
        }
        Ok(claims)
    }
}

/// Compares the scanner with its oracle, the serde_json parser it replaced, on one payload:
/// the same verdict, the same values when both accept, the same code and claim when both refuse.
/// Checks both entry points (bytes, and text already known to be UTF-8).
#[cfg(any(test, fuzzing))]
pub(crate) fn scanner_agrees(payload: &[u8]) -> Result<(), String> {
    let required: Vec<Box<str>> = vec!["tenant".into(), "sub".into(), "x".into()];
    compare(
        Claims::parse(payload, &required),
        Claims::parse_serde(payload, &required),
    )?;
    if let Ok(text) = std::str::from_utf8(payload) {
        compare(
            Claims::parse_str(text, &required),
            Claims::parse_serde_str(text, &required),
        )?;
    }
    Ok(())
}

#[cfg(any(test, fuzzing))]
fn compare(
    scan: Result<Claims<'_>, Error>,
    oracle: Result<Claims<'_>, Error>,
) -> Result<(), String> {
    match (scan, oracle) {
        (Ok(a), Ok(b)) => {
            let bits = |v: Option<f64>| v.map(f64::to_bits);
            let same = a.iss == b.iss
                && a.sub == b.sub
                && a.aud.iter().eq(b.aud.iter())
                && bits(a.exp) == bits(b.exp)
                && bits(a.nbf) == bits(b.nbf)
                && bits(a.iat) == bits(b.iat)
                && a.jti == b.jti
                && a.client_id == b.client_id
                && a.azp == b.azp
                && a.scope == b.scope
                && a.scp.iter().eq(b.scp.iter())
                && a.cnf_jkt == b.cnf_jkt
                && a.required_present == b.required_present;
            match same {
                true => Ok(()),
                false => Err(format!("values differ: scanner {a:?}, oracle {b:?}")),
            }
        }
        (Err(a), Err(b)) if a.code() == b.code() && a.claim() == b.claim() => Ok(()),
        (a, b) => Err(format!("verdicts differ: scanner {a:?}, oracle {b:?}")),
    }
}

/// The claims policy of a verifier.
#[derive(Debug, Clone)]
pub(crate) struct ClaimsPolicy {
    pub(crate) issuers: Vec<Box<str>>,
    /// `None` only when the audience check was explicitly disabled.
    pub(crate) audiences: Option<Vec<Box<str>>>,
    /// How `aud` values compare with `audiences`, and the audiences in that form.
    pub(crate) audience_match: AudienceMatch,
    pub(crate) audiences_normalised: Vec<String>,
    pub(crate) leeway: f64,
    pub(crate) require_exp: bool,
    pub(crate) required_claims: Vec<Box<str>>,
    /// OIDC Core §3.1.3.7 for id_tokens: the client id, which `azp` must equal when present and
    /// must be present when `aud` has several values.
    pub(crate) id_token_client: Option<Box<str>>,
}

impl ClaimsPolicy {
    /// Checks parsed claims against the policy at time `now` (seconds since the epoch), all but
    /// the scopes (checked on the finished credential, so that an `insufficient_scope` error can
    /// carry it). Returns the configured audience that matched, if audiences are checked.
    pub(crate) fn check(&self, claims: &Claims<'_>, now: f64) -> Result<Option<&str>, Error> {
        let skew = |seconds: f64| ErrorDetail {
            skew_seconds: Some(seconds.max(0.0).ceil() as u64),
            ..ErrorDetail::default()
        };
        match claims.exp {
            Some(exp) if now >= exp + self.leeway => {
                return Err(Error::for_claim(
                    ErrorCode::TokenExpired,
                    "exp",
                    format!("token expired {} ago (exp {exp})", ago(now - exp)),
                )
                .with_detail(skew(now - exp - self.leeway)));
            }
            None if self.require_exp => {
                return Err(Error::for_claim(
                    ErrorCode::ClaimMissing,
                    "exp",
                    "token has no exp claim",
                ));
            }
            _ => {}
        }
        if let Some(nbf) = claims.nbf {
            if now + self.leeway < nbf {
                return Err(Error::for_claim(
                    ErrorCode::TokenNotYetValid,
                    "nbf",
                    format!(
                        "token is not valid for another {} (nbf {nbf}); check clock skew",
                        ago(nbf - now)
                    ),
                )
                .with_detail(skew(nbf - now - self.leeway)));
            }
        }
        if let Some(iat) = claims.iat {
            if now + self.leeway < iat {
                return Err(Error::for_claim(
                    ErrorCode::TokenNotYetValid,
                    "iat",
                    format!(
                        "token was issued {} in the future (iat {iat}); check clock skew",
                        ago(iat - now)
                    ),
                )
                .with_detail(skew(iat - now - self.leeway)));
            }
        }
        if !self.issuers.is_empty() {
            match claims.iss.as_deref() {
                None => {
                    return Err(Error::for_claim(
                        ErrorCode::ClaimMissing,
                        "iss",
                        "token has no iss claim",
                    ));
                }
                Some(iss) if !self.issuers.iter().any(|i| **i == *iss) => {
                    return Err(Error::for_claim(
                        ErrorCode::IssuerMismatch,
                        "iss",
                        format!(
                            "issuer mismatch: expected {}, token has {}",
                            expected_list(&self.issuers),
                            quote(iss)
                        ),
                    )
                    .with_detail(mismatch(&self.issuers, [iss])));
                }
                Some(_) => {}
            }
        }
        let mut matched = None;
        if let Some(audiences) = &self.audiences {
            if claims.aud.is_empty() {
                return Err(Error::for_claim(
                    ErrorCode::ClaimMissing,
                    "aud",
                    "token has no aud claim",
                ));
            }
            matched = match self.audience_match {
                AudienceMatch::Exact => audiences
                    .iter()
                    .find(|x| claims.aud.iter().any(|a| ***x == **a))
                    .map(|x| &**x),
                _ => {
                    let found: Vec<String> = claims
                        .aud
                        .iter()
                        .map(|a| self.audience_match.normalise(a))
                        .collect();
                    audiences
                        .iter()
                        .zip(&self.audiences_normalised)
                        .find(|(_, x)| found.iter().any(|a| a == *x))
                        .map(|(x, _)| &**x)
                }
            };
            if matched.is_none() {
                let found: Vec<String> = claims.aud.iter().take(5).map(|a| quote(a)).collect();
                return Err(Error::for_claim(
                    ErrorCode::AudienceMismatch,
                    "aud",
                    format!(
                        "audience mismatch: expected {}, token has {}",
                        expected_list(audiences),
                        found.join(", ")
                    ),
                )
                .with_detail(mismatch(audiences, claims.aud.iter().map(|a| &**a))));
            }
        }
        if let Some(client) = &self.id_token_client {
            match claims.azp.as_deref() {
                Some(azp) if azp != &**client => {
                    return Err(Error::for_claim(
                        ErrorCode::AudienceMismatch,
                        "azp",
                        format!(
                            "the id_token was issued to another client: azp is {}, expected {}",
                            quote(azp),
                            quote(client)
                        ),
                    ));
                }
                None if claims.aud.len() > 1 => {
                    return Err(Error::for_claim(
                        ErrorCode::ClaimMissing,
                        "azp",
                        "the id_token has several audiences but no azp (OIDC Core §3.1.3.7)",
                    ));
                }
                _ => {}
            }
        }
        for (i, name) in self.required_claims.iter().enumerate() {
            if claims.required_present & (1 << i) == 0 {
                return Err(Error::for_claim(
                    ErrorCode::ClaimMissing,
                    name,
                    format!("token has no {} claim, which is required", quote(name)),
                ));
            }
        }
        Ok(matched)
    }
}

/// Expected and found values for a mismatch, found ones truncated (they come from the token).
pub(crate) fn mismatch<'a>(
    expected: &[Box<str>],
    found: impl IntoIterator<Item = &'a str>,
) -> ErrorDetail {
    ErrorDetail {
        expected: expected.iter().map(|e| e.to_string()).collect(),
        found: found
            .into_iter()
            .take(20)
            .map(|f| f.chars().take(80).collect())
            .collect(),
        ..ErrorDetail::default()
    }
}

/// `insufficient_scope` naming the missing scopes, unless every required scope is present.
pub(crate) fn check_scopes<'a, R, I>(required: &[R], scopes: impl Fn() -> I) -> Result<(), Error>
where
    R: AsRef<str>,
    I: Iterator<Item = &'a str>,
{
    let missing: Vec<&str> = required
        .iter()
        .map(AsRef::as_ref)
        .filter(|r| !scopes().any(|s| s == *r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let have: Vec<String> = scopes().take(20).map(quote).collect();
    let have = if have.is_empty() {
        "none".to_string()
    } else {
        have.join(" ")
    };
    Err(Error::for_claim(
        ErrorCode::InsufficientScope,
        "scope",
        format!("missing scope: {} (token has: {have})", missing.join(" ")),
    )
    .with_detail(ErrorDetail {
        missing_scopes: missing.iter().map(|m| m.to_string()).collect(),
        ..ErrorDetail::default()
    }))
}

fn expected_list(values: &[Box<str>]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{:?}", &**v)).collect();
    if quoted.len() == 1 {
        quoted.into_iter().next().unwrap_or_default()
    } else {
        format!("one of {}", quoted.join(", "))
    }
}

/// A duration in seconds for messages: `4m12s`, `3h2m`, `2d5h`.
pub(crate) fn ago(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(json: &str) -> Result<Claims<'_>, Error> {
        Claims::parse(json.as_bytes(), &[])
    }

    #[test]
    fn numeric_dates_must_be_in_range_numbers() {
        for (json, code) in [
            (r#"{"exp":"1700000000"}"#, ErrorCode::ClaimInvalid),
            (r#"{"exp":true}"#, ErrorCode::ClaimInvalid),
            (r#"{"exp":null}"#, ErrorCode::ClaimInvalid),
            (r#"{"exp":-1}"#, ErrorCode::ClaimInvalid),
            (r#"{"exp":1e400}"#, ErrorCode::ClaimInvalid),
            (r#"{"exp":253402300800}"#, ErrorCode::ClaimInvalid),
            (r#"{"nbf":[1]}"#, ErrorCode::ClaimInvalid),
        ] {
            let e = parse(json).unwrap_err();
            assert_eq!(e.code(), code, "{json}: {e}");
            assert!(e.claim().is_some(), "{json}");
        }
        assert_eq!(
            parse(r#"{"exp":1700000000.5}"#).unwrap().exp,
            Some(1_700_000_000.5)
        );
    }

    #[test]
    fn audience_shapes() {
        let aud = |json| -> Vec<String> {
            let claims = parse(json).unwrap();
            claims.aud.iter().map(|a| a.to_string()).collect()
        };
        assert_eq!(aud(r#"{"aud":"a"}"#), ["a"]);
        assert_eq!(aud(r#"{"aud":["a","b"]}"#), ["a", "b"]);
        for bad in [
            r#"{"aud":[]}"#,
            r#"{"aud":[123]}"#,
            r#"{"aud":null}"#,
            r#"{"aud":{}}"#,
        ] {
            assert_eq!(
                parse(bad).unwrap_err().code(),
                ErrorCode::ClaimInvalid,
                "{bad}"
            );
        }
    }

    #[test]
    fn scopes_come_from_scope_and_scp() {
        let c = parse(r#"{"scope":"a  b","scp":["c"]}"#).unwrap();
        assert_eq!(c.scopes().collect::<Vec<_>>(), ["a", "b", "c"]);
        let c = parse(r#"{"scp":"d"}"#).unwrap();
        assert_eq!(c.scopes().collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn duplicate_claims_are_rejected() {
        let e = parse(r#"{"sub":"a","sub":"b"}"#).unwrap_err();
        assert_eq!(e.code(), ErrorCode::TokenMalformed);
        assert!(e.message().contains("duplicate member \"sub\""), "{e}");
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let c = parse(r#"{"sub":"a\"b\u00e9"}"#).unwrap();
        assert_eq!(c.sub.as_deref(), Some("a\"bé"));
    }

    /// JSON-ish text built from fragments that exercise every rule: registered names with values
    /// of every shape, escapes (valid, invalid, surrogates), numbers at the edges, nesting,
    /// duplicates, stray commas and whitespace.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just(" ".to_owned()),
            Just("\n\t\r".to_owned()),
            Just("\"".to_owned()),
            prop::sample::select(vec![
                "\"iss\"",
                "\"sub\"",
                "\"aud\"",
                "\"exp\"",
                "\"nbf\"",
                "\"iat\"",
                "\"jti\"",
                "\"client_id\"",
                "\"azp\"",
                "\"scope\"",
                "\"scp\"",
                "\"cnf\"",
                "\"jkt\"",
                "\"tenant\"",
                "\"x\"",
                "\"s\\u0075b\"",
                "\"x5t#S256\"",
                "\"\"",
            ])
            .prop_map(str::to_owned),
            prop::sample::select(vec![
                "\"a\"",
                "\"a b\"",
                "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
                "\"\\u00e9\"",
                "\"\\ud83d\\ude00\"",
                "\"\\ud83d\"",
                "\"\\ude00\"",
                "\"\\ud83d\\u0041\"",
                "\"\\ud83dx\"",
                "\"\\x\"",
                "\"\\u00G0\"",
                "\"\\u0000\"",
                "\"\u{1}\"",
                "\"é\"",
                "\"\u{7f}\"",
                "\"a",
            ])
            .prop_map(str::to_owned),
            prop::sample::select(vec![
                "0",
                "-0",
                "1",
                "01",
                "-",
                "1.",
                "1.5",
                ".5",
                "1e3",
                "1E+3",
                "1e-3",
                "1e",
                "1e400",
                "-1e400",
                "1e-400",
                "1700000000",
                "1700000000.5",
                "253402300799",
                "253402300800",
                "18446744073709551615",
                "18446744073709551616",
                "99999999999999999999",
                "-1",
                "-9223372036854775809",
                "0.1e1",
                "00",
                "1.5e308",
                "2e308",
                "123456789012345678901234567890",
            ])
            .prop_map(str::to_owned),
            prop::sample::select(vec!["true", "false", "null", "tru", "nul", "[]", "{}"])
                .prop_map(str::to_owned),
            "[a-z ]{0,6}",
            "[ -~]{1,3}",
        ]
    }

    /// A well-formed claims set with registered and other members (sometimes repeated).
    fn document() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec![
            "iss",
            "sub",
            "aud",
            "exp",
            "nbf",
            "iat",
            "jti",
            "client_id",
            "azp",
            "scope",
            "scp",
            "cnf",
            "tenant",
            "x",
            "y",
            "roles",
        ]);
        let leaf = prop_oneof![
            "[a-z\\\\\"é ]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            prop::sample::select(vec![
                "0",
                "1700000000",
                "1700000000.25",
                "-5",
                "1e3",
                "2.5E-3",
                "253402300800",
                "true",
                "null",
                "\"\\u00e9\\ud83d\\ude00\"",
            ])
            .prop_map(str::to_owned),
        ];
        let value = leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("[a-z]{1,3}", inner), 0..4).prop_map(|v| {
                    let members: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
                Just("{\"jkt\":\"abc\"}".to_owned()),
            ]
        });
        prop::collection::vec((name, value), 0..8).prop_map(|members| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("\"{k}\" : {v}"))
                .collect();
            format!(" {{{}}}\n", members.join(","))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn scanner_agrees_with_serde_on_fragments(parts in prop::collection::vec(fragment(), 0..24)) {
            let text = parts.concat();
            prop_assert_eq!(scanner_agrees(text.as_bytes()), Ok(()), "{}", text);
            let wrapped = format!("{{{text}}}");
            prop_assert_eq!(scanner_agrees(wrapped.as_bytes()), Ok(()), "{}", wrapped);
        }

        #[test]
        fn scanner_agrees_with_serde_on_documents(doc in document()) {
            prop_assert_eq!(scanner_agrees(doc.as_bytes()), Ok(()), "{}", doc);
        }

        #[test]
        fn scanner_agrees_with_serde_on_mutants(
            doc in document(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
        ) {
            let mut bytes = doc.into_bytes();
            for (at, op, byte) in edits {
                let i = at.index(bytes.len() + 1);
                match op {
                    0 => bytes.insert(i, byte),
                    1 if i < bytes.len() => { bytes.remove(i); }
                    _ if i < bytes.len() => bytes[i] = byte,
                    _ => bytes.push(byte),
                }
            }
            prop_assert_eq!(scanner_agrees(&bytes), Ok(()), "{:?}", String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn scanner_agrees_with_serde_on_edge_cases() {
        let deep = |n: usize| format!("{{\"x\":{}{}}}", "[".repeat(n), "]".repeat(n));
        let mut cases: Vec<String> = vec![deep(30), deep(31), deep(32), deep(200)];
        cases.extend(
            [
                "",
                " ",
                "{}",
                "[]",
                "1",
                "{} ",
                "{}x",
                "{,}",
                "{\"a\":1,}",
                "{\"a\":[1,]}",
                "{\"a\":01}",
                "{\"exp\":01}",
                "{\"iss\" \"x\"}",
                "{\"x\" 1}",
                "{\"cnf\":{\"jkt\":\"a\",\"jkt\":\"b\"}}",
                "{\"cnf\":{\"jkt\":1}}",
                "{\"cnf\":{\"x5t#S256\":\"a\"}}",
                "{\"cnf\":[]}",
                "{\"cnf\":{\"jkt\":\"\"}}",
                "{\"cnf\":{\"j\\u006bt\":\"k\"}}",
                "{\"cnf\":{}}",
                "{\"aud\":[\"a\",{\"x\":1,\"x\":2}]}",
                "{\"t\":{\"x\":1,\"x\":2}}",
                "{\"ab\":1,\"a\\u0062\":2}",
                "{\"exp\":1e400}",
                "{\"x\":1e400}",
                "{\"x\":-1e400}",
                "{\"x\":1e-400}",
                "{\"iat\":-0}",
                "{\"iat\":0e5}",
                "{\"sub\":\"\\ud800\"}",
                "{\"y\":\"\\udc00\"}",
                "{\"scp\":[]}",
                "{\"aud\":[]}",
                "{\"scope\":[\"a\"]}",
            ]
            .map(str::to_owned),
        );
        for case in &cases {
            assert_eq!(scanner_agrees(case.as_bytes()), Ok(()), "{case}");
        }
        for bytes in [
            &b"{\"sub\":\"\xff\"}"[..],
            b"{\"y\":\"\xc3\"}",
            b"{\"\xe9\":1}",
            b"{\"cnf\":{\"jkt\":\"\xff\"}}",
            b"\xef\xbb\xbf{}",
        ] {
            assert_eq!(scanner_agrees(bytes), Ok(()), "{bytes:?}");
        }
        let big = format!("{{\"x\":1{}}}", "0".repeat(400));
        assert_eq!(scanner_agrees(big.as_bytes()), Ok(()));
        let many: String = (0..100).map(|i| format!("\"k{i}\":{i},")).collect();
        assert_eq!(
            scanner_agrees(format!("{{{many}\"k5\":0}}").as_bytes()),
            Ok(())
        );
        assert_eq!(
            scanner_agrees(format!("{{{many}\"z\":{{{many}\"k7\":1}}}}").as_bytes()),
            Ok(())
        );
    }

    #[test]
    fn ago_formats() {
        assert_eq!(ago(5.0), "5s");
        assert_eq!(ago(252.0), "4m12s");
        assert_eq!(ago(7_300.0), "2h1m");
    }
}

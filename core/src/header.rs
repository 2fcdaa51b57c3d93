//! The JOSE header of a compact JWS (RFC 7515 §4).
//!
//! Only `alg`, `kid` and `typ` influence verification. Members that could point the verifier at
//! other keys (`jku`, `x5u`, `jwk`, `x5c`, `x5t`, `x5t#S256`) are parsed as JSON and then ignored:
//! keys come only from the verifier's configuration. Members that change what is signed or how it
//! must be processed (`crit`, `b64`, `enc`, `zip`, a nested-JWT `cty`) are rejected with
//! `header_unsupported`, since a verifier that ignored them would accept what the signer did not mean.

use std::borrow::Cow;
#[cfg(any(test, fuzzing))]
use std::fmt;

#[cfg(any(test, fuzzing))]
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::alg::Algorithm;
use crate::error::{Error, ErrorCode, quote};
#[cfg(any(test, fuzzing))]
use crate::json::{SeenKeys, Skip, Str, duplicate_member, parse_document};

/// The members of a JOSE header that verification uses.
#[derive(Debug, Clone)]
pub(crate) struct Header<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'a, str>>,
    pub(crate) typ: Option<Cow<'a, str>>,
}

impl<'a> Header<'a> {
    /// Parses decoded header bytes, in one pass of the strict scanner in `scan.rs`.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Header<'a>, Error> {
        let raw = crate::scan::header(bytes)?;
        let alg = match raw.alg {
            Some(alg) => Algorithm::from_header(&alg)?,
            None => return Err(Error::malformed("token header has no alg")),
        };
        Ok(Header {
            alg,
            kid: raw.kid,
            typ: raw.typ,
        })
    }

    /// The serde_json visitor parser the scanner replaced: the oracle it is tested against.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn parse_serde(bytes: &'a [u8]) -> Result<Header<'a>, Error> {
        let raw = parse_document(bytes, "token header", |de, problem| {
            de.deserialize_map(HeaderVisitor { problem })
        })?;
        let alg = match raw.alg {
            Some(alg) => Algorithm::from_header(&alg)?,
            None => return Err(Error::malformed("token header has no alg")),
        };
        Ok(Header {
            alg,
            kid: raw.kid,
            typ: raw.typ,
        })
    }
}

#[cfg(any(test, fuzzing))]
#[derive(Default)]
struct RawHeader<'a> {
    alg: Option<Cow<'a, str>>,
    kid: Option<Cow<'a, str>>,
    typ: Option<Cow<'a, str>>,
}

#[cfg(any(test, fuzzing))]
struct HeaderVisitor<'p> {
    problem: &'p mut Option<Error>,
}

#[cfg(any(test, fuzzing))]
impl HeaderVisitor<'_> {
    fn fail<E: serde::de::Error>(&mut self, error: Error) -> E {
        *self.problem = Some(error);
        E::custom("rejected")
    }
}

fn unsupported(message: String) -> Error {
    Error::new(ErrorCode::HeaderUnsupported, message)
}

/// The error for a member that changes what is signed or how it must be processed, refused on
/// sight; `None` for other members.
pub(crate) fn refused_member(name: &str) -> Option<Error> {
    let why = match name {
        "crit" => "token header has crit: no header extensions are supported",
        "b64" => "token header has b64 (RFC 7797 unencoded payload), which is not supported",
        "enc" => "token header has enc: encrypted JWTs (JWE) are not accepted",
        "zip" => "token header has zip: compressed payloads are not accepted",
        _ => return None,
    };
    Some(unsupported(why.into()))
}

/// The error for `cty: JWT` (RFC 7519 §5.2): a nested JWT.
pub(crate) fn nested_jwt() -> Error {
    unsupported("token header has cty JWT: nested JWTs are not accepted".into())
}

#[cfg(any(test, fuzzing))]
impl<'de> Visitor<'de> for HeaderVisitor<'_> {
    type Value = RawHeader<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<RawHeader<'de>, A::Error> {
        let mut out = RawHeader::default();
        let mut seen = SeenKeys::default();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if !seen.insert(key.clone()) {
                return Err(self.fail(duplicate_member("token header", &key)));
            }
            let slot = match &*key {
                "alg" => Some(&mut out.alg),
                "kid" => Some(&mut out.kid),
                "typ" => Some(&mut out.typ),
                _ => None,
            };
            if let Some(slot) = slot {
                match map.next_value::<Option<Str<'de>>>() {
                    Ok(Some(Str(v))) => *slot = Some(v),
                    _ => {
                        return Err(self.fail(Error::malformed(format!(
                            "token header member {key} must be a string"
                        ))));
                    }
                }
                continue;
            }
            match &*key {
                "crit" => {
                    return Err(self.fail(unsupported(
                        "token header has crit: no header extensions are supported".into(),
                    )));
                }
                "b64" => {
                    return Err(self.fail(unsupported(
                        "token header has b64 (RFC 7797 unencoded payload), which is not supported"
                            .into(),
                    )));
                }
                "enc" => {
                    return Err(self.fail(unsupported(
                        "token header has enc: encrypted JWTs (JWE) are not accepted".into(),
                    )));
                }
                "zip" => {
                    return Err(self.fail(unsupported(
                        "token header has zip: compressed payloads are not accepted".into(),
                    )));
                }
                "cty" => {
                    let value = map.next_value::<Option<Str<'de>>>();
                    match value {
                        Ok(Some(Str(cty))) if cty.eq_ignore_ascii_case("jwt") => {
                            return Err(self.fail(unsupported(
                                "token header has cty JWT: nested JWTs are not accepted".into(),
                            )));
                        }
                        Ok(Some(_)) => {}
                        _ => {
                            return Err(self.fail(Error::malformed(
                                "token header member cty must be a string",
                            )));
                        }
                    }
                }
                // jku, x5u, jwk, x5c, x5t, x5t#S256 and anything else: never consulted.
                _ => map.next_value_seed(Skip {
                    depth: 1,
                    what: "token header",
                    problem: self.problem,
                })?,
            }
        }
        Ok(out)
    }
}

#[cfg(any(test, fuzzing))]
impl<'de> DeserializeSeed<'de> for HeaderVisitor<'_> {
    type Value = RawHeader<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

/// Compares the header scanner with its oracle, the serde_json parser it replaced: the same
/// verdict, members and error code.
#[cfg(any(test, fuzzing))]
pub(crate) fn scanner_agrees(bytes: &[u8]) -> Result<(), String> {
    match (Header::parse(bytes), Header::parse_serde(bytes)) {
        (Ok(a), Ok(b)) if a.alg == b.alg && a.kid == b.kid && a.typ == b.typ => Ok(()),
        (Err(a), Err(b)) if a.code() == b.code() => Ok(()),
        (a, b) => Err(format!("scanner {a:?}, oracle {b:?}")),
    }
}

/// Compares a header `typ` with an expected one the way RFC 7515 §4.1.9 says media types compare:
/// case-insensitively, with the `application/` prefix optional.
pub(crate) fn typ_matches(found: &str, expected: &str) -> bool {
    fn strip(t: &str) -> &str {
        const PREFIX: &str = "application/";
        // Compared as bytes: a multi-byte character may straddle byte 12, and the prefix is ASCII,
        // so after a match byte 12 is a character boundary.
        match t.as_bytes().get(..PREFIX.len()) {
            Some(head)
                if t.len() > PREFIX.len() && head.eq_ignore_ascii_case(PREFIX.as_bytes()) =>
            {
                &t[PREFIX.len()..]
            }
            _ => t,
        }
    }
    strip(found).eq_ignore_ascii_case(strip(expected))
}

/// Describes a typ mismatch.
pub(crate) fn typ_mismatch(found: Option<&str>, expected: &str) -> Error {
    let found = found.map_or_else(|| "no typ".to_string(), quote);
    Error::new(
        ErrorCode::TypMismatch,
        format!(
            "typ mismatch: expected {}, token has {found}",
            quote(expected)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(json: &str) -> Result<Header<'_>, Error> {
        Header::parse(json.as_bytes())
    }

    #[test]
    fn parses_alg_kid_typ() {
        let h = parse(r#"{"alg":"RS256","kid":"k1","typ":"at+jwt","x5t":"abc"}"#).unwrap();
        assert_eq!(h.alg, Algorithm::RS256);
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
    }

    #[test]
    fn rejects_processing_members() {
        for (json, word) in [
            (r#"{"alg":"RS256","crit":["exp"],"exp":1}"#, "crit"),
            (r#"{"alg":"RS256","crit":[]}"#, "crit"),
            (r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#, "b64"),
            (r#"{"alg":"RS256","enc":"A128GCM"}"#, "enc"),
            (r#"{"alg":"RS256","zip":"DEF"}"#, "zip"),
            (r#"{"alg":"RS256","cty":"JWT"}"#, "nested"),
        ] {
            let e = parse(json).unwrap_err();
            assert_eq!(e.code(), ErrorCode::HeaderUnsupported, "{json}");
            assert!(e.message().contains(word), "{e}");
        }
    }

    #[test]
    fn rejects_bad_shapes() {
        for json in [
            r#"{"kid":"a"}"#,
            r#"{"alg":1}"#,
            r#"{"alg":null}"#,
            r#"{"alg":"RS256","kid":7}"#,
            r#"["alg"]"#,
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"{"alg":"RS256"}x"#,
        ] {
            assert_eq!(
                parse(json).unwrap_err().code(),
                ErrorCode::TokenMalformed,
                "{json}"
            );
        }
    }

    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "{",
                "}",
                "[",
                "]",
                ",",
                ":",
                " ",
                "\"",
                "null",
                "true",
                "1",
                "1e400",
                "01",
                "\"alg\"",
                "\"kid\"",
                "\"typ\"",
                "\"cty\"",
                "\"crit\"",
                "\"b64\"",
                "\"enc\"",
                "\"zip\"",
                "\"x5t\"",
                "\"jwk\"",
                "\"a\\u006cg\"",
                "\"RS256\"",
                "\"HS256\"",
                "\"none\"",
                "\"ES256\"",
                "\"JWT\"",
                "\"jwt\"",
                "\"at+jwt\"",
                "\"\\ud800\"",
                "\"\\x\"",
                "\"k\\u0031\"",
                "\"\u{1}\"",
                "{\"a\":1,\"a\":2}",
            ])
            .prop_map(str::to_owned),
            "[ -~]{1,3}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn scanner_agrees_with_serde(parts in prop::collection::vec(fragment(), 0..16)) {
            let text = parts.concat();
            prop_assert_eq!(scanner_agrees(text.as_bytes()), Ok(()), "{}", text);
            let wrapped = format!("{{{text}}}");
            prop_assert_eq!(scanner_agrees(wrapped.as_bytes()), Ok(()), "{}", wrapped);
        }

        #[test]
        fn scanner_agrees_with_serde_on_mutants(
            members in prop::collection::vec((0usize..8, 0usize..8), 1..5),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 0..3),
        ) {
            let names = ["alg", "kid", "typ", "cty", "x5t", "crit", "jwk", "zip"];
            let values = ["\"RS256\"", "\"HS256\"", "\"k1\"", "\"JWT\"", "\"at+jwt\"", "null", "[1,{\"x\":[]}]", "{}"];
            let body: Vec<String> = members
                .into_iter()
                .map(|(n, v)| format!("\"{}\":{}", names[n], values[v]))
                .collect();
            let mut bytes = format!("{{{}}}", body.join(",")).into_bytes();
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
    fn typ_comparison_follows_media_type_rules() {
        assert!(typ_matches("at+jwt", "at+jwt"));
        assert!(typ_matches("application/at+JWT", "at+jwt"));
        assert!(typ_matches("AT+JWT", "application/at+jwt"));
        assert!(!typ_matches("JWT", "at+jwt"));
        // A multi-byte character across byte 12 is compared, not sliced through.
        assert!(!typ_matches("applicationé/at+jwt", "at+jwt"));
        assert!(!typ_matches("at+jwt", "aaaaaaaaaaaé"));
        assert!(typ_matches("éééééé", "ÉÉÉÉÉÉ") == "éééééé".eq_ignore_ascii_case("ÉÉÉÉÉÉ"));
    }
}

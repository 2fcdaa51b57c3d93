//! The JOSE header of a compact JWS (RFC 7515 §4).
//!
//! Only `alg`, `kid` and `typ` influence verification. Members that could point the verifier at
//! other keys (`jku`, `x5u`, `jwk`, `x5c`, `x5t`, `x5t#S256`) are parsed as JSON and then ignored:
//! keys come only from the verifier's configuration. Members that change what is signed or how it
//! must be processed (`crit`, `b64`, `enc`, `zip`, a nested-JWT `cty`) are rejected with
//! `header_unsupported`, since a verifier that ignored them would accept what the signer did not mean.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::alg::Algorithm;
use crate::error::{Error, ErrorCode, quote};
use crate::json::{SeenKeys, Skip, Str, duplicate_member, parse_document};

/// The members of a JOSE header that verification uses.
#[derive(Debug, Clone)]
pub(crate) struct Header<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Cow<'a, str>>,
    pub(crate) typ: Option<Cow<'a, str>>,
}

impl<'a> Header<'a> {
    /// Parses decoded header bytes.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Header<'a>, Error> {
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

#[derive(Default)]
struct RawHeader<'a> {
    alg: Option<Cow<'a, str>>,
    kid: Option<Cow<'a, str>>,
    typ: Option<Cow<'a, str>>,
}

struct HeaderVisitor<'p> {
    problem: &'p mut Option<Error>,
}

impl HeaderVisitor<'_> {
    fn fail<E: serde::de::Error>(&mut self, error: Error) -> E {
        *self.problem = Some(error);
        E::custom("rejected")
    }
}

fn unsupported(message: String) -> Error {
    Error::new(ErrorCode::HeaderUnsupported, message)
}

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

impl<'de> DeserializeSeed<'de> for HeaderVisitor<'_> {
    type Value = RawHeader<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
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

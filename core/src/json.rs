//! Strict JSON building blocks shared by the header and claims parsers.
//!
//! We parse with `serde_json` into borrowed data through hand-written visitors rather than into a
//! `Value`: DESIGN.md measured borrowed parsing at ≈ 340 ns for a 301-byte claims set with either
//! serde_json or simd-json, and owned `Value` parsing at twice that. serde_json is the one we keep
//! because its visitor API lets one pass also enforce what RFC 7519 §4 and DESIGN.md require and
//! plain deserialization does not: duplicate member names rejected at every level, and a bounded
//! nesting depth (serde_json additionally stops at 128 levels, so hostile input cannot overflow the
//! stack).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, quote};

/// Maximum nesting depth of any JSON value in a header or claims set (the top-level object is 1).
pub(crate) const MAX_DEPTH: usize = 32;

/// A JSON string, borrowed from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Str<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Records member names of one object and reports the first duplicate.
pub(crate) struct SeenKeys<'de> {
    /// The first names borrowed from the input, inline: a token's header and claims never
    /// allocate for this, and a plain array of `&str` costs nothing to drop.
    few: [&'de str; SeenKeys::LINEAR_LIMIT],
    len: usize,
    /// Names with escapes (decoded, so owned), and every name after the first few.
    many: Option<HashSet<Cow<'de, str>>>,
}

impl Default for SeenKeys<'_> {
    fn default() -> Self {
        SeenKeys {
            few: [""; SeenKeys::LINEAR_LIMIT],
            len: 0,
            many: None,
        }
    }
}

impl<'de> SeenKeys<'de> {
    /// Linear search is cheapest for the handful of members a token has; a set takes over for
    /// hostile objects with thousands of members.
    const LINEAR_LIMIT: usize = 16;

    /// Returns false if `key` was already seen.
    pub(crate) fn insert(&mut self, key: Cow<'de, str>) -> bool {
        let few = self.few.get(..self.len).unwrap_or_default();
        if few.iter().any(|k| k.as_bytes() == key.as_bytes())
            || self.many.as_ref().is_some_and(|set| set.contains(&key))
        {
            return false;
        }
        match key {
            Cow::Borrowed(k) if self.len < Self::LINEAR_LIMIT => {
                self.few[self.len] = k;
                self.len += 1;
            }
            key => {
                self.many.get_or_insert_with(HashSet::new).insert(key);
            }
        }
        true
    }
}

/// The error a duplicate member produces.
pub(crate) fn duplicate_member(what: &str, key: &str) -> Error {
    Error::malformed(format!("{what} has a duplicate member {}", quote(key)))
}

/// Walks and discards any JSON value, rejecting duplicate member names and over-deep nesting.
/// Problems found are stored in `problem` (the serde error returned alongside carries no detail).
pub(crate) struct Skip<'p> {
    pub(crate) depth: usize,
    pub(crate) what: &'static str,
    pub(crate) problem: &'p mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Skip<'_> {
    fn deeper(&mut self) -> Skip<'_> {
        Skip {
            depth: self.depth + 1,
            what: self.what,
            problem: self.problem,
        }
    }

    fn check_depth<E: de::Error>(&mut self) -> Result<(), E> {
        if self.depth >= MAX_DEPTH {
            *self.problem = Some(Error::malformed(format!(
                "{} nest deeper than {MAX_DEPTH} levels",
                self.what
            )));
            return Err(E::custom("too deep"));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.check_depth()?;
        while seq.next_element_seed(self.deeper())?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.check_depth()?;
        let mut seen = SeenKeys::default();
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if !seen.insert(key.clone()) {
                *self.problem = Some(duplicate_member(self.what, &key));
                return Err(de::Error::custom("duplicate"));
            }
            map.next_value_seed(self.deeper())?;
        }
        Ok(())
    }
}

/// Runs a visitor-based parse of a whole JSON document and turns failures into our errors
/// (the header and claims scanners' oracles, the serde_json parsers they replaced):
/// a problem the visitor recorded wins; otherwise a short, input-free description of the syntax error.
#[cfg(any(test, fuzzing))]
pub(crate) fn parse_document<'de, T>(
    bytes: &'de [u8],
    what: &str,
    parse: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
        &mut Option<Error>,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, Error> {
    parse_with(serde_json::Deserializer::from_slice(bytes), what, parse)
}

/// [`parse_document`] of text already known to be UTF-8: serde_json then does not validate
/// every string again (used by the claims scanner's oracle, the serde_json parser it replaced).
#[cfg(any(test, fuzzing))]
pub(crate) fn parse_str_document<'de, T>(
    text: &'de str,
    what: &str,
    parse: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
        &mut Option<Error>,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, Error> {
    parse_with(serde_json::Deserializer::from_str(text), what, parse)
}

#[cfg(any(test, fuzzing))]
fn parse_with<'de, R: serde_json::de::Read<'de>, T>(
    mut de: serde_json::Deserializer<R>,
    what: &str,
    parse: impl FnOnce(
        &mut serde_json::Deserializer<R>,
        &mut Option<Error>,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, Error> {
    let mut problem = None;
    let result = parse(&mut de, &mut problem).and_then(|value| de.end().map(|()| value));
    result.map_err(|e| {
        problem.take().unwrap_or_else(|| {
            Error::malformed(format!(
                "{what} are not a valid JSON object ({})",
                describe(&e)
            ))
        })
    })
}

/// Checks a whole document that is then parsed into a `serde_json::Value` (a JWKS, a JWK, a
/// discovery document): no duplicate member names at any level (a `Value` would silently keep
/// the last one, so two parsers could read two different documents), nesting of at most
/// [`MAX_DEPTH`] levels, valid syntax. Errors are `token_malformed` with the reason; callers
/// rewrap them with their own code.
pub(crate) fn check_document(bytes: &[u8], what: &'static str) -> Result<(), Error> {
    let mut problem = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = Skip {
        depth: 0,
        what,
        problem: &mut problem,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    result.map_err(|e| {
        problem.take().unwrap_or_else(|| {
            Error::malformed(format!("{what} is not valid JSON ({})", describe(&e)))
        })
    })
}

/// A description of a serde_json error that never quotes the input.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected value",
        Category::Eof => "unexpected end",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(json: &str) -> Result<(), Error> {
        parse_document(json.as_bytes(), "claims", |de, problem| {
            Skip {
                depth: 0,
                what: "claims",
                problem,
            }
            .deserialize(de)
        })
    }

    #[test]
    fn accepts_ordinary_json() {
        skip(r#"{"a":[1,2,{"b":null}],"c":"\u00e9","d":1.5e3}"#).unwrap();
    }

    #[test]
    fn nested_duplicates_are_rejected() {
        let e = skip(r#"{"a":{"x":1,"x":2}}"#).unwrap_err();
        assert!(e.message().contains("duplicate member \"x\""), "{e}");
    }

    #[test]
    fn escaped_duplicate_is_still_a_duplicate() {
        let e = skip(r#"{"ab":1,"a\u0062":2}"#).unwrap_err();
        assert!(e.message().contains("duplicate"), "{e}");
    }

    #[test]
    fn many_members_use_the_set_and_still_find_duplicates() {
        let mut s = String::from("{");
        for i in 0..100 {
            s.push_str(&format!("\"k{i}\":{i},"));
        }
        s.push_str("\"k5\":0}");
        assert!(skip(&s).unwrap_err().message().contains("duplicate"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = skip(&deep).unwrap_err();
        assert!(e.message().contains("deeper"), "{e}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        skip(&ok).unwrap();
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        assert!(skip("{} x").is_err());
    }
}

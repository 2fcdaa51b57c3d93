//! The claims scanner: one strict pass over a claims set's bytes, no serde on the verification
//! path.
//!
//! It enforces what the serde_json-based parser it replaced enforced, rule for rule, and gives
//! the same error codes (a property test and the `claims_oracle` fuzz target compare the two, the
//! old parser kept as the oracle under `cfg(test)` / `cfg(fuzzing)`):
//! - RFC 8259 grammar exactly: no trailing commas, no leading zeros, only the escapes of §7,
//!   no raw control characters in strings, nothing but whitespace after the object;
//! - strings are UTF-8 (RFC 8259 §8.1) and `\u` escapes pair their surrogates (I-JSON,
//!   RFC 7493 §2.1);
//! - numbers too large for an IEEE double are refused (RFC 7493 §2.2), as serde_json refuses them;
//! - duplicate member names are refused at every level, compared after unescaping (RFC 7519 §4);
//! - nesting is bounded by [`MAX_DEPTH`];
//! - the registered claims have their types (RFC 7519 §4.1, RFC 9068, RFC 7800 `cnf`).
//!
//! Strings without escapes are borrowed from the input; only a string with escapes is copied.
//! Numbers other than small plain integers are converted by serde_json itself, so an accepted
//! NumericDate has exactly the value the old parser gave it.

use std::borrow::Cow;

use crate::claims::{Claims, Confirmation, Raw, Registered, assign, invalid};
use crate::error::Error;
use crate::json::{MAX_DEPTH, SeenKeys, duplicate_member};

/// How errors name a claims set.
const CLAIMS: &str = "token claims";
/// How errors name a JOSE header.
const HEADER: &str = "token header";

/// Why a scan stopped.
enum Fail {
    /// Not JSON (or a number out of a double's range), at this byte offset.
    Syntax(usize),
    /// A rule of ours: a duplicate member, too deep, a claim of the wrong type.
    Error(Error),
}

/// Parses a claims set. `text` is `bytes` as a `str` when the caller already checked it is UTF-8
/// (strings are then not checked again).
pub(crate) fn claims<'a>(
    bytes: &'a [u8],
    text: Option<&'a str>,
    required: &[Box<str>],
) -> Result<Claims<'a>, Error> {
    let mut scanner = Scanner {
        b: bytes,
        text,
        i: 0,
        what: CLAIMS,
    };
    scanner.claims(required).map_err(|fail| match fail {
        Fail::Error(error) => error,
        Fail::Syntax(at) => syntax_error(CLAIMS, bytes, at),
    })
}

/// The members of a JOSE header that verification reads (RFC 7515 §4.1); see `header.rs` for
/// the rules.
#[derive(Default)]
pub(crate) struct HeaderMembers<'a> {
    pub(crate) alg: Option<Cow<'a, str>>,
    pub(crate) kid: Option<Cow<'a, str>>,
    pub(crate) typ: Option<Cow<'a, str>>,
}

/// Scans a decoded JOSE header.
pub(crate) fn header(bytes: &[u8]) -> Result<HeaderMembers<'_>, Error> {
    let mut scanner = Scanner {
        b: bytes,
        // One check of the whole (short) header rather than one per string; when it fails, the
        // strings are checked one by one and the error is the same.
        text: std::str::from_utf8(bytes).ok(),
        i: 0,
        what: HEADER,
    };
    scanner.header().map_err(|fail| match fail {
        Fail::Error(error) => error,
        Fail::Syntax(at) => syntax_error(HEADER, bytes, at),
    })
}

/// A description of a syntax error that never quotes the input (as `json::describe` words
/// serde_json's).
#[cold]
fn syntax_error(what: &str, bytes: &[u8], at: usize) -> Error {
    let before = bytes.get(..at).unwrap_or(bytes);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    let kind = if at >= bytes.len() {
        "unexpected end"
    } else {
        "syntax error"
    };
    Error::malformed(format!(
        "{what} are not a valid JSON object ({kind} at line {line} column {column})"
    ))
}

struct Scanner<'a> {
    b: &'a [u8],
    text: Option<&'a str>,
    i: usize,
    /// The document, as errors name it.
    what: &'static str,
}

/// Whether a byte ends the plain run of a string: a quote, a backslash or a control character
/// (RFC 8259 §7).
fn special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn syntax(&self) -> Fail {
        Fail::Syntax(self.i)
    }

    /// Skips RFC 8259 §2 whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), Fail> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Fail> {
        match self.b.get(self.i..self.i + word.len()) {
            Some(found) if found == word => {
                self.i += word.len();
                Ok(())
            }
            _ => Err(self.syntax()),
        }
    }

    /// The text of `start..end`, a run between quotes and escapes (so on char boundaries when
    /// the input is UTF-8).
    fn text_of(&self, start: usize, end: usize) -> Result<&'a str, Fail> {
        let text = match self.text {
            Some(text) => text.get(start..end),
            None => self
                .b
                .get(start..end)
                .and_then(|run| std::str::from_utf8(run).ok()),
        };
        text.ok_or(Fail::Syntax(start))
    }

    /// The index of the next quote, backslash or control character at or after the cursor.
    /// Tests eight bytes per step (the zero-byte and less-than tests of Hacker's Delight §6-1):
    /// a byte at a time, strings cost as much as the rest of the scan.
    fn plain_run_end(&self) -> usize {
        const ONES: u64 = u64::from_le_bytes([0x01; 8]);
        const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
        const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
        const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
        const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
        let rest = self.b.get(self.i..).unwrap_or_default();
        let mut chunks = rest.chunks_exact(8);
        let mut at = self.i;
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let x = u64::from_le_bytes(word);
            let (q, b) = (x ^ QUOTES, x ^ BACKSLASHES);
            // Non-zero exactly when some byte is a quote, a backslash or below 0x20 (borrows
            // can only mark bytes after the first such byte, and the scan below finds it).
            let hit =
                (q.wrapping_sub(ONES) & !q | b.wrapping_sub(ONES) & !b | x.wrapping_sub(SPACES))
                    & !x
                    & HIGHS;
            if hit != 0 {
                // Little-endian: the lowest marked byte is the first special one.
                return at + (hit.trailing_zeros() / 8) as usize;
            }
            at += 8;
        }
        let tail = chunks.remainder();
        at + tail.iter().position(|&c| special(c)).unwrap_or(tail.len())
    }

    /// A string; the cursor is on its opening quote.
    #[inline]
    fn string(&mut self) -> Result<Cow<'a, str>, Fail> {
        self.i += 1;
        let start = self.i;
        self.i = self.plain_run_end();
        match self.peek() {
            Some(b'"') => {
                let s = self.text_of(start, self.i)?;
                self.i += 1;
                Ok(Cow::Borrowed(s))
            }
            Some(b'\\') => self.escaped(start).map(Cow::Owned),
            _ => Err(self.syntax()),
        }
    }

    /// The rest of a string that has escapes: `start` is its first byte, the cursor is on a
    /// backslash.
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, start: usize) -> Result<String, Fail> {
        let mut out = String::new();
        let mut run = start;
        loop {
            out.push_str(self.text_of(run, self.i)?);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    out.push(self.escape()?);
                }
                _ => return Err(self.syntax()),
            }
            run = self.i;
            self.i = self.plain_run_end();
        }
    }

    /// One escape (RFC 8259 §7); the cursor is after its backslash.
    fn escape(&mut self) -> Result<char, Fail> {
        let c = self.peek().ok_or_else(|| self.syntax())?;
        self.i += 1;
        Ok(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = match first {
                    // A lone trailing surrogate (RFC 7493 §2.1 forbids unpaired surrogates).
                    0xDC00..=0xDFFF => return Err(self.syntax()),
                    0xD800..=0xDBFF => {
                        self.literal(b"\\u")?;
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(self.syntax());
                        }
                        0x1_0000
                            + ((u32::from(first) - 0xD800) << 10)
                            + (u32::from(second) - 0xDC00)
                    }
                    _ => u32::from(first),
                };
                char::from_u32(code).ok_or_else(|| self.syntax())?
            }
            _ => {
                self.i -= 1;
                return Err(self.syntax());
            }
        })
    }

    fn hex4(&mut self) -> Result<u16, Fail> {
        let mut n: u16 = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|c| char::from(c).to_digit(16))
                .ok_or_else(|| self.syntax())?;
            n = n << 4 | digit as u16;
            self.i += 1;
        }
        Ok(n)
    }

    /// A number (RFC 8259 §6); the cursor is on its first byte. Returns its span and whether it
    /// is a plain non-negative integer.
    fn number(&mut self) -> Result<Number, Fail> {
        let start = self.i;
        let mut plain = true;
        let mut exponent = false;
        if self.peek() == Some(b'-') {
            self.i += 1;
            plain = false;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                // No leading zeros; refused inside the number, as serde_json refuses them.
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.syntax());
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.syntax()),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            plain = false;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            plain = false;
            exponent = true;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.some_digits()?;
        }
        Ok(Number {
            start,
            end: self.i,
            plain,
            exponent,
        })
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), Fail> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.syntax());
        }
        self.digits();
        Ok(())
    }

    /// The value of a number as serde_json reads it; `None` when it is out of a double's range.
    fn number_value(&self, n: &Number) -> Option<f64> {
        let digits = self.b.get(n.start..n.end)?;
        if n.plain && digits.len() <= 19 {
            // Exact in a u64, then rounded once, as serde_json does (`visit_u64` as f64).
            let v = digits
                .iter()
                .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
            return Some(v as f64);
        }
        // Everything else through serde_json itself: bit-for-bit its rounding.
        serde_json::from_str::<f64>(std::str::from_utf8(digits).ok()?).ok()
    }

    /// Walks and discards any value, refusing duplicate member names and nesting deeper than
    /// [`MAX_DEPTH`]: `depth` counts the containers around it below the top-level object.
    fn skip(&mut self, depth: usize) -> Result<(), Fail> {
        self.ws();
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => {
                self.check_depth(depth)?;
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                let mut seen = SeenKeys::default();
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.syntax());
                    }
                    let key = self.string()?;
                    if !seen.insert(key.clone()) {
                        return Err(Fail::Error(duplicate_member(self.what, &key)));
                    }
                    self.ws();
                    self.expect(b':')?;
                    self.skip(depth + 1)?;
                    if self.end_of(b'}')? {
                        return Ok(());
                    }
                }
            }
            Some(b'[') => {
                self.check_depth(depth)?;
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if self.end_of(b']')? {
                        return Ok(());
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => {
                let n = self.number()?;
                // Only an exponent or a very long number can leave a double's range.
                if (n.exponent || n.end - n.start > 300) && self.number_value(&n).is_none() {
                    return Err(Fail::Syntax(n.start));
                }
                Ok(())
            }
            _ => Err(self.syntax()),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), Fail> {
        if depth >= MAX_DEPTH {
            return Err(Fail::Error(Error::malformed(format!(
                "{} nest deeper than {MAX_DEPTH} levels",
                self.what
            ))));
        }
        Ok(())
    }

    /// After a member or element: `,` (another follows) or `close` (the container ends).
    fn end_of(&mut self, close: u8) -> Result<bool, Fail> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(false)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(self.syntax()),
        }
    }

    /// A registered claim's value, after its name: the colon, then the value's shape.
    fn raw(&mut self) -> Result<Raw<'a>, Fail> {
        self.ws();
        self.expect(b':')?;
        self.ws();
        Ok(match self.peek() {
            Some(b'"') => Raw::Str(self.string()?),
            Some(b'-' | b'0'..=b'9') => {
                let n = self.number()?;
                Raw::Num(self.number_value(&n).ok_or(Fail::Syntax(n.start))?)
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                let mut items = Vec::new();
                let mut all_strings = true;
                if self.peek() == Some(b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.peek() == Some(b'"') {
                            let s = self.string()?;
                            if all_strings {
                                items.push(s);
                            }
                        } else {
                            self.skip(1)?;
                            all_strings = false;
                        }
                        if self.end_of(b']')? {
                            break;
                        }
                    }
                }
                if all_strings {
                    Raw::Strings(items)
                } else {
                    Raw::Other("an array with non-string elements")
                }
            }
            Some(b'{') => {
                self.skip(1)?;
                Raw::Other("an object")
            }
            Some(b't' | b'f') => {
                self.skip(1)?;
                Raw::Other("a boolean")
            }
            Some(b'n') => {
                self.skip(1)?;
                Raw::Other("null")
            }
            _ => return Err(self.syntax()),
        })
    }

    /// The `cnf` claim's value (RFC 7800 §3.1), after its name.
    fn confirmation(&mut self) -> Result<Confirmation<'a>, Fail> {
        self.ws();
        self.expect(b':')?;
        self.ws();
        self.expect(b'{')?;
        let mut out = Confirmation::default();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(out);
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.syntax());
            }
            let key = self.string()?;
            if key == "jkt" {
                if out.jkt.is_some() || out.jkt_invalid {
                    return Err(self.syntax());
                }
                match self.raw()? {
                    Raw::Str(s) if !s.is_empty() => out.jkt = Some(s),
                    _ => out.jkt_invalid = true,
                }
            } else {
                self.ws();
                self.expect(b':')?;
                self.skip(1)?;
                out.other.get_or_insert_with(|| key.into_owned());
            }
            if self.end_of(b'}')? {
                return Ok(out);
            }
        }
    }

    /// The whole claims set.
    fn claims(&mut self, required: &[Box<str>]) -> Result<Claims<'a>, Fail> {
        let mut claims = Claims::default();
        self.ws();
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
        } else {
            let mut seen = SeenKeys::default();
            let mut seen_registered = 0u16;
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return Err(self.syntax());
                }
                let key = self.string()?;
                // A registered claim is its own duplicate check (one bit each); the others go
                // to the list.
                let claim = Registered::from_name(&key);
                let fresh = match claim {
                    Some(claim) => {
                        let fresh = seen_registered & claim.bit() == 0;
                        seen_registered |= claim.bit();
                        fresh
                    }
                    None => seen.insert(key.clone()),
                };
                if !fresh {
                    return Err(Fail::Error(duplicate_member(self.what, &key)));
                }
                if let Some(i) = required.iter().position(|r| **r == *key) {
                    claims.required_present |= 1 << i;
                }
                self.member(claim, &mut claims)?;
                if self.end_of(b'}')? {
                    break;
                }
            }
        }
        self.ws();
        if self.i != self.b.len() {
            return Err(self.syntax());
        }
        Ok(claims)
    }

    /// A whole JOSE header (RFC 7515 §4): `alg`, `kid` and `typ` read, members that change
    /// processing refused, the rest walked and discarded.
    fn header(&mut self) -> Result<HeaderMembers<'a>, Fail> {
        let mut out = HeaderMembers::default();
        self.ws();
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
        } else {
            let mut seen = SeenKeys::default();
            let mut seen_read = 0u8;
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return Err(self.syntax());
                }
                let key = self.string()?;
                // The members read are their own duplicate check (one bit each).
                let bit = match &*key {
                    "alg" => 1,
                    "kid" => 2,
                    "typ" => 4,
                    "cty" => 8,
                    _ => 0,
                };
                let fresh = match bit {
                    0 => seen.insert(key.clone()),
                    bit => {
                        let fresh = seen_read & bit == 0;
                        seen_read |= bit;
                        fresh
                    }
                };
                if !fresh {
                    return Err(Fail::Error(duplicate_member(self.what, &key)));
                }
                let slot = match &*key {
                    "alg" => Some(&mut out.alg),
                    "kid" => Some(&mut out.kid),
                    "typ" => Some(&mut out.typ),
                    _ => None,
                };
                if let Some(slot) = slot {
                    *slot = Some(self.string_member(&key)?);
                } else if let Some(refused) = crate::header::refused_member(&key) {
                    return Err(Fail::Error(refused));
                } else if &*key == "cty" {
                    let cty = self.string_member(&key)?;
                    if cty.eq_ignore_ascii_case("jwt") {
                        return Err(Fail::Error(crate::header::nested_jwt()));
                    }
                } else {
                    // jku, x5u, jwk, x5c, x5t, x5t#S256 and anything else: never consulted.
                    self.ws();
                    self.expect(b':')?;
                    self.skip(1)?;
                }
                if self.end_of(b'}')? {
                    break;
                }
            }
        }
        self.ws();
        if self.i != self.b.len() {
            return Err(self.syntax());
        }
        Ok(out)
    }

    /// A header member that must be a string, after its name.
    fn string_member(&mut self, name: &str) -> Result<Cow<'a, str>, Fail> {
        self.ws();
        let value = match self.expect(b':') {
            Ok(()) => {
                self.ws();
                match self.peek() {
                    Some(b'"') => self.string().ok(),
                    _ => None,
                }
            }
            Err(_) => None,
        };
        value.ok_or_else(|| {
            Fail::Error(Error::malformed(format!(
                "token header member {name} must be a string"
            )))
        })
    }

    /// One top-level member's value, after its name.
    fn member(&mut self, claim: Option<Registered>, claims: &mut Claims<'a>) -> Result<(), Fail> {
        match claim {
            Some(Registered::Cnf) => {
                let confirmation = self.confirmation().map_err(|_| {
                    Fail::Error(invalid(
                        "cnf",
                        "cnf is not a JSON object with a string jkt".to_owned(),
                    ))
                })?;
                claims.cnf_jkt = confirmation.check().map_err(Fail::Error)?;
                Ok(())
            }
            Some(claim) => {
                // Any failure inside a registered claim's value makes the claim invalid.
                let raw = self.raw().map_err(|_| {
                    let name = claim.name();
                    Fail::Error(invalid(
                        name,
                        format!("{name} is not a valid JSON value of its type"),
                    ))
                })?;
                assign(claims, claim, raw).map_err(Fail::Error)
            }
            None => {
                self.ws();
                self.expect(b':')?;
                self.skip(1)
            }
        }
    }
}

/// A number's span and form.
struct Number {
    start: usize,
    end: usize,
    /// Digits only: no sign, fraction or exponent.
    plain: bool,
    exponent: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_runs_end_at_the_first_special_byte_at_every_position() {
        for len in 0..40 {
            for at in 0..len {
                for special_byte in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special_byte;
                    for from in 0..=len {
                        let scanner = Scanner {
                            b: &bytes,
                            text: None,
                            i: from,
                            what: CLAIMS,
                        };
                        let expected = if from <= at { at } else { len };
                        assert_eq!(scanner.plain_run_end(), expected, "{len} {at} {from}");
                    }
                }
            }
            // Bytes next to the special ones, and high bytes, are plain.
            let other: Vec<u8> = (0..len)
                .map(|i| [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff][i % 10])
                .collect();
            let scanner = Scanner {
                b: &other,
                text: None,
                i: 0,
                what: CLAIMS,
            };
            assert_eq!(scanner.plain_run_end(), len);
        }
    }
}

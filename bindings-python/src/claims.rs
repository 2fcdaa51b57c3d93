//! [`Claims`]: a verified credential ([`jwtgate::Verified`]) as a read-only Python mapping.
//!
//! The mapping holds the claims set exactly as signed (parsed on first access, once per object,
//! into exactly what `json.loads` gives: see [`json_to_python`]); typed attributes give the registered claims the core already parsed,
//! plus the facts the core derives (`scopes`, `client_id`, `audience_matched`, `principal`,
//! `token_id`), without touching the JSON.

use pyo3::exceptions::{PyKeyError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyList, PyString};

use jwtgate::Verified;

/// The result of a successful verification: a read-only `Mapping[str, Any]` over the token's
/// claims (empty for static tokens), with typed attributes for the registered claims.
#[pyclass(frozen, module = "jwtgate", name = "Claims", mapping)]
pub struct Claims {
    verified: Verified,
    dict: PyOnceLock<Py<PyDict>>,
}

impl Claims {
    /// Wraps a core result.
    pub fn new(verified: Verified) -> Claims {
        Claims {
            verified,
            dict: PyOnceLock::new(),
        }
    }

    /// The core's result.
    pub(crate) fn verified(&self) -> &Verified {
        &self.verified
    }

    /// A new `dict` with the claims (as `to_dict`), parsed without keeping it when this object
    /// has not parsed them yet: a caller that wants one dict pays one parse and no copy.
    pub(crate) fn fresh_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match self.dict.get(py) {
            Some(dict) => dict.bind(py).copy(),
            None => Ok(self.parse(py)?.into_bound(py)),
        }
    }

    /// The parsed claims set (cached; never handed out, so it stays unmodified).
    fn dict<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyDict>> {
        if let Some(dict) = self.dict.get(py) {
            return Ok(dict.bind(py));
        }
        // Parsed with the thread attached, then set: `get_or_try_init` would release and
        // re-take the GIL around the parse (it may block), which costs as much as the parse.
        // Two threads may both parse the same object's claims; the first result set is kept.
        let parsed = self.parse(py)?;
        let _ = self.dict.set(py, parsed);
        match self.dict.get(py) {
            Some(dict) => Ok(dict.bind(py)),
            None => Err(PyRuntimeError::new_err(
                "jwtgate: the claims could not be kept",
            )),
        }
    }

    fn parse(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let json = self.verified.claims_json();
        if let Some(value) = json_to_python(py, json) {
            if let Ok(dict) = value.cast_into::<PyDict>() {
                return Ok(dict.unbind());
            }
        }
        // What `json_to_python` leaves to Python: `json.loads` (see there).
        static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let value = LOADS.import(py, "json", "loads")?.call1((json,))?;
        Ok(value.cast_into::<PyDict>()?.unbind())
    }
}

/// The JSON document `json` as the Python objects `json.loads` makes of it (dict, list, str,
/// int, bool, None), built in one pass: Python's own `json` costs several times the core's
/// cached verification for a typical claims set.
///
/// Only what converts exactly and simply is converted here; everything else is `None`, and the
/// caller uses `json.loads`, so the result is always `json.loads`' own: a number that is not an
/// integer within 64 bits (a fraction, an exponent, a larger integer: Python rounds floats
/// itself and keeps integers of any size exact), a `\u` escape of a lone surrogate (which only
/// Python's `str` can hold), nesting deeper than [`MAX_DEPTH`], or anything that is not JSON
/// (the core has parsed the document already, so that does not happen).
fn json_to_python<'py>(py: Python<'py>, json: &str) -> Option<Bound<'py, PyAny>> {
    let mut parser = JsonParser {
        py,
        text: json,
        at: 0,
        depth: 0,
    };
    let value = parser.value()?;
    parser.whitespace();
    (parser.at == json.len()).then_some(value)
}

/// The names most claims sets use (RFC 7519 §4.1, RFC 8693 §4, RFC 9068 §2.2), made once and
/// shared: a name's object carries its hash, so each set's dict skips hashing it again.
const COMMON_NAMES: [&str; 12] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "scope",
    "scp",
    "client_id",
    "azp",
    "cnf",
];

/// A member name as a Python `str` (a shared one for the [`COMMON_NAMES`]).
fn name<'py>(py: Python<'py>, text: &str) -> Bound<'py, PyString> {
    static NAMES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();
    let Some(index) = COMMON_NAMES.iter().position(|n| *n == text) else {
        return PyString::new(py, text);
    };
    let names = NAMES.get_or_init(py, || {
        COMMON_NAMES
            .iter()
            .map(|n| PyString::intern(py, n).unbind())
            .collect()
    });
    match names.get(index) {
        Some(shared) => shared.bind(py).clone(),
        None => PyString::new(py, text),
    }
}

/// Nesting beyond this is left to `json.loads` (serde_json's default limit, which the core's
/// parse has passed).
const MAX_DEPTH: usize = 128;

struct JsonParser<'a, 'py> {
    py: Python<'py>,
    text: &'a str,
    at: usize,
    depth: usize,
}

impl<'py> JsonParser<'_, 'py> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// JSON's whitespace (RFC 8259 §2), as `json.loads` skips it.
    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.text.as_bytes().get(self.at..end)? == word.as_bytes()).then(|| self.at = end)
    }

    fn value(&mut self) -> Option<Bound<'py, PyAny>> {
        self.whitespace();
        let py = self.py;
        match self.peek()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Some(PyString::new(py, &self.string()?).into_any()),
            b't' => self
                .literal("true")
                .map(|()| PyBool::new(py, true).to_owned().into_any()),
            b'f' => self
                .literal("false")
                .map(|()| PyBool::new(py, false).to_owned().into_any()),
            b'n' => self.literal("null").map(|()| py.None().into_bound(py)),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    fn integer(&mut self) -> Option<Bound<'py, PyAny>> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let count = self.at - digits;
        let leading_zero = count > 1 && self.text.as_bytes()[digits] == b'0';
        if count == 0 || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let text = &self.text[start..self.at];
        let py = self.py;
        if start == digits {
            text.parse::<u64>()
                .ok()?
                .into_pyobject(py)
                .ok()
                .map(Bound::into_any)
        } else {
            text.parse::<i64>()
                .ok()?
                .into_pyobject(py)
                .ok()
                .map(Bound::into_any)
        }
    }

    /// A string at `"`, unescaped.
    fn string(&mut self) -> Option<std::borrow::Cow<'_, str>> {
        self.at += 1;
        let start = self.at;
        let bytes = self.text.as_bytes();
        // The common case: no escape, borrowed as it is (a quote or backslash is ASCII, so the
        // slice ends on a character boundary).
        loop {
            match *bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(std::borrow::Cow::Borrowed(&self.text[start..self.at - 1]));
                }
                b'\\' => break,
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let mut out = String::from(&self.text[start..self.at]);
        loop {
            let rest = &self.text[self.at..];
            let run = rest.find(['"', '\\']).unwrap_or(rest.len());
            if rest[..run].bytes().any(|b| b < 0x20) {
                return None;
            }
            out.push_str(&rest[..run]);
            self.at += run;
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(std::borrow::Cow::Owned(out));
                }
                _ => {
                    self.at += 1;
                    let escaped = self.peek()?;
                    self.at += 1;
                    out.push(match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape (after the `u`), a surrogate pair taken whole.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xDC00..0xE000).contains(&first) {
            return None;
        }
        if (0xD800..0xDC00).contains(&first) {
            self.literal("\\u")?;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return None;
            }
            return char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
        }
        char::from_u32(first)
    }

    fn hex4(&mut self) -> Option<u32> {
        let end = self.at.checked_add(4)?;
        let digits = self.text.get(self.at..end)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at = end;
        u32::from_str_radix(digits, 16).ok()
    }

    fn nested(&mut self) -> Option<()> {
        self.at += 1;
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn array(&mut self) -> Option<Bound<'py, PyAny>> {
        self.nested()?;
        let list = PyList::empty(self.py);
        self.whitespace();
        if self.peek()? == b']' {
            self.at += 1;
        } else {
            loop {
                list.append(self.value()?).ok()?;
                self.whitespace();
                match self.peek()? {
                    b',' => self.at += 1,
                    b']' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(list.into_any())
    }

    fn object(&mut self) -> Option<Bound<'py, PyAny>> {
        self.nested()?;
        let dict = PyDict::new(self.py);
        self.whitespace();
        if self.peek()? == b'}' {
            self.at += 1;
        } else {
            loop {
                self.whitespace();
                if self.peek()? != b'"' {
                    return None;
                }
                let key = name(self.py, &self.string()?);
                self.whitespace();
                if self.peek()? != b':' {
                    return None;
                }
                self.at += 1;
                // A repeated name keeps its last value, as in `json.loads`.
                dict.set_item(key, self.value()?).ok()?;
                self.whitespace();
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(dict.into_any())
    }
}

#[pymethods]
impl Claims {
    /// `"jwt"`, `"static_token"`, `"id_token"` (a verifier in id_token mode), or
    /// `"introspected"` (the provider's introspection endpoint vouched for it, RFC 7662).
    #[getter]
    fn kind(&self) -> &'static str {
        self.verified.kind().as_str()
    }
    /// The header's `alg` (JWTs only).
    #[getter]
    fn alg(&self) -> Option<&'static str> {
        self.verified.alg().map(|a| a.as_str())
    }
    /// The header's `kid`, if any.
    #[getter]
    fn kid(&self) -> Option<&str> {
        self.verified.kid()
    }
    /// The header's `typ`, if any.
    #[getter]
    fn typ(&self) -> Option<&str> {
        self.verified.typ()
    }
    /// `iss`.
    #[getter]
    fn iss(&self) -> Option<&str> {
        self.verified.iss()
    }
    /// `sub` (for static tokens: the configured client id).
    #[getter]
    fn sub(&self) -> Option<&str> {
        self.verified.sub()
    }
    /// `aud` as a list (a single string becomes one element).
    #[getter]
    fn aud(&self) -> Vec<String> {
        self.verified.aud().to_vec()
    }
    /// `exp` in whole seconds since the epoch (the exact value is in the mapping).
    #[getter]
    fn exp(&self) -> Option<u64> {
        self.verified.exp()
    }
    /// `nbf` in whole seconds since the epoch.
    #[getter]
    fn nbf(&self) -> Option<u64> {
        self.verified.nbf()
    }
    /// `iat` in whole seconds since the epoch.
    #[getter]
    fn iat(&self) -> Option<u64> {
        self.verified.iat()
    }
    /// `jti`.
    #[getter]
    fn jti(&self) -> Option<&str> {
        self.verified.jti()
    }
    /// The client: `client_id` (RFC 9068), else `azp`, else `sub`; for static tokens the
    /// configured client id.
    #[getter]
    fn client_id(&self) -> Option<&str> {
        self.verified.client_id()
    }
    /// The RFC 7638 thumbprint the token is bound to (`cnf.jkt`, RFC 9449 §6.1), for a
    /// DPoP-bound token (accepted only through `verify_request` with a valid proof).
    #[getter]
    fn confirmation_jkt(&self) -> Option<&str> {
        self.verified.confirmation_jkt()
    }
    /// Whether the credential came with the DPoP scheme and a valid proof (`verify_request`):
    /// a later `require_scopes` refusal then challenges with DPoP (RFC 9449 §7.1).
    #[getter]
    fn presented_with_dpop(&self) -> bool {
        self.verified.presented_with_dpop()
    }
    /// The configured audience that the credential's `aud` matched (the resource it was issued
    /// for, as this server names it); for a static token the audience it was configured with;
    /// `None` when the verifier checks no audience.
    #[getter]
    fn audience_matched(&self) -> Option<&str> {
        self.verified.audience_matched()
    }
    /// `(iss, sub)`: who the credential speaks for, across tokens (a static token: no issuer,
    /// its client id as subject).
    #[getter]
    fn principal(&self) -> (Option<&str>, Option<&str>) {
        self.verified.principal()
    }
    /// Identifies the credential's text within this process: equal for results of the same
    /// token (a fresh verification and a cache hit), different otherwise (a keyed 64-bit hash).
    #[getter]
    fn token_id(&self) -> u64 {
        self.verified.token_id()
    }
    /// Scopes from `scope` (space-separated) and `scp`; for static tokens the configured ones.
    #[getter]
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.verified.scopes())
    }
    /// The scopes the credential grants: its own, then those they imply in the verifier's
    /// `scope_implies` hierarchy (a scope implying every scope, `"*"`, is not listed:
    /// [`has_scope`](Self::has_scope) answers for it).
    #[getter]
    fn granted_scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.verified.granted_scopes())
    }
    /// Raises `InsufficientScope` (the core's error, naming the missing scopes) unless the
    /// credential grants every scope in `scopes` (a space-separated `str` or a list), counting
    /// the verifier's scope hierarchy.
    fn require_scopes(&self, py: Python<'_>, scopes: &Bound<'_, PyAny>) -> PyResult<()> {
        let required = crate::convert::scopes(Some(scopes.clone()), "scopes")?;
        self.verified
            .require_scopes(&required)
            .map_err(|e| crate::errors::to_pyerr(py, &e))
    }
    /// Whether the credential grants `scope`: it carries it, or one of its scopes implies it in
    /// the verifier's `scope_implies` hierarchy (a `str` with a lone surrogate names no scope).
    fn has_scope(&self, scope: &Bound<'_, PyAny>) -> PyResult<bool> {
        let scope = scope
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("scope must be a str"))?;
        Ok(scope
            .to_cow()
            .is_ok_and(|scope| self.verified.has_scope(&scope)))
    }
    /// The claims set as the JSON text that was signed (`{}` for static tokens).
    #[getter]
    fn claims_json(&self) -> &str {
        self.verified.claims_json()
    }
    /// A new `dict` with the claims (yours to modify).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.dict(py)?.copy()
    }
    /// `claims.get(name, default=None)`.
    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.dict(py)?.get_item(key)? {
            Some(value) => Ok(value),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }
    /// The claim names.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.dict(py)?.call_method0("keys")
    }
    /// The claim values.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.dict(py)?.call_method0("values")
    }
    /// `(name, value)` pairs.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.dict(py)?.call_method0("items")
    }
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.dict(py)?
            .get_item(key)?
            .ok_or_else(|| PyKeyError::new_err(key.clone().unbind()))
    }
    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.dict(py)?.contains(key)
    }
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.dict(py)?.len())
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.dict(py)?.as_any().try_iter()?.into_any())
    }
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        match other.cast::<Claims>() {
            Ok(other) => self.dict(py)?.eq(other.get().dict(py)?),
            Err(_) => self.dict(py)?.eq(other),
        }
    }
    fn __repr__(&self) -> String {
        let text = |v: Option<&str>| v.map_or_else(|| "None".to_string(), |s| format!("{s:?}"));
        format!(
            "Claims(kind={:?}, iss={}, sub={}, client_id={}, scopes={:?}, exp={})",
            self.kind(),
            text(self.verified.iss()),
            text(self.verified.sub()),
            text(self.verified.client_id()),
            self.verified.scopes(),
            self.verified
                .exp()
                .map_or_else(|| "None".to_string(), |e| e.to_string()),
        )
    }
}

//! Per-route policy: which requests need which scopes, which are public, and which protected
//! resource (RFC 9728) a route belongs to.
//!
//! A route is matched against the *normalised* request path, the path an upstream server will
//! most likely act on: percent-encoded octets decoded (RFC 3986 §2.1), dot segments removed
//! (RFC 3986 §5.2.4) and repeated slashes collapsed. Otherwise `/public/../admin` or `/%61dmin`
//! would reach `/admin` upstream under the public route's policy. A path that cannot be
//! normalised (a bad escape, an encoded `/` or NUL) is refused before any route is chosen.

use jwtgate::Error;

/// How a route's path pattern matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Exactly this path.
    Exact(String),
    /// This path and everything under it (`/admin` matches `/admin` and `/admin/x`, not
    /// `/administrator`).
    Prefix(String),
}

/// One route's policy. Built with [`Route::exact`] or [`Route::prefix`], then narrowed with
/// [`methods`](Route::methods), [`scopes`](Route::scopes), [`public`](Route::public) and
/// [`resource`](Route::resource); checked when the [`Gate`](crate::Gate) is built.
///
/// ```
/// use jwtgate_tower::Route;
/// let write = Route::exact("/mcp").methods(["POST"]).scopes(["mcp:write"]);
/// let health = Route::prefix("/health").public();
/// # let _ = (write, health);
/// ```
#[derive(Debug, Clone)]
pub struct Route {
    pattern: Pattern,
    methods: Vec<String>,
    scopes: Vec<String>,
    public: bool,
    resource: Option<String>,
}

impl Route {
    /// A route for exactly `path` (no query; matched after normalisation).
    pub fn exact(path: impl Into<String>) -> Route {
        Route::with(Pattern::Exact(path.into()))
    }

    /// A route for `path` and every path below it, segment-wise: `/admin` covers `/admin` and
    /// `/admin/users`, not `/administrator`. `/` covers everything.
    pub fn prefix(path: impl Into<String>) -> Route {
        Route::with(Pattern::Prefix(path.into()))
    }

    fn with(pattern: Pattern) -> Route {
        Route {
            pattern,
            methods: Vec::new(),
            scopes: Vec::new(),
            public: false,
            resource: None,
        }
    }

    /// Only these HTTP methods (case-insensitive; default: all). A route naming the request's
    /// method wins over an otherwise equal route that names none.
    pub fn methods<I, S>(mut self, methods: I) -> Route
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.methods = methods
            .into_iter()
            .map(|m| m.as_ref().to_ascii_uppercase())
            .collect();
        self
    }

    /// Scopes this route needs on top of the verifier's own required scopes; a token without
    /// them is refused with 403 `insufficient_scope` naming them (RFC 6750 §3.1).
    pub fn scopes<I, S>(mut self, scopes: I) -> Route
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// No credential needed (health checks, static assets). A public route cannot have scopes.
    pub fn public(mut self) -> Route {
        self.public = true;
        self
    }

    /// The RFC 9728 resource identifier of this route (default: the gate's resource). Each
    /// distinct resource gets its own metadata document and its challenges point there. It must
    /// share the gate resource's origin: DPoP proofs are checked against that origin.
    pub fn resource(mut self, resource: impl Into<String>) -> Route {
        self.resource = Some(resource.into());
        self
    }

    /// The route's scopes.
    pub(crate) fn required_scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the route needs no credential.
    pub(crate) fn is_public(&self) -> bool {
        self.public
    }

    /// The route's own resource, if it has one.
    pub(crate) fn own_resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// Checks the route's own consistency (the gate checks resources).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let path = match &self.pattern {
            Pattern::Exact(p) | Pattern::Prefix(p) => p,
        };
        if !path.starts_with('/') || path.contains(['?', '#']) {
            return Err(Error::config_invalid(format!(
                "route path {path:?} must start with '/' and have no query or fragment"
            )));
        }
        if normalize_path(path).as_deref() != Ok(path.as_str()) {
            return Err(Error::config_invalid(format!(
                "route path {path:?} is not in normal form (no escapes, dot segments or repeated '/'): routes match normalised request paths"
            )));
        }
        for method in &self.methods {
            let token = !method.is_empty()
                && method
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                return Err(Error::config_invalid(format!(
                    "route {path:?}: {method:?} is not an HTTP method (RFC 9110 §9.1 token)"
                )));
            }
        }
        if self.public && !self.scopes.is_empty() {
            return Err(Error::config_invalid(format!(
                "route {path:?} is public and has scopes; a public route takes no credential, so it cannot require scopes"
            )));
        }
        for scope in &self.scopes {
            // RFC 6749 §3.3 scope-token: NQCHAR = %x21 / %x23-5B / %x5D-7E.
            let valid = !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(Error::config_invalid(format!(
                    "route {path:?}: scope {scope:?} is not an RFC 6749 scope token (printable ASCII without space, quote or backslash)"
                )));
            }
        }
        Ok(())
    }

    /// How specific the route is for `path` and `method`, or `None` when it does not match.
    /// Exact beats prefix, a longer prefix beats a shorter one, naming the method beats not.
    fn specificity(&self, path: &str, method: &str) -> Option<(bool, usize, bool)> {
        let names_method = !self.methods.is_empty();
        if names_method && !self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            return None;
        }
        match &self.pattern {
            Pattern::Exact(p) => (p == path).then_some((true, p.len(), names_method)),
            Pattern::Prefix(p) => {
                let base = p.trim_end_matches('/');
                let covered = path == base
                    || path
                        .strip_prefix(base)
                        .is_some_and(|rest| rest.starts_with('/'));
                covered.then_some((false, base.len(), names_method))
            }
        }
    }
}

/// The index of the most specific route for a normalised path, if any (ties go to the first
/// declared).
pub(crate) fn best_route(routes: &[Route], path: &str, method: &str) -> Option<usize> {
    let mut best: Option<(usize, (bool, usize, bool))> = None;
    for (index, route) in routes.iter().enumerate() {
        if let Some(rank) = route.specificity(path, method) {
            if best.is_none_or(|(_, b)| rank > b) {
                best = Some((index, rank));
            }
        }
    }
    best.map(|(index, _)| index)
}

/// The path of a request target (`/a/b?q` → `/a/b`), normalised as the module docs say.
///
/// # Errors
/// A description of what is wrong: not an origin-form path, a bad or forbidden escape.
pub(crate) fn normalize_path(target: &str) -> Result<String, String> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return Err("the request path does not start with '/'".to_owned());
    }
    // Decode every escape: routes are written decoded, and an upstream decodes before routing.
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) else {
                return Err("the request path has a malformed percent-escape".to_owned());
            };
            let byte = (h * 16 + l) as u8;
            // An encoded '/' or '\' would make segments that the upstream may split differently;
            // NUL has no business in a path.
            if matches!(byte, b'/' | b'\\' | 0) {
                return Err("the request path encodes '/', '\\' or NUL".to_owned());
            }
            decoded.push(byte);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let decoded =
        String::from_utf8(decoded).map_err(|_| "the request path is not UTF-8".to_owned())?;
    if decoded.contains('\\') {
        return Err("the request path contains '\\'".to_owned());
    }
    // RFC 3986 §5.2.4 on segments, with empty segments (repeated '/') dropped.
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/').skip(1) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    let mut out = String::with_capacity(decoded.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || (trailing && !segments.is_empty()) {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_as_an_upstream_would_route_them() {
        for (raw, want) in [
            ("/", "/"),
            ("/mcp", "/mcp"),
            ("/mcp?x=1", "/mcp"),
            ("/mcp/", "/mcp/"),
            ("//admin", "/admin"),
            ("/public/../admin", "/admin"),
            ("/public/%2e%2e/admin", "/admin"),
            ("/%61dmin/x", "/admin/x"),
            ("/./a/./b/.", "/a/b/"),
            ("/../..", "/"),
            ("/caf%C3%A9", "/café"),
        ] {
            assert_eq!(normalize_path(raw).as_deref(), Ok(want), "{raw}");
        }
        for bad in [
            "mcp", "", "/a%2fb", "/a%5Cb", "/a%00", "/a%zz", "/a%2", "/a\\b", "/%ff",
        ] {
            assert!(normalize_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_most_specific_route_wins() {
        let routes = vec![
            Route::prefix("/").scopes(["base"]),
            Route::prefix("/admin").scopes(["admin"]),
            Route::prefix("/admin/users").scopes(["users"]),
            Route::exact("/admin/users/me").scopes(["me"]),
            Route::exact("/mcp").scopes(["read"]),
            Route::exact("/mcp").methods(["post"]).scopes(["write"]),
        ];
        let pick = |path: &str, method: &str| {
            best_route(&routes, path, method).map(|i| routes[i].required_scopes()[0].clone())
        };
        assert_eq!(pick("/x", "GET").as_deref(), Some("base"));
        assert_eq!(pick("/admin", "GET").as_deref(), Some("admin"));
        assert_eq!(pick("/administrator", "GET").as_deref(), Some("base"));
        assert_eq!(pick("/admin/users/1", "GET").as_deref(), Some("users"));
        assert_eq!(pick("/admin/users/me", "GET").as_deref(), Some("me"));
        assert_eq!(pick("/mcp", "GET").as_deref(), Some("read"));
        assert_eq!(pick("/mcp", "POST").as_deref(), Some("write"));
        assert!(best_route(&routes[1..], "/x", "GET").is_none());
    }

    #[test]
    fn bad_routes_are_refused_with_the_reason() {
        let bad = [
            Route::exact("mcp"),
            Route::exact("/mcp?x"),
            Route::prefix("/a/../b"),
            Route::prefix("//a"),
            Route::exact("/a").methods(["GE T"]),
            Route::exact("/a").public().scopes(["x"]),
            Route::exact("/a").scopes(["a b"]),
            Route::exact("/a").scopes([""]),
        ];
        for route in bad {
            assert!(route.validate().is_err(), "{route:?}");
        }
        assert!(Route::prefix("/admin/").validate().is_ok());
        assert!(Route::exact("/mcp").methods(["POST"]).validate().is_ok());
    }
}

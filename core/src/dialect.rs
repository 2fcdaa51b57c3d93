//! Claim dialects: where a provider puts a token's scopes and its client id. RFC 9068 says
//! `scope` (space-separated) and `client_id`; providers also use `scp` (Entra, Okta),
//! `permissions` (Auth0), `roles` (Entra app roles), `realm_access.roles` and
//! `resource_access.<client>.roles` (Keycloak), `cognito:groups` (Cognito), and `azp`, `cid`
//! (Okta), `appid` (Entra v1) for the client. A dialect is two ordered lists of claim paths;
//! the default (`scope`, `scp`; `client_id`, `azp`, `sub`) is the RFC 9068 reading and costs
//! nothing extra. A configured dialect reads the payload once more, after the signature held.

use serde_json::Value;

use crate::error::{Error, ErrorCode, quote};
use crate::verified::Verified;

/// Most paths in each list, and the longest path, in bytes.
const MAX_PATHS: usize = 16;
const MAX_PATH_BYTES: usize = 256;

/// A claim path: a top-level claim name, or `a.b.c` through nested objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimPath(Box<str>);

impl ClaimPath {
    /// The value at this path. A top-level member whose name is the whole path wins, so that
    /// namespaced claims such as `https://example.com/roles` (Auth0) are found as written.
    fn find<'v>(&self, claims: &'v Value) -> Option<&'v Value> {
        if let Some(value) = claims.get(&*self.0) {
            return Some(value);
        }
        let mut at = claims;
        for segment in self.0.split('.') {
            at = at.as_object()?.get(segment)?;
        }
        Some(at)
    }
}

/// Where scopes and the client id come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Dialect {
    /// `None`: `scope` then `scp`, read by the claims parser itself.
    scopes: Option<Vec<ClaimPath>>,
    /// `None`: `client_id`, else `azp`, else `sub`.
    client_id: Option<Vec<ClaimPath>>,
}

fn paths(option: &str, list: Vec<String>) -> Result<Vec<ClaimPath>, Error> {
    if list.is_empty() || list.len() > MAX_PATHS {
        return Err(Error::config(format!(
            "{option} needs 1 to {MAX_PATHS} claim paths, got {}",
            list.len()
        )));
    }
    list.into_iter()
        .map(|path| {
            let ok = !path.is_empty()
                && path.len() <= MAX_PATH_BYTES
                && !path.split('.').any(str::is_empty);
            if ok {
                Ok(ClaimPath(path.into_boxed_str()))
            } else {
                Err(Error::config(format!(
                    "{option} has the path {}: a claim name, or names joined by '.' for nested objects (at most {MAX_PATH_BYTES} bytes)",
                    quote(&path)
                )))
            }
        })
        .collect()
}

impl Dialect {
    pub(crate) fn new(
        scopes: Option<Vec<String>>,
        client_id: Option<Vec<String>>,
    ) -> Result<Dialect, Error> {
        Ok(Dialect {
            scopes: scopes.map(|l| paths("scope_claims", l)).transpose()?,
            client_id: client_id
                .map(|l| paths("client_id_claims", l))
                .transpose()?,
        })
    }

    /// Whether this is the RFC 9068 reading, which the claims parser already did.
    pub(crate) fn is_default(&self) -> bool {
        self.scopes.is_none() && self.client_id.is_none()
    }

    /// Re-reads scopes and client id from the verified token's claims.
    pub(crate) fn apply(&self, verified: Verified) -> Result<Verified, Error> {
        if self.is_default() {
            return Ok(verified);
        }
        let claims: Value = serde_json::from_str(verified.claims_json())
            .map_err(|_| Error::malformed("token claims are not JSON"))?;
        let scopes = match &self.scopes {
            None => None,
            Some(paths) => {
                let mut scopes: Vec<String> = Vec::new();
                for path in paths {
                    match path.find(&claims) {
                        None | Some(Value::Null) => {}
                        Some(Value::String(s)) => {
                            scopes.extend(s.split_whitespace().map(str::to_owned))
                        }
                        Some(Value::Array(items)) => {
                            for item in items {
                                match item {
                                    Value::String(s) => scopes.push(s.clone()),
                                    _ => {
                                        return Err(dialect_invalid(
                                            path,
                                            "an array with non-string elements",
                                        ));
                                    }
                                }
                            }
                        }
                        Some(_) => {
                            return Err(dialect_invalid(
                                path,
                                "neither a string nor an array of strings",
                            ));
                        }
                    }
                }
                let mut seen = std::collections::HashSet::new();
                scopes.retain(|s| seen.insert(s.clone()));
                Some(scopes)
            }
        };
        let client_id = self.client_id.as_ref().map(|paths| {
            paths.iter().find_map(|path| match path.find(&claims) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
        });
        Ok(verified.with_dialect(scopes, client_id))
    }
}

fn dialect_invalid(path: &ClaimPath, what: &str) -> Error {
    Error::for_claim(
        ErrorCode::ClaimInvalid,
        &path.0,
        format!("{} (a configured scope claim) is {what}", quote(&path.0)),
    )
}

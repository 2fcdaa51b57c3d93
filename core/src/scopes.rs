//! Scope hierarchies: "a broader scope implies narrower ones" (MCP authorization, revision
//! 2026-07-28, "Scope Challenge Handling": servers MUST account for them when deciding whether a
//! token is sufficient). Configured explicitly — none is invented — and applied by every scope
//! check in core: the verifier's required scopes and [`Verified::require_scopes`]
//! (crate::Verified::require_scopes).

/// The scope that stands for every scope (`admin → *`).
pub(crate) const ALL_SCOPES: &str = "*";

/// A configured map broader → narrower scopes, closed transitively when scopes are expanded.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeHierarchy {
    implications: Vec<(Box<str>, Box<str>)>,
}

/// What a credential's own scopes grant beyond themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Granted {
    /// Implied scopes the credential does not carry itself, in discovery order.
    pub(crate) implied: Vec<String>,
    /// Whether one of its scopes implies every scope.
    pub(crate) all: bool,
}

impl ScopeHierarchy {
    pub(crate) fn new(implications: Vec<(String, String)>) -> ScopeHierarchy {
        ScopeHierarchy {
            implications: implications
                .into_iter()
                .map(|(broader, narrower)| (broader.into(), narrower.into()))
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.implications.is_empty()
    }

    /// The scopes `own` implies, transitively (a cycle ends the walk; it grants nothing more).
    pub(crate) fn expand(&self, own: &[String]) -> Granted {
        let mut granted = Granted::default();
        if self.implications.is_empty() {
            return granted;
        }
        let known =
            |s: &str, g: &Granted| own.iter().any(|o| o == s) || g.implied.iter().any(|i| i == s);
        let mut frontier: Vec<String> = own.to_vec();
        while let Some(scope) = frontier.pop() {
            for (broader, narrower) in &self.implications {
                if **broader != *scope {
                    continue;
                }
                if **narrower == *ALL_SCOPES {
                    granted.all = true;
                } else if !known(narrower, &granted) {
                    granted.implied.push(narrower.to_string());
                    frontier.push(narrower.to_string());
                }
            }
        }
        granted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hierarchy() -> ScopeHierarchy {
        ScopeHierarchy::new(vec![
            ("files:write".into(), "files:read".into()),
            ("files:admin".into(), "files:write".into()),
            ("admin".into(), "*".into()),
            ("loop:a".into(), "loop:b".into()),
            ("loop:b".into(), "loop:a".into()),
        ])
    }

    #[test]
    fn implications_close_transitively_and_cycles_end() {
        let own = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let g = hierarchy().expand(&own(&["files:admin"]));
        assert_eq!(g.implied, ["files:write", "files:read"]);
        assert!(!g.all);
        assert!(hierarchy().expand(&own(&["admin"])).all);
        assert_eq!(hierarchy().expand(&own(&["loop:a"])).implied, ["loop:b"]);
        assert_eq!(
            hierarchy().expand(&own(&["files:read"])),
            Granted::default()
        );
        assert_eq!(
            ScopeHierarchy::default().expand(&own(&["admin"])),
            Granted::default()
        );
    }
}

//! What the gate answers: allow with the verified credential, or deny with the status, challenge
//! and error body a resource server sends (RFC 6750 §3, RFC 9449 §7, RFC 9728 §5.1).

use bytes::Bytes;
use jwtgate::{Challenge, Error, ErrorCode, Verified};

/// The outcome of [`Gate::check`](crate::Gate::check).
#[derive(Debug)]
pub enum Decision {
    /// A valid credential with every scope the route needs.
    Allow(Box<Verified>),
    /// A public route: no credential was looked at.
    Public,
    /// Refused: answer with [`Denial::to_response`] (or copy its parts).
    Deny(Denial),
}

/// A refusal, with everything the answer needs. The status and challenge come from the core
/// (`ErrorCode::http_status`, `ProtectedResource::challenge`).
#[derive(Debug)]
pub struct Denial {
    status: u16,
    www_authenticate: Option<String>,
    dpop_nonce: Option<String>,
    oauth_error: Option<&'static str>,
    description: &'static str,
    error: Option<Error>,
    /// Why a request was refused before any credential was looked at (400, 500).
    reason: Option<String>,
}

impl Denial {
    pub(crate) fn from_challenge(challenge: Challenge, error: Option<Error>) -> Denial {
        let description = error
            .as_ref()
            .map_or("A valid access token is required", |e: &Error| {
                e.code().client_description()
            });
        // A missing credential is a plain 401 challenge without an error (RFC 6750 §3.1).
        let error = error.filter(|e| e.code() != ErrorCode::CredentialMissing);
        Denial {
            status: challenge.status,
            www_authenticate: challenge.www_authenticate,
            dpop_nonce: challenge.dpop_nonce,
            oauth_error: challenge.error,
            description,
            error,
            reason: None,
        }
    }

    pub(crate) fn bad_request(reason: String) -> Denial {
        Denial {
            status: 400,
            www_authenticate: None,
            dpop_nonce: None,
            oauth_error: Some("invalid_request"),
            description: "The request path is not acceptable",
            error: None,
            reason: Some(reason),
        }
    }

    pub(crate) fn internal() -> Denial {
        Denial {
            status: 500,
            www_authenticate: None,
            dpop_nonce: None,
            oauth_error: Some("server_error"),
            description: "The server could not verify the credential",
            error: None,
            reason: Some(
                "the verification task failed (a panic, or the runtime shutting down)".to_owned(),
            ),
        }
    }

    /// The HTTP status: 401, 403, 400 (a path that cannot be routed safely), or the core's 5xx.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The stable error code; `None` when the request carried no credential, or was refused
    /// before one was looked at (see [`message`](Denial::message)).
    pub fn code(&self) -> Option<ErrorCode> {
        self.error.as_ref().map(Error::code)
    }

    /// The operator-facing explanation (for the log; never send it to the client).
    pub fn message(&self) -> &str {
        match (&self.error, &self.reason) {
            (Some(error), _) => error.message(),
            (None, Some(reason)) => reason,
            (None, None) => "no credential (Authorization or API-key header) in the request",
        }
    }

    /// The `WWW-Authenticate` value, exactly as the core built it (absent for 5xx and 400).
    pub fn www_authenticate(&self) -> Option<&str> {
        self.www_authenticate.as_deref()
    }

    /// A fresh `DPoP-Nonce` value, when the verifier requires DPoP nonces.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop_nonce.as_deref()
    }

    /// The OAuth error code of the answer (`invalid_token`, `insufficient_scope`,
    /// `invalid_dpop_proof`, `use_dpop_nonce`, `server_error`, `invalid_request`), if any.
    pub fn oauth_error(&self) -> Option<&'static str> {
        self.oauth_error
    }

    /// The full error, with the operator-facing message (log it; never send it to the client).
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// The answer: status, `WWW-Authenticate`, `DPoP-Nonce`, `Cache-Control: no-store`, and a
    /// JSON body `{"error", "error_description"}` with the fixed client description (never the
    /// operator message), or an empty body when there is no error to name.
    pub fn to_response<B: From<Bytes>>(&self) -> http::Response<B> {
        let body = match self.oauth_error {
            Some(error) => {
                let json = serde_json::json!({
                    "error": error,
                    "error_description": self.description,
                });
                Bytes::from(json.to_string())
            }
            None => Bytes::new(),
        };
        let mut builder = http::Response::builder()
            .status(self.status)
            .header(http::header::CACHE_CONTROL, "no-store");
        if self.oauth_error.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        if let Some(value) = self.www_authenticate.as_deref() {
            builder = builder.header(http::header::WWW_AUTHENTICATE, value);
        }
        if let Some(value) = self.dpop_nonce.as_deref() {
            builder = builder.header("dpop-nonce", value);
        }
        match builder.body(B::from(body)) {
            Ok(response) => response,
            // The core's challenge is a valid header value (RFC 9110 quoted strings, controls
            // replaced); this arm only guards against a future change there.
            Err(_) => {
                let mut response = http::Response::new(B::from(Bytes::new()));
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        }
    }
}

"""jwtgate: strict, fast verification of JWT bearer tokens and API keys.

One engine, written in Rust (the ``jwtgate`` crate); this package converts options, results and
errors. Build a :class:`Verifier` once and share it between threads and tasks::

    import jwtgate

    verifier = jwtgate.Verifier(
        issuer="https://auth.example.com",      # keys are discovered from the issuer
        audience="https://mcp.example.com/",
        required_scopes=["tools:call"],
    )
    try:
        claims = verifier.verify(bearer)        # the GIL is released while verifying
    except jwtgate.InvalidToken as e:           # e.code is stable, e.g. "token_expired"
        log.info("rejected (%s): %s", e.code, e.message)
        answer(e.status, e.client_description)  # 401, 403 (InsufficientScope) or 503

In async code, ``await verifier.verify_async(bearer)`` never blocks the event loop: it answers
inline when keys are known and waits for a key fetch in a worker thread.

Adapters: :mod:`jwtgate.fastmcp` (``JWTVerifier`` for FastMCP) and :mod:`jwtgate.mcp`
(``TokenVerifier`` for the MCP Python SDK). Test helpers: :mod:`jwtgate.testing`.
"""

from collections.abc import Mapping

from jwtgate._errors import (
    ConfigError,
    CredentialMissing,
    DPoPError,
    ExpiredToken,
    InsufficientScope,
    InvalidToken,
    KeysUnavailable,
    Unavailable,
)
from jwtgate._native import (
    CRYPTO_BACKEND,
    ERROR_CODES,
    Challenge,
    Claims,
    ErrorCodeInfo,
    KeysStatus,
    ProtectedResource,
    Stats,
    Verifier,
    __version__,
    auth_scheme,
    error_codes,
    now_unix,
    split_authorization,
)

# Claims implements the read-only mapping protocol natively; make isinstance() agree.
Mapping.register(Claims)

__all__ = [
    "CRYPTO_BACKEND",
    "ERROR_CODES",
    "Challenge",
    "Claims",
    "ConfigError",
    "CredentialMissing",
    "DPoPError",
    "ErrorCodeInfo",
    "ExpiredToken",
    "InsufficientScope",
    "InvalidToken",
    "KeysStatus",
    "KeysUnavailable",
    "ProtectedResource",
    "Stats",
    "Unavailable",
    "Verifier",
    "__version__",
    "auth_scheme",
    "error_codes",
    "now_unix",
    "split_authorization",
]

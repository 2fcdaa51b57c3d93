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
    except jwtgate.InsufficientScope as e:      # answer 403
        ...
    except jwtgate.InvalidToken as e:           # answer 401; e.code is stable, e.g. "token_expired"
        ...

In async code, ``await verifier.verify_async(bearer)`` never blocks the event loop: it answers
inline when keys are known and waits for a key fetch in a worker thread.

Adapters: :mod:`jwtgate.fastmcp` (``JWTVerifier`` for FastMCP) and :mod:`jwtgate.mcp`
(``TokenVerifier`` for the MCP Python SDK). Test helpers: :mod:`jwtgate.testing`.
"""

from collections.abc import Mapping
from typing import Any, Optional

from jwtgate._native import (
    CRYPTO_BACKEND,
    ERROR_CODES,
    Claims,
    ConfigError,
    ExpiredToken,
    InsufficientScope,
    InvalidToken,
    KeysStatus,
    KeysUnavailable,
    Verifier,
    __version__,
    now_unix,
)

# Claims implements the read-only mapping protocol natively; make isinstance() agree.
Mapping.register(Claims)

__all__ = [
    "CRYPTO_BACKEND",
    "ERROR_CODES",
    "Claims",
    "ConfigError",
    "ExpiredToken",
    "InsufficientScope",
    "InvalidToken",
    "KeysStatus",
    "KeysUnavailable",
    "Verifier",
    "__version__",
    "now_unix",
]


def _rebuild(cls: type, message: str, code: str, claim: Optional[str]) -> Any:
    """Pickle support for the exception classes: restores ``code`` and ``claim``."""
    error = cls(message)
    error.code, error.message, error.claim = code, message, claim
    return error


def _reduce(self: Any) -> tuple[Any, ...]:
    return (_rebuild, (type(self), self.message, self.code, self.claim))


for _cls in (InvalidToken, ExpiredToken, InsufficientScope, KeysUnavailable, ConfigError):
    setattr(_cls, "__reduce__", _reduce)  # noqa: B010 (a native type: no class statement)
del _cls

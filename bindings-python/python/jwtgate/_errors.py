"""The exception classes of :mod:`jwtgate` (re-exported there).

Every field of an exception comes from the core: ``code``, ``message``, ``claim`` and ``detail``
are set by the native module's one conversion of the core's error, and ``status``,
``client_description`` and ``hint`` are read from the core's table (:func:`jwtgate.error_codes`).
What this module decides is the Python shape: one class per group that users catch, and which
class each code raises.

The classes are written here rather than as Rust ``#[pyclass(extends=ValueError)]`` types because
PyO3 can extend a native exception type only when the limited API is Python 3.12 or later, and
the package is one abi3 wheel for CPython 3.9 and later (pyo3's ``abi3-py39`` feature).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from jwtgate._native import ErrorCodeInfo, error_codes

if TYPE_CHECKING:
    from jwtgate._native import Claims

__all__ = [
    "CLASS_BY_CODE",
    "ConfigError",
    "CredentialMissing",
    "DPoPError",
    "ExpiredToken",
    "InsufficientScope",
    "InvalidToken",
    "KeysUnavailable",
    "Unavailable",
]

_TABLE: dict[str, ErrorCodeInfo] = {info.code: info for info in error_codes()}


class _CoreError(ValueError):
    """The fields every jwtgate exception has (shared by :class:`InvalidToken` and
    :class:`ConfigError`, which are not subclasses of one another)."""

    _default_code = "config_invalid"

    code: str
    """The stable reason: one of ``ERROR_CODES`` (``"token_expired"``, ``"audience_mismatch"``, …)."""
    message: str
    """The explanation for an operator (also ``str(err)``); never contains the token. It may name
    configuration (URLs, the expected issuer): log it, and send clients :attr:`client_description`."""
    claim: Optional[str]
    """The claim concerned (``"exp"``, ``"aud"``, ``"scope"``, …), or None."""
    detail: Optional[dict[str, Any]]
    """Structured facts, or None: the keys ``expected``, ``found``, ``missing_scopes`` (lists of
    str), ``skew_seconds`` (int) and ``kid`` (str), each present only when the error has it."""

    def __init__(
        self,
        message: str = "",
        *,
        code: Optional[str] = None,
        claim: Optional[str] = None,
        detail: Optional[dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        code = self._default_code if code is None else code
        if code not in _TABLE:
            raise ValueError(f"unknown jwtgate error code {code!r}; the codes are jwtgate.ERROR_CODES")
        self.code = code
        self.message = message
        self.claim = claim
        self.detail = detail

    @property
    def status(self) -> int:
        """The HTTP status a resource server answers with: 401, 403 (``insufficient_scope``),
        503 (keys unavailable) or 500 (configuration)."""
        return _TABLE[self.code].status

    @property
    def client_description(self) -> str:
        """A fixed sentence for this code, safe to send to an unauthenticated client (for example
        as a ``WWW-Authenticate`` ``error_description``)."""
        return _TABLE[self.code].client_description

    @property
    def hint(self) -> str:
        """What an operator can do about it, in one line."""
        return _TABLE[self.code].hint

    def __reduce__(self) -> tuple[Any, ...]:
        # (class, args, state): unpickling calls class(message), then BaseException.__setstate__
        # sets the fields. InsufficientScope.claims (a verified credential) is not pickled.
        state = {"code": self.code, "claim": self.claim, "detail": self.detail}
        return (type(self), (self.message,), state)

    def __repr__(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}(code={self.code!r}, message={self.message!r})"


# Each public class says `__module__ = "jwtgate"`: where users find it, and where pickle looks.


class InvalidToken(_CoreError):
    """A credential was rejected. ``.code`` is the stable reason (see ``jwtgate.ERROR_CODES``),
    ``.message`` the explanation for an operator, ``.claim`` the claim concerned or None,
    ``.detail`` the structured facts or None, ``.status`` the HTTP status."""

    __module__ = "jwtgate"
    _default_code = "token_malformed"


class ExpiredToken(InvalidToken):
    """The token's ``exp`` has passed (beyond the leeway): code ``token_expired``."""

    __module__ = "jwtgate"
    _default_code = "token_expired"


class InsufficientScope(InvalidToken):
    """The credential is valid but lacks a required scope: code ``insufficient_scope`` (HTTP
    403). ``.claims`` holds the otherwise valid credential's claims; ``.detail["missing_scopes"]``
    the scopes it lacks."""

    __module__ = "jwtgate"
    _default_code = "insufficient_scope"

    claims: Optional[Claims]
    """The otherwise valid credential's claims (a static token's too); None after unpickling."""

    def __init__(
        self,
        message: str = "",
        *,
        code: Optional[str] = None,
        claim: Optional[str] = None,
        detail: Optional[dict[str, Any]] = None,
        claims: Optional[Claims] = None,
    ) -> None:
        super().__init__(message, code=code, claim=claim, detail=detail)
        self.claims = claims


class CredentialMissing(InvalidToken):
    """The request carried no credential in a scheme the verifier accepts (no ``Authorization``
    header, another scheme, or the ``DPoP`` scheme where DPoP is off): code
    ``credential_missing`` (``verify_request``). Its challenge names no ``error`` (RFC 6750
    §3.1)."""

    __module__ = "jwtgate"
    _default_code = "credential_missing"


class DPoPError(InvalidToken):
    """The request's DPoP proof (RFC 9449) is missing, invalid, replayed, for another key than
    the token is bound to, or lacks the server's nonce: codes ``dpop_proof_missing``,
    ``dpop_proof_invalid``, ``dpop_proof_replayed``, ``dpop_key_mismatch``,
    ``dpop_nonce_required``. A DPoP-bound token sent as a Bearer token is
    ``dpop_proof_missing``."""

    __module__ = "jwtgate"
    _default_code = "dpop_proof_invalid"


class Unavailable(InvalidToken):
    """The server cannot verify right now (HTTP 503); see :class:`KeysUnavailable`, code
    ``dpop_replay_cache_full`` (every slot of the DPoP replay cache holds a proof still in its
    window, so a new proof cannot be checked for replay), and code ``introspection_failed`` (the
    provider's introspection endpoint gave no usable answer, or too many calls were under way)."""

    __module__ = "jwtgate"
    _default_code = "dpop_replay_cache_full"


class KeysUnavailable(Unavailable):
    """No usable key set, so the server cannot verify right now (HTTP 503): remote keys not
    fetched yet or every fetch failed (code ``jwks_unavailable``), or issuer discovery failed
    (code ``discovery_failed``)."""

    __module__ = "jwtgate"
    _default_code = "jwks_unavailable"


class ConfigError(_CoreError):
    """The verifier's configuration is invalid or contradictory: code ``config_invalid``."""

    __module__ = "jwtgate"
    _default_code = "config_invalid"


_KEYS = frozenset({"jwks_unavailable", "discovery_failed"})


def _class_for(info: ErrorCodeInfo) -> type[_CoreError]:
    """The class a code raises, by the core's HTTP status: 403 is the credential that lacks
    scope, 503 a server that cannot verify now (:class:`KeysUnavailable` when it is the keys),
    500 a configuration error, and every 401 an invalid credential (``token_expired``,
    ``credential_missing`` and the DPoP proof codes ``dpop_*`` with their own subclasses)."""
    if info.status == 403:
        return InsufficientScope
    if info.status == 503:
        return KeysUnavailable if info.code in _KEYS else Unavailable
    if info.status == 500:
        return ConfigError
    if info.code == "token_expired":
        return ExpiredToken
    if info.code == "credential_missing":
        return CredentialMissing
    if info.code.startswith("dpop_"):
        return DPoPError
    return InvalidToken


CLASS_BY_CODE: dict[str, type[_CoreError]] = {code: _class_for(info) for code, info in _TABLE.items()}
"""The class each core code raises (the native module's conversion looks the code up here)."""

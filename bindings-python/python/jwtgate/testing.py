"""Minting tokens for tests, benchmarks and local development.

jwtgate is a verifier; :class:`SigningKey` (the core's ``sign::SigningKey``) lets your tests
produce real tokens for every supported algorithm without a second JOSE library::

    from jwtgate.testing import SigningKey, jwks

    key = SigningKey.generate("ES256", "k1")
    verifier = jwtgate.Verifier(issuer="https://idp.test", audience="api", jwks=key.public_jwks())
    token = key.mint({"iss": "https://idp.test", "aud": "api", "exp": jwtgate.now_unix() + 60})
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any, Optional

from jwtgate._native import SigningKey, now_unix

__all__ = ["SigningKey", "dpop_proof", "jwk_thumbprint", "jwks"]

# RFC 7638 §3.2: the required members of each key type, the only ones hashed.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks(*keys: SigningKey) -> str:
    """A JWKS document (JSON text) with the public JWKs of ``keys`` (HMAC keys are left out)."""
    public = [jwk for jwk in (key.public_jwk() for key in keys) if jwk is not None]
    return json.dumps({"keys": public})


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK (base64url): the ``cnf.jkt`` of tokens
    bound to that key (RFC 9449 §6.1)."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def dpop_proof(
    key: SigningKey,
    method: str,
    url: str,
    access_token: Optional[str] = None,
    *,
    nonce: Optional[str] = None,
    iat: Optional[int] = None,
    jti: Optional[str] = None,
    claims: Optional[dict[str, Any]] = None,
) -> str:
    """A DPoP proof (RFC 9449 §4.2) signed by ``key`` with its public JWK in the header: ``htm``
    = ``method``, ``htu`` = ``url`` without query and fragment, ``iat`` now, a fresh ``jti``, and
    ``ath`` (base64url SHA-256 of ``access_token``) when a token is given. ``claims`` are added
    last (to make broken proofs)."""
    jwk = key.public_jwk()
    if jwk is None:
        raise ValueError("a DPoP proof needs an asymmetric key")
    jwk = {k: v for k, v in jwk.items() if k in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    body: dict[str, Any] = {
        "htm": method,
        "htu": url.split("#")[0].split("?")[0],
        "iat": now_unix() if iat is None else iat,
        "jti": jti or str(uuid.uuid4()),
    }
    if access_token is not None:
        body["ath"] = _b64url(hashlib.sha256(access_token.encode()).digest())
    if nonce is not None:
        body["nonce"] = nonce
    body.update(claims or {})
    return key.mint(body, {"typ": "dpop+jwt", "jwk": jwk})

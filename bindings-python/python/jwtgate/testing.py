"""Minting tokens for tests, benchmarks and local development.

jwtgate is a verifier; :class:`SigningKey` (the core's ``sign::SigningKey``) lets your tests
produce real tokens for every supported algorithm without a second JOSE library::

    from jwtgate.testing import SigningKey, jwks

    key = SigningKey.generate("ES256", "k1")
    verifier = jwtgate.Verifier(issuer="https://idp.test", audience="api", jwks=key.public_jwks())
    token = key.mint({"iss": "https://idp.test", "aud": "api", "exp": jwtgate.now_unix() + 60})
"""

from __future__ import annotations

import json

from jwtgate._native import SigningKey

__all__ = ["SigningKey", "jwks"]


def jwks(*keys: SigningKey) -> str:
    """A JWKS document (JSON text) with the public JWKs of ``keys`` (HMAC keys are left out)."""
    public = [jwk for jwk in (key.public_jwk() for key in keys) if jwk is not None]
    return json.dumps({"keys": public})

"""DPoP (RFC 9449) and the request path through the Python package: Verifier.verify_request
(sync, async, nonblocking), the new error classes, Claims.confirmation_jkt, the DPoP options,
and Verifier.protected_resource (metadata and challenges with DPoP, nonces). Proofs are made by
jwtgate.testing.dpop_proof; the real client library (oauth4webapi) and the real IdP run in
tests/test_mcp_conformance.py and tests/test_dpop_servers.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import jwtgate
from jwtgate.testing import SigningKey, dpop_proof, jwk_thumbprint, jwks

ISS = "https://idp.example.test"
RESOURCE = "https://mcp.example.test/mcp"


@pytest.fixture(scope="module")
def issuer_key() -> SigningKey:
    return SigningKey.generate("ES256", "issuer-1")


@pytest.fixture(scope="module")
def client_key() -> SigningKey:
    return SigningKey.generate("EdDSA", "client")


def verifier(issuer_key: SigningKey, **options: Any) -> jwtgate.Verifier:
    return jwtgate.Verifier(issuer=ISS, audience=RESOURCE, jwks=jwks(issuer_key), **options)


def token(issuer_key: SigningKey, bound_to: SigningKey | None = None, **claims: Any) -> str:
    now = jwtgate.now_unix()
    body: dict[str, Any] = {"iss": ISS, "aud": RESOURCE, "sub": "alice", "client_id": "app",
                            "scope": "tools:call", "iat": now, "exp": now + 300}
    if bound_to is not None:
        body["cnf"] = {"jkt": jwk_thumbprint(bound_to.public_jwk())}
    body.update(claims)
    return issuer_key.mint(body)


def test_bearer_and_the_dpop_scheme(issuer_key, client_key) -> None:
    v = verifier(issuer_key)
    plain = token(issuer_key)
    assert v.verify_request("POST", RESOURCE, f"Bearer {plain}").client_id == "app"
    assert v.verify_request("POST", RESOURCE, f"bearer {plain}").confirmation_jkt is None
    bound = token(issuer_key, client_key)
    claims = v.verify_request("POST", f"{RESOURCE}?session=1", f"DPoP {bound}",
                              dpop_proof(client_key, "POST", RESOURCE, bound))
    assert claims.confirmation_jkt == jwk_thumbprint(client_key.public_jwk())
    # One proof as a list of header values, too.
    assert v.verify_request("POST", RESOURCE, f"DPoP {bound}", [dpop_proof(client_key, "POST", RESOURCE, bound)])


@pytest.mark.parametrize("authorization", [None, "Basic YTpi", "Bearer ", "Negotiate x"])
def test_no_usable_credential_is_credential_missing(issuer_key, authorization) -> None:
    with pytest.raises(jwtgate.CredentialMissing) as e:
        verifier(issuer_key).verify_request("GET", RESOURCE, authorization)
    assert e.value.code == "credential_missing" and e.value.status == 401
    challenge = jwtgate.ProtectedResource(RESOURCE, [ISS]).challenge(e.value, ["tools:call"])
    assert challenge.status == 401 and "error=" not in (challenge.www_authenticate or "")


def test_a_bound_token_is_never_accepted_as_bearer(issuer_key, client_key) -> None:
    v = verifier(issuer_key)
    bound = token(issuer_key, client_key)
    for attempt in (lambda: v.verify(bound),
                    lambda: v.verify_request("POST", RESOURCE, f"Bearer {bound}"),
                    lambda: v.verify_request("POST", RESOURCE, f"Bearer {bound}",
                                             dpop_proof(client_key, "POST", RESOURCE, bound))):
        with pytest.raises(jwtgate.DPoPError) as e:
            attempt()
        assert e.value.code == "dpop_proof_missing"
    off = verifier(issuer_key, dpop="off")
    with pytest.raises(jwtgate.DPoPError):
        off.verify(bound)


@pytest.mark.parametrize("case", ["replay", "htm", "htu", "ath", "no ath", "stale iat", "other key",
                                  "private key in header", "typ", "two proofs", "no proof"])
def test_proof_failures(issuer_key, client_key, case: str) -> None:
    v = verifier(issuer_key)
    bound = token(issuer_key, client_key)
    other = SigningKey.generate("ES256", "other")
    proofs: Any = dpop_proof(client_key, "POST", RESOURCE, bound)
    expected = "dpop_proof_invalid"
    if case == "replay":
        v.verify_request("POST", RESOURCE, f"DPoP {bound}", proofs)
        expected = "dpop_proof_replayed"
    elif case == "htm":
        proofs = dpop_proof(client_key, "GET", RESOURCE, bound)
    elif case == "htu":
        proofs = dpop_proof(client_key, "POST", "https://mcp.example.test/other", bound)
    elif case == "ath":
        proofs = dpop_proof(client_key, "POST", RESOURCE, "another token")
    elif case == "no ath":
        proofs = dpop_proof(client_key, "POST", RESOURCE)
    elif case == "stale iat":
        proofs = dpop_proof(client_key, "POST", RESOURCE, bound, iat=jwtgate.now_unix() - 301)
    elif case == "other key":
        proofs = dpop_proof(other, "POST", RESOURCE, bound)
        expected = "dpop_key_mismatch"
    elif case == "private key in header":
        proofs = dpop_proof(client_key, "POST", RESOURCE, bound)
        header, rest = proofs.split(".", 1)
        import base64
        import json

        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        decoded["jwk"]["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
        payload = rest.split(".")[0]
        proofs = client_key.sign_raw(json.dumps(decoded).encode(),
                                     base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    elif case == "typ":
        proofs = client_key.mint({"htm": "POST", "htu": RESOURCE, "iat": jwtgate.now_unix(), "jti": "y"},
                                 {"typ": "JWT", "jwk": client_key.public_jwk()})
    elif case == "two proofs":
        proofs = [proofs, dpop_proof(client_key, "POST", RESOURCE, bound)]
    elif case == "no proof":
        proofs = None
        expected = "dpop_proof_missing"
    with pytest.raises(jwtgate.DPoPError) as e:
        v.verify_request("POST", RESOURCE, f"DPoP {bound}", proofs)
    assert e.value.code == expected, e.value.message
    if case == "private key in header":
        assert "private" in e.value.message, e.value.message
    challenge = v.protected_resource(RESOURCE).challenge(e.value, ["tools:call"])
    assert challenge.status == 401
    assert challenge.www_authenticate is not None and "DPoP " in challenge.www_authenticate


def test_required_mode_refuses_bearer_tokens(issuer_key, client_key) -> None:
    v = verifier(issuer_key, dpop="required")
    with pytest.raises(jwtgate.DPoPError) as e:
        v.verify_request("POST", RESOURCE, f"Bearer {token(issuer_key)}")
    assert e.value.code == "dpop_proof_missing"
    bound = token(issuer_key, client_key)
    assert v.verify_request("POST", RESOURCE, f"DPoP {bound}", dpop_proof(client_key, "POST", RESOURCE, bound))


def test_off_mode_refuses_the_dpop_scheme(issuer_key, client_key) -> None:
    bound = token(issuer_key, client_key)
    with pytest.raises(jwtgate.CredentialMissing):
        verifier(issuer_key, dpop="off").verify_request(
            "POST", RESOURCE, f"DPoP {bound}", dpop_proof(client_key, "POST", RESOURCE, bound))


def test_nonces_come_with_the_challenge(issuer_key, client_key) -> None:
    v = verifier(issuer_key, dpop_nonce=True)
    bound = token(issuer_key, client_key)
    with pytest.raises(jwtgate.DPoPError) as e:
        v.verify_request("POST", RESOURCE, f"DPoP {bound}", dpop_proof(client_key, "POST", RESOURCE, bound))
    assert e.value.code == "dpop_nonce_required"
    challenge = v.protected_resource(RESOURCE).challenge(e.value, ["tools:call"])
    assert challenge.dpop_nonce and ("DPoP-Nonce", challenge.dpop_nonce) in challenge.headers()
    proof = dpop_proof(client_key, "POST", RESOURCE, bound, nonce=challenge.dpop_nonce)
    assert v.verify_request("POST", RESOURCE, f"DPoP {bound}", proof).confirmation_jkt


def test_protected_resource_advertises_dpop(issuer_key) -> None:
    allowed = verifier(issuer_key, required_scopes=["tools:call"], dpop_algorithms=["ES256", "EdDSA"])
    document = allowed.protected_resource(RESOURCE).metadata()
    assert document["authorization_servers"] == [ISS] and document["scopes_supported"] == ["tools:call"]
    assert document["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA"]
    assert "dpop_bound_access_tokens_required" not in document
    required = verifier(issuer_key, dpop="required").protected_resource(RESOURCE, ["https://as.test"], ["a"])
    assert required.metadata()["dpop_bound_access_tokens_required"] is True
    assert required.metadata()["authorization_servers"] == ["https://as.test"]
    challenge = required.challenge(None, ["a"]).www_authenticate or ""
    assert challenge.startswith("DPoP algs=") or ", DPoP algs=" in challenge
    off = verifier(issuer_key, dpop="off").protected_resource(RESOURCE).metadata()
    assert "dpop_signing_alg_values_supported" not in off
    assert verifier(issuer_key).issuers == [ISS]


def test_async_and_nonblocking_forms(issuer_key, client_key) -> None:
    v = verifier(issuer_key)
    bound = token(issuer_key, client_key)

    async def run() -> None:
        claims = await v.verify_request_async("POST", RESOURCE, f"DPoP {bound}",
                                              dpop_proof(client_key, "POST", RESOURCE, bound))
        assert claims.sub == "alice"
        with pytest.raises(jwtgate.DPoPError):
            await v.verify_request_async("POST", RESOURCE, f"Bearer {bound}")

    asyncio.run(run())
    assert v.verify_request_nonblocking("POST", RESOURCE, f"DPoP {bound}",
                                        dpop_proof(client_key, "POST", RESOURCE, bound)) is not None


def test_dpop_options_are_checked(issuer_key) -> None:
    for options in ({"dpop": "sometimes"}, {"dpop_algorithms": ["HS256"]}, {"dpop_algorithms": []},
                    {"dpop_iat_window": 0}, {"dpop_replay_cache_size": 0}, {"dpop_algorithms": ["XX1"]}):
        with pytest.raises(jwtgate.ConfigError):
            verifier(issuer_key, **options)
    for options in ({"dpop": 1}, {"dpop_nonce": "yes"}, {"dpop_replay_cache_size": "1"}):
        with pytest.raises(TypeError):
            verifier(issuer_key, **options)
    with pytest.raises(TypeError):
        verifier(issuer_key).verify_request("POST", RESOURCE, "Bearer x", 3)
    with pytest.raises(jwtgate.DPoPError):
        verifier(issuer_key).verify_request("POST", RESOURCE, "DPoP x", "\ud800")

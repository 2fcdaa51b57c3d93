"""Claims as a mapping: the binding builds the dict from the signed JSON itself (Python's `json`
only for what it leaves to it); the result must be exactly `json.loads` of the same text —
values, their types, and the order of names — whatever the JSON looks like."""

from __future__ import annotations

import json
from typing import Any

import pytest

import jwtgate
from jwtgate.testing import SigningKey

ISS = "https://idp.example.test"
AUD = "https://mcp.example.test/"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256", "claims-dict")


@pytest.fixture(scope="module")
def verifier(key: SigningKey) -> jwtgate.Verifier:
    return jwtgate.Verifier(issuer=ISS, audience=AUD, jwks=key.public_jwks(), algorithms=["ES256"])


def same(a: Any, b: Any) -> bool:
    """Equal values of the very same types, dicts with their names in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def payload(extra: str) -> str:
    now = jwtgate.now_unix()
    return f'{{"iss":"{ISS}","aud":"{AUD}","sub":"alice","exp":{now + 300}{extra}}}'


# Each: the JSON text after the registered claims (",name:value" members), as an identity
# provider might write it.
SHAPES = [
    "",
    ',"n":0,"neg":-7,"zero":-0,"max":18446744073709551615,"min":-9223372036854775808',
    ',"beyond":18446744073709551616,"below":-9223372036854775809,"huge":123456789012345678901234567890',
    ',"f":1.5,"e":1e3,"E":2E-2,"ef":-0.0,"third":0.1',
    ',"s":"plain","empty":"","esc":"q\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f"',
    ',"u":"\\u00e9\\u4e2d\\u0000\\u001f","pair":"\\ud83d\\ude00","raw":"é中😀"',
    ',"lone":"\\ud800","lone2":"\\udc00x"',
    ',"t":true,"f":false,"z":null,"a":[],"o":{},"nested":{"b":[1,{"c":[null,true]}],"a":"x"}',
    ',"deep":' + "[" * 30 + '{"a":1}' + "]" * 30,
    ',"dup":1,"dup":2',
    ',"scope":"tools:call read","scp":["a","b"],"roles":{"x":["y"]}',
]


@pytest.mark.parametrize("extra", SHAPES)
def test_to_dict_is_json_loads(key: SigningKey, verifier: jwtgate.Verifier, extra: str) -> None:
    text = payload(extra)
    for spacing in (text, text.replace(",", " ,\n\t").replace(":", " : ") + " \r\n"):
        token = key.sign_raw(b'{"alg":"ES256","kid":"claims-dict","typ":"JWT"}', spacing.encode())
        try:
            claims = verifier.verify(token)
        except jwtgate.InvalidToken:
            continue  # the core's rule, not this conversion's (duplicate names, say)
        expected = json.loads(claims.claims_json)
        assert same(claims.to_dict(), expected)
        assert same(dict(claims.items()), expected)
        assert list(claims) == list(expected)


def test_the_accepted_shapes_cover_the_conversion(key: SigningKey, verifier: jwtgate.Verifier) -> None:
    """The shapes above reach the conversion (a core refusing them would leave the test above
    empty), except those the core refuses by its own rules: a lone surrogate, a repeated name."""
    accepted = 0
    for extra in SHAPES:
        token = key.sign_raw(b'{"alg":"ES256","kid":"claims-dict","typ":"JWT"}', payload(extra).encode())
        try:
            verifier.verify(token)
            accepted += 1
        except jwtgate.InvalidToken:
            pass
    assert accepted == len(SHAPES) - 2

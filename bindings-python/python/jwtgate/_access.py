"""A verified credential as a framework's ``AccessToken`` (FastMCP's, the MCP SDK's), cheaply.

An MCP client sends the same token on every request of a session, and the core answers it from
its cache in a fraction of a microsecond; pydantic's validation (or ``model_construct``, slower
still) of the ``AccessToken`` would cost ten times that. So:

* the model is assembled the way ``model_construct`` finally does it (``__dict__``, the fields
  set, no extras, no private attributes), from values that already have the declared types: the
  core's ``str``, ``int`` and ``list[str]``, and the claims ``dict`` parsed from JSON. Where the
  model is not that plain (private attributes, extras allowed, a post-init hook, a required or
  factory-defaulted field jwtgate does not fill), it is validated as usual instead;
* the values of recently converted credentials are kept, keyed by the core's ``token_id`` and
  checked against the token's text, and used only after the core has verified that token again
  in the same call: which credentials pass, and until when, stays the core's decision. Every
  call still gets an ``AccessToken`` of its own, with its own ``claims`` dict and ``scopes``
  list (frameworks add to them: FastMCP's ``OAuthProxy`` writes ``upstream_claims`` into
  ``claims``), so nothing one request changes reaches another. Introspected credentials are
  converted anew each time: the provider's answer for the same text may change;
* both are done in one native call (``jwtgate._native._AccessTokens``: the values straight from
  the core's result, the claims parsed once), and ``cached(verifier, token)`` asks the core for
  its cache answer (``Verifier.verify_cached``: the core re-checks the token's window and key on
  every hit) and converts it in the same call, the GIL held throughout — what an adapter's
  ``verify_token`` does first outside jwtgate's middleware. The Python assembly below remains
  for models whose other fields have defaults that are not plainly immutable.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Optional, TypeVar

from pydantic import BaseModel

import jwtgate
from jwtgate._native import _AccessTokens

M = TypeVar("M", bound=BaseModel)

# Defaults the native assembly shares between instances (no one can change them in place).
_IMMUTABLE = (type(None), bool, int, float, str, bytes)

# What BaseModel instances hold besides their fields (pydantic 2's BaseModel.__slots__).
_SLOTS = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")

_ours = ("token", "client_id", "scopes", "expires_at", "resource", "subject", "claims")


def values_of(token: str, claims: jwtgate.Claims) -> dict[str, Any]:
    """The ``AccessToken`` fields jwtgate fills, from the core's result (each a new object)."""
    return {
        "token": token,
        "client_id": claims.client_id or "",  # None only for a JWT naming no client: "" here
        "scopes": claims.granted_scopes,
        "expires_at": claims.exp,
        "resource": claims.audience_matched,
        "subject": claims.sub,
        "claims": claims.to_dict(),
    }


Makers = tuple[Callable[[dict[str, Any]], M], Callable[[dict[str, Any]], M]]


def _instance_makers(model: type[M], given: frozenset[str], mutable: tuple[str, ...]) -> Optional[Makers[M]]:
    """``(make, again)``, or None when the model needs its validation. ``make(values)``: an
    instance of ``model`` whose ``__dict__`` is ``values`` (taken as it is: every field, in
    declaration order) and whose fields set are ``given`` (as ``model_construct`` with those).
    ``again(kept)``: ``make`` of a copy of ``kept`` whose ``mutable`` values are copies too (the
    cached path, the common case written out: one call less per request)."""
    plain = (
        not model.__private_attributes__
        and model.model_config.get("extra") in (None, "ignore")
        and model.model_post_init is BaseModel.model_post_init
    )
    if not plain:
        return None
    new = model.__new__
    # The slots' own setters (BaseModel.__setattr__ would validate; object.__setattr__ looks
    # each name up first).
    slots = {name: getattr(BaseModel.__dict__.get(name), "__set__", None) for name in _SLOTS}
    set_dict, set_fields, set_extra, set_private = (slots[name] for name in _SLOTS)
    if set_dict is None or set_fields is None or set_extra is None or set_private is None:
        return None

    def make(values: dict[str, Any]) -> M:
        instance = new(model)
        set_dict(instance, values)
        set_fields(instance, set(given))
        set_extra(instance, None)
        set_private(instance, None)
        return instance

    def again_generic(kept: dict[str, Any]) -> M:
        values = kept.copy()
        for name in mutable:
            values[name] = values[name].copy()
        return make(values)

    def again(kept: dict[str, Any]) -> M:
        values = kept.copy()
        values["claims"] = values["claims"].copy()
        values["scopes"] = values["scopes"].copy()
        instance = new(model)
        set_dict(instance, values)
        set_fields(instance, set(given))
        set_extra(instance, None)
        set_private(instance, None)
        return instance

    return make, again if mutable == ("claims", "scopes") else again_generic


def _not_cached(verifier: jwtgate.Verifier, token: str) -> None:
    """``AccessTokens.cached`` where the model needs its validation: no shortcut."""
    return None


# Most conversions kept (each holds a token and its claims: a few kB).
_MAX_KEPT = 8192


class AccessTokens(Generic[M]):
    """Converts the credentials ``verifier`` verifies to ``model`` instances, keeping as many
    recent conversions as the verifier's cache keeps verified tokens (none when it has no
    cache: the application asked for no caching), at most 8192."""

    def __init__(self, model: type[M], verifier: jwtgate.Verifier) -> None:
        self.model = model
        self.limit = min(verifier.stats().cache_capacity, _MAX_KEPT)
        fields = model.model_fields
        # The fields jwtgate fills that this model has (the MCP SDK 1.x's has fewer).
        self._fields = tuple(name for name in _ours if name in fields)
        # The values each request gets a copy of (frameworks and tools add to them).
        self._mutable = tuple(name for name in ("claims", "scopes") if name in fields)
        makers = _instance_makers(model, frozenset(self._fields), self._mutable)
        others = {name: f for name, f in fields.items() if name not in _ours}
        if any(f.default_factory is not None or f.is_required() for f in others.values()):
            makers = None
        self._make: Optional[Callable[[dict[str, Any]], M]] = None
        self._again: Optional[Callable[[dict[str, Any]], M]] = None
        if makers is not None:
            self._make, self._again = makers
        # The model's other fields (FastMCP's original_client_id), at their defaults; the
        # field order of the model is kept.
        self._defaults = {name: f.get_default() for name, f in others.items()}
        self._order = tuple(fields)
        # The model's fields are jwtgate's then its others, in that order: values_of's dict
        # plus the defaults is the instance's __dict__ as it is.
        self._in_order = self._order == _ours + tuple(self._defaults)
        self._recent: dict[int, tuple[str, dict[str, Any]]] = {}
        self.convert: Callable[[str, jwtgate.Claims], M] = self._convert
        self.of: Callable[[str, jwtgate.Claims], M] = self._of
        self.cached: Callable[[jwtgate.Verifier, str], Optional[M]] = _not_cached
        self._native: Optional[_AccessTokens] = None
        immutable = all(type(v) in _IMMUTABLE for v in self._defaults.values())
        if makers is not None and immutable:
            # The same assembly in one native call (values straight from the core's result),
            # about half the cost: bound here so that a call is one call.
            slot = {name: getattr(BaseModel.__dict__[name], "__set__") for name in _SLOTS}
            setters = (slot["__dict__"], slot["__pydantic_fields_set__"], slot["__pydantic_extra__"],
                       slot["__pydantic_private__"])
            self._native = _AccessTokens(model, list(self._order), self._defaults, setters, self.limit)
            self.convert = self._native.convert
            self.of = self._native.of
            self.cached = self._native.cached

    def clear(self) -> None:
        self._recent.clear()
        if self._native is not None:
            self._native.clear()

    def _convert(self, token: str, claims: jwtgate.Claims) -> M:
        """``claims`` (the core's result for ``token``, just now) as an access token, built
        anew."""
        values = values_of(token, claims)
        if self._make is None:
            return self.model(**{name: values[name] for name in self._fields})
        values.update(self._defaults)
        if self._in_order:
            return self._make(values)
        return self._make({name: values[name] for name in self._order})

    def _of(self, token: str, claims: jwtgate.Claims) -> M:
        """``convert``, from the values kept for the same credential when there are some."""
        found = self._recent.get(claims.token_id)
        if found is not None and found[0] == token:
            return self._again(found[1])  # type: ignore[misc]  # kept only when there is one
        access = self.convert(token, claims)
        if self.limit and self._make is not None and claims.kind != "introspected":
            recent = self._recent
            if len(recent) >= self.limit:
                recent.clear()
            kept = access.__dict__.copy()
            for name in self._mutable:
                kept[name] = kept[name].copy()
            recent[claims.token_id] = (token, kept)
        return access

"""jwtgate's authentication middleware for the Starlette apps of FastMCP and the MCP Python SDK.

Both frameworks authenticate with Starlette's ``AuthenticationMiddleware`` and a bearer backend
that hands their token verifier only the token string, and refuse requests on the MCP endpoint
with their own ``RequireAuthMiddleware``. jwtgate puts :class:`AuthMiddleware` in the place of
the former. It sees the whole request, so that:

* the credential is verified together with the request it came with (``verify_request``: the
  ``Bearer`` or ``DPoP`` scheme, and the DPoP proof of RFC 9449 against the request's method and
  URL), so a DPoP-bound token is accepted only with its proof. The URL is the server's configured
  origin plus the raw path and query the client sent (:class:`HttpRequest`), never what ``Host``
  or ``X-Forwarded-*`` claim; the token is the one the core reads from ``Authorization``
  (:func:`jwtgate.split_authorization`);
* without ``Authorization``, an ``X-API-Key`` header is the credential: the core takes it as a
  configured static token only, never as a JWT. Only jwtgate's verifiers read it: a framework's
  own verifier never decides on it (it would take a JWT there as a Bearer token);
* a request refused on the MCP endpoint is answered with the core's challenge
  (:meth:`jwtgate.ProtectedResource.challenge`: 401 without ``error=`` when no credential was
  sent, 401 ``invalid_token``, 403 ``insufficient_scope`` with every scope the endpoint needs,
  503 when keys are unavailable — MCP authorization, RFC 6750 §3, RFC 9728 §5.1), with its
  ``WWW-Authenticate`` value sent as it is;
* the framework's own checks that follow see an authenticated user whose scopes include the
  required scopes the core found granted (scope hierarchies included), and an ``Authorization:
  Bearer <token>`` header carrying the credential the core verified (the frameworks look for
  one before they look at the user).

The framework's token verification (``MultiAuth``'s sources, ``RemoteAuthProvider``'s verifier)
still decides who the caller is: the middleware calls it, and jwtgate's verifiers inside it find
the request in :data:`_ATTEMPT` and report their rejections there. A DPoP proof one of them
refused is final for the request (:attr:`Attempt.final`), and a refusal is answered with the
challenge of the verifier that refused (its server nonce).
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Union
from urllib.parse import quote, urlsplit

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.types import ASGIApp, Receive, Scope, Send

import jwtgate
from jwtgate._aio import run_in_thread

if TYPE_CHECKING:
    from jwtgate._native import Claims

# Codes that say "this credential is not for me" rather than "this credential is bad": when
# several verifiers refuse one credential, the answer names the refusal of the one it was for.
_NOT_MINE = frozenset({"issuer_mismatch", "token_unknown"})


def audience_match_options(audience_match: Any, providers: Any) -> dict[str, Any]:
    """The adapters' ``audience_match`` (``"canonical"`` by default: MCP clients name the
    resource by its canonical URI, RFC 8707), as :class:`jwtgate.Verifier` options: on each
    provider that sets none when there are ``providers`` (the audience is theirs), else on the
    verifier."""
    if not providers:
        return {"audience_match": audience_match}
    if isinstance(providers, (str, bytes, Mapping)) or not isinstance(providers, Iterable):
        return {"providers": providers}  # the core's conversion names the mistake
    return {"providers": [
        {"audience_match": audience_match, **p} if isinstance(p, Mapping) and "audience_match" not in p else p
        for p in providers
    ]}


def origin_of(url: Any) -> Optional[str]:
    """``scheme://host[:port]`` of a configured http(s) URL (the server's public URL), or None."""
    if url is None:
        return None
    parts = urlsplit(str(url))
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc}"


# RFC 3986 §3.3: what a path may hold unencoded (for servers that give no `raw_path`).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _raw_target(scope: Scope) -> str:
    """The request's path as the client sent it (percent-encoding intact): ASGI's ``raw_path``,
    with ``root_path`` (the mount or proxy prefix) in front when the server left it out."""
    raw = scope.get("raw_path")
    root: str = scope.get("root_path", "") or ""
    if raw is None:
        # The server does not say what it received: re-encode the decoded path.
        path: str = scope.get("path", "")
        if root and not path.startswith(root):
            path = root + path
        return quote(path, safe=_PATH_SAFE)
    target = bytes(raw).decode("latin-1")
    root_raw = quote(root, safe=_PATH_SAFE)
    if root_raw and target.startswith("/") and not target.startswith(root_raw):
        target = root_raw + target
    return target


@dataclass
class HttpRequest:
    """A request as the client sent it: what the core needs to verify its credential."""

    method: str
    url: str
    """The resource's configured origin + the request's raw path and query: the URL a DPoP
    proof's ``htu`` must name (RFC 9449 §4.3). Never from the ``Host`` header, the ASGI scheme or
    ``X-Forwarded-*`` (a client or proxy sets those). Without a configured origin, or for a
    request target that is not origin-form (RFC 9112 §3.2.1: absolute-form, asterisk-form), it
    is not an absolute URL and the core refuses every DPoP proof; Bearer credentials are not
    affected."""
    authorization: Optional[str]
    dpop: list[str] = field(default_factory=list)
    """Every ``DPoP`` header value (RFC 9449 §4.3: more than one is refused)."""
    api_key: Optional[str] = None
    """The ``X-API-Key`` header value; several fields are combined with ``", "`` as HTTP
    combines a repeated field (RFC 9110 §5.3), a value that matches no configured key."""

    @classmethod
    def from_scope(cls, scope: Scope, origin: Optional[str]) -> HttpRequest:
        """The request of an ASGI ``scope``; ``origin`` is the server's configured public origin
        (``scheme://host[:port]``), None when unknown."""
        authorization: Optional[str] = None
        dpop: list[str] = []
        api_keys: list[str] = []
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                # Several Authorization headers: the first decides, as Starlette's does.
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == b"dpop":
                dpop.append(value.decode("latin-1"))
            elif name == b"x-api-key":
                api_keys.append(value.decode("latin-1"))
        target = _raw_target(scope)
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        if not target.startswith("/"):
            url = ""  # not origin-form: no URL a proof could name
        else:
            # Concatenation, never URL resolution: `//host/x` stays a path under the origin.
            url = (origin or "") + target + (f"?{query}" if query else "")
        return cls(method=scope.get("method", "GET"), url=url, authorization=authorization, dpop=dpop,
                   api_key=", ".join(api_keys) if api_keys else None)

    def credential(self) -> tuple[Optional[str], Optional[str]]:
        """The scheme and the credential as the core reads them (``verify_request``):
        ``("bearer" | "dpop", token)`` from ``Authorization`` (split by
        :func:`jwtgate.split_authorization`, the scheme named by :func:`jwtgate.auth_scheme`);
        without that header, ``("api_key", key)`` from ``X-API-Key`` (spaces and tabs around it
        dropped, as the core does); ``(None, None)`` otherwise — an ``Authorization`` header of
        another scheme, or without a token, hides any ``X-API-Key`` (the core reads the latter
        only when the former is absent). Which scheme is acceptable, and the proof, is the
        core's to judge."""
        if self.authorization is None:
            key = self.api_key.strip(" \t") if self.api_key is not None else ""
            return ("api_key", key) if key else (None, None)
        name, token = jwtgate.split_authorization(self.authorization)
        scheme = jwtgate.auth_scheme(name)
        return (scheme, token) if scheme is not None and token else (None, None)

    def token(self) -> Optional[str]:
        """The credential the core reads (:meth:`credential`), None when there is none."""
        return self.credential()[1]

    def scheme(self) -> Optional[str]:
        """``"bearer"``, ``"dpop"`` or ``"api_key"``: how the request carries its credential."""
        return self.credential()[0]

    def verify_nonblocking(self, verifier: jwtgate.Verifier) -> Optional[Claims]:
        """``verifier.verify_request_nonblocking`` of this request: None when it needs a key
        fetch."""
        return verifier.verify_request_nonblocking(
            self.method, self.url, self.authorization, self.dpop, self.api_key
        )

    async def verify(self, verifier: jwtgate.Verifier) -> Claims:
        """``verifier.verify_request`` of this request, never blocking the event loop."""
        args = (self.method, self.url, self.authorization, self.dpop, self.api_key)
        claims = verifier.verify_request_nonblocking(*args)
        if claims is None:
            claims = await run_in_thread(verifier.verify_request, *args)
        return claims


@dataclass
class Attempt:
    """One request's authentication, as jwtgate's verifiers inside a framework saw it."""

    request: HttpRequest
    token: str
    rejections: list[tuple[Any, jwtgate.InvalidToken]] = field(default_factory=list)
    """(verifier, error) for each jwtgate verifier that refused the credential, in order."""
    accepted: Optional[Claims] = None
    """The claims of the last jwtgate verifier that accepted it."""
    accepted_by: Any = None
    """That verifier."""
    final: Optional[tuple[Any, jwtgate.InvalidToken]] = None
    """A refusal no other verifier may overturn: the DPoP proof of a request in the ``DPoP``
    scheme was refused by a verifier the token verified with (RFC 9449 §11.1: each verifier
    remembers the proofs and issues the nonces it checked, so another one would accept a
    replayed proof or one without its nonce)."""

    def rejection(self) -> Optional[tuple[Any, jwtgate.InvalidToken]]:
        """The refusal to answer with: a final one first, then a scope shortfall (the
        credential is good), then the first refusal by a verifier the credential was for, then
        the first refusal."""
        if self.final is not None:
            return self.final
        for entry in self.rejections:
            if isinstance(entry[1], jwtgate.InsufficientScope):
                return entry
        for entry in self.rejections:
            if entry[1].code not in _NOT_MINE and entry[1].status < 500:
                return entry
        for entry in self.rejections:
            if entry[1].status >= 500:
                return entry
        return self.rejections[0] if self.rejections else None


_ATTEMPT: ContextVar[Optional[Attempt]] = ContextVar("jwtgate_attempt", default=None)


def current_attempt(token: str) -> Optional[Attempt]:
    """The request being authenticated by :class:`AuthMiddleware`, if ``token`` is its
    credential (a verifier called for another token is not part of it)."""
    attempt = _ATTEMPT.get()
    return attempt if attempt is not None and attempt.token == token else None


class Pending(enum.Enum):
    """:func:`verify_now`'s answer when only waiting can answer (a key fetch)."""

    PENDING = "pending"


PENDING = Pending.PENDING


def verify_now(verifier: Any, core: jwtgate.Verifier, token: str) -> Union[Claims, None, Pending]:
    """:func:`verify_for` without waiting, for the framework's ``verify_token`` to call inline
    (no coroutine of its own: the cached path costs a fraction of a microsecond): the claims,
    None when refused, or :data:`PENDING` when the answer needs a key fetch (then
    :func:`verify_for` waits for it in a worker thread)."""
    attempt = _ATTEMPT.get()  # current_attempt(token), inline
    if attempt is not None:
        if attempt.token != token:
            attempt = None
        elif attempt.final is not None:
            return None
    try:
        if attempt is not None:
            claims = attempt.request.verify_nonblocking(core)
        else:
            claims = core.verify_nonblocking(token)
    except jwtgate.InvalidToken as e:
        _refused(verifier, attempt, e)
        return None
    if claims is None:
        return PENDING
    if attempt is not None:
        attempt.accepted, attempt.accepted_by = claims, verifier
    return claims


def _refused(verifier: Any, attempt: Optional[Attempt], e: jwtgate.InvalidToken) -> None:
    if attempt is not None:
        attempt.rejections.append((verifier, e))
        if e.code.startswith("dpop_") and attempt.request.scheme() == "dpop":
            attempt.final = (verifier, e)
    logging.getLogger(type(verifier).__module__).debug(
        "jwtgate: credential rejected (%s): %s", e.code, e.message
    )


def refused(verifier: Any, e: jwtgate.InvalidToken) -> None:
    """Reports ``verifier``'s refusal of a token verified outside the middleware (as
    :func:`verify_now` does)."""
    _refused(verifier, None, e)


async def verify_for(verifier: Any, core: jwtgate.Verifier, token: str) -> Optional[Claims]:
    """What a jwtgate verifier inside a framework does with ``token``: the request's
    verification when :class:`AuthMiddleware` is authenticating the request it came with
    (``verify_request``), otherwise the token's alone (``verify``: a DPoP-bound token is then
    refused, and so is every token of a verifier with ``dpop="required"``). Records the outcome
    for the middleware; None when refused. Once a verifier's refusal of the request is final
    (:attr:`Attempt.final`), the verifiers after it refuse too, without verifying."""
    now = verify_now(verifier, core, token)
    if now is not PENDING:
        return now
    attempt = current_attempt(token)
    claims: Claims
    try:
        if attempt is not None:
            claims = await attempt.request.verify(core)
        else:
            claims = await run_in_thread(core.verify, token)
    except jwtgate.InvalidToken as e:
        _refused(verifier, attempt, e)
        return None
    if attempt is not None:
        attempt.accepted, attempt.accepted_by = claims, verifier
    return claims


@contextlib.contextmanager
def attempting(request: HttpRequest, token: str) -> Iterator[Attempt]:
    attempt = Attempt(request=request, token=token)
    reset = _ATTEMPT.set(attempt)
    try:
        yield attempt
    finally:
        _ATTEMPT.reset(reset)


@dataclass
class Outcome:
    """What authentication found: the framework's access token, the claims behind it when a
    jwtgate verifier accepted it, or the refusal to answer with."""

    access: Any = None
    claims: Optional[Claims] = None
    verifier: Any = None
    """The jwtgate verifier whose claims these are."""
    rejection: Optional[tuple[Any, jwtgate.InvalidToken]] = None

    @classmethod
    def of(cls, attempt: Attempt, access: Any) -> Outcome:
        """The outcome of the framework's verification ``access`` (its access token or None)
        during ``attempt``. A final refusal stands even when a verifier that is not jwtgate's
        accepted the credential after it; an ``X-API-Key`` credential counts only when a jwtgate
        verifier accepted it (another verifier would take a JWT there as a Bearer token)."""
        if attempt.final is not None:
            return cls(rejection=attempt.final)
        if access is not None and attempt.accepted is None and attempt.request.scheme() == "api_key":
            access = None
        if access is not None:
            return cls(access=access, claims=attempt.accepted, verifier=attempt.accepted_by)
        return cls(rejection=attempt.rejection())


class Guard:
    """What :class:`AuthMiddleware` needs from a framework adapter."""

    async def authenticate(self, request: HttpRequest) -> Outcome:
        """Verifies the request's credential the framework's way."""
        raise NotImplementedError

    def protects(self, scope: Scope) -> bool:
        """Whether the request is for an endpoint that requires authentication."""
        raise NotImplementedError

    def origin(self) -> Optional[str]:
        """The server's public origin as configured (``scheme://host[:port]``), for the URL
        DPoP proofs name; None when unknown."""
        raise NotImplementedError

    def resource(self, verifier: Any = None) -> Optional[jwtgate.ProtectedResource]:
        """The protected resource, or None when its URL is unknown (then the framework answers
        refusals itself). With ``verifier`` (a jwtgate verifier of the framework): the resource
        as that verifier answers for it — its DPoP settings and server nonces (RFC 9449 §8: a
        nonce is good only for the verifier that issued it)."""
        raise NotImplementedError

    def required_scopes(self) -> list[str]:
        """Every scope the protected endpoint requires (sent in challenges, checked by core)."""
        raise NotImplementedError

    def framework_scopes(self) -> list[str]:
        """The scopes the framework's own check after the middleware enforces."""
        return self.required_scopes()

    def metadata_extra(self) -> dict[str, Any]:
        """Members the framework adds to the RFC 9728 document (``resource_name``, …)."""
        return {}

    def hand_on(self, verifier: Any, error: jwtgate.InsufficientScope, token: str) -> Any:
        """The framework's access token for a credential refused for its scopes only, when the
        framework answers refusals itself (it then answers 403 for it)."""
        return None


def _path_of(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path or "/"


def same_path(scope: Scope, protected: Optional[str]) -> bool:
    """Whether the request is for ``protected`` (a trailing slash aside, as Starlette routes)."""
    if not protected:
        return False
    return _path_of(scope).rstrip("/") == protected.rstrip("/")


_ERROR_PARAM = re.compile(r'error="([^"\\]*)"')


async def send_challenge(send: Send, challenge: jwtgate.Challenge, description: str) -> None:
    """Answers with the core's challenge: its status, its headers as they are, and a JSON body
    with the challenge's ``error`` and a client-safe description (empty body for a request that
    carried no credential)."""
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in challenge.headers()]
    match = _ERROR_PARAM.search(challenge.www_authenticate or "")
    if match is not None:
        error = match.group(1)
    elif challenge.status >= 500:
        error = "temporarily_unavailable" if challenge.status == 503 else "server_error"
    else:
        error = None
    body = b"" if error is None else json.dumps({"error": error, "error_description": description}).encode()
    if body:
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    headers.append((b"cache-control", b"no-store"))
    await send({"type": "http.response.start", "status": challenge.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def metadata_endpoint(resource: Callable[[], Optional[jwtgate.ProtectedResource]],
                      extra: Optional[Callable[[], dict[str, Any]]] = None) -> Callable[..., Any]:
    """A Starlette endpoint serving the core's RFC 9728 metadata document (GET, CORS-open as
    the MCP SDK serves it: clients in browsers read it before they hold a token)."""
    from starlette.responses import JSONResponse, Response

    cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, OPTIONS",
            "Access-Control-Allow-Headers": "mcp-protocol-version"}

    async def endpoint(request: Any) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=cors)
        found = resource()
        if found is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        document = found.metadata()
        if extra is not None:
            for name, value in extra().items():
                document.setdefault(name, value)
        return JSONResponse(document, headers={**cors, "Cache-Control": "max-age=3600"})

    return endpoint


def credentials_for(access: Any, claims: Optional[Claims], required: Sequence[str]) -> AuthCredentials:
    """The scopes the framework's checks see: the access token's, plus each required scope the
    core finds granted through the scope hierarchy (``admin → *``)."""
    scopes = list(getattr(access, "scopes", None) or [])
    if claims is not None:
        scopes += [s for s in required if s not in scopes and claims.has_scope(s)]
    return AuthCredentials(scopes)


class AuthMiddleware:
    """Authentication for every request and, on the protected endpoint, the core's answers to
    refused ones. Takes the place of Starlette's ``AuthenticationMiddleware`` in the adapters'
    middleware lists; the framework's ``AuthContextMiddleware`` follows it."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        guard = self.guard
        request = HttpRequest.from_scope(scope, guard.origin())
        outcome = await guard.authenticate(request)
        access = outcome.access
        resource = guard.resource() if scope["type"] == "http" and guard.protects(scope) else None
        if resource is not None:
            # On the protected endpoint the core answers every refusal it knows the reason of.
            required = guard.required_scopes()
            if access is not None and outcome.claims is not None and required:
                try:
                    outcome.claims.require_scopes(required)
                except jwtgate.InsufficientScope as e:
                    access, outcome.rejection = None, (outcome.verifier, e)
            if access is None and (outcome.rejection is not None or request.token() is None):
                verifier, error = outcome.rejection if outcome.rejection is not None else (None, None)
                # The challenge of the verifier that refused: its nonce, if it wants one.
                answering = (guard.resource(verifier) if verifier is not None else None) or resource
                challenge = answering.challenge(error, required)
                await send_challenge(send, challenge, error.client_description if error else "")
                return
            # Otherwise a source that is not jwtgate's refused it: the framework answers.
        elif access is None and outcome.rejection is not None:
            verifier, error = outcome.rejection
            attempt_token = request.token() or ""
            if isinstance(error, jwtgate.InsufficientScope):
                missing = set((error.detail or {}).get("missing_scopes", []))
                if missing and missing <= set(guard.framework_scopes()):
                    # The framework's own check refuses it too, and answers 403.
                    access = guard.hand_on(verifier, error, attempt_token)
                    outcome.claims = error.claims
        if access is None:
            scope["auth"], scope["user"] = AuthCredentials(), UnauthenticatedUser()
        else:
            scope["auth"] = credentials_for(access, outcome.claims, guard.framework_scopes())
            scope["user"] = AuthenticatedUser(access)
            scheme, token = request.credential()
            if token is not None:
                # Verified (with its proof, for the DPoP scheme). The frameworks' own check
                # after this middleware (RequireAuthMiddleware) looks for `Bearer ` before it
                # looks at the user: it sees the verified credential as a Bearer token, whatever
                # the scheme, the spaces or tabs the client used, or the X-API-Key header it
                # came in (which stays as sent).
                bearer = b"Bearer " + token.encode("latin-1")
                headers, first = [], True
                for name, value in scope.get("headers", ()):
                    if name == b"authorization" and first:
                        value, first = bearer, False
                    headers.append((name, value))
                if scheme == "api_key":
                    headers.append((b"authorization", bearer))
                scope["headers"] = headers
        await self.app(scope, receive, send)

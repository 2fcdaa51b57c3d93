"""jwtgate's authentication middleware for the Starlette apps of FastMCP and the MCP Python SDK.

Both frameworks authenticate with Starlette's ``AuthenticationMiddleware`` and a bearer backend
that hands their token verifier only the token string, and refuse requests on the MCP endpoint
with their own ``RequireAuthMiddleware``. jwtgate puts :class:`AuthMiddleware` in the place of
the former. It sees the whole request, so that:

* the credential is verified together with the request it came with (``verify_request``: the
  ``Bearer`` or ``DPoP`` scheme, and the DPoP proof of RFC 9449 against the request's method and
  URL), so a DPoP-bound token is accepted only with its proof;
* a request refused on the MCP endpoint is answered with the core's challenge
  (:meth:`jwtgate.ProtectedResource.challenge`: 401 without ``error=`` when no credential was
  sent, 401 ``invalid_token``, 403 ``insufficient_scope`` with every scope the endpoint needs,
  503 when keys are unavailable — MCP authorization, RFC 6750 §3, RFC 9728 §5.1), with its
  ``WWW-Authenticate`` value sent as it is;
* the framework's own checks that follow see an authenticated user whose scopes include the
  required scopes the core found granted (scope hierarchies included).

The framework's token verification (``MultiAuth``'s sources, ``RemoteAuthProvider``'s verifier)
still decides who the caller is: the middleware calls it, and jwtgate's verifiers inside it find
the request in :data:`_ATTEMPT` and report their rejections there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

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


@dataclass
class HttpRequest:
    """A request as the client sent it: what the core needs to verify its credential."""

    method: str
    url: str
    """``scheme://host[:port]/path?query``, the host as the client addressed it."""
    authorization: Optional[str]
    dpop: list[str] = field(default_factory=list)
    """Every ``DPoP`` header value (RFC 9449 §4.3: more than one is refused)."""

    @classmethod
    def from_scope(cls, scope: Scope) -> HttpRequest:
        authorization: Optional[str] = None
        dpop: list[str] = []
        host: Optional[str] = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                # Several Authorization headers: the first decides, as Starlette's does.
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == b"dpop":
                dpop.append(value.decode("latin-1"))
            elif name == b"host" and host is None:
                host = value.decode("latin-1")
        if host is None:
            server = scope.get("server")
            host = f"{server[0]}:{server[1]}" if server else "localhost"
        # ASGI: `path` includes `root_path` (the mount or proxy prefix); older servers left it out.
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and not path.startswith(root):
            path = root + path
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")
        return cls(method=scope.get("method", "GET"), url=url, authorization=authorization, dpop=dpop)

    def token(self) -> Optional[str]:
        """The token of ``Authorization: Bearer <token>`` or ``Authorization: DPoP <token>``
        (schemes case-insensitive, RFC 9110 §11.1), None for no header or another scheme. Which
        scheme is acceptable, and the proof, is the core's to judge (``verify_request``)."""
        scheme = self.scheme()
        return None if scheme is None else self.authorization.partition(" ")[2].strip(" ")  # type: ignore[union-attr]

    def scheme(self) -> Optional[str]:
        """``"bearer"`` or ``"dpop"`` when the request carries a token in that scheme."""
        if self.authorization is None:
            return None
        scheme, _, token = self.authorization.partition(" ")
        scheme = scheme.lower()
        if scheme not in ("bearer", "dpop") or not token.strip(" "):
            return None
        return scheme

    async def verify(self, verifier: jwtgate.Verifier) -> Claims:
        """``verifier.verify_request`` of this request, never blocking the event loop."""
        claims = verifier.verify_request_nonblocking(self.method, self.url, self.authorization, self.dpop)
        if claims is None:
            claims = await run_in_thread(
                verifier.verify_request, self.method, self.url, self.authorization, self.dpop
            )
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

    def rejection(self) -> Optional[tuple[Any, jwtgate.InvalidToken]]:
        """The refusal to answer with: a scope shortfall first (the credential is good), then
        the first refusal by a verifier the credential was for, then the first refusal."""
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


async def verify_for(verifier: Any, core: jwtgate.Verifier, token: str) -> Optional[Claims]:
    """What a jwtgate verifier inside a framework does with ``token``: the request's
    verification when :class:`AuthMiddleware` is authenticating the request it came with
    (``verify_request``), otherwise the token's alone (``verify``: a DPoP-bound token is then
    refused). Records the outcome for the middleware; None when refused."""
    attempt = current_attempt(token)
    try:
        if attempt is not None:
            claims = await attempt.request.verify(core)
        else:
            claims = core.verify_nonblocking(token)
            if claims is None:
                claims = await run_in_thread(core.verify, token)
    except jwtgate.InvalidToken as e:
        if attempt is not None:
            attempt.rejections.append((verifier, e))
        logging.getLogger(type(verifier).__module__).debug(
            "jwtgate: credential rejected (%s): %s", e.code, e.message
        )
        return None
    if attempt is not None:
        attempt.accepted = claims
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
    rejection: Optional[tuple[Any, jwtgate.InvalidToken]] = None


class Guard:
    """What :class:`AuthMiddleware` needs from a framework adapter."""

    async def authenticate(self, request: HttpRequest) -> Outcome:
        """Verifies the request's credential the framework's way."""
        raise NotImplementedError

    def protects(self, scope: Scope) -> bool:
        """Whether the request is for an endpoint that requires authentication."""
        raise NotImplementedError

    def resource(self) -> Optional[jwtgate.ProtectedResource]:
        """The protected resource, or None when its URL is unknown (then the framework answers
        refusals itself)."""
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
        request = HttpRequest.from_scope(scope)
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
                    access, outcome.rejection = None, (None, e)
            if access is None and (outcome.rejection is not None or request.token() is None):
                error = outcome.rejection[1] if outcome.rejection is not None else None
                challenge = resource.challenge(error, required)
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
            if request.scheme() == "dpop":
                # Verified with its proof. The frameworks' own check after this middleware
                # (RequireAuthMiddleware) looks for the Bearer scheme before it looks at the
                # user: it sees the verified token as such.
                scope["headers"] = [
                    (name, b"Bearer " + value.partition(b" ")[2] if name == b"authorization" else value)
                    for name, value in scope.get("headers", ())
                ]
        await self.app(scope, receive, send)

"""Async helpers: verification that never blocks the event loop on the network."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, TypeVar, Union

if TYPE_CHECKING:
    from jwtgate._native import Claims, Verifier

T = TypeVar("T")


async def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Runs ``fn(*args)`` in a worker thread: asyncio's default executor, or anyio's worker
    threads under another event loop (trio)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(fn, *args)
    return await loop.run_in_executor(None, fn, *args)


async def verify_async(verifier: Verifier, token: str) -> Claims:
    """``Verifier.verify_async``: inline when the keys are known (microseconds, GIL released,
    no thread hop); when a key fetch is needed (keys not arrived yet, unknown ``kid``), the
    blocking ``verify`` waits for it in a worker thread, at most the fetch timeout."""
    claims = verifier.verify_nonblocking(token)
    if claims is None:
        claims = await run_in_thread(verifier.verify, token)
    return claims


async def verify_request_async(
    verifier: Verifier, method: str, url: str, authorization: Optional[str] = None,
    dpop: Union[str, Sequence[str], None] = None, api_key: Optional[str] = None,
) -> Claims:
    """``Verifier.verify_request_async``: as :func:`verify_async`, for a whole request."""
    claims = verifier.verify_request_nonblocking(method, url, authorization, dpop, api_key)
    if claims is None:
        claims = await run_in_thread(verifier.verify_request, method, url, authorization, dpop, api_key)
    return claims

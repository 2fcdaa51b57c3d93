"""The core's log records reach Python's logging, and only through loggers made at import.

A logger first created by the key-refresh thread would insert into logging's registry while
other code iterates it without logging's lock (pytest's log capture does), failing there with
"dictionary changed size during iteration". The extension therefore makes, at import, the
logger of every core module that logs (src/lib.rs `CORE_LOG_TARGETS`), and forwards no other
crate's records.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from pathlib import Path

import pytest

import jwtgate

CORE_SRC = Path(__file__).resolve().parents[2] / "core" / "src"
LOG_MACRO = re.compile(r"\blog::(?:error|warn|info|debug|trace)!\s*\(")


def core_modules_that_log() -> set[str]:
    modules = set()
    for path in CORE_SRC.rglob("*.rs"):
        text = path.read_text(encoding="utf-8")
        if not LOG_MACRO.search(text):
            continue
        assert not re.search(r"\blog::\w+!\s*\(\s*target\s*:", text), f"{path}: a log target of its own"
        parts = list(path.relative_to(CORE_SRC).with_suffix("").parts)
        if parts[-1] in ("mod", "lib"):
            parts.pop()
        modules.add(".".join(["jwtgate", *parts]))
    return modules


def test_every_core_module_that_logs_has_its_logger_made_at_import() -> None:
    modules = core_modules_that_log()
    assert "jwtgate.remote" in modules  # the key-refresh thread's warnings
    registry = logging.root.manager.loggerDict
    missing = sorted(m for m in modules if not isinstance(registry.get(m), logging.Logger))
    assert not missing, f"add these to CORE_LOG_TARGETS in bindings-python/src/lib.rs: {missing}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refresh_failure_on_the_background_thread_is_logged_under_jwtgate_remote(caplog: pytest.LogCaptureFixture) -> None:
    before = set(logging.root.manager.loggerDict)
    with caplog.at_level(logging.WARNING):
        verifier = jwtgate.Verifier(
            issuer="https://issuer.example",
            audience="https://mcp.example",
            jwks_uri=f"http://127.0.0.1:{closed_port()}/jwks.json",
            fetch_timeout=1.0,
        )
        # Without keys the verifier refuses; the refresh thread keeps trying and warns.
        with pytest.raises(jwtgate.InvalidToken):
            verifier.verify("a.b.c")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(r.name == "jwtgate.remote" for r in caplog.records):
            time.sleep(0.05)
    records = [r for r in caplog.records if r.name == "jwtgate.remote"]
    assert records, "no warning from the key refresh reached Python"
    assert records[0].levelno == logging.WARNING
    assert "127.0.0.1" in records[0].getMessage()
    # No logger was created on the way (by the refresh thread or anyone else).
    assert set(logging.root.manager.loggerDict) == before

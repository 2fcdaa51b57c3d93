"""A Rust panic must reach Python as an exception, never abort the interpreter."""

from __future__ import annotations

import pytest

import jwtgate
from jwtgate import _native


def test_a_rust_panic_becomes_a_python_exception_and_the_module_keeps_working() -> None:
    with pytest.raises(BaseException) as caught:
        _native._debug_panic()
    # pyo3 raises PanicException, a BaseException subclass, with the panic message.
    assert type(caught.value).__name__ == "PanicException"
    assert "deliberate" in str(caught.value)
    # The interpreter and the extension are still usable afterwards.
    verifier = jwtgate.Verifier(static_tokens={"k-123": "bot"})
    assert verifier.verify("k-123").client_id == "bot"

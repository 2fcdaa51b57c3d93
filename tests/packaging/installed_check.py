"""pytest plugin (``-p installed_check``, with this folder on PYTHONPATH): fails the session unless
``jwtgate`` and its native module are imported from the virtualenv's site-packages, so that the
suite tests the installed wheel or sdist and never the source tree (bindings-python/python)."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    import jwtgate
    import jwtgate._native

    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    platsite = Path(sysconfig.get_paths()["platlib"]).resolve()
    for module in (jwtgate, jwtgate._native):
        where = Path(module.__file__ or "").resolve()
        if site not in where.parents and platsite not in where.parents:
            pytest.exit(f"{module.__name__} comes from {where}, not from {site}", returncode=3)
    print(f"\njwtgate {jwtgate.__version__} from {Path(jwtgate.__file__ or '').parent} ({sys.executable})")

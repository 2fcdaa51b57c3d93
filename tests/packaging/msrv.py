#!/usr/bin/env python3
"""The MSRV job: every crate of the workspace that is published to crates.io declares a
`rust-version`, and nothing it builds with asks for a newer Rust.

This machine has one Rust toolchain and cannot fetch another, so the check is made from what the
crates declare: for each publishable crate, every package in its resolved graph (normal and
build dependencies, every platform, as Cargo.lock resolves them) must declare a `rust-version`
no newer than the crate's, and the crate's edition must be one its `rust-version` knows. The
crate's own use of the standard library is checked by clippy's `incompatible_msrv` lint, which
reads `rust-version` (scripts/test-all runs clippy with warnings denied; this script runs it on
the published crates with that lint denied explicitly). A dependency without a `rust-version`
is listed, not failed.

Usage: python3 tests/packaging/msrv.py [--no-clippy]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The first Rust release of each edition.
EDITION_MSRV = {"2015": (1, 0, 0), "2018": (1, 31, 0), "2021": (1, 56, 0), "2024": (1, 85, 0)}


def parse(version: str) -> tuple[int, ...]:
    parts = [int(part) for part in version.split("-")[0].split(".")[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def main() -> int:
    metadata = json.loads(
        subprocess.run(["cargo", "metadata", "--format-version", "1", "--locked"], cwd=REPO, check=True,
                       capture_output=True, text=True).stdout
    )
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    members = [packages[i] for i in metadata["workspace_members"]]
    published = [p for p in members if p.get("publish") is None or p["publish"]]
    failures: list[str] = []
    for crate in published:
        name = crate["name"]
        if not crate.get("rust_version"):
            failures.append(f"{name}: no rust-version")
            continue
        msrv = parse(crate["rust_version"])
        if EDITION_MSRV.get(crate["edition"], (0,)) > msrv:
            failures.append(f"{name}: edition {crate['edition']} needs a newer Rust than {crate['rust_version']}")
        seen: set[str] = set()
        stack = [crate["id"]]
        undeclared = []
        while stack:
            node = nodes[stack.pop()]
            for dep in node["deps"]:
                if all(kind["kind"] == "dev" for kind in dep["dep_kinds"]) or dep["pkg"] in seen:
                    continue
                seen.add(dep["pkg"])
                stack.append(dep["pkg"])
                package = packages[dep["pkg"]]
                wanted = package.get("rust_version")
                if wanted is None:
                    undeclared.append(package["name"])
                elif parse(wanted) > msrv:
                    failures.append(f"{name} (rust-version {crate['rust_version']}) builds with "
                                    f"{package['name']} {package['version']}, which needs Rust {wanted}")
        print(f"{name}: rust-version {crate['rust_version']}, {len(seen)} packages in its graph"
              + (f"; without a rust-version: {', '.join(sorted(set(undeclared)))}" if undeclared else ""))
        if "--no-clippy" not in sys.argv:
            lint = subprocess.run(["cargo", "clippy", "-p", name, "--locked", "--quiet", "--",
                                   "-D", "clippy::incompatible_msrv"], cwd=REPO)
            if lint.returncode != 0:
                failures.append(f"{name}: clippy::incompatible_msrv (a std API newer than {crate['rust_version']})")
    for failure in failures:
        print(f"MSRV: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

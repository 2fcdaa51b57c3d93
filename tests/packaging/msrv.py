#!/usr/bin/env python3
"""The MSRV job: every crate users build from source declares a `rust-version`, and builds with it.

Two checks:
1. Declarations, for the crates published to crates.io: every package in the crate's resolved graph
   (normal and build dependencies, every platform, as Cargo.lock resolves them) must declare a
   `rust-version` no newer than the crate's, and the crate's edition must be one its
   `rust-version` knows. A dependency without a `rust-version` is listed, not failed.
2. The build itself: each toolchain named by a `rust-version` is installed with rustup (minimal
   profile) and `cargo +<version> check --locked` builds, under it, every crate that declares it:
   the published crates, and the Python and Node bindings, whose sources ship in the sdist and
   the npm tarball and are compiled by users' own Rust. Language features (let chains, say) are
   caught only here: neither the declarations nor clippy's `incompatible_msrv` (std APIs only)
   see them. The core is checked on both crypto backends. Each toolchain builds in its own
   target folder, target/msrv-<version>.

`--no-clippy` skips clippy's `incompatible_msrv` on the published crates (scripts/test-all runs
clippy with warnings denied already). `--allow-missing-toolchain`: when rustup cannot install a
toolchain (no network to static.rust-lang.org), say so loudly and skip that build instead of failing
(CI passes it; scripts/release does not). `--declarations-only` skips the builds.

Usage: python3 tests/packaging/msrv.py [--no-clippy] [--allow-missing-toolchain] [--declarations-only]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
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
    if "--declarations-only" not in sys.argv:
        failures += build_with_declared_toolchains(members)
    for failure in failures:
        print(f"MSRV: {failure}", file=sys.stderr)
    return 1 if failures else 0


def build_with_declared_toolchains(members: list[dict]) -> list[str]:
    """`cargo +<rust-version> check` of every member users build from source (not the benches)."""
    by_version: dict[str, list[str]] = {}
    for crate in members:
        if crate["name"] == "jwtgate-benches":
            continue
        version = crate.get("rust_version")
        if version:
            by_version.setdefault(version, []).append(crate["name"])
    failures: list[str] = []
    allow_missing = "--allow-missing-toolchain" in sys.argv
    for version, crates in sorted(by_version.items(), key=lambda item: parse(item[0])):
        if shutil.which("rustup") is None:
            message = f"rustup is not on PATH: cannot build with Rust {version}"
        else:
            install = subprocess.run(["rustup", "toolchain", "install", version, "--profile", "minimal",
                                      "--no-self-update"], capture_output=True, text=True)
            message = "" if install.returncode == 0 else (
                f"rustup could not install Rust {version}: {install.stderr.strip().splitlines()[-1:]}")
        if message:
            if allow_missing:
                print(f"MSRV: WARNING: {message}; the build with it is SKIPPED", file=sys.stderr)
                continue
            failures.append(message)
            continue
        env = dict(os.environ, CARGO_TARGET_DIR=str(REPO / "target" / f"msrv-{version}"))
        runs = [[arg for crate in crates for arg in ("-p", crate)]]
        if "jwtgate" in crates:
            runs.append(["-p", "jwtgate", "--no-default-features", "--features", "ring,http"])
        for args in runs:
            started = time.monotonic()
            check = subprocess.run(["cargo", f"+{version}", "check", "--locked", "--quiet", *args],
                                   cwd=REPO, env=env)
            took = time.monotonic() - started
            if check.returncode != 0:
                failures.append(f"`cargo +{version} check {' '.join(args)}` failed (see above)")
            else:
                print(f"Rust {version}: cargo check {' '.join(args)} builds ({took:.0f} s)")
    return failures


if __name__ == "__main__":
    sys.exit(main())

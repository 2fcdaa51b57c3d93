#!/usr/bin/env bash
# CI for the Node package `jwtgate` (bindings-node/): the one script CI calls for it.
#
#   1. devDependencies (`npm ci`, from the committed package-lock.json);
#   2. the addon built from source as released (scripts/build-release.sh: napi build, zig linking
#      against glibc 2.17, checked); the generated loader and declarations (binding.js,
#      binding.d.ts) must equal the committed ones;
#   3. the packages as published (scripts/pack.js: jwtgate-linux-x64-gnu with the addon of step 2,
#      jwtgate with native/ and optionalDependencies), `npm publish --dry-run` clean, then
#      installed from the tarballs in fresh folders outside the clone with no compiler on PATH
#      and used through ESM, CommonJS and tsc, with MCP SDK v1 and with v2
#      (tests/packaging/npm-install.sh all: the prebuilt path, and the source path, where the
#      addon is compiled from the tarball alone with --omit=optional — minutes of aws-lc, in a
#      target folder of its own outside the clone); and a contributor's
#      `npm install <repo>/bindings-node` (the linked folder) through ESM and CommonJS;
#   4. `tsc --noEmit` on types-test/ (examples that use every export, with SDK v1 and with v2);
#   5. clippy on the binding with warnings denied (the lints that fence the `unsafe` of
#      src/fastcall.rs among them) and rustfmt;
#   6. `node --test` (real IdP, real MCP servers on SDK v1 and v2 with their real clients,
#      loopback only), the shared conformance fixtures (tests/conformance/cases.json and
#      requests.json, which the core runs in core/tests/conformance.rs), the MCP conformance suite
#      (tests/mcp-conformance/check.mjs) against test/servers/, and the fast path against the
#      plain `#[napi]` path included.
#
# Needs node 20+, npm, cargo; the npm registry and crates.io. Usage: bash bindings-node/ci.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
step() { printf '\n==> node: %s\n' "$*"; }

for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
node --version

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

step "devDependencies (npm ci)"
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)

step "build the addon from source; the generated binding.js and binding.d.ts must be the committed ones"
# scripts/build-release.sh is `npm run build` (`napi build --platform --release --strip --js
# binding.js --dts binding.d.ts`, the napi-rs CLI from npx: a devDependency would pull platform
# packages that `npm ci` cannot resolve here) as released: linked by zig against glibc 2.17, so
# the tests below run the very addon that jwtgate-linux-x64-gnu carries.
bash "$here/scripts/build-release.sh" "$scratch/build"
for generated in binding.js binding.d.ts; do
  if ! diff -u "$here/$generated" "$scratch/build/$generated"; then
    echo "$generated differs from what napi build generates: run \`npm run build\` in bindings-node and commit it" >&2
    exit 1
  fi
done
cp "$scratch"/build/*.node "$here/"

step "the npm packages as published: pack, npm publish --dry-run, install the tarballs in fresh folders (prebuilt: no compiler on PATH; source: built from the tarball alone)"
node "$here/scripts/pack.js" --out "$scratch/npm" --addon-dir "$scratch/build"
bash "$repo/tests/packaging/npm-publish-check.sh" "$scratch"/npm/*.tgz
bash "$repo/tests/packaging/npm-install.sh" "$scratch/npm" all

step "a contributor's install from the clone: npm install <repo>/bindings-node (linked), SDK v1"
# The package's install script keeps the addon built above (it builds one from the workspace when
# none loads). npm 11 runs no dependency's install script unless the application allows it
# (`allowScripts`, keyed by the dependency's spec: `file:<relative path>` for a folder); older npm
# ignores the field.
(
  mkdir "$scratch/consumer-clone"
  cd "$scratch/consumer-clone"
  npm init -y >/dev/null
  node -e '
    const fs = require("node:fs");
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
    pkg.allowScripts = { [process.argv[1]]: true };
    fs.writeFileSync("package.json", `${JSON.stringify(pkg, null, 2)}\n`);
  ' "file:$(realpath --relative-to="$scratch/consumer-clone" "$here")"
  npm install --no-audit --no-fund "$here" @modelcontextprotocol/sdk@1.32.2 express@5.3.0
  cp "$here/test/consumer/check.mjs" "$here/test/consumer/check.cjs" .
  node check.mjs
  node check.cjs
)

step "tsc --noEmit (types-test: every export, ESM and CommonJS, with SDK v1 and with SDK v2)"
(cd "$here" && npx tsc --noEmit -p types-test && npx tsc --noEmit -p types-test/tsconfig.v2.json)

step "clippy (warnings denied, unsafe fenced) and rustfmt on jwtgate-node"
(cd "$repo" && cargo clippy -p jwtgate-node --all-targets --locked -- -D warnings)
(cd "$repo" && cargo fmt -p jwtgate-node --check)

step "node --test"
if [ ! -d "$repo/tests/idp/node_modules" ]; then
  npm ci --prefix "$repo/tests/idp" --no-audit --no-fund
fi
# The MCP conformance suite (tests/mcp-conformance/check.mjs, run by test/mcp-conformance.test.mjs
# against the servers of test/servers/).
if [ ! -d "$repo/tests/mcp-conformance/node_modules" ]; then
  npm ci --prefix "$repo/tests/mcp-conformance" --no-audit --no-fund
fi
(cd "$here" && node --test test/*.test.mjs)

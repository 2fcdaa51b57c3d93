#!/usr/bin/env bash
# CI for the Node package `jwtgate` (bindings-node/): the one script CI calls for it.
#
#   1. two fresh consumer folders install the package the way a user does
#      (`npm install <repo>/bindings-node`, which builds the native addon from source when none
#      loads) and use it through ESM and CommonJS: one with MCP SDK v1
#      (@modelcontextprotocol/sdk), one with SDK v2 (@modelcontextprotocol/server + express);
#   2. devDependencies (`npm ci`, from the committed package-lock.json);
#   3. the addon built from source; the generated loader and declarations (binding.js,
#      binding.d.ts) must equal the committed ones;
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

step "fresh consumers: npm install <repo>/bindings-node (builds the addon from source if none loads), SDK v1 / SDK v2"
# Two applications, each with one SDK line: jwtgate/mcp must find that one by itself (no
# configuration), through ESM and CommonJS. The first install builds the addon if needed; the
# second links the same folder.
# npm 11 runs no dependency's install script unless the application allows it (`allowScripts`,
# keyed by the dependency's spec: `file:<relative path>` for a folder), and jwtgate's builds the
# addon; older npm ignores the field.
consumer() {
  mkdir "$scratch/$1"
  cd "$scratch/$1"
  npm init -y >/dev/null
  node -e '
    const fs = require("node:fs");
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
    pkg.allowScripts = { [process.argv[1]]: true };
    fs.writeFileSync("package.json", `${JSON.stringify(pkg, null, 2)}\n`);
  ' "file:$(realpath --relative-to="$scratch/$1" "$here")"
}
(
  consumer consumer-v1
  npm install --no-audit --no-fund "$here" @modelcontextprotocol/sdk@1.32.2 express@5.3.0
  cp "$here/test/consumer/check.mjs" "$here/test/consumer/check.cjs" .
  node check.mjs
  node check.cjs
)
(
  consumer consumer-v2
  npm install --no-audit --no-fund "$here" @modelcontextprotocol/server@2.4.0 @modelcontextprotocol/express@2.0.2 \
    @modelcontextprotocol/node@2.1.2 express@5.3.0
  cp "$here/test/consumer/check-v2.mjs" "$here/test/consumer/check-v2.cjs" .
  node check-v2.mjs
  node check-v2.cjs
)

step "devDependencies (npm ci)"
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)

step "build the addon from source; the generated binding.js and binding.d.ts must be the committed ones"
# `npm run build` is `napi build --platform --release --strip --js binding.js --dts binding.d.ts`
# with the napi-rs CLI from npx (a devDependency would pull platform packages that `npm ci`
# cannot resolve here).
(cd "$here" && npm run build -- --output-dir "$scratch/build")
for generated in binding.js binding.d.ts; do
  if ! diff -u "$here/$generated" "$scratch/build/$generated"; then
    echo "$generated differs from what napi build generates: run \`npm run build\` in bindings-node and commit it" >&2
    exit 1
  fi
done
cp "$scratch"/build/*.node "$here/"

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

'use strict';
// Where the MCP SDK's error classes are: the copy the *application* uses, because the SDK's
// requireBearerAuth checks them with `instanceof` (any other copy's errors become 500s).
//
// Normally that is also the copy this package resolves. Not after `npm install <folder>`: npm
// links the folder, Node resolves this package from its real path, and the application's
// node_modules is not among that path's ancestors (a peer dependency of a linked package is
// not found at all). So the SDK is looked up from the application first — its entry script,
// then the working directory — and from this package last.
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const SDK = '@modelcontextprotocol/sdk';
const ERRORS = 'server/auth/errors.js';

function bases() {
  const out = [];
  if (process.argv[1]) out.push(path.resolve(process.argv[1]));
  out.push(path.join(process.cwd(), '__jwtgate_resolve__.js'));
  return out;
}

/** The CommonJS errors module of the application's SDK, or null. */
function applicationRequirePath() {
  for (const base of bases()) {
    try {
      return createRequire(base).resolve(`${SDK}/${ERRORS}`);
    } catch {
      // not resolvable from there
    }
  }
  return null;
}

/** The ESM errors module of the application's SDK (through the SDK's `exports` map), or null. */
function applicationImportPath() {
  const cjs = applicationRequirePath();
  if (cjs === null) return null;
  for (let dir = path.dirname(cjs); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    let pkg;
    try {
      pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    } catch {
      return null;
    }
    if (pkg.name !== SDK) continue;
    const exact = pkg.exports?.[`./${ERRORS}`];
    const pattern = pkg.exports?.['./*'];
    const target = exact?.import ?? pattern?.import?.replace('*', ERRORS);
    const resolved = typeof target === 'string' ? path.join(dir, target) : null;
    return resolved !== null && fs.existsSync(resolved) ? resolved : null;
  }
  return null;
}

function missing(error) {
  const e = new Error(`jwtgate/mcp needs ${SDK} 1.x next to your application: npm install ${SDK}`);
  e.cause = error;
  return e;
}

module.exports = { SDK, ERRORS, applicationRequirePath, applicationImportPath, missing };

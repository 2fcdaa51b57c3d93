'use strict';
// Which TypeScript MCP SDK the *application* has, and where its OAuth error classes are.
//
//   v2: @modelcontextprotocol/server 2.x — one `OAuthError(code, message)` class with
//       `OAuthErrorCode`; its bearer-auth helpers (`requireBearerAuth`, `verifyBearerToken`,
//       `bearerAuthChallengeResponse`) recognise it by a brand, so any copy of the class works.
//   v1: @modelcontextprotocol/sdk 1.x — `InvalidTokenError`, `InsufficientScopeError`,
//       `ServerError`, checked by its `requireBearerAuth` with plain `instanceof`, so the errors
//       must come from the very copy the application loads.
//
// The copy the application uses is looked up from the application — its entry script, then the
// working directory — and from this package only when the application resolves no SDK at all.
// (After `npm install <folder>`, npm links the folder and Node resolves this package from its
// real path, whose ancestors do not include the application's node_modules.) Nothing is configured, and nothing here throws: a
// missing SDK is reported when an SDK adapter is asked for (`createTokenVerifier`), never at
// import, since jwtgate/mcp's own middleware needs no SDK.
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const V1 = { name: '@modelcontextprotocol/sdk', subpath: 'server/auth/errors.js', major: 1 };
const V2 = { name: '@modelcontextprotocol/server', subpath: '', major: 2 };

/** Where the application resolves packages from: its entry script, its working directory. */
function applicationBases() {
  const out = [];
  if (process.argv[1]) out.push(path.resolve(process.argv[1]));
  out.push(path.join(process.cwd(), '__jwtgate_resolve__.js'));
  return out;
}

function specifier(sdk) {
  return sdk.subpath ? `${sdk.name}/${sdk.subpath}` : sdk.name;
}

/** The package.json of the package that holds `file`, with its folder, or null. */
function manifestOf(file, name) {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    try {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      if (pkg.name === name) return { dir, pkg };
    } catch {
      return null;
    }
  }
  return null;
}

/** The first resolvable CommonJS entry of `sdk` seen from `bases`, with its package. */
function locate(sdk, bases) {
  for (const base of bases) {
    let file;
    try {
      file = createRequire(base).resolve(specifier(sdk));
    } catch {
      continue; // not resolvable from there
    }
    const found = manifestOf(file, sdk.name);
    const major = Number.parseInt(String(found?.pkg.version ?? '').split('.')[0], 10);
    if (found === null || major !== sdk.major) continue; // another major line: not this adapter's
    return { file, dir: found.dir, pkg: found.pkg };
  }
  return null;
}

// A conditional `exports` target, for `import` (Node's conditions, in the order it tries them).
function importTarget(target) {
  if (typeof target === 'string') return target;
  if (target === null || typeof target !== 'object' || Array.isArray(target)) return null;
  for (const condition of ['node', 'import', 'default']) {
    if (condition in target) {
      const found = importTarget(target[condition]);
      if (found !== null) return found;
    }
  }
  return null;
}

/** The ESM file of `sdk` that the application's `import` would load, or null. */
function importPath(sdk, located) {
  const exportsMap = located.pkg.exports;
  const key = sdk.subpath ? `./${sdk.subpath}` : '.';
  let target = exportsMap && typeof exportsMap === 'object' ? importTarget(exportsMap[key]) : null;
  if (target === null && sdk.subpath) {
    const pattern = importTarget(exportsMap?.['./*']);
    target = pattern === null ? null : pattern.replace('*', sdk.subpath);
  }
  if (target === null) return null;
  const resolved = path.join(located.dir, target);
  return fs.existsSync(resolved) ? resolved : null;
}

/** The error classes the adapter needs, from an SDK module. */
function classes(sdk, module) {
  if (sdk.major === 2) {
    const { OAuthError, OAuthErrorCode } = module;
    return typeof OAuthError === 'function' && OAuthErrorCode ? { OAuthError, OAuthErrorCode } : null;
  }
  const { InvalidTokenError, InsufficientScopeError, ServerError } = module;
  return typeof InvalidTokenError === 'function' && typeof InsufficientScopeError === 'function' && typeof ServerError === 'function'
    ? { InvalidTokenError, InsufficientScopeError, ServerError }
    : null;
}

/**
 * Where each SDK is: `{ v1, v2 }`, each located or null. The application's copies; only when it
 * resolves neither, the copies this package resolves (a REPL, a working directory elsewhere).
 */
function locateAll() {
  for (const bases of [applicationBases(), [__filename]]) {
    const found = { v1: locate(V1, bases), v2: locate(V2, bases) };
    if (found.v1 !== null || found.v2 !== null) return found;
  }
  return { v1: null, v2: null };
}

/** The application's SDKs through CommonJS: `{ v1, v2 }`, each its classes or null. */
function loadRequire() {
  const out = {};
  const where = locateAll();
  for (const [key, sdk] of [['v1', V1], ['v2', V2]]) {
    const located = where[key];
    out[key] = null;
    if (located === null) continue;
    try {
      out[key] = classes(sdk, require(located.file));
    } catch {
      // an installation that does not load is treated as absent
    }
  }
  return out;
}

/** The application's SDKs through ESM: `{ v1, v2 }`, each its classes or null. */
async function loadImport() {
  const { pathToFileURL } = require('node:url');
  const out = {};
  const where = locateAll();
  for (const [key, sdk] of [['v1', V1], ['v2', V2]]) {
    const located = where[key];
    out[key] = null;
    if (located === null) continue;
    const file = importPath(sdk, located);
    if (file === null) continue;
    try {
      out[key] = classes(sdk, await import(pathToFileURL(file).href));
    } catch {
      // an installation that does not load is treated as absent
    }
  }
  return out;
}

function missing() {
  return new Error(
    `jwtgate/mcp: createTokenVerifier needs the MCP TypeScript SDK next to your application: ` +
      `npm install ${V2.name} (2.x) or ${V1.name} (1.x). requireAuth needs neither.`,
  );
}

module.exports = { V1, V2, loadRequire, loadImport, missing };

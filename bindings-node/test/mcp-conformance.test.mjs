// The repository's MCP resource-server conformance suite (tests/mcp-conformance/check.mjs: RFC 6750
// challenges, RFC 9728 metadata, token checks, RFC 9449 DPoP with oauth4webapi) against the
// TypeScript servers of test/servers/, each started as its own process the way its header says,
// with tokens from the repository's IdP. Every check must pass for jwtgate/mcp's own middleware,
// in each DPoP mode, on SDK v2 (Express and web-standard) and SDK v1.
//
// The SDK's own bearer-auth middleware (createTokenVerifier behind requireBearerAuth) is run too:
// it passes every check but one, which is the SDK's and no verifier can change — it answers a
// request without a credential with `error="invalid_token"` (RFC 6750 §3.1: SHOULD NOT). That is
// why the README recommends requireAuth.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { startIdp } from './helpers/idp.mjs';

const CHECK = fileURLToPath(new URL('../../tests/mcp-conformance/check.mjs', import.meta.url));
const SUITE_MODULES = fileURLToPath(new URL('../../tests/mcp-conformance/node_modules', import.meta.url));
const SERVERS = fileURLToPath(new URL('./servers/', import.meta.url));
const SCOPES = 'tools:call';

/**
 * The servers under test: script, mode, the server's DPoP mode, server nonces (RFC 9449 §8; the
 * suite picks the DPoP-Nonce up), and whether it is the SDK's middleware.
 */
const CASES = [
  { script: 'ts-v2-server.mjs', mode: 'jwtgate', dpop: 'allowed' },
  { script: 'ts-v2-server.mjs', mode: 'jwtgate', dpop: 'required' },
  { script: 'ts-v2-server.mjs', mode: 'jwtgate', dpop: 'off' },
  { script: 'ts-v2-server.mjs', mode: 'jwtgate', dpop: 'allowed', nonce: true },
  { script: 'ts-v2-server.mjs', mode: 'jwtgate-web', dpop: 'allowed' },
  { script: 'ts-v2-server.mjs', mode: 'jwtgate-web', dpop: 'required', nonce: true },
  { script: 'ts-v1-server.mjs', mode: 'jwtgate', dpop: 'allowed' },
  { script: 'ts-v1-server.mjs', mode: 'jwtgate', dpop: 'required' },
  { script: 'ts-v2-server.mjs', mode: 'sdk-express', dpop: 'off', sdk: true },
  { script: 'ts-v2-server.mjs', mode: 'sdk-web', dpop: 'off', sdk: true },
  { script: 'ts-v1-server.mjs', mode: 'sdk', dpop: 'off', sdk: true },
];
const nameOf = (c) => `${c.script.replace('-server.mjs', '')} ${c.mode}, DPoP ${c.dpop}${c.nonce ? ' with server nonces' : ''}`;

let idp;
const children = [];

/** Runs `args` with node; resolves with `{ status, output }` once it exits. */
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** Starts a server script; resolves with the JSON line it prints once listening. */
function startServer(script, args) {
  const child = spawn(process.execPath, [`${SERVERS}${script}`, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, EXIT_ON_STDIN_EOF: '1' },
  });
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.on('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited with ${code}:\n${stderr}`)));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline !== -1) {
        child.removeAllListeners('exit');
        resolve(JSON.parse(stdout.slice(0, newline)));
      }
    });
  });
}

const servers = new Map();

before(async () => {
  if (!existsSync(SUITE_MODULES)) {
    throw new Error('the conformance suite is not installed: run `npm ci --prefix tests/mcp-conformance` at the repository root');
  }
  idp = await startIdp({ scopes: 'tools:call read' });
  await Promise.all(
    CASES.map(async (c) => {
      const args = [`--issuer=${idp.issuer}`, `--scopes=${SCOPES}`, `--mode=${c.mode}`, `--dpop=${c.dpop}`];
      if (c.nonce) args.push('--dpop-nonce=1');
      servers.set(nameOf(c), await startServer(c.script, args));
    }),
  );
});

after(() => {
  for (const child of children) child.kill();
  idp?.stop();
});

describe('MCP conformance suite (tests/mcp-conformance/check.mjs)', () => {
  for (const c of CASES) {
    const name = nameOf(c);
    test(c.sdk ? `${name}: every check but the SDK's own missing-credential challenge` : `${name}: every check passes`, async () => {
      const { url } = servers.get(name);
      const { status, output } = await run([CHECK, '--server', url, '--issuer', idp.issuer, '--scopes', SCOPES, '--dpop', c.dpop]);
      if (!c.sdk) {
        assert.equal(status, 0, output);
        assert.match(output, /# all \d+ checks passed/);
        return;
      }
      assert.equal(status, 1, output);
      const failed = output.split('\n').filter((line) => line.startsWith('not ok'));
      assert.equal(failed.length, 1, output);
      assert.match(failed[0], /no credential: 401 .* without error: .*got error="invalid_token"/, output);
    });
  }
});

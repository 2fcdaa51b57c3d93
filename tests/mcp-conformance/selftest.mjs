// The conformance suite tested: it passes against a conforming server, fails against servers
// broken on purpose (naming the check that caught each defect), and its WWW-Authenticate parser
// reads what RFC 9110 allows and refuses the rest.
//
//   node --test tests/mcp-conformance/selftest.mjs
//
// Starts the repository's identity provider (tests/idp) and the reference MCP server
// (reference-server.mjs: the Node package of bindings-node with @modelcontextprotocol/sdk 1.x),
// both on 127.0.0.1, and runs check.mjs against them as adapter tests do. The DPoP runs need the
// Node binding's resource-server API (verifyRequest / protectedResource); without it they are
// skipped, saying so.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseWwwAuthenticate, WwwAuthenticateError } from './lib/www-authenticate.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const IDP = fileURLToPath(new URL('../idp/server.mjs', import.meta.url));
const CHECK = `${HERE}check.mjs`;
const REFERENCE = `${HERE}reference-server.mjs`;
const SCOPES = 'tools:call read';

const children = [];

/** Starts a node script that prints one JSON line once ready; resolves that line, parsed. */
function start(script, args = [], env = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, EXIT_ON_STDIN_EOF: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error(`${script} did not start within 30 s`)), 30_000);
    function fail(error) {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${error.message}\nstderr:\n${stderr}`));
    }
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`${script} exited with ${code}`)));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline !== -1) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(JSON.parse(stdout.slice(0, newline)));
      }
    });
  });
}

/** Runs check.mjs; resolves { code, stdout, stderr, failed: ['not ok …' lines], passed: n }. */
function runCheck(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHECK, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stdout.split('\n');
      const failed = lines.filter((l) => l.startsWith('not ok '));
      const passed = lines.filter((l) => l.startsWith('ok ')).length;
      resolve({ code, stdout, stderr, failed, passed });
    });
  });
}

const shown = (run) => `exit ${run.code}\n${run.stdout}${run.stderr}`;

let idp;
let reference;

before(async () => {
  idp = await start(IDP, [], { PORT: '0', SCOPES });
  reference = await start(REFERENCE, ['--issuer', idp.issuer, '--scopes', SCOPES]);
});

after(() => {
  for (const child of children) {
    child.stdin.end();
    child.kill();
  }
});

const args = (server, extra = []) => ['--server', server, '--issuer', idp.issuer, '--scopes', SCOPES, ...extra];

describe('a conforming server', () => {
  for (const name of ['conforming', 'conforming-stateful-json']) {
    test(`${name}: every check passes, exit 0`, async () => {
      const run = await runCheck(args(reference.endpoints[name]));
      assert.equal(run.code, 0, shown(run));
      assert.deepEqual(run.failed, [], shown(run));
      assert.ok(run.passed >= 20, shown(run));
      assert.match(run.stdout, /^1\.\.\d+$/m, shown(run));
    });
  }

  test('--resource and --admin given explicitly, in --name=value form', async () => {
    const server = reference.endpoints.conforming;
    const run = await runCheck([`--server=${server}`, `--issuer=${idp.issuer}`, `--scopes=${SCOPES}`, `--resource=${server}`, `--admin=http://127.0.0.1:${idp.port}`, '--dpop=off']);
    assert.equal(run.code, 0, shown(run));
  });
});

describe('servers broken on purpose: exit 1, naming the check', () => {
  // bug → the checks that must fail (all of them, exactly, unless `some` is set).
  const expected = {
    'no-resource-metadata': { some: true, checks: ['no credential: 401 with a challenge naming resource_metadata and every required scope, without error', 'expired token'] },
    'error-without-credential': { checks: ['no credential: 401 with a challenge naming resource_metadata and every required scope, without error'] },
    'missing-scope-as-401': { checks: ['token lacking a required scope: 403 insufficient_scope with every required scope and resource_metadata'] },
    'incremental-scope': { checks: ['token lacking a required scope: 403 insufficient_scope with every required scope and resource_metadata'] },
    'accepts-other-audience': { checks: ['token for another audience'] },
    'unescaped-challenge': { some: true, checks: ['expired token', 'malformed token', 'token lacking a required scope: 403 insufficient_scope with every required scope and resource_metadata'] },
    'offline-access-in-metadata': { checks: ['metadata: scopes_supported lists scopes, without offline_access'] },
    'accepts-query-token': { checks: ['token in the query string instead of the header'] },
    'bearer-methods-body': { checks: ['metadata: bearer_methods_supported is ["header"]'] },
  };
  for (const [bug, { some, checks }] of Object.entries(expected)) {
    test(bug, async () => {
      const server = reference.endpoints[bug];
      assert.ok(server, `the reference server has no endpoint for ${bug}`);
      const run = await runCheck(args(server));
      assert.equal(run.code, 1, shown(run));
      const failedCheck = (name) => run.failed.some((line) => / - (.*)$/.exec(line)[1].startsWith(`${name}:`));
      for (const name of checks) assert.ok(failedCheck(name), `expected "${name}" to fail:\n${shown(run)}`);
      if (!some) assert.equal(run.failed.length, checks.length, `expected only ${JSON.stringify(checks)} to fail:\n${shown(run)}`);
      assert.match(run.stdout, /^not ok \d+ - .+: .*expected/m, shown(run));
    });
  }
});

describe('the command line', () => {
  test('a missing option is a usage error (exit 2)', async () => {
    const run = await runCheck(['--issuer', 'http://127.0.0.1:9', '--scopes', 'x']);
    assert.equal(run.code, 2, shown(run));
    assert.match(run.stderr, /--server is required/);
  });
  test('an unknown option is a usage error (exit 2)', async () => {
    const run = await runCheck([...args('http://127.0.0.1:9/mcp'), '--frobnicate', '1']);
    assert.equal(run.code, 2, shown(run));
  });
  test('an IdP that does not answer: Bail out!, exit 1', async () => {
    const run = await runCheck(args(reference.endpoints.conforming, ['--admin', 'http://127.0.0.1:9']));
    assert.equal(run.code, 1, shown(run));
    assert.match(run.stdout, /^Bail out! set-up: the IdP admin endpoint/m, shown(run));
  });
  test('scopes the IdP does not know: Bail out! naming SCOPES, exit 1', async () => {
    const run = await runCheck(['--server', reference.endpoints.conforming, '--issuer', idp.issuer, '--scopes', 'tools:call admin']);
    assert.equal(run.code, 1, shown(run));
    assert.match(run.stdout, /^Bail out! .*did not grant admin.*SCOPES=/m, shown(run));
  });
  test('a server that does not answer: Bail out!, exit 1', async () => {
    const run = await runCheck(args('http://127.0.0.1:9/mcp'));
    assert.equal(run.code, 1, shown(run));
    assert.match(run.stdout, /^Bail out! the MCP server/m, shown(run));
  });
});

describe('DPoP (needs the Node binding\'s verifyRequest / protectedResource)', () => {
  for (const mode of ['allowed', 'required']) {
    test(`--dpop ${mode}: every check passes against the reference server in ${mode} mode`, async (t) => {
      if (reference.api !== 'request') {
        t.skip('the Node binding has no verifyRequest / protectedResource yet');
        return;
      }
      const dpopReference = await start(REFERENCE, ['--issuer', idp.issuer, '--scopes', SCOPES, '--dpop', mode]);
      for (const endpoint of ['conforming', 'conforming-stateful-json']) {
        const run = await runCheck(args(dpopReference.endpoints[endpoint], ['--dpop', mode]));
        assert.equal(run.code, 0, shown(run));
        assert.match(run.stdout, /^ok \d+ - DPoP: a replayed proof/m, shown(run));
      }
      if (mode === 'allowed') {
        // Without the DPoP challenge, the client cannot learn the server takes DPoP.
        const run = await runCheck(args(dpopReference.endpoints['no-dpop-challenge'], ['--dpop', mode]));
        assert.equal(run.code, 1, shown(run));
        assert.match(run.stdout, /^not ok \d+ - no credential: .*expected a DPoP challenge/m, shown(run));
        assert.match(run.stdout, /^not ok \d+ - DPoP: proof for another URL \(htu\): .*expected a DPoP challenge/m, shown(run));
      }
    });
  }
});

describe('the WWW-Authenticate parser (RFC 9110 §11.6.1)', () => {
  const cases = [
    ['one Bearer challenge', 'Bearer resource_metadata="https://r.example/.well-known/oauth-protected-resource/mcp", scope="a b"',
      [{ scheme: 'Bearer', params: { resource_metadata: 'https://r.example/.well-known/oauth-protected-resource/mcp', scope: 'a b' }, token68: undefined }]],
    ['Bearer and DPoP in one value, escapes and commas inside quotes',
      'Bearer error="invalid_token", error_description="a \\"quoted\\", \\\\ text", DPoP algs="ES256 PS256", error=invalid_dpop_proof',
      [{ scheme: 'Bearer', params: { error: 'invalid_token', error_description: 'a "quoted", \\ text' }, token68: undefined },
        { scheme: 'DPoP', params: { algs: 'ES256 PS256', error: 'invalid_dpop_proof' }, token68: undefined }]],
    ['two header lines', ['Bearer realm="x"', 'DPoP algs="ES256"'],
      [{ scheme: 'Bearer', params: { realm: 'x' }, token68: undefined }, { scheme: 'DPoP', params: { algs: 'ES256' }, token68: undefined }]],
    ['token68, a bare scheme, empty list elements, case-insensitive names', ' , Basic dXNlcjpwYXNz== ,, Bearer , Newauth REALM = "apps" ,',
      [{ scheme: 'Basic', params: {}, token68: 'dXNlcjpwYXNz==' }, { scheme: 'Bearer', params: {}, token68: undefined },
        { scheme: 'Newauth', params: { realm: 'apps' }, token68: undefined }]],
    ['RFC 9110 §11.6.1 example', 'Basic realm="simple", Newauth realm="apps", type=1, title="Login to \\"apps\\""',
      [{ scheme: 'Basic', params: { realm: 'simple' }, token68: undefined },
        { scheme: 'Newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' }, token68: undefined }]],
  ];
  for (const [name, input, want] of cases) {
    test(name, () => assert.deepEqual(parseWwwAuthenticate(input), want));
  }
  const refused = [
    ['an unterminated quoted-string', 'Bearer error="invalid_token'],
    ['a bare quote inside a quoted-string', 'Bearer error_description="The "token" is bad"'],
    ['a parameter repeated in one challenge', 'Bearer scope="a", Scope="b"'],
    ['a parameter without a value', 'Bearer scope=, error="x"'],
    ['two parameters without a comma', 'Bearer a=1 b=2'],
    ['a CR LF inside the value', 'Bearer a="1"\r\nX-Injected: yes'],
    ['no scheme', '="x"'],
    ['a parameter after a token68', 'Basic abc==, realm="x"'],
  ];
  for (const [name, input] of refused) {
    test(`refuses ${name}`, () => assert.throws(() => parseWwwAuthenticate(input), WwwAuthenticateError));
  }
});

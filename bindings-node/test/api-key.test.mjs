// API keys in an `X-API-Key` header (the core's `AuthRequest::with_api_key`): checked against the
// configured static tokens only — never as a JWT, never introspected — and only when the request
// has no Authorization header (Authorization wins). Through verifyRequest / verifyRequestSync,
// through jwtgate/mcp's requireAuth and requireAuthRequest on real MCP servers (SDK v2, the real
// v2 client, tokens from the repository's oidc-provider IdP), and from the seed-style
// environment (AUTH_MODE=api_key) through Verifier.fromEnv. Everything listens on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { JwtGateError, Verifier } from '../index.mjs';
import { startIdp } from './helpers/idp.mjs';
import { AUDIENCE, claims, ISSUER, keyFor } from './helpers/mint.mjs';
import { start } from './servers/ts-v2-server.mjs';

const KEY = 'k-3f9a1c-api-key';
const URL_ = 'https://mcp.example.test/mcp';
const ec = keyFor('ES256');
const local = {
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: { keys: [ec.jwk] },
  staticTokens: [{ token: KEY, clientId: 'ci-bot', scopes: ['tools:call'] }],
  requiredScopes: ['tools:call'],
};
const jwt = ec.mint(claims({ scope: 'tools:call' }));

function outcome(fn) {
  try {
    return fn();
  } catch (e) {
    return e;
  }
}

describe('verifyRequest with apiKey', () => {
  test('a configured static token in X-API-Key is accepted, spaces and tabs around it ignored', async () => {
    const v = new Verifier(local);
    for (const apiKey of [KEY, ` ${KEY}\t`]) {
      const request = { method: 'POST', url: URL_, apiKey };
      const sync = v.verifyRequestSync(request);
      assert.equal(sync.kind, 'static_token');
      assert.equal(sync.clientId, 'ci-bot');
      assert.equal((await v.verifyRequest(request)).clientId, 'ci-bot');
      assert.equal(v.verifyRequestAtSync(request, 1_700_000_000).clientId, 'ci-bot');
      assert.equal((await v.verifyRequestAt(request, 1_700_000_000)).clientId, 'ci-bot');
    }
    assert.equal(v.stats().staticTokens, 8);
  });

  test('a JWT in X-API-Key is refused (static tokens only), however valid', async () => {
    const v = new Verifier(local);
    assert.equal(v.verifySync(jwt).kind, 'jwt');
    for (const apiKey of [jwt, 'unknown-key']) {
      const e = await v.verifyRequest({ method: 'POST', url: URL_, apiKey }).catch((x) => x);
      assert.ok(e instanceof JwtGateError, String(e));
      assert.equal(e.code, 'token_unknown');
      assert.equal(e.status, 401);
      assert.match(e.message, /X-API-Key/);
    }
  });

  test('Authorization wins when both are present', async () => {
    const v = new Verifier(local);
    // A valid Authorization with a wrong key: the JWT is what is checked.
    assert.equal(v.verifyRequestSync({ method: 'POST', url: URL_, authorization: `Bearer ${jwt}`, apiKey: 'wrong' }).kind, 'jwt');
    // A valid key with a bad or foreign Authorization: refused, the key never looked at.
    for (const [authorization, code] of [
      ['Bearer not-a-token', 'token_unknown'],
      ['Basic Zm9vOmJhcg==', 'credential_missing'],
      ['', 'credential_missing'],
    ]) {
      const e = outcome(() => v.verifyRequestSync({ method: 'POST', url: URL_, authorization, apiKey: KEY }));
      assert.ok(e instanceof JwtGateError, `${authorization}: ${e}`);
      assert.equal(e.code, code, `${authorization}: ${e.message}`);
    }
  });

  test('an empty key is no credential; dpop required refuses API keys too', () => {
    const v = new Verifier(local);
    for (const apiKey of ['', ' \t ', null, undefined]) {
      const e = outcome(() => v.verifyRequestSync({ method: 'GET', url: URL_, apiKey }));
      assert.equal(e.code, 'credential_missing', String(apiKey));
    }
    const required = new Verifier({ ...local, dpop: 'required' });
    assert.equal(outcome(() => required.verifyRequestSync({ method: 'GET', url: URL_, apiKey: KEY })).code, 'dpop_proof_missing');
  });

  test('hostile apiKey values: TypeError for another type, token_malformed for a lone surrogate', async () => {
    const v = new Verifier({ staticTokens: [{ token: 'k\ufffd', clientId: 'bot' }] });
    for (const apiKey of [42, {}, [], [KEY], Symbol('k'), 10n, Buffer.from(KEY), true]) {
      assert.throws(() => v.verifyRequestSync({ method: 'GET', url: URL_, apiKey }), TypeError);
      await assert.rejects(v.verifyRequest({ method: 'GET', url: URL_, apiKey }), TypeError);
    }
    for (const apiKey of ['k\ud800', '\udfff']) {
      const e = outcome(() => v.verifyRequestSync({ method: 'GET', url: URL_, apiKey }));
      assert.ok(e instanceof JwtGateError && e.code === 'token_malformed', String(e));
    }
    // Never mangled into U+FFFD (which would match the configured key).
    assert.equal(v.verifyRequestSync({ method: 'GET', url: URL_, apiKey: 'k\ufffd' }).clientId, 'bot');
    // The header's name is `apiKey` in the request object; another spelling is a TypeError.
    assert.throws(() => v.verifyRequestSync({ method: 'GET', url: URL_, 'x-api-key': KEY }), TypeError);
  });
});

describe('requireAuth / requireAuthRequest with X-API-Key on a real MCP server (SDK v2)', () => {
  let idp;
  const servers = new Map();
  const logger = { warn() {} };

  before(async () => {
    idp = await startIdp();
    for (const mode of ['jwtgate', 'jwtgate-web']) {
      servers.set(
        mode,
        await start({
          issuer: idp.issuer,
          mode,
          logger,
          verifierOptions: { staticTokens: [{ token: KEY, clientId: 'ci-bot', scopes: ['tools:call'] }] },
        }),
      );
    }
  });

  after(async () => {
    for (const server of servers.values()) await server.close();
    idp?.stop();
  });

  async function whoami(url, headers) {
    const client = new Client({ name: 'jwtgate-test-api-key', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      return JSON.parse(result.content[0].text);
    } finally {
      await client.close();
    }
  }

  function initialize(url, headers) {
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
  }

  for (const mode of ['jwtgate', 'jwtgate-web']) {
    test(`${mode}: the v2 client calls the tool with an X-API-Key header; AuthInfo of the static token`, async () => {
      const { url, metadataUrl } = servers.get(mode).info;
      const auth = await whoami(url, { 'X-API-Key': `  ${KEY}` });
      assert.equal(auth.token, KEY);
      assert.equal(auth.clientId, 'ci-bot');
      assert.deepEqual(auth.scopes, ['tools:call']);
      assert.equal(auth.resourceMetadataUrl, metadataUrl);
      assert.equal(auth.extra.verified.kind, 'static_token');
      assert.deepEqual(auth.extra.claims, {});
    });

    test(`${mode}: a JWT in X-API-Key → 401 invalid_token, though Bearer accepts it`, async () => {
      const { url, resource } = servers.get(mode).info;
      const token = await idp.token({ scope: 'tools:call', resource });
      assert.equal((await whoami(url, { Authorization: `Bearer ${token}` })).extra.verified.kind, 'jwt');
      const response = await initialize(url, { 'x-api-key': token });
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate'), /^Bearer error="invalid_token"/);
    });

    test(`${mode}: Authorization wins over X-API-Key`, async () => {
      const { url, resource } = servers.get(mode).info;
      const token = await idp.token({ scope: 'tools:call', resource });
      const auth = await whoami(url, { Authorization: `Bearer ${token}`, 'X-API-Key': 'wrong' });
      assert.equal(auth.token, token);
      assert.equal(auth.clientId, 'client-rs256');
      const refused = await initialize(url, { authorization: 'Bearer not-a-token', 'x-api-key': KEY });
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get('www-authenticate'), /error="invalid_token"/);
    });

    test(`${mode}: a wrong key → 401 invalid_token; no credential → the challenge without error`, async () => {
      const { url } = servers.get(mode).info;
      const wrong = await initialize(url, { 'x-api-key': 'nope' });
      assert.equal(wrong.status, 401);
      assert.match(wrong.headers.get('www-authenticate'), /^Bearer error="invalid_token"/);
      const none = await initialize(url, { 'x-api-key': '' });
      assert.equal(none.status, 401);
      assert.doesNotMatch(none.headers.get('www-authenticate'), /error=/);
    });
  }
});

describe('AUTH_MODE=api_key from the environment (Verifier.fromEnv)', () => {
  test('the API key is accepted (Bearer or X-API-Key); the OIDC variables are not used', async () => {
    const idp = await startIdp();
    const vars = {
      JGK_OAUTH_ISSUER: idp.issuer,
      JGK_OIDC_AUDIENCE: idp.resource,
      JGK_API_KEY: KEY,
      JGK_AUTH_MODE: 'api_key',
    };
    const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
    Object.assign(process.env, vars);
    try {
      const v = Verifier.fromEnv('JGK_');
      assert.equal(v.verifySync(KEY).clientId, 'api-key');
      assert.equal((await v.verifyRequest({ method: 'POST', url: URL_, apiKey: KEY })).clientId, 'api-key');
      assert.equal((await v.verifyRequest({ method: 'POST', url: URL_, authorization: `Bearer ${KEY}` })).kind, 'static_token');
      // No issuer: a token from the IdP is no credential here.
      const e = await v.verify(await idp.token({ scope: 'tools:call' })).catch((x) => x);
      assert.ok(e instanceof JwtGateError, String(e));
      assert.equal(e.code, 'token_unknown');
      assert.equal(v.keysStatus().source, 'static');
      // oauth: the key is not accepted; none is refused.
      process.env.JGK_AUTH_MODE = 'oauth';
      const oauth = Verifier.fromEnv('JGK_');
      assert.notEqual(outcome(() => oauth.verifySync(KEY)).clientId, 'api-key');
      process.env.JGK_AUTH_MODE = 'none';
      assert.throws(
        () => Verifier.fromEnv('JGK_'),
        (x) => x instanceof JwtGateError && x.code === 'config_invalid' && /JGK_AUTH_MODE/.test(x.message),
      );
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      idp.stop();
    }
  });
});

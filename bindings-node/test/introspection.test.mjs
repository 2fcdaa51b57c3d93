// Token introspection (RFC 7662) through the Node package, against the repository's real identity
// provider (tests/idp: oidc-provider), as core/tests/introspection_idp.rs runs it in Rust: opaque
// access tokens of `client-opaque`, introspected as `resource-server` with client_secret_basic and
// client_secret_post (RFC 6749 §2.3.1); revocation (RFC 7009) seen once the cache time has passed;
// the provider refusing this server (introspection_failed, 503); scopes (403); the call made off
// the main thread by verify() / verifyRequest(); jwtgate/mcp's requireAuth on a real MCP server
// (SDK v2) with the real v2 client; and the seed-style environment (OAUTH_CLIENT_ID / SECRET,
// OAUTH_INTROSPECTION_URL) through Verifier.fromEnv. Everything listens on 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { JwtGateError, Verifier } from '../index.mjs';
import { startIdp } from './helpers/idp.mjs';
import { answeredAtOnce } from './helpers/settled.mjs';
import { start } from './servers/ts-v2-server.mjs';

/** The resource server's client at the IdP: allowed to introspect and revoke every token. */
const SERVER = Object.freeze({ clientId: 'resource-server', clientSecret: 'secret-resource-server' });

let idp;
before(async () => {
  idp = await startIdp();
});
after(() => idp?.stop());

/** A verifier for the IdP's default resource that introspects as the resource server. */
function introspecting(options = {}, introspection = {}) {
  return new Verifier({ issuer: idp.issuer, audience: idp.resource, ...options, introspection: { ...SERVER, ...introspection } });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejected(promise) {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
  assert.ok(outcome.error instanceof JwtGateError, `expected a JwtGateError, got ${outcome.error ?? 'success'}`);
  return outcome.error;
}

describe('introspection against the real IdP', () => {
  for (const [clientAuth, endpoint] of [
    ['basic', undefined],
    ['post', 'explicit'],
  ]) {
    test(`opaque tokens are introspected (client_secret_${clientAuth}, endpoint ${endpoint ?? 'discovered'})`, async () => {
      const v = introspecting(
        { requiredScopes: ['tools:call'] },
        { clientAuth, ...(endpoint ? { endpoint: `${idp.issuer}/token/introspection` } : {}) },
      );
      const token = await idp.opaqueToken({ scope: 'tools:call read' });
      const claims = await v.verify(token);
      assert.equal(claims.kind, 'introspected');
      assert.equal(claims.clientId, 'client-opaque');
      assert.deepEqual([...claims.scopes].sort(), ['read', 'tools:call']);
      assert.equal(claims.iss, idp.issuer);
      assert.equal(claims.audienceMatched, idp.resource);
      assert.equal(claims.alg, undefined);
      assert.equal(typeof claims.exp, 'number');
      // `payload` is the provider's RFC 7662 answer.
      assert.equal(claims.payload.active, true);
      assert.equal(claims.payload.client_id, 'client-opaque');
      assert.ok(Object.isFrozen(claims) && Object.isFrozen(claims.payload));
      // The answer is cached: the other entry points take it without another call.
      const sync = v.verifySync(token);
      assert.deepEqual({ ...sync }, { ...claims });
      // An answer is the provider's word when it was asked: its object is not reused by text.
      assert.notEqual(sync, claims);
      const viaRequest = await v.verifyRequest({ method: 'POST', url: `${idp.resource}mcp`, authorization: `Bearer ${token}` });
      assert.equal(viaRequest.kind, 'introspected');
      assert.equal(v.verifyRequestSync({ method: 'POST', url: `${idp.resource}mcp`, authorization: `Bearer ${token}` }).clientId, 'client-opaque');
      let stats = v.stats();
      assert.equal(stats.introspections, 1);
      assert.equal(stats.introspectionFailures, 0);
      // A token without the required scope: 403 with the otherwise valid credential.
      const narrow = await idp.opaqueToken({ scope: 'read' });
      const e = await rejected(v.verify(narrow));
      assert.equal(e.code, 'insufficient_scope');
      assert.equal(e.status, 403);
      assert.deepEqual(e.detail.missingScopes, ['tools:call']);
      assert.equal(e.claims.kind, 'introspected');
      assert.equal(e.claims.clientId, 'client-opaque');
      stats = v.stats();
      assert.equal(stats.introspections, 2);
      assert.equal(stats.rejectedByCode.insufficient_scope, 1);
    });
  }

  test('the provider refusing this server’s credentials: introspection_failed, 503, no challenge', async () => {
    const v = introspecting({}, { clientSecret: 'wrong-secret' });
    const token = await idp.opaqueToken({ scope: 'tools:call' });
    for (const outcome of [
      () => v.verify(token),
      () => v.verifyRequest({ method: 'POST', url: `${idp.resource}mcp`, authorization: `Bearer ${token}` }),
    ]) {
      const e = await rejected(outcome());
      assert.equal(e.code, 'introspection_failed');
      assert.equal(e.status, 503);
      // The message names the provider's answer, for the operator.
      assert.match(e.message, /401/);
      // A server-side problem: the core's answer has no challenge (the token is not at fault).
      const challenge = v.protectedResource(idp.resource).challenge(e);
      assert.equal(challenge.status, 503);
      assert.equal(challenge.wwwAuthenticate, undefined);
    }
    const stats = v.stats();
    assert.ok(stats.introspectionFailures >= 1, JSON.stringify(stats));
    assert.equal(stats.rejectedByCode.introspection_failed, 2);
  });

  test('a revoked token is refused once cacheTtl has passed (token_inactive, 401); at once with cacheTtl 0', async () => {
    const ttl = 1;
    const v = introspecting({}, { cacheTtl: ttl });
    const token = await idp.opaqueToken({ scope: 'tools:call' });
    assert.equal((await v.verify(token)).kind, 'introspected');
    await idp.revoke(token);
    // Within the cache time the cached answer may still be used; after it, never.
    await sleep(ttl * 1000 + 200);
    const e = await rejected(v.verify(token));
    assert.equal(e.code, 'token_inactive');
    assert.equal(e.status, 401);
    assert.equal(v.stats().rejectedByCode.token_inactive, 1);
    // No cache: the provider is asked every time, and a revoked token is refused at once.
    const uncached = introspecting({}, { cacheTtl: 0 });
    const fresh = await idp.opaqueToken({ scope: 'tools:call' });
    assert.equal(uncached.verifySync(fresh).kind, 'introspected');
    await idp.revoke(fresh);
    assert.equal(await rejected(uncached.verify(fresh)).then((x) => x.code), 'token_inactive');
    assert.equal(uncached.stats().introspections, 2);
  });

  test('JWTs are still verified locally; jwts: true asks the provider about them too', async () => {
    const v = introspecting();
    await v.waitReady(10);
    const jwt = await idp.token({ alg: 'ES256', scope: 'tools:call' });
    assert.equal((await v.verify(jwt)).kind, 'jwt');
    assert.equal(v.stats().introspections, 0);
    // oidc-provider cannot introspect its own JWT access tokens (400 unsupported_token_type):
    // with jwts on, such a JWT is not accepted on its signature alone.
    const strict = introspecting({}, { jwts: true });
    await strict.waitReady(10);
    const e = await rejected(strict.verify(jwt));
    assert.equal(e.code, 'introspection_failed');
    assert.equal(strict.stats().introspections, 1);
  });
});

describe('introspection and the event loop', () => {
  /**
   * An introspection endpoint on THIS thread's event loop that forwards to the IdP's: it can
   * answer only while the main thread is free, so an accepted token proves the call was made
   * elsewhere.
   */
  async function forwarder() {
    let forwarded = 0;
    const server = createServer(async (req, res) => {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const headers = { 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' };
      if (req.headers.authorization !== undefined) headers.authorization = req.headers.authorization;
      const answer = await fetch(`${idp.issuer}/token/introspection`, { method: 'POST', headers, body: Buffer.concat(chunks) });
      forwarded += 1;
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { endpoint: `http://127.0.0.1:${server.address().port}/introspect`, forwarded: () => forwarded, close: () => server.close() };
  }

  test('verify() and verifyRequest() make the call on the libuv pool; a cached answer comes at once', async () => {
    const proxy = await forwarder();
    try {
      const v = introspecting({ fetchTimeout: 2 }, { endpoint: proxy.endpoint });
      const token = await idp.opaqueToken({ scope: 'tools:call' });
      const first = v.verify(token);
      assert.equal(await answeredAtOnce(first), false, 'an answer not cached yet: asked from the pool');
      assert.equal((await first).kind, 'introspected');
      assert.equal(proxy.forwarded(), 1);
      assert.equal(await answeredAtOnce(v.verify(token)), true, 'a cached answer: on the main thread');
      const other = await idp.opaqueToken({ scope: 'tools:call' });
      const viaRequest = await v.verifyRequest({ method: 'GET', url: `${idp.resource}mcp`, authorization: `Bearer ${other}` });
      assert.equal(viaRequest.kind, 'introspected');
      assert.equal(proxy.forwarded(), 2);
      assert.equal(v.stats().introspections, 2);
    } finally {
      proxy.close();
    }
  });

  test('verifySync() makes the call on the calling thread (documented): this thread cannot answer it', async () => {
    const proxy = await forwarder();
    try {
      const v = introspecting({ fetchTimeout: 1 }, { endpoint: proxy.endpoint });
      const token = await idp.opaqueToken({ scope: 'tools:call' });
      // The endpoint lives on the blocked event loop: the call runs into the fetch timeout.
      assert.throws(
        () => v.verifySync(token),
        (e) => e instanceof JwtGateError && e.code === 'introspection_failed',
      );
      // With the main thread free again, verify() gets the answer (failures are never cached).
      assert.equal((await v.verify(token)).kind, 'introspected');
    } finally {
      proxy.close();
    }
  });
});

describe('requireAuth on a real MCP server (SDK v2) with introspection', () => {
  const servers = [];
  const logged = [];
  const logger = { warn: (message) => logged.push(message) };
  const TTL = 1;
  let byMode;
  let refusing;

  before(async () => {
    byMode = {};
    for (const mode of ['jwtgate', 'jwtgate-web']) {
      const server = await start({
        issuer: idp.issuer,
        mode,
        logger,
        verifierOptions: { introspection: { ...SERVER, cacheTtl: TTL } },
      });
      servers.push(server);
      byMode[mode] = server.info;
    }
    refusing = await start({
      issuer: idp.issuer,
      logger,
      verifierOptions: { introspection: { ...SERVER, clientSecret: 'wrong-secret' } },
    });
    servers.push(refusing);
  });

  after(async () => {
    for (const server of servers) await server.close();
  });

  async function whoami(url, token) {
    const client = new Client({ name: 'jwtgate-test-introspection', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      return JSON.parse(result.content[0].text);
    } finally {
      await client.close();
    }
  }

  function initialize(url, token) {
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
  }

  for (const mode of ['jwtgate', 'jwtgate-web']) {
    test(`${mode}: the v2 client calls the tool with an opaque token; AuthInfo of the introspected token`, async () => {
      const { url, resource, metadataUrl } = byMode[mode];
      const token = await idp.opaqueToken({ scope: 'tools:call', resource });
      const auth = await whoami(url, token);
      assert.equal(auth.token, token);
      assert.equal(auth.clientId, 'client-opaque');
      assert.deepEqual(auth.scopes, ['tools:call']);
      assert.equal(auth.resource, resource);
      assert.equal(auth.resourceMetadataUrl, metadataUrl);
      // The provider's exp, not the static-token stand-in.
      assert.equal(auth.expiresAt, auth.extra.claims.exp);
      assert.equal(auth.extra.claims.active, true);
      assert.equal(auth.extra.verified.kind, 'introspected');
    });

    test(`${mode}: a token without the required scope → 403 insufficient_scope`, async () => {
      const { url, resource, metadataUrl } = byMode[mode];
      const response = await initialize(url, await idp.opaqueToken({ scope: 'read', resource }));
      assert.equal(response.status, 403);
      const header = response.headers.get('www-authenticate');
      assert.match(header, /^Bearer error="insufficient_scope"/);
      assert.ok(header.includes(`resource_metadata="${metadataUrl}"`), header);
      assert.ok(header.includes('scope="tools:call"'), header);
    });

    test(`${mode}: a revoked token → 401 invalid_token once the cache time has passed`, async () => {
      const { url, resource } = byMode[mode];
      const token = await idp.opaqueToken({ scope: 'tools:call', resource });
      assert.equal((await whoami(url, token)).clientId, 'client-opaque');
      await idp.revoke(token);
      await sleep(TTL * 1000 + 200);
      logged.length = 0;
      const response = await initialize(url, token);
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate'), /^Bearer error="invalid_token", error_description="The access token is not active"/);
      assert.ok(logged.some((line) => line.includes('(token_inactive)')), JSON.stringify(logged));
    });
  }

  test('the provider refusing the server’s secret → 503 server_error, no challenge', async () => {
    const { url, resource } = refusing.info;
    logged.length = 0;
    const response = await initialize(url, await idp.opaqueToken({ scope: 'tools:call', resource }));
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('www-authenticate'), null);
    assert.deepEqual(await response.json(), {
      error: 'server_error',
      error_description: 'The server cannot verify access tokens right now',
    });
    assert.ok(logged.some((line) => line.includes('(introspection_failed)')), JSON.stringify(logged));
  });
});

describe('introspection from the environment (Verifier.fromEnv)', () => {
  /** Runs `fn` with `vars` set in process.env, then restores it. */
  async function withEnv(vars, fn) {
    const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
    Object.assign(process.env, vars);
    try {
      return await fn();
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  test('OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET (endpoint discovered, or OAUTH_INTROSPECTION_URL)', async () => {
    for (const url of [undefined, `${idp.issuer}/token/introspection`]) {
      const vars = {
        JGI_OAUTH_ISSUER: idp.issuer,
        JGI_OIDC_AUDIENCE: idp.resource,
        JGI_OIDC_REQUIRED_SCOPES: 'tools:call',
        JGI_OAUTH_CLIENT_ID: SERVER.clientId,
        JGI_OAUTH_CLIENT_SECRET: SERVER.clientSecret,
      };
      if (url !== undefined) vars.JGI_OAUTH_INTROSPECTION_URL = url;
      await withEnv(vars, async () => {
        const v = Verifier.fromEnv('JGI_');
        const claims = await v.verify(await idp.opaqueToken({ scope: 'tools:call' }));
        assert.equal(claims.kind, 'introspected');
        assert.equal(claims.clientId, 'client-opaque');
        const e = await rejected(v.verify(await idp.opaqueToken({ scope: 'read' })));
        assert.equal(e.code, 'insufficient_scope');
      });
    }
    // Half of the client credentials: config_invalid naming the missing variable.
    await withEnv({ JGI_OAUTH_ISSUER: idp.issuer, JGI_OIDC_AUDIENCE: idp.resource, JGI_OAUTH_CLIENT_ID: SERVER.clientId }, () => {
      assert.throws(
        () => Verifier.fromEnv('JGI_'),
        (e) => e instanceof JwtGateError && e.code === 'config_invalid' && /JGI_OAUTH_CLIENT_SECRET/.test(e.message),
      );
    });
  });
});

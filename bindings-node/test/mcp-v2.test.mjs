// TypeScript SDK v2: real MCP servers (test/servers/ts-v2-server.mjs) on
// @modelcontextprotocol/server + @modelcontextprotocol/express + @modelcontextprotocol/node,
// guarded four ways — jwtgate's requireAuth (Express) and requireAuthRequest (web-standard), the
// SDK's Express requireBearerAuth and its web-standard requireBearerAuth with jwtgate's
// createTokenVerifier — called by the real v2 client (@modelcontextprotocol/client) with tokens
// from the repository's oidc-provider IdP. Everything listens on 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { InsufficientScopeError, InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { bearerAuthChallengeResponse, OAuthError, OAuthErrorCode, verifyBearerToken } from '@modelcontextprotocol/server';

import { JwtGateError, ProtectedResource, Verifier } from '../index.mjs';
import { createTokenVerifier, requireAuthRequest } from '../mcp.mjs';
import { startIdp } from './helpers/idp.mjs';
import { MODES, start } from './servers/ts-v2-server.mjs';

const SCOPES = ['tools:call'];
let idp;
const servers = new Map();
const logged = [];
const logger = { warn: (message) => logged.push(message) };

before(async () => {
  idp = await startIdp({ scopes: 'tools:call read admin' });
  for (const mode of MODES) {
    servers.set(mode, await start({ issuer: idp.issuer, scopes: SCOPES, mode, scopeImplies: { admin: ['*'] }, logger }));
  }
});

after(async () => {
  for (const server of servers.values()) await server.close();
  idp?.stop();
});

/** A token for `resource` (default: the server's own URL) with `scope`. */
function tokenFor(info, { scope = 'tools:call', resource = info.resource, alg } = {}) {
  return idp.token({ scope, resource, alg });
}

async function whoami(url, token) {
  const client = new Client({ name: 'jwtgate-test-v2-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return JSON.parse(result.content[0].text);
  } finally {
    await client.close();
  }
}

/** A raw MCP initialize request, for the status and headers. */
function initialize(url, token) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
}

const jwtgateMode = (mode) => mode.startsWith('jwtgate');

for (const mode of MODES) {
  describe(`SDK v2 server, ${mode}`, () => {
    const info = () => servers.get(mode).info;

    test('the v2 client calls the tool with an IdP token; AuthInfo is jwtgate’s', async () => {
      const { url, resource, metadataUrl } = info();
      const token = await tokenFor(info());
      const auth = await whoami(url, token);
      assert.equal(auth.token, token);
      assert.equal(auth.clientId, 'client-rs256');
      assert.deepEqual(auth.scopes, ['tools:call']);
      assert.equal(auth.resource, resource);
      assert.equal(auth.resourceMetadataUrl, metadataUrl);
      assert.equal(typeof auth.expiresAt, 'number');
      assert.equal(auth.extra.claims.aud, resource);
      assert.equal(auth.extra.verified.kind, 'jwt');
    });

    test('the resource in canonical form: a trailing slash in the token’s audience is accepted', async () => {
      const auth = await whoami(info().url, await tokenFor(info(), { resource: `${info().resource}/`, alg: 'ES256' }));
      assert.equal(auth.clientId, 'client-es256');
    });

    test('scope hierarchy: admin implies every scope, the SDK’s own scope check included', async () => {
      const auth = await whoami(info().url, await tokenFor(info(), { scope: 'admin' }));
      assert.deepEqual(auth.scopes, ['admin', 'tools:call']);
    });

    test('no token → 401 with resource_metadata and scope', async () => {
      const { url, metadataUrl } = info();
      const response = await initialize(url);
      assert.equal(response.status, 401);
      const header = response.headers.get('www-authenticate');
      if (jwtgateMode(mode)) {
        // The core's challenges, Bearer and DPoP (RFC 9449 §7.1): no error attribute without a
        // credential (RFC 6750 §3.1).
        const params = `resource_metadata="${metadataUrl}", scope="tools:call"`;
        assert.equal(header, `Bearer ${params}, DPoP algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519", ${params}`);
      } else {
        // The SDK writes its own challenge here, error="invalid_token" included.
        assert.match(header, /^Bearer error="invalid_token"/);
        assert.ok(header.includes(`resource_metadata="${metadataUrl}"`), header);
        assert.ok(header.includes('scope="tools:call"'), header);
      }
      await assert.rejects(whoami(url));
    });

    test('a token without the required scope → 403 insufficient_scope naming it', async () => {
      const { url, metadataUrl } = info();
      const response = await initialize(url, await tokenFor(info(), { scope: 'read' }));
      assert.equal(response.status, 403);
      const header = response.headers.get('www-authenticate');
      assert.match(header, /^Bearer error="insufficient_scope", error_description="The access token lacks a required scope"/);
      assert.ok(header.includes(`resource_metadata="${metadataUrl}"`), header);
      assert.ok(header.includes('scope="tools:call"'), header);
      assert.deepEqual(await response.json(), {
        error: 'insufficient_scope',
        error_description: 'The access token lacks a required scope',
      });
    });

    test('a token for another resource → 401 invalid_token, the core’s description', async () => {
      logged.length = 0;
      const response = await initialize(info().url, await idp.token({ scope: 'tools:call' }));
      assert.equal(response.status, 401);
      const header = response.headers.get('www-authenticate');
      assert.match(header, /^Bearer error="invalid_token", error_description="The access token was not issued for this resource"/);
      assert.doesNotMatch(header, /mcp\.test/);
      assert.ok(logged.some((line) => line.includes('(audience_mismatch)')), JSON.stringify(logged));
    });

    test('a tampered token → 401', async () => {
      const [h, p, s] = (await tokenFor(info())).split('.');
      const response = await initialize(info().url, `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`);
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate'), /error_description="The access token signature is invalid"/);
    });

    test('the RFC 9728 document at the path-aware well-known URL', async () => {
      const { metadataUrl, resource } = info();
      const response = await fetch(metadataUrl);
      assert.equal(response.status, 200);
      const document = await response.json();
      assert.equal(document.resource, resource);
      assert.deepEqual(document.authorization_servers, [idp.issuer]);
      assert.deepEqual(document.scopes_supported, SCOPES);
      // The core's document in every mode (the SDK's routers build one without these members).
      const verifier = new Verifier({ issuer: idp.issuer, audience: resource, requiredScopes: SCOPES });
      assert.deepEqual(document, verifier.protectedResource(resource).metadata());
      assert.deepEqual(document.bearer_methods_supported, ['header']);
      assert.ok(document.dpop_signing_alg_values_supported.includes('ES256'));
      assert.equal(document.dpop_bound_access_tokens_required, undefined);
      // The SDK's mirror of the authorization server's metadata, where its helpers are mounted.
      if (!jwtgateMode(mode)) {
        const mirror = await fetch(new URL('/.well-known/oauth-authorization-server', metadataUrl));
        assert.equal((await mirror.json()).issuer, idp.issuer);
      }
    });
  });
}

async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

describe('createTokenVerifier with SDK v2', () => {
  test('rejections are v2 OAuthErrors with the code for the core’s status', async () => {
    const tv = createTokenVerifier({ issuer: idp.issuer, audience: idp.resource, requiredScopes: ['admin'] }, { logger });
    assert.equal(tv.sdk, 2);
    assert.deepEqual(tv.requiredScopes, ['admin']);
    await tv.verifier.waitReady(10);
    const scope = await tv.verifyAccessToken(await idp.token({ scope: 'tools:call' })).catch((e) => e);
    assert.ok(scope instanceof OAuthError);
    assert.equal(scope.code, OAuthErrorCode.InsufficientScope);
    assert.equal(scope.message, 'The access token lacks a required scope');
    assert.ok(scope.cause instanceof JwtGateError);
    assert.equal(scope.cause.code, 'insufficient_scope');
    const invalid = await tv.verifyAccessToken('a.b.c').catch((e) => e);
    assert.ok(invalid instanceof OAuthError);
    assert.equal(invalid.code, OAuthErrorCode.InvalidToken);
    assert.equal(invalid.cause.code, 'token_malformed');
    // With SDK v1 installed as well (as here), the same errors satisfy v1's instanceof checks.
    assert.ok(scope instanceof InsufficientScopeError);
    assert.ok(invalid instanceof InvalidTokenError);
    assert.deepEqual(invalid.toResponseObject(), { error: 'invalid_token', error_description: 'The access token is malformed' });
  });

  test('keys unavailable → server_error: 500 without a challenge, not a token error', async () => {
    const tv = createTokenVerifier(
      { issuer: idp.issuer, audience: idp.resource, jwksUri: `http://127.0.0.1:${await closedPort()}/jwks`, fetchTimeout: 1 },
      { logger },
    );
    const error = await tv.verifyAccessToken(await idp.token()).catch((e) => e);
    assert.ok(error instanceof OAuthError);
    assert.equal(error.code, OAuthErrorCode.ServerError);
    assert.ok(error instanceof ServerError);
    assert.equal(error.cause.status, 503);
    const response = bearerAuthChallengeResponse(error, { resourceMetadataUrl: 'http://127.0.0.1/x' });
    assert.equal(response.status, 500);
    assert.equal(response.headers.get('www-authenticate'), null);
    assert.deepEqual(await response.json(), {
      error: 'server_error',
      error_description: 'The server cannot verify access tokens right now',
    });
  });

  test('verifyBearerToken + bearerAuthChallengeResponse (the SDK’s web-standard core)', async () => {
    const resource = new ProtectedResource('http://127.0.0.1:1/mcp', { authorizationServers: [idp.issuer], scopesSupported: SCOPES });
    const tv = createTokenVerifier({ issuer: idp.issuer, audience: resource.resource, requiredScopes: SCOPES }, { logger });
    await tv.verifier.waitReady(10);
    const options = { verifier: tv, requiredScopes: [...tv.requiredScopes], resourceMetadataUrl: resource.metadataUrl };
    const token = await idp.token({ scope: 'tools:call', resource: resource.resource });
    const auth = await verifyBearerToken(`Bearer ${token}`, options);
    assert.equal(auth.clientId, 'client-rs256');
    assert.equal(auth.resourceMetadataUrl, resource.metadataUrl);
    assert.equal(auth.resource.href, resource.resource);
    for (const [header, status, error] of [
      [`Bearer ${await idp.token({ scope: 'read', resource: resource.resource })}`, 403, 'insufficient_scope'],
      [`Bearer ${await idp.token({ scope: 'tools:call' })}`, 401, 'invalid_token'],
      ['Bearer not-a-token', 401, 'invalid_token'],
    ]) {
      const thrown = await verifyBearerToken(header, options).catch((e) => e);
      assert.ok(thrown instanceof OAuthError, String(thrown));
      const response = bearerAuthChallengeResponse(thrown, options);
      assert.equal(response.status, status);
      assert.equal((await response.json()).error, error);
      assert.ok(response.headers.get('www-authenticate').includes(`resource_metadata="${resource.metadataUrl}"`));
    }
  });

  test('a shared Verifier keeps its own audience comparison; options get canonical', async () => {
    const exact = new Verifier({ issuer: idp.issuer, audience: 'http://127.0.0.1:1/mcp' });
    const token = await idp.token({ resource: 'http://127.0.0.1:1/mcp/' });
    await exact.waitReady(10);
    const shared = await createTokenVerifier(exact, { logger }).verifyAccessToken(token).catch((e) => e);
    assert.equal(shared.cause.code, 'audience_mismatch');
    const own = createTokenVerifier({ issuer: idp.issuer, audience: 'http://127.0.0.1:1/mcp' }, { logger });
    await own.verifier.waitReady(10);
    assert.equal((await own.verifyAccessToken(token)).clientId, 'client-rs256');
  });
});

describe('requireAuthRequest (jwtgate, web-standard)', () => {
  test('keys unavailable → the core’s 503, no challenge, server_error body', async () => {
    const verifier = new Verifier({
      issuer: idp.issuer,
      audience: idp.resource,
      jwksUri: `http://127.0.0.1:${await closedPort()}/jwks`,
      fetchTimeout: 1,
    });
    const gate = requireAuthRequest({ verifier, resource: 'http://127.0.0.1:1/mcp', authorizationServers: [idp.issuer], logger });
    const response = await gate(new Request('http://127.0.0.1:1/mcp', { headers: { authorization: `Bearer ${await idp.token()}` } }));
    assert.ok(response instanceof Response);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('www-authenticate'), null);
    assert.deepEqual(await response.json(), {
      error: 'server_error',
      error_description: 'The server cannot verify access tokens right now',
    });
  });

  test('another scheme is no Bearer credential: the challenge without error', async () => {
    const verifier = new Verifier({ staticTokens: [{ token: 'k', clientId: 'c', scopes: ['tools:call'] }], requiredScopes: ['tools:call'] });
    const resource = verifier.protectedResource('http://127.0.0.1:1/mcp', { authorizationServers: [idp.issuer] });
    const gate = requireAuthRequest({ verifier, resource, logger });
    for (const authorization of ['Basic Zm9vOmJhcg==', 'Bearer', '']) {
      const response = await gate(new Request('http://127.0.0.1:1/mcp', { headers: { authorization } }));
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), resource.challenge(undefined, ['tools:call']).wwwAuthenticate);
    }
    const auth = await gate(new Request('http://127.0.0.1:1/mcp', { headers: { authorization: 'bearer k' } }));
    assert.equal(auth.clientId, 'c');
    assert.equal(auth.resourceMetadataUrl, resource.metadataUrl);
  });
});

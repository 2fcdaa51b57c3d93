// The MCP resource-server surface of the core, through the binding: ProtectedResource (RFC 9728
// document, RFC 6750 challenges), scope hierarchies (scopeImplies), canonical audience matching
// (audienceMatch), static tokens bound to a resource, and waitReady against an identity provider
// that starts late (the real IdP, on a port chosen in advance).
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';

import { JwtGateError, ProtectedResource, Verifier } from '../index.mjs';
import { startIdp } from './helpers/idp.mjs';
import { AUDIENCE, claims, ISSUER, keyFor } from './helpers/mint.mjs';

const local = keyFor('ES256');
const RESOURCE = 'https://mcp.example.com/mcp';
const META = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

function rejection(verifier, token) {
  try {
    verifier.verifySync(token);
  } catch (e) {
    assert.ok(e instanceof JwtGateError, String(e));
    return e;
  }
  assert.fail('the token was accepted');
}

describe('ProtectedResource', () => {
  const resource = new ProtectedResource(RESOURCE, {
    authorizationServers: ['https://auth.example.com'],
    scopesSupported: ['tools:call', 'files:read', 'offline_access'],
  });

  test('the document and its path-aware URL are the core’s', () => {
    assert.equal(resource.resource, RESOURCE);
    assert.equal(resource.metadataUrl, META);
    assert.equal(resource.metadataPath, '/.well-known/oauth-protected-resource/mcp');
    assert.deepEqual(resource.metadata(), {
      resource: RESOURCE,
      authorization_servers: ['https://auth.example.com'],
      scopes_supported: ['tools:call', 'files:read'],
      bearer_methods_supported: ['header'],
    });
    assert.deepEqual(JSON.parse(resource.metadataJson()), resource.metadata());
    assert.equal(Object.prototype.toString.call(resource), '[object ProtectedResource]');
  });

  test('no credential: 401 without error, every needed scope in one challenge', () => {
    assert.deepEqual(resource.challenge(undefined, ['tools:call', 'files:read']), {
      status: 401,
      wwwAuthenticate: `Bearer resource_metadata="${META}", scope="tools:call files:read"`,
      dpopNonce: undefined,
    });
    assert.equal(resource.challenge(null).wwwAuthenticate, `Bearer resource_metadata="${META}"`);
  });

  test('a rejection: invalid_token, or 403 insufficient_scope with the scopes', () => {
    const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [local.jwk] }, requiredScopes: ['files:write'] });
    const expired = rejection(verifier, local.mint(claims({ exp: 1_000_000, iat: 999_000, scope: 'files:write' })));
    assert.equal(expired.code, 'token_expired');
    assert.deepEqual(resource.challenge(expired, ['files:write']), {
      status: 401,
      wwwAuthenticate: `Bearer error="invalid_token", error_description="The access token expired", resource_metadata="${META}", scope="files:write"`,
      dpopNonce: undefined,
    });
    const scope = rejection(verifier, local.mint(claims({ scope: 'files:read' })));
    // Without required scopes: the scopes the token lacks (the core's detail).
    assert.deepEqual(resource.challenge(scope), {
      status: 403,
      wwwAuthenticate: `Bearer error="insufficient_scope", error_description="The access token lacks a required scope", resource_metadata="${META}", scope="files:write"`,
      dpopNonce: undefined,
    });
    // The binding's own refusal of a credential that is not valid Unicode answers like a
    // malformed one.
    const surrogate = rejection(verifier, 'a\ud800b');
    assert.equal(surrogate.code, 'token_malformed');
    assert.match(resource.challenge(surrogate).wwwAuthenticate, /error="invalid_token", error_description="The access token is malformed"/);
  });

  test('a server-side problem: the core’s 5xx, no challenge', async () => {
    const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: `http://127.0.0.1:${await closedPort()}/jwks`, fetchTimeout: 1 });
    const error = await verifier.verify(local.mint(claims())).catch((e) => e);
    assert.equal(error.code, 'jwks_unavailable');
    assert.deepEqual(resource.challenge(error, ['tools:call']), { status: 503, wwwAuthenticate: undefined, dpopNonce: undefined });
  });

  test('only a verifier’s rejection makes a challenge', () => {
    assert.throws(() => resource.challenge(new Error('x')), TypeError);
    assert.throws(() => resource.challenge(new JwtGateError('made here', 'token_expired')), TypeError);
    assert.throws(() => resource.challenge(undefined, 'tools:call'), (e) => e.code === 'config_invalid');
  });

  test('bad resources, servers, scopes and options are config_invalid', () => {
    for (const [resourceUrl, options] of [
      ['mcp.example.com', {}],
      ['http://mcp.example.com/', {}],
      ['https://mcp.example.com/?q=1', {}],
      [RESOURCE, { authorizationServers: ['not a url'] }],
      [RESOURCE, { scopesSupported: ['a b'] }],
      [RESOURCE, { scopesSupported: 'tools:call' }],
      [RESOURCE, { scopes: ['x'] }],
      [RESOURCE, null],
      [42, {}],
    ]) {
      assert.throws(
        () => new ProtectedResource(resourceUrl, options),
        (e) => e instanceof JwtGateError && e.code === 'config_invalid',
        `${resourceUrl} ${JSON.stringify(options)}`,
      );
    }
    assert.equal(new ProtectedResource('http://127.0.0.1:8080/mcp').metadataUrl, 'http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp');
  });
});

describe('verifier options of the MCP authorization rules', () => {
  test('scopeImplies: implied scopes satisfy required scopes, transitively; * implies all', () => {
    const verifier = new Verifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [local.jwk] },
      requiredScopes: ['files:read'],
      scopeImplies: { 'files:admin': 'files:write', 'files:write': ['files:read'], root: ['*'] },
    });
    assert.deepEqual(verifier.requiredScopes, ['files:read']);
    const admin = verifier.verifySync(local.mint(claims({ scope: 'files:admin' })));
    assert.deepEqual(admin.scopes, ['files:admin']);
    assert.deepEqual([...admin.grantedScopes].sort(), ['files:admin', 'files:read', 'files:write']);
    assert.equal(admin.hasScope('files:read'), true);
    assert.equal(admin.hasScope('tools:call'), false);
    const root = verifier.verifySync(local.mint(claims({ scope: 'root' })));
    assert.equal(root.hasScope('anything:at:all'), true);
    assert.deepEqual(root.grantedScopes, ['root']);
    // hasScope is a method, not data.
    assert.equal(Object.keys(root).includes('hasScope'), false);
    assert.equal(JSON.parse(JSON.stringify(root)).grantedScopes[0], 'root');
    const none = rejection(verifier, local.mint(claims({ scope: 'files:list' })));
    assert.equal(none.code, 'insufficient_scope');
    assert.deepEqual(none.detail.missingScopes, ['files:read']);
    // No hierarchy unless configured.
    const flat = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [local.jwk] }, requiredScopes: ['files:read'] });
    assert.equal(rejection(flat, local.mint(claims({ scope: 'files:write' }))).code, 'insufficient_scope');
  });

  test('audienceMatch: exact by default; canonical compares canonical resource URIs', () => {
    const token = local.mint(claims({ aud: 'HTTPS://MCP.Example.com:443/mcp/' }));
    const exact = new Verifier({ issuer: ISSUER, audience: RESOURCE, jwks: { keys: [local.jwk] } });
    assert.equal(rejection(exact, token).code, 'audience_mismatch');
    const canonical = new Verifier({ issuer: ISSUER, audience: RESOURCE, jwks: { keys: [local.jwk] }, audienceMatch: 'canonical' });
    assert.equal(canonical.verifySync(token).audienceMatched, RESOURCE);
    // The path stays case-sensitive.
    assert.equal(rejection(canonical, local.mint(claims({ aud: 'https://mcp.example.com/MCP' }))).code, 'audience_mismatch');
    for (const bad of ['Canonical', 'fuzzy', 1]) {
      assert.throws(
        () => new Verifier({ issuer: ISSUER, audience: RESOURCE, jwks: { keys: [local.jwk] }, audienceMatch: bad }),
        (e) => e.code === 'config_invalid',
      );
    }
  });

  test('a static token carries its resource', () => {
    const verifier = new Verifier({
      staticTokens: [
        { token: 'for-mcp', clientId: 'bot', scopes: ['tools:call'], audience: RESOURCE },
        { token: 'for-nothing', clientId: 'other' },
      ],
    });
    const claimsOf = verifier.verifySync('for-mcp');
    assert.deepEqual(claimsOf.aud, [RESOURCE]);
    assert.equal(claimsOf.audienceMatched, RESOURCE);
    assert.equal(verifier.verifySync('for-nothing').audienceMatched, undefined);
  });
});

async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

describe('waitReady', () => {
  test('retries until the timeout: an identity provider that starts late is waited for', async () => {
    const port = await closedPort();
    const verifier = new Verifier({ issuer: `http://127.0.0.1:${port}`, audience: 'https://mcp.test/', fetchTimeout: 1 });
    const ready = verifier.waitReady(30);
    // Start the IdP on that port once the verifier has seen discovery fail.
    while (verifier.keysStatus().failures === 0) await new Promise((r) => setTimeout(r, 20));
    const idp = await startIdp({ port });
    try {
      await ready;
      assert.equal(verifier.keysStatus().ready, true);
      assert.ok(verifier.keysStatus().failures >= 1);
      const token = await idp.token({ scope: 'tools:call' });
      assert.equal(verifier.verifySync(token).iss, idp.issuer);
    } finally {
      idp.stop();
    }
  });

  test('no identity provider: the last descriptive error once the timeout passed, after several attempts', async () => {
    const port = await closedPort();
    const verifier = new Verifier({ issuer: `http://127.0.0.1:${port}`, audience: 'https://mcp.test/', fetchTimeout: 1 });
    const error = await verifier.waitReady(2.5).catch((e) => e);
    assert.ok(error instanceof JwtGateError, String(error));
    assert.equal(error.code, 'discovery_failed');
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.ok(verifier.keysStatus().failures >= 2, JSON.stringify(verifier.keysStatus()));
  });
});

// The MCP resource-server surface of the core, through the binding: ProtectedResource (RFC 9728
// document, RFC 6750 challenges), scope hierarchies (scopeImplies), canonical audience matching
// (audienceMatch), static tokens bound to a resource, and waitReady against an identity provider
// that starts late (the real IdP, on a port chosen in advance).
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';

import { JwtGateError, ProtectedResource, Verifier } from '../index.mjs';
import { startIdp } from './helpers/idp.mjs';
import { dpopKey } from './helpers/dpop.mjs';
import { AUDIENCE, claims, ISSUER, keyFor } from './helpers/mint.mjs';
import { answeredAtOnce } from './helpers/settled.mjs';

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

describe('verifyRequest and Verifier.protectedResource (the request path, DPoP settings)', () => {
  const options = { issuer: ISSUER, audience: RESOURCE, jwks: { keys: [local.jwk] }, requiredScopes: ['tools:call'] };
  const request = (authorization, dpop) => ({ method: 'POST', url: RESOURCE, authorization, dpop });

  test('Bearer tokens through the request path; no credential is credential_missing', async () => {
    const verifier = new Verifier(options);
    const token = local.mint(claims({ aud: RESOURCE, scope: 'tools:call' }));
    assert.equal(verifier.verifyRequestSync(request(`Bearer ${token}`)).clientId, 'app-1');
    assert.equal((await verifier.verifyRequest(request(`bearer ${token}`))).clientId, 'app-1');
    for (const authorization of [undefined, null, 'Basic Zm9vOmJhcg==', 'Bearer']) {
      const missing = await verifier.verifyRequest(request(authorization)).catch((e) => e);
      assert.ok(missing instanceof JwtGateError, String(missing));
      assert.equal(missing.code, 'credential_missing');
      assert.equal(missing.status, 401);
      // Answered like a request without a credential: no error attribute (RFC 6750 §3.1).
      const resource = verifier.protectedResource(RESOURCE);
      assert.equal(resource.challenge(missing, ['tools:call']).wwwAuthenticate, resource.challenge(undefined, ['tools:call']).wwwAuthenticate);
    }
    // The DPoP scheme without a proof: a DPoP error of the core's.
    const proofless = await verifier.verifyRequest(request(`DPoP ${token}`)).catch((e) => e);
    assert.ok(proofless instanceof JwtGateError && proofless.code.startsWith('dpop_'), String(proofless));
  });

  test('verifyRequest settles on the calling thread with the keys in hand (DPoP proofs included), with verifyRequestSync\'s errors', async () => {
    const verifier = new Verifier({ ...options, dpop: 'allowed' });
    const client = dpopKey();
    const bound = local.mint(claims({ aud: RESOURCE, scope: 'tools:call', cnf: { jkt: client.thumbprint } }));
    const dpopRequest = (token = bound, proof = client.proof({ method: 'POST', url: RESOURCE, token })) => request(`DPoP ${token}`, proof);
    const bearer = local.mint(claims({ aud: RESOURCE, scope: 'tools:call' }));
    const accepted = [request(`Bearer ${bearer}`), request(`Bearer ${bearer}`), dpopRequest(), dpopRequest()];
    for (const [i, r] of accepted.entries()) {
      const promise = verifier.verifyRequest(r);
      assert.equal(await answeredAtOnce(promise), true, `request ${i}`);
      assert.equal((await promise).sub, 'user-42');
    }
    const reused = client.proof({ method: 'POST', url: RESOURCE, token: bound });
    await verifier.verifyRequest(dpopRequest(bound, reused));
    const refused = [
      [dpopRequest(bound, reused), 'dpop_proof_replayed'],
      [dpopRequest(bound, client.proof({ method: 'GET', url: RESOURCE, token: bound })), 'dpop_proof_invalid'],
      [request(`Bearer ${bound}`), 'dpop_proof_missing'],
      [request(`Bearer ${local.mint(claims({ aud: RESOURCE, scope: 'other' }))}`), 'insufficient_scope'],
      [request(undefined), 'credential_missing'],
    ];
    for (const [r, code] of refused) {
      let promise;
      assert.doesNotThrow(() => (promise = verifier.verifyRequest(r)));
      assert.equal(await answeredAtOnce(promise), true, code);
      const e = await promise.catch((x) => x);
      assert.ok(e instanceof JwtGateError, String(e));
      assert.equal(e.code, code);
      if (code !== 'dpop_proof_replayed') {
        // The same request on the calling thread: the same error (a replay is one only once).
        let sync;
        try {
          verifier.verifyRequestSync(r);
        } catch (x) {
          sync = x;
        }
        assert.deepEqual([e.code, e.message, e.status, e.claim], [sync.code, sync.message, sync.status, sync.claim]);
      }
    }
  });

  test('verifyRequest waits on the thread pool for keys that have not arrived', async () => {
    // The JWKS is served from this event loop: no fetch can finish before verifyRequest returns.
    let fetches = 0;
    const server = createHttpServer((req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [local.jwk] }));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const verifier = new Verifier({ ...options, jwks: undefined, jwksUri: `http://127.0.0.1:${server.address().port}/jwks` });
      const token = local.mint(claims({ aud: RESOURCE, scope: 'tools:call' }));
      const first = verifier.verifyRequest(request(`Bearer ${token}`));
      assert.equal(await answeredAtOnce(first), false);
      assert.equal((await first).sub, 'user-42');
      assert.equal(fetches, 1);
      const again = verifier.verifyRequest(request(`Bearer ${local.mint(claims({ aud: RESOURCE, scope: 'tools:call', jti: 'again' }))}`));
      assert.equal(await answeredAtOnce(again), true);
      assert.equal((await again).sub, 'user-42');
    } finally {
      server.close();
    }
  });

  test('the request must have its shape', async () => {
    const verifier = new Verifier(options);
    for (const bad of [null, 'Bearer x', { method: 'GET' }, { url: RESOURCE }, { method: 'GET', url: RESOURCE, headers: {} }, request(42), request('Bearer x', [1])]) {
      assert.throws(() => verifier.verifyRequestSync(bad), TypeError, JSON.stringify(bad));
      await assert.rejects(verifier.verifyRequest(bad), TypeError);
    }
    const surrogate = await verifier.verifyRequest(request('Bearer a\ud800b')).catch((e) => e);
    assert.equal(surrogate.code, 'token_malformed');
    assert.throws(() => verifier.verifyRequestAtSync(request('Bearer x'), 'now'), TypeError);
  });

  test('protectedResource: the verifier’s issuers and scopes by default, its DPoP settings advertised', () => {
    const allowed = new Verifier(options).protectedResource(RESOURCE);
    const document = allowed.metadata();
    assert.deepEqual(document.authorization_servers, [ISSUER]);
    assert.deepEqual(document.scopes_supported, ['tools:call']);
    assert.deepEqual(document.dpop_signing_alg_values_supported, ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
    assert.equal(document.dpop_bound_access_tokens_required, undefined);
    assert.match(allowed.challenge(undefined, ['tools:call']).wwwAuthenticate, /^Bearer resource_metadata="[^"]+", scope="tools:call", DPoP algs="RS256 /);
    const required = new Verifier({ ...options, dpop: 'required', dpopAlgorithms: ['ES256'], dpopNonce: true }).protectedResource(RESOURCE, {
      authorizationServers: ['https://other-as.example.com'],
      scopesSupported: ['tools:call', 'read'],
    });
    assert.equal(required.metadata().dpop_bound_access_tokens_required, true);
    assert.deepEqual(required.metadata().dpop_signing_alg_values_supported, ['ES256']);
    assert.deepEqual(required.metadata().authorization_servers, ['https://other-as.example.com']);
    const challenge = required.challenge();
    assert.match(challenge.wwwAuthenticate, /^DPoP algs="ES256", resource_metadata=/);
    assert.equal(typeof challenge.dpopNonce, 'string');
    const off = new Verifier({ ...options, dpop: 'off' }).protectedResource(RESOURCE).metadata();
    assert.equal(off.dpop_signing_alg_values_supported, undefined);
    assert.throws(() => new Verifier(options).protectedResource('not a url'), (e) => e.code === 'config_invalid');
    assert.throws(() => new Verifier(options).protectedResource(RESOURCE, { scopes: [] }), (e) => e.code === 'config_invalid');
  });

  test('DPoP options are checked by the core', () => {
    for (const bad of [{ dpop: 'sometimes' }, { dpopAlgorithms: ['HS256'] }, { dpopAlgorithms: ['XX1'] }, { dpopIatWindow: 0 }, { dpopIatWindow: -1 }, { dpopReplayCacheSize: 0 }]) {
      assert.throws(() => new Verifier({ ...options, ...bad }), (e) => e instanceof JwtGateError && e.code === 'config_invalid', JSON.stringify(bad));
    }
  });
});

// Run from a fresh consumer folder with SDK v2 only (ci.sh): `npm install <repo>/bindings-node
// @modelcontextprotocol/server @modelcontextprotocol/express @modelcontextprotocol/node express`,
// then `node check-v2.mjs`. jwtgate/mcp loads without SDK v1, finds v2 by itself, and both the
// SDK's Express middleware and its web-standard gate answer jwtgate's rejections correctly.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { createMcpExpressApp, requireBearerAuth } from '@modelcontextprotocol/express';
import { OAuthError, requireBearerAuth as requireBearerAuthWeb } from '@modelcontextprotocol/server';
import { ProtectedResource, Verifier } from 'jwtgate';
import { createTokenVerifier, requireAuthRequest } from 'jwtgate/mcp';

assert.throws(() => createRequire(import.meta.url).resolve('@modelcontextprotocol/sdk'), 'SDK v1 is not installed here');

const verifier = new Verifier({
  staticTokens: [
    { token: 'consumer-secret', clientId: 'consumer', scopes: ['tools:call'] },
    { token: 'no-scope', clientId: 'consumer' },
  ],
  requiredScopes: ['tools:call'],
});
const resource = new ProtectedResource('http://127.0.0.1/mcp', { authorizationServers: ['http://127.0.0.1'], scopesSupported: ['tools:call'] });
const tokenVerifier = createTokenVerifier(verifier);
assert.equal(tokenVerifier.sdk, 2);
assert.ok((await tokenVerifier.verifyAccessToken('nope').catch((e) => e)) instanceof OAuthError);
const bearer = { verifier: tokenVerifier, requiredScopes: [...tokenVerifier.requiredScopes], resourceMetadataUrl: resource.metadataUrl };

const app = createMcpExpressApp();
app.post('/mcp', requireBearerAuth(bearer), (req, res) => res.json({ clientId: req.auth.clientId }));
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const url = `http://127.0.0.1:${server.address().port}/mcp`;
try {
  const bad = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer nope' } });
  assert.equal(bad.status, 401, 'a rejection is the SDK OAuthError (401), not a 500');
  assert.match(bad.headers.get('www-authenticate'), /^Bearer error="invalid_token", error_description="The credential is not recognised"/);
  const scope = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer no-scope' } });
  assert.equal(scope.status, 403);
  const ok = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer consumer-secret' } });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { clientId: 'consumer' });
} finally {
  server.close();
}

// Web-standard: the SDK's gate and jwtgate's.
const sdkGate = requireBearerAuthWeb(bearer);
const gate = requireAuthRequest({ verifier, resource });
const request = (authorization) => new Request(url, { headers: authorization ? { authorization } : {} });
assert.equal((await sdkGate(request('Bearer nope'))).status, 401);
assert.equal((await sdkGate(request('Bearer consumer-secret'))).clientId, 'consumer');
const none = await gate(request());
assert.equal(none.status, 401);
// The verifier's challenges (DPoP allowed by default), for the resource given.
assert.ok(
  none.headers.get('www-authenticate').startsWith(`Bearer resource_metadata="${resource.metadataUrl}", scope="tools:call", DPoP algs="`),
  none.headers.get('www-authenticate'),
);
assert.equal((await gate(request('Bearer no-scope'))).status, 403);
assert.equal((await gate(request('Bearer consumer-secret'))).clientId, 'consumer');
console.log('consumer v2 ESM: ok');

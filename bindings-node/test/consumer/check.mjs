// Run from a fresh consumer folder with SDK v1 only (ci.sh): `npm install <repo>/bindings-node
// @modelcontextprotocol/sdk express`, then `node check.mjs`. Uses the package as a user would,
// through ESM, with the SDK's middleware resolving its own classes.
import assert from 'node:assert/strict';

import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import express from 'express';
import jwtgate, { CRYPTO_BACKEND, ERROR_CODES, JwtGateError, Verifier, errorCodes } from 'jwtgate';
import { createTokenVerifier, requireAuth } from 'jwtgate/mcp';

const verifier = new Verifier({
  staticTokens: [{ token: 'consumer-secret', clientId: 'consumer', scopes: ['tools:call'] }],
  requiredScopes: ['tools:call'],
});
assert.equal(verifier.verifySync('consumer-secret').clientId, 'consumer');
assert.equal((await verifier.verify('nope').catch((e) => e instanceof JwtGateError && `${e.code} ${e.status}`)), 'token_unknown 401');
assert.ok(ERROR_CODES.includes('token_expired'));
assert.deepEqual(errorCodes().map((row) => row.code), ERROR_CODES);
assert.equal(jwtgate.Verifier, Verifier);

const tokenVerifier = createTokenVerifier(verifier);
assert.equal(tokenVerifier.sdk, 1, 'the application has SDK v1 only');
const app = express();
app.post('/mcp', requireBearerAuth({ verifier: tokenVerifier }), (req, res) =>
  res.json({ clientId: req.auth.clientId }),
);
app.post('/own', requireAuth({ verifier, resource: 'http://127.0.0.1/own', authorizationServers: ['http://127.0.0.1'] }), (req, res) =>
  res.json({ clientId: req.auth.clientId }),
);
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const url = `http://127.0.0.1:${server.address().port}/mcp`;
try {
  const none = await fetch(url, { method: 'POST' });
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate'), /^Bearer error="invalid_token"/);
  const bad = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer nope' } });
  assert.equal(bad.status, 401, 'a rejection is the SDK InvalidTokenError (401), not a 500');
  const ok = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer consumer-secret' } });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { clientId: 'consumer' });
  const own = await fetch(url.replace('/mcp', '/own'), { method: 'POST' });
  assert.equal(own.status, 401);
  // The core's challenges (Bearer, and DPoP: allowed by default), without error.
  const challenge = own.headers.get('www-authenticate');
  assert.ok(challenge.startsWith('Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/own", scope="tools:call", DPoP algs="'), challenge);
  assert.doesNotMatch(challenge, /error=/);
  const ownOk = await fetch(url.replace('/mcp', '/own'), { method: 'POST', headers: { authorization: 'Bearer consumer-secret' } });
  assert.deepEqual(await ownOk.json(), { clientId: 'consumer' });
} finally {
  server.close();
}
console.log(`consumer ESM: ok (crypto backend ${CRYPTO_BACKEND})`);

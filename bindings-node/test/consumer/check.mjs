// Run from a fresh consumer folder (ci.sh): `npm install <repo>/bindings-node
// @modelcontextprotocol/sdk express`, then `node check.mjs`. Uses the package as a user would,
// through ESM, with the SDK's middleware resolving its own classes.
import assert from 'node:assert/strict';

import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import express from 'express';
import jwtgate, { CRYPTO_BACKEND, ERROR_CODES, JwtGateError, Verifier, errorCodes } from 'jwtgate';
import { createTokenVerifier } from 'jwtgate/mcp';

const verifier = new Verifier({ staticTokens: [{ token: 'consumer-secret', clientId: 'consumer', scopes: ['tools:call'] }] });
assert.equal(verifier.verifySync('consumer-secret').clientId, 'consumer');
assert.equal((await verifier.verify('nope').catch((e) => e instanceof JwtGateError && `${e.code} ${e.status}`)), 'token_unknown 401');
assert.equal(ERROR_CODES.length, 19);
assert.deepEqual(errorCodes().map((row) => row.code), ERROR_CODES);
assert.equal(jwtgate.Verifier, Verifier);

const app = express();
app.post('/mcp', requireBearerAuth({ verifier: createTokenVerifier(verifier), requiredScopes: ['tools:call'] }), (req, res) =>
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
} finally {
  server.close();
}
console.log(`consumer ESM: ok (crypto backend ${CRYPTO_BACKEND})`);

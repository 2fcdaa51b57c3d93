// The CommonJS twin of check.mjs (run from the consumer folder by ci.sh).
const assert = require('node:assert/strict');

const { requireBearerAuth } = require('@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js');
const express = require('express');
const { JwtGateError, Verifier } = require('jwtgate');
const { createTokenVerifier } = require('jwtgate/mcp');

async function main() {
  const verifier = new Verifier({ staticTokens: [{ token: 'consumer-secret', clientId: 'consumer' }] });
  assert.equal(verifier.verifySync('consumer-secret').clientId, 'consumer');
  assert.throws(() => verifier.verifySync('nope'), (e) => e instanceof JwtGateError && e.code === 'token_unknown');

  const tokenVerifier = createTokenVerifier(verifier);
  assert.equal(tokenVerifier.sdk, 1);
  const app = express();
  app.post('/mcp', requireBearerAuth({ verifier: tokenVerifier }), (req, res) => res.json(req.auth.clientId));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${server.address().port}/mcp`;
  try {
    const bad = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
    assert.ok(bad.headers.get('www-authenticate'));
    const ok = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer consumer-secret' } });
    assert.equal(ok.status, 200);
  } finally {
    server.close();
  }
  console.log('consumer CJS: ok');
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});

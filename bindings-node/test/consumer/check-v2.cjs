// The CommonJS twin of check-v2.mjs (run from the SDK v2 consumer folder by ci.sh).
const assert = require('node:assert/strict');

const { createMcpExpressApp, requireBearerAuth } = require('@modelcontextprotocol/express');
const { OAuthError } = require('@modelcontextprotocol/server');
const { JwtGateError, Verifier } = require('jwtgate');
const { createTokenVerifier, requireAuth } = require('jwtgate/mcp');

async function main() {
  assert.throws(() => require.resolve('@modelcontextprotocol/sdk'), 'SDK v1 is not installed here');
  const verifier = new Verifier({ staticTokens: [{ token: 'consumer-secret', clientId: 'consumer' }] });
  assert.throws(() => verifier.verifySync('nope'), (e) => e instanceof JwtGateError && e.code === 'token_unknown');
  const tokenVerifier = createTokenVerifier(verifier);
  assert.equal(tokenVerifier.sdk, 2);
  assert.ok((await tokenVerifier.verifyAccessToken('nope').catch((e) => e)) instanceof OAuthError);

  const app = createMcpExpressApp();
  app.post('/mcp', requireBearerAuth({ verifier: tokenVerifier }), (req, res) => res.json(req.auth.clientId));
  app.post('/own', requireAuth({ verifier, resource: 'http://127.0.0.1/own', authorizationServers: ['http://127.0.0.1'] }), (req, res) =>
    res.json(req.auth.clientId),
  );
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    for (const path of ['/mcp', '/own']) {
      const bad = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
      assert.equal(bad.status, 401, path);
      assert.match(bad.headers.get('www-authenticate'), /error="invalid_token"/);
      const ok = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: 'Bearer consumer-secret' } });
      assert.equal(ok.status, 200, path);
    }
  } finally {
    server.close();
  }
  console.log('consumer v2 CJS: ok');
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});

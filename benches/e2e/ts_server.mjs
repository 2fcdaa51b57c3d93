// The TypeScript SDK server of benches/e2e/run: @modelcontextprotocol/sdk 1.x (the version the
// Node binding's tests use) on Express, StreamableHTTPServerTransport without sessions and with
// JSON responses (a fresh server and transport per request, as the SDK's stateless example), one
// tool, `echo`.
//
//   node ts_server.mjs --port=PORT --auth=jwtgate|jwtgate-sdk|jose|none \
//        --issuer=URL --jwks-uri=URL --audience=URL
//
// Run from a directory whose node_modules holds `jwtgate` (bindings-node) and its dev
// dependencies: benches/e2e/run links them. Every verifier gets the same key source (the
// issuer's JWKS URL on loopback), issuer, audience, ES256 only and one required scope:
//
//   jwtgate      jwtgate/mcp's requireAuth (the binding's own Express middleware)
//   jwtgate-sdk  the SDK's requireBearerAuth with jwtgate/mcp's createTokenVerifier
//   jose         the SDK's requireBearerAuth with a verifier written the way the SDK's docs and
//                jose's README suggest: jose.jwtVerify against createRemoteJWKSet, claims mapped
//                to the SDK's AuthInfo (the same middleware as jwtgate-sdk; only the verifier differs)
//   none         no auth: the ceiling, what the SDK itself costs per request
//
// Prints one line of JSON once listening.
import { createServer } from 'node:http';

import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import * as jose from 'jose';
import { Verifier } from 'jwtgate';
import { createTokenVerifier, requireAuth } from 'jwtgate/mcp';
import { z } from 'zod';

const SCOPE = 'tools:call';

function option(name) {
  const arg = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) {
    console.error(`--${name}= is required`);
    process.exit(2);
  }
  return arg.slice(name.length + 3);
}

/** Serves one MCP request with a fresh server and transport (stateless). */
async function handleMcp(req, res) {
  const server = new McpServer({ name: 'e2e-bench', version: '1.0.0' });
  server.registerTool('echo', { description: 'Returns its argument', inputSchema: { text: z.string().optional() } }, async ({ text }) => ({
    content: [{ type: 'text', text: text ?? '' }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
}

/** A jose-based OAuthTokenVerifier, as an SDK user writes one. */
function joseVerifier({ issuer, audience, jwksUri }) {
  const jwks = jose.createRemoteJWKSet(new URL(jwksUri));
  return {
    async verifyAccessToken(token) {
      let payload;
      try {
        ({ payload } = await jose.jwtVerify(token, jwks, { issuer, audience, algorithms: ['ES256'] }));
      } catch (error) {
        throw new InvalidTokenError(error.message);
      }
      return {
        token,
        clientId: payload.client_id ?? payload.sub,
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        expiresAt: payload.exp,
        extra: { sub: payload.sub },
      };
    },
  };
}

const port = Number(option('port'));
const mode = option('auth');
const issuer = option('issuer');
const jwksUri = option('jwks-uri');
const audience = option('audience');
const quiet = { warn() {} };

const app = express();
app.use(express.json());
const options = { issuer, audience, jwksUri, algorithms: ['ES256'], requiredScopes: [SCOPE] };
if (mode === 'jwtgate') {
  const verifier = new Verifier({ audienceMatch: 'canonical', ...options });
  await verifier.waitReady(10);
  app.all('/mcp', requireAuth({ verifier, resource: verifier.protectedResource(audience), logger: quiet }), handleMcp);
} else if (mode === 'jwtgate-sdk') {
  const tokenVerifier = createTokenVerifier(options, { logger: quiet });
  await tokenVerifier.verifier.waitReady(10);
  app.all('/mcp', requireBearerAuth({ verifier: tokenVerifier, requiredScopes: [SCOPE] }), handleMcp);
} else if (mode === 'jose') {
  app.all('/mcp', requireBearerAuth({ verifier: joseVerifier({ issuer, audience, jwksUri }), requiredScopes: [SCOPE] }), handleMcp);
} else if (mode === 'none') {
  app.all('/mcp', handleMcp);
} else {
  console.error(`unknown --auth=${mode}`);
  process.exit(2);
}

const http = createServer(app);
http.keepAliveTimeout = 60_000;
http.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/mcp`, mode })}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));

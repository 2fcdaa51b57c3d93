// An MCP server on the TypeScript SDK v1 (@modelcontextprotocol/sdk 1.x, Express,
// StreamableHTTPServerTransport without sessions), guarded by jwtgate, serving Streamable HTTP at
// /mcp on 127.0.0.1 with one tool, `whoami`, which answers the request's AuthInfo as JSON text.
//
//   node test/servers/ts-v1-server.mjs --issuer=<URL> [--scopes="tools:call"] [--port=0]
//        [--resource=<URL; default: the server's /mcp URL>] [--mode=jwtgate|sdk]
//        [--scope-implies='{"admin":["*"]}'] [--dpop=off|allowed|required] [--dpop-nonce=1]
//   (or the environment variables ISSUER, SCOPES, PORT, RESOURCE, MODE, SCOPE_IMPLIES, DPOP,
//   DPOP_NONCE)
//
// Modes:
//   jwtgate  (default) jwtgate/mcp's requireAuth: the core's challenges, DPoP; metadata:
//            jwtgate/mcp's protectedResourceMetadata (the core's document)
//   sdk      the SDK's requireBearerAuth with createTokenVerifier (Bearer only: the SDK hands the
//            verifier the token alone); metadata: protectedResourceMetadata, then the SDK's
//            mcpAuthMetadataRouter (for its mirror of the authorization server's metadata)
//
// Prints one line of JSON once listening: {"url", "resource", "metadataUrl", "mode"}.
import { createServer } from 'node:http';

import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import { Verifier } from 'jwtgate';
import { createTokenVerifier, protectedResourceMetadata, requireAuth } from 'jwtgate/mcp';

import { closer, listen, main } from './options.mjs';

export const MODES = ['jwtgate', 'sdk'];

/** Serves one MCP request with a fresh server and transport (stateless). */
async function handleMcp(req, res) {
  const server = new McpServer({ name: 'jwtgate-ts-v1', version: '1.0.0' });
  server.registerTool('whoami', { description: 'The caller, as the server sees it (AuthInfo)' }, async (extra) => ({
    content: [{ type: 'text', text: JSON.stringify(extra.authInfo ?? null) }],
  }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
}

/** Starts the server; resolves with `{ info, close }`. */
export async function start({ issuer, scopes = ['tools:call'], port = 0, resource, mode = 'jwtgate', scopeImplies, dpop, dpopNonce = false, logger }) {
  if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode} (known: ${MODES.join(', ')})`);
  const http = await listen(createServer(), port);
  const url = `http://127.0.0.1:${http.address().port}/mcp`;
  resource ??= url;

  const options = { issuer, audience: resource, requiredScopes: scopes };
  if (scopeImplies !== undefined) options.scopeImplies = scopeImplies;
  if (dpop !== undefined) options.dpop = dpop;
  if (dpopNonce) options.dpopNonce = true;
  const app = express();
  app.use(express.json());

  let protectedResource;
  if (mode === 'jwtgate') {
    const verifier = new Verifier({ audienceMatch: 'canonical', ...options });
    await verifier.waitReady(10);
    protectedResource = verifier.protectedResource(resource);
    app.use(protectedResourceMetadata(protectedResource));
    app.all('/mcp', requireAuth({ verifier, resource: protectedResource, logger }), handleMcp);
  } else {
    const tokenVerifier = createTokenVerifier(options, { logger });
    await tokenVerifier.verifier.waitReady(10);
    protectedResource = tokenVerifier.verifier.protectedResource(resource);
    // The core's RFC 9728 document (the SDK's router builds its own, without
    // `bearer_methods_supported`), then the SDK's router for its mirror of the authorization
    // server's RFC 8414 metadata.
    const document = protectedResource.metadata();
    const oauthMetadata = await (await fetch(new URL('/.well-known/oauth-authorization-server', issuer))).json();
    app.use(protectedResourceMetadata(protectedResource));
    app.use(
      mcpAuthMetadataRouter({
        oauthMetadata,
        resourceServerUrl: new URL(document.resource),
        scopesSupported: document.scopes_supported,
      }),
    );
    app.all(
      '/mcp',
      requireBearerAuth({
        verifier: tokenVerifier,
        requiredScopes: [...tokenVerifier.requiredScopes],
        resourceMetadataUrl: protectedResource.metadataUrl,
      }),
      handleMcp,
    );
  }
  http.on('request', app);
  return {
    info: { url, resource, metadataUrl: protectedResource.metadataUrl, mode },
    close: closer(http),
  };
}

await main(import.meta.url, start);

// An MCP server on the TypeScript SDK v2 (@modelcontextprotocol/server 2.x, its Express adapter
// @modelcontextprotocol/express and its Node bridge @modelcontextprotocol/node), guarded by
// jwtgate, serving Streamable HTTP at /mcp on 127.0.0.1 with one tool, `whoami`, which answers
// the request's AuthInfo as JSON text.
//
//   node test/servers/ts-v2-server.mjs --issuer=<URL> [--scopes="tools:call"] [--port=0]
//        [--resource=<URL; default: the server's /mcp URL>] [--mode=<mode>]
//        [--scope-implies='{"admin":["*"]}'] [--dpop=off|allowed|required] [--dpop-nonce=1]
//   (or the environment variables ISSUER, SCOPES, PORT, RESOURCE, MODE, SCOPE_IMPLIES, DPOP,
//   DPOP_NONCE)
//
// Modes — how the endpoint is guarded and where the RFC 9728 metadata comes from:
//   jwtgate      (default) jwtgate/mcp's requireAuth on createMcpExpressApp: the core's challenges,
//                DPoP; metadata: jwtgate/mcp's protectedResourceMetadata (the core's document)
//   jwtgate-web  jwtgate/mcp's requireAuthRequest in a web-standard fetch handler;
//                metadata: protectedResourceMetadataResponse
//   sdk-express  the SDK's requireBearerAuth (@modelcontextprotocol/express) with
//                createTokenVerifier (Bearer only: the SDK hands the verifier the token alone);
//                metadata: protectedResourceMetadata, then the SDK's mcpAuthMetadataRouter (for
//                its mirror of the authorization server's metadata)
//   sdk-web      the SDK's web-standard requireBearerAuth (@modelcontextprotocol/server) with
//                createTokenVerifier; metadata: protectedResourceMetadataResponse, then the
//                SDK's oauthMetadataResponse
//
// Prints one line of JSON once listening: {"url", "resource", "metadataUrl", "mode"}.
import { createServer } from 'node:http';

import { createMcpExpressApp, mcpAuthMetadataRouter, requireBearerAuth } from '@modelcontextprotocol/express';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  McpServer,
  oauthMetadataResponse,
  requireBearerAuth as requireBearerAuthWeb,
} from '@modelcontextprotocol/server';
import { Verifier } from 'jwtgate';
import {
  createTokenVerifier,
  protectedResourceMetadata,
  protectedResourceMetadataResponse,
  requireAuth,
  requireAuthRequest,
} from 'jwtgate/mcp';

import { closer, listen, main } from './options.mjs';

export const MODES = ['jwtgate', 'jwtgate-web', 'sdk-express', 'sdk-web'];

/** The MCP server of one request: one tool that reports who called. */
function buildServer() {
  const server = new McpServer({ name: 'jwtgate-ts-v2', version: '1.0.0' });
  server.registerTool('whoami', { description: 'The caller, as the server sees it (AuthInfo)' }, async (ctx) => ({
    content: [{ type: 'text', text: JSON.stringify(ctx.http?.authInfo ?? null) }],
  }));
  return server;
}

/**
 * Starts the server; resolves with `{ info, close }`. `logger` receives jwtgate's rejection
 * lines (default: console). `verifierOptions` (in-process callers only) are further verifier
 * options, e.g. `introspection` or `staticTokens`.
 */
export async function start({
  issuer,
  scopes = ['tools:call'],
  port = 0,
  resource,
  mode = 'jwtgate',
  scopeImplies,
  dpop,
  dpopNonce = false,
  logger,
  verifierOptions = {},
}) {
  if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode} (known: ${MODES.join(', ')})`);
  const http = await listen(createServer(), port);
  const url = `http://127.0.0.1:${http.address().port}/mcp`;
  resource ??= url;

  // The verifier: tokens for this resource from the issuer, with the scopes every call needs.
  // (jwtgate/mcp builds it with audienceMatch: 'canonical', the MCP canonical resource URI rules.)
  const options = { issuer, audience: resource, requiredScopes: scopes, ...verifierOptions };
  if (scopeImplies !== undefined) options.scopeImplies = scopeImplies;
  if (dpop !== undefined) options.dpop = dpop;
  if (dpopNonce) options.dpopNonce = true;
  const mcp = createMcpHandler(buildServer);
  let protectedResource;

  if (mode === 'jwtgate' || mode === 'jwtgate-web') {
    const verifier = new Verifier({ audienceMatch: 'canonical', ...options });
    await verifier.waitReady(10);
    // The RFC 9728 document and the challenges: the verifier's issuer, required scopes and DPoP
    // settings.
    protectedResource = verifier.protectedResource(resource);
    if (mode === 'jwtgate') {
      const app = createMcpExpressApp();
      app.use(protectedResourceMetadata(protectedResource));
      const node = toNodeHandler(mcp);
      app.all('/mcp', requireAuth({ verifier, resource: protectedResource, logger }), (req, res) => void node(req, res, req.body));
      http.on('request', app);
    } else {
      const gate = requireAuthRequest({ verifier, resource: protectedResource, logger });
      const fetchHandler = async (request) => {
        const metadata = protectedResourceMetadataResponse(request, protectedResource);
        if (metadata !== undefined) return metadata;
        if (new URL(request.url).pathname !== '/mcp') return new Response('not found', { status: 404 });
        const auth = await gate(request);
        if (auth instanceof Response) return auth;
        return mcp.fetch(request, { authInfo: auth });
      };
      http.on('request', toNodeHandler({ fetch: fetchHandler }));
    }
  } else {
    const tokenVerifier = createTokenVerifier(options, { logger });
    await tokenVerifier.verifier.waitReady(10);
    protectedResource = tokenVerifier.verifier.protectedResource(resource);
    // The RFC 9728 document is the core's (jwtgate/mcp serves it): the SDK's metadata helpers
    // build their own from options, without `bearer_methods_supported` and the DPoP members. They
    // are mounted after it for what they add: a mirror of the authorization server's RFC 8414
    // metadata at /.well-known/oauth-authorization-server, for clients that look there.
    const document = protectedResource.metadata();
    const oauthMetadata = await (await fetch(new URL('/.well-known/oauth-authorization-server', issuer))).json();
    const metadataOptions = {
      oauthMetadata,
      resourceServerUrl: new URL(document.resource),
      scopesSupported: document.scopes_supported,
    };
    // What the SDK's middleware needs for its challenges: the scopes (scope=) and the metadata
    // URL (resource_metadata=), both from jwtgate.
    const bearer = {
      verifier: tokenVerifier,
      requiredScopes: [...tokenVerifier.requiredScopes],
      resourceMetadataUrl: protectedResource.metadataUrl,
    };
    if (mode === 'sdk-express') {
      const app = createMcpExpressApp();
      app.use(protectedResourceMetadata(protectedResource));
      app.use(mcpAuthMetadataRouter(metadataOptions));
      const node = toNodeHandler(mcp);
      app.all('/mcp', requireBearerAuth(bearer), (req, res) => void node(req, res, req.body));
      http.on('request', app);
    } else {
      const gate = requireBearerAuthWeb(bearer);
      const fetchHandler = async (request) => {
        const metadata =
          protectedResourceMetadataResponse(request, protectedResource) ?? oauthMetadataResponse(request, metadataOptions);
        if (metadata !== undefined) return metadata;
        if (new URL(request.url).pathname !== '/mcp') return new Response('not found', { status: 404 });
        const auth = await gate(request);
        if (auth instanceof Response) return auth;
        return mcp.fetch(request, { authInfo: auth });
      };
      http.on('request', toNodeHandler({ fetch: fetchHandler }));
    }
  }
  return {
    info: { url, resource, metadataUrl: protectedResource.metadataUrl, mode },
    close: closer(http),
  };
}

await main(import.meta.url, start);

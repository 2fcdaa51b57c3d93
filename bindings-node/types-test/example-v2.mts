// Type-checked with `tsc --noEmit -p types-test` (never run): jwtgate/mcp with the TypeScript
// SDK v2 — @modelcontextprotocol/express's requireBearerAuth and mcpAuthMetadataRouter,
// @modelcontextprotocol/server's web-standard requireBearerAuth and verifyBearerToken, and
// jwtgate's own middleware in front of createMcpHandler. `@ts-expect-error` lines must fail.
import { createMcpExpressApp, mcpAuthMetadataRouter, requireBearerAuth } from '@modelcontextprotocol/express';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  bearerAuthChallengeResponse,
  createMcpHandler,
  McpServer,
  requireBearerAuth as requireBearerAuthWeb,
  verifyBearerToken,
  type AuthInfo,
  type OAuthMetadata,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import { ProtectedResource, Verifier } from 'jwtgate';
import {
  createTokenVerifier,
  protectedResourceMetadata,
  protectedResourceMetadataResponse,
  requireAuth,
  requireAuthRequest,
  type JwtGateAuthInfo,
  type JwtGateTokenVerifier,
} from 'jwtgate/mcp';

const issuer = 'https://auth.example.com';
const resource = new ProtectedResource('https://mcp.example.com/mcp', { authorizationServers: [issuer], scopesSupported: ['tools:call'] });
const tokenVerifier: JwtGateTokenVerifier = createTokenVerifier({ issuer, audience: resource.resource, requiredScopes: ['tools:call'] });
const asSdk: OAuthTokenVerifier = tokenVerifier;

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: 'example', version: '1.0.0' });
  server.registerTool('whoami', { description: 'who is calling' }, async (ctx) => ({
    content: [{ type: 'text', text: `${ctx.http?.authInfo?.clientId}` }],
  }));
  return server;
});
const node = toNodeHandler(handler);

// The SDK's Express middleware with jwtgate's verifier.
const app = createMcpExpressApp();
declare const oauthMetadata: OAuthMetadata;
app.use(mcpAuthMetadataRouter({ oauthMetadata, resourceServerUrl: new URL(resource.resource), scopesSupported: ['tools:call'] }));
const bearer = { verifier: tokenVerifier, requiredScopes: [...tokenVerifier.requiredScopes], resourceMetadataUrl: resource.metadataUrl };
app.all('/mcp', requireBearerAuth(bearer), (req, res) => void node(req, res, req.body));

// jwtgate's own middleware (the core's challenges) in front of the same handler.
const verifier = new Verifier({ issuer, audience: resource.resource, audienceMatch: 'canonical', requiredScopes: ['tools:call'] });
app.use(protectedResourceMetadata(resource));
app.all('/mcp-jwtgate', requireAuth({ verifier, resource }), (req, res) => {
  const auth: AuthInfo | undefined = req.auth;
  void auth;
  void node(req, res, req.body);
});

// Web-standard hosts: the SDK's gate, verifyBearerToken, and jwtgate's gate.
const sdkGate = requireBearerAuthWeb(bearer);
const gate = requireAuthRequest({ verifier, resource });
export async function fetchHandler(request: Request): Promise<Response> {
  const metadata = protectedResourceMetadataResponse(request, resource);
  if (metadata !== undefined) return metadata;
  const viaSdk: AuthInfo | Response = await sdkGate(request);
  if (viaSdk instanceof Response) return viaSdk;
  const auth = await gate(request);
  if (auth instanceof Response) return auth;
  const info: AuthInfo = auth;
  return handler.fetch(request, { authInfo: info });
}
export async function verifyHeader(header: string | null): Promise<AuthInfo | Response> {
  try {
    const info: AuthInfo = await verifyBearerToken(header, bearer);
    return info;
  } catch (error) {
    return bearerAuthChallengeResponse(error, bearer);
  }
}
export async function direct(token: string): Promise<JwtGateAuthInfo> {
  return tokenVerifier.verifyAccessToken(token);
}
// @ts-expect-error: requireAuth needs the resource for its challenges
requireAuth({ verifier });
export { asSdk };

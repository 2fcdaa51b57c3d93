// Type-checked with `tsc --noEmit -p types-test` (never run): uses every export of `jwtgate` and
// `jwtgate/mcp` the way an ESM TypeScript MCP server would. `@ts-expect-error` lines must fail.
import { createPublicKey } from 'node:crypto';

import express from 'express';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

import jwtgate, {
  CRYPTO_BACKEND,
  ERROR_CODES,
  JwtGateError,
  ProtectedResource,
  Verifier,
  errorCodes,
  type Algorithm,
  type AuthRequest,
  type Challenge,
  type ProtectedResourceMetadata,
  type ProtectedResourceOptions,
  type Claims,
  type ErrorCode,
  type ErrorCodeInfo,
  type ErrorDetail,
  type IntrospectionOptions,
  type JsonWebKeySet,
  type KeysStatus,
  type ProviderKeysStatus,
  type SkippedKey,
  type StaticTokenOptions,
  type Stats,
  type VerifierOptions,
} from 'jwtgate';
import {
  ProtectedResource as McpProtectedResource,
  STATIC_TOKEN_EXPIRES_IN,
  createTokenVerifier,
  protectedResourceMetadata,
  protectedResourceMetadataResponse,
  requireAuth,
  requireAuthRequest,
  type AuthenticatedRequest,
  type JwtGateAuthInfo,
  type RequireAuthOptions,
  type JwtGateLogger,
  type JwtGateTokenVerifier,
  type TokenVerifierAdapterOptions,
} from 'jwtgate/mcp';

const jwks: JsonWebKeySet = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] };
const algorithms: Algorithm[] = ['RS256', 'ES256', 'ES512', 'EdDSA', 'Ed25519'];
const staticToken: StaticTokenOptions = { token: 'secret', clientId: 'ci-bot', scopes: ['tools:call'], audience: 'https://mcp.example.com/' };
const options: VerifierOptions = {
  issuer: 'https://auth.example.com',
  audience: ['https://mcp.example.com/'],
  jwks,
  algorithms,
  requiredScopes: ['tools:call'],
  scopeImplies: { admin: ['*'], 'files:write': 'files:read' },
  audienceMatch: 'canonical',
  dpop: 'allowed',
  dpopAlgorithms: ['ES256', 'EdDSA'],
  dpopIatWindow: 300,
  dpopNonce: false,
  dpopReplayCacheSize: 100_000,
  dpopNonceSecret: Buffer.alloc(32, 7),
  clockTolerance: 30,
  typ: 'at+jwt',
  requiredClaims: ['client_id'],
  staticTokens: [staticToken],
  cacheSize: 4096,
  insecureSkipAudienceCheck: false,
  insecureAllowMissingExp: false,
  allowInsecureHttp: false,
  fetchTimeout: 5,
  refreshCooldown: 30,
  maxTokenBytes: 16384,
  maxStale: 3600,
};
const withKeys: VerifierOptions[] = [
  { issuer: 'x', audience: 'y', jwksUri: 'https://auth.example.com/jwks' },
  { issuer: 'x', audience: 'y', jwks: JSON.stringify(jwks) },
  { issuer: 'x', audience: 'y', publicKey: '-----BEGIN PUBLIC KEY-----\n…' },
  { issuer: 'x', audience: 'y', publicKey: [createPublicKey('…'), '-----BEGIN PUBLIC KEY-----'] },
  { issuer: 'x', audience: 'y', hmacSecret: Buffer.alloc(32), algorithms: ['HS256'] },
  { issuer: 'x', audience: 'y', hmacSecret: new Uint8Array(32), algorithms: ['HS384'] },
  { issuer: 'x', audience: 'y', hmacSecret: 'a shared secret of at least 32 bytes', algorithms: ['HS512'] },
];
// Claim dialects, id_token mode, several providers, shared nonce secrets.
const dialects: VerifierOptions[] = [
  { issuer: 'https://auth0.example/', audience: 'api', scopeClaims: 'permissions' },
  { issuer: 'https://kc.example/realms/r', audience: 'api', scopeClaims: ['realm_access.roles', 'scope'], clientIdClaims: ['azp'] },
  { issuer: 'https://login.example/t/v2.0', audience: 'api', scopeClaims: ['roles', 'scp'], clientIdClaims: ['azp', 'appid'] },
  { issuer: 'https://authelia.example', idToken: 'mcp-client' },
  { dpopNonceSecret: 'a secret of at least thirty-two bytes!', staticTokens: [staticToken] },
];
const several: VerifierOptions = {
  providers: [
    { issuer: 'https://a.example', audience: 'api', jwksUri: 'https://a.example/jwks', scopeClaims: 'permissions' },
    { issuer: 'https://b.example', audience: 'api', idToken: 'client' },
  ],
  requiredScopes: ['tools:call'],
  staticTokens: [staticToken],
};
// Token introspection (RFC 7662) for opaque tokens.
const introspection: IntrospectionOptions = {
  clientId: 'resource-server',
  clientSecret: 'secret',
  endpoint: 'https://auth.example.com/token/introspection',
  clientAuth: 'post',
  jwts: false,
  cacheTtl: 30,
  cacheSize: 4096,
  maxConcurrent: 16,
};
const introspecting: VerifierOptions[] = [
  { issuer: 'https://auth.example.com', audience: 'api', introspection },
  { issuer: 'https://auth.example.com', audience: 'api', introspection: { clientId: 'rs', clientSecret: 's' } },
];
// @ts-expect-error: basic or post
const badAuth: IntrospectionOptions = { clientId: 'rs', clientSecret: 's', clientAuth: 'jwt' };
// @ts-expect-error: the client secret is required
const noSecret: IntrospectionOptions = { clientId: 'rs' };
void [introspecting, badAuth, noSecret];
// @ts-expect-error: a provider is an option set, not an issuer URL
const notOptions: VerifierOptions = { providers: ['https://a.example'] };
// @ts-expect-error: the client id is a string
const notClient: VerifierOptions = { issuer: 'x', idToken: true };
void [dialects, several, notOptions, notClient];
// @ts-expect-error: a secret is bytes or a string
const badSecret: VerifierOptions = { issuer: 'x', audience: 'y', hmacSecret: 42 };
// @ts-expect-error: the option is `audience`
const typo: VerifierOptions = { issuer: 'x', audiences: 'y' };
// @ts-expect-error: not an algorithm jwtgate knows
const none: Algorithm = 'none';
// @ts-expect-error: exact or canonical
const fuzzy: VerifierOptions = { issuer: 'x', audience: 'y', audienceMatch: 'fuzzy' };
// @ts-expect-error: off, allowed or required
const sometimes: VerifierOptions = { issuer: 'x', audience: 'y', dpop: 'sometimes' };

const verifier = new Verifier(options);
const fromEnv: Verifier = Verifier.fromEnv('MCP_');
Verifier.fromEnv();

async function handle(token: string): Promise<string | undefined> {
  const sync: Claims = verifier.verifySync(token);
  const claims: Claims = await verifier.verify(token);
  const kind: 'jwt' | 'static_token' | 'id_token' | 'introspected' = claims.kind;
  const alg: Algorithm | undefined = claims.alg;
  const aud: readonly string[] = claims.aud;
  const exp: number | undefined = claims.exp;
  const scopes: readonly string[] = claims.scopes;
  const tenant: unknown = claims.payload['tenant'];
  const resource: string | undefined = claims.audienceMatched;
  const [issuer, subject]: readonly [string | undefined, string | undefined] = claims.principal;
  const id: bigint = BigInt(claims.tokenId);
  const granted: readonly string[] = claims.grantedScopes;
  const mayWrite: boolean = claims.hasScope('files:write');
  void [granted, mayWrite];
  const then: Claims = verifier.verifyAtSync(token, 1_700_000_000);
  const later: Claims = await verifier.verifyAt(token, Date.now() / 1000 + 60);
  // @ts-expect-error: the instant is a number of seconds
  verifier.verifyAtSync(token, new Date());
  // @ts-expect-error: claims are read-only
  claims.sub = 'mallory';
  void [sync, kind, alg, aud, exp, scopes, tenant, resource, issuer, subject, id, then, later];
  void [claims.kid, claims.typ, claims.iss, claims.nbf, claims.iat, claims.jti];
  return claims.clientId ?? claims.sub;
}

function explain(e: unknown): number {
  if (e instanceof JwtGateError) {
    const code: ErrorCode = e.code;
    const claim: string | undefined = e.claim;
    const hint: string = e.hint;
    const detail: ErrorDetail | undefined = e.detail;
    const missing: readonly string[] | undefined = detail?.missingScopes;
    const facts = [detail?.expected, detail?.found, detail?.skewSeconds, detail?.kid];
    const who: string | undefined = e.claims?.clientId;
    void [code, claim, hint, missing, facts, who];
    return e.status;
  }
  throw e;
}
const codes: readonly ErrorCode[] = ERROR_CODES;
const table: readonly ErrorCodeInfo[] = errorCodes();
const described: string | undefined = table.find((row) => row.code === 'token_expired')?.clientDescription;
const statuses: number[] = table.map((row) => row.status + row.hint.length);
const made = new JwtGateError('no', 'config_invalid');
const withDetail = new JwtGateError('no', 'audience_mismatch', 'aud', { expected: ['a'], found: ['b'] });
// @ts-expect-error: not an error code
new JwtGateError('no', 'expired');

async function health(): Promise<KeysStatus> {
  await verifier.waitReady();
  await fromEnv.waitReady(2);
  const status: KeysStatus = verifier.keysStatus();
  const skipped: SkippedKey[] = status.skipped;
  const lastCode: ErrorCode | undefined = status.lastError?.code;
  const stale: boolean = status.stale;
  const providers: ProviderKeysStatus[] = verifier.providerKeysStatus();
  const firstReady: boolean | undefined = providers[0]?.status.ready;
  const firstIssuer: string | undefined = providers[0]?.issuer;
  void [providers, firstReady, firstIssuer];
  void [skipped, lastCode, stale, status.ageSeconds, status.maxAgeSeconds, status.maxStaleSeconds, status.generation, status.kids, status.keyCount];
  return status;
}

function counters(): number {
  const s: Stats = verifier.stats();
  const expired: number | undefined = s.rejectedByCode.token_expired;
  const age: number | undefined = s.keyAgeSeconds;
  const stale: boolean = s.keysStale;
  void [expired, age, stale];
  return (
    s.accepted + s.refusedAfterVerification + s.cacheHits + s.verified + s.staticTokens + s.rejected + s.cacheMisses + s.cacheInserts +
    s.cacheEvictions + s.cacheEntries + s.cacheCapacity + s.discoveryFetches + s.discoveryFailures +
    s.jwksFetches + s.jwksFailures + s.kidRefreshes + s.keyGeneration + s.introspections + s.introspectionFailures
  );
}

const backend: string = CRYPTO_BACKEND;
const required: string[] = verifier.requiredScopes;

// RFC 9728 metadata and RFC 6750 challenges, from the core.
const resourceOptions: ProtectedResourceOptions = { authorizationServers: ['https://auth.example.com'], scopesSupported: ['tools:call'] };
const resource = new ProtectedResource('https://mcp.example.com/mcp', resourceOptions);
const sameClass: typeof ProtectedResource = McpProtectedResource;
const document: ProtectedResourceMetadata = resource.metadata();
const documentText: string = resource.metadataJson();
const where: string = resource.metadataUrl + resource.metadataPath + resource.resource + document.resource;
const noCredential: Challenge = resource.challenge();
const fromVerifier: ProtectedResource = verifier.protectedResource('https://mcp.example.com/mcp');
const withOptions: ProtectedResource = verifier.protectedResource('https://mcp.example.com/mcp', { scopesSupported: ['tools:call'] });
const advertised: string[] | undefined = fromVerifier.metadata().dpop_signing_alg_values_supported;
async function viaRequest(authorization: string, proofs: string[]): Promise<string | undefined> {
  const request: AuthRequest = { method: 'POST', url: 'https://mcp.example.com/mcp', authorization, dpop: proofs };
  const sync: Claims = verifier.verifyRequestSync(request);
  const one: Claims = await verifier.verifyRequest({ method: 'GET', url: 'https://mcp.example.com/mcp', authorization, dpop: proofs[0] });
  const none: Claims = verifier.verifyRequestAtSync({ method: 'GET', url: 'https://mcp.example.com/mcp' }, 1_700_000_000);
  const later: Claims = await verifier.verifyRequestAt(request, 1_700_000_000);
  const byKey: Claims = await verifier.verifyRequest({ method: 'POST', url: 'https://mcp.example.com/mcp', apiKey: 'k-123' });
  void byKey;
  // @ts-expect-error: the X-API-Key value is one string
  verifier.verifyRequestSync({ method: 'GET', url: 'https://mcp.example.com/mcp', apiKey: ['a', 'b'] });
  // @ts-expect-error: the request needs its URL
  verifier.verifyRequestSync({ method: 'GET', authorization });
  void [one, none, later, withOptions, advertised];
  return sync.confirmationJkt;
}
void viaRequest;
function refuse(e: JwtGateError): [number, string | undefined, string | undefined] {
  const c = resource.challenge(e, ['tools:call']);
  return [c.status, c.wwwAuthenticate, c.dpopNonce];
}
// @ts-expect-error: the rejection, not a string
resource.challenge('token_expired');
void [sameClass, documentText, where, noCredential, refuse, required, fuzzy, sometimes];


const same: typeof Verifier = jwtgate.Verifier;
const accepted: Algorithm[] = verifier.algorithms;

// The MCP adapter, where the SDK wants it.
const tokenVerifier: JwtGateTokenVerifier = createTokenVerifier({
  issuer: 'https://auth.example.com',
  audience: 'https://mcp.example.com/',
  requiredScopes: ['tools:call'],
});
const sdkMajor: 1 | 2 = tokenVerifier.sdk;
const forChallenge: readonly string[] = tokenVerifier.requiredScopes;
void [sdkMajor, forChallenge];
const shared: OAuthTokenVerifier = createTokenVerifier(verifier);
const logged: JwtGateTokenVerifier = createTokenVerifier(verifier, { logger: console });
const silent: JwtGateLogger = { warn: (message: string) => void message };
const adapterOptions: TokenVerifierAdapterOptions = { logger: silent };
const quiet: JwtGateTokenVerifier = createTokenVerifier(verifier, adapterOptions);
// @ts-expect-error: a logger needs warn()
createTokenVerifier(verifier, { logger: {} });
void [logged, quiet];
const app = express();
app.post('/mcp', requireBearerAuth({ verifier: tokenVerifier, requiredScopes: [...tokenVerifier.requiredScopes], resourceMetadataUrl: resource.metadataUrl }), (req, res) => {
  res.json({ ok: true });
});
async function info(token: string): Promise<AuthInfo> {
  const auth: JwtGateAuthInfo = await tokenVerifier.verifyAccessToken(token);
  const expiresAt: number = auth.expiresAt;
  const resource: URL | undefined = auth.resource;
  const raw: Readonly<Record<string, unknown>> = auth.extra.claims;
  const verified: Claims = auth.extra.verified;
  void [expiresAt, resource, raw, verified, tokenVerifier.verifier];
  return auth;
}
// jwtgate's own middleware and metadata, for Express and web-standard hosts.
const authOptions: RequireAuthOptions = { verifier: { issuer: 'https://auth.example.com', audience: resource.resource }, resource };
app.use(protectedResourceMetadata(resource));
app.all('/guarded', requireAuth(authOptions), (req, res) => {
  res.json({ client: req.auth?.clientId });
});
app.all('/guarded-too', requireAuth({ verifier, resource: 'https://mcp.example.com/mcp', authorizationServers: ['https://auth.example.com'] }));
const gate = requireAuthRequest({ verifier, resource });
async function serve(request: Request): Promise<Response> {
  const metadata: Response | undefined = protectedResourceMetadataResponse(request, resource);
  if (metadata) return metadata;
  const auth = await gate(request);
  if (auth instanceof Response) return auth;
  const info: JwtGateAuthInfo = auth;
  return new Response(info.clientId + (info.resourceMetadataUrl ?? ''));
}
const seen = (req: AuthenticatedRequest): string | undefined => req.auth?.extra.verified.sub;
void [serve, seen];
const lifetime: number = STATIC_TOKEN_EXPIRES_IN;

export { codes, table, described, statuses, made, withDetail, handle, explain, health, counters, backend, same, accepted, shared, info, lifetime, withKeys, typo, none, badSecret };

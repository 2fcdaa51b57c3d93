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
  Verifier,
  type Algorithm,
  type Claims,
  type ErrorCode,
  type JsonWebKeySet,
  type KeysStatus,
  type SkippedKey,
  type StaticTokenOptions,
  type VerifierOptions,
} from 'jwtgate';
import {
  STATIC_TOKEN_EXPIRES_IN,
  createTokenVerifier,
  type JwtGateAuthInfo,
  type JwtGateTokenVerifier,
} from 'jwtgate/mcp';

const jwks: JsonWebKeySet = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] };
const algorithms: Algorithm[] = ['RS256', 'ES256', 'EdDSA'];
const staticToken: StaticTokenOptions = { token: 'secret', clientId: 'ci-bot', scopes: ['tools:call'] };
const options: VerifierOptions = {
  issuer: 'https://auth.example.com',
  audience: ['https://mcp.example.com/'],
  jwks,
  algorithms,
  requiredScopes: ['tools:call'],
  clockTolerance: 30,
  typ: 'at+jwt',
  requiredClaims: ['client_id'],
  staticTokens: [staticToken],
  cacheSize: 4096,
  insecureSkipAudienceCheck: false,
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
];
// @ts-expect-error: the option is `audience`
const typo: VerifierOptions = { issuer: 'x', audiences: 'y' };
// @ts-expect-error: not an algorithm jwtgate knows
const none: Algorithm = 'none';

const verifier = new Verifier(options);
const fromEnv: Verifier = Verifier.fromEnv('MCP_');
Verifier.fromEnv();

async function handle(token: string): Promise<string | undefined> {
  const sync: Claims = verifier.verifySync(token);
  const claims: Claims = await verifier.verify(token);
  const kind: 'jwt' | 'static_token' = claims.kind;
  const alg: Algorithm | undefined = claims.alg;
  const aud: readonly string[] = claims.aud;
  const exp: number | undefined = claims.exp;
  const scopes: readonly string[] = claims.scopes;
  const tenant: unknown = claims.payload['tenant'];
  // @ts-expect-error: claims are read-only
  claims.sub = 'mallory';
  void [sync, kind, alg, aud, exp, scopes, tenant, claims.kid, claims.typ, claims.iss, claims.nbf, claims.iat, claims.jti];
  return claims.clientId ?? claims.sub;
}

function explain(e: unknown): number {
  if (e instanceof JwtGateError) {
    const code: ErrorCode = e.code;
    const claim: string | undefined = e.claim;
    void claim;
    return code === 'insufficient_scope' ? 403 : 401;
  }
  throw e;
}
const codes: readonly ErrorCode[] = ERROR_CODES;
const made = new JwtGateError('no', 'config_invalid');
// @ts-expect-error: not an error code
new JwtGateError('no', 'expired');

async function health(): Promise<KeysStatus> {
  await verifier.waitReady();
  await fromEnv.waitReady(2);
  const status: KeysStatus = verifier.keysStatus();
  const skipped: SkippedKey[] = status.skipped;
  const lastCode: ErrorCode | undefined = status.lastError?.code;
  const stale: boolean = status.stale;
  void [skipped, lastCode, stale, status.ageSeconds, status.maxAgeSeconds, status.maxStaleSeconds, status.generation, status.kids, status.keyCount];
  return status;
}

const backend: string = CRYPTO_BACKEND;
const same: typeof Verifier = jwtgate.Verifier;
const accepted: Algorithm[] = verifier.algorithms;

// The MCP adapter, where the SDK wants it.
const tokenVerifier: JwtGateTokenVerifier = createTokenVerifier({
  issuer: 'https://auth.example.com',
  audience: 'https://mcp.example.com/',
  requiredScopes: ['tools:call'],
});
const shared: OAuthTokenVerifier = createTokenVerifier(verifier);
const logged: JwtGateTokenVerifier = createTokenVerifier(verifier, { logger: console });
const quiet: JwtGateTokenVerifier = createTokenVerifier(verifier, { logger: { warn: (message: string) => void message } });
// @ts-expect-error: a logger needs warn()
createTokenVerifier(verifier, { logger: {} });
void [logged, quiet];
const app = express();
app.post('/mcp', requireBearerAuth({ verifier: tokenVerifier, requiredScopes: ['tools:call'] }), (req, res) => {
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
const lifetime: number = STATIC_TOKEN_EXPIRES_IN;

export { codes, made, handle, explain, health, backend, same, accepted, shared, info, lifetime, withKeys, typo, none };

// Writes cases.json: the cross-language conformance fixtures. Each verifier configuration uses
// the option names of the Node package (the DESIGN option table; Python runners map them to
// their snake_case keyword, Rust runners to the builder); each case gives a credential, the
// time to verify at, and the outcome every language must report — the error code, its claim
// and HTTP status, or the accepted credential's identity. Run by core/tests/conformance.rs,
// bindings-python/tests/test_conformance.py and bindings-node/test/conformance.test.mjs.
//
// Keys are generated afresh on every run; the committed cases.json is the fixture.
// Run: node tests/conformance/generate.mjs
import { generateKeyPairSync, createHmac, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const ISSUER = 'https://idp.fixture.test';
const AUDIENCE = 'https://mcp.fixture.test/';
const NOW = 1700000600; // every case is verified at this instant
const LATER = NOW + 3600;
const STATIC = 'static-secret-fixture';
const HMAC_SECRET = Buffer.alloc(32, 7);

const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const json = (value) => b64(JSON.stringify(value));

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const jwk = (pair, kid, alg) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
const jwks = { keys: [jwk(rsa, 'rsa-1', 'RS256'), jwk(ec, 'ec-1', 'ES256'), jwk(ed, 'ed-1', 'EdDSA')] };

function signature(alg, input) {
  const data = Buffer.from(input);
  if (alg === 'RS256') return sign('sha256', data, rsa.privateKey);
  if (alg === 'ES256') return sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  if (alg === 'EdDSA') return sign(null, data, ed.privateKey);
  if (alg === 'HS256') return createHmac('sha256', HMAC_SECRET).update(data).digest();
  throw new Error(alg);
}

const KID = { RS256: 'rsa-1', ES256: 'ec-1', EdDSA: 'ed-1', HS256: undefined };
const good = {
  iss: ISSUER, aud: AUDIENCE, sub: 'alice', client_id: 'app-1', scope: 'tools:call read',
  exp: LATER, iat: NOW - 60,
};

/** A token signed with `alg` (by the key of `signWith`, default the same alg). */
function mint({ alg = 'RS256', claims = good, header = {}, signWith = alg, rawClaims } = {}) {
  const h = { alg, typ: 'JWT', kid: KID[signWith], ...header };
  for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
  const input = `${json(h)}.${rawClaims === undefined ? json(claims) : b64(rawClaims)}`;
  return `${input}.${b64(signature(signWith, input))}`;
}
const without = (name) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
const tampered = (() => {
  const t = mint();
  const last = t.at(-2) === 'A' ? 'B' : 'A';
  return `${t.slice(0, -2)}${last}${t.at(-1)}`;
})();

const base = { issuer: ISSUER, audience: AUDIENCE, jwks };
const verifiers = {
  default: {
    ...base,
    requiredScopes: ['tools:call'],
    requiredClaims: ['client_id'],
    staticTokens: [{ token: STATIC, clientId: 'ci-bot', scopes: ['tools:call'], audience: AUDIENCE }],
    cacheSize: 16,
  },
  at_jwt: { ...base, typ: 'at+jwt' },
  es256_only: { ...base, algorithms: ['ES256'] },
  several: { issuer: [ISSUER, 'https://idp2.fixture.test'], audience: ['https://other.test/', AUDIENCE], jwks, clockTolerance: 30 },
  hmac: { issuer: ISSUER, audience: AUDIENCE, hmacSecret: b64(HMAC_SECRET), algorithms: ['HS256'] },
  no_audience: { issuer: ISSUER, jwks, insecureSkipAudienceCheck: true },
  no_exp: { ...base, insecureAllowMissingExp: true, cacheSize: 0 },
  small: { ...base, maxTokenBytes: 1024 },
  pem: { issuer: ISSUER, audience: AUDIENCE, publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }) },
  // Remote sources on a loopback port where nothing listens: every fetch fails at once.
  jwks_down: { issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://127.0.0.1:9/jwks', fetchTimeout: 0.5, refreshCooldown: 1, maxStale: 60 },
  discovery_down: { issuer: 'http://127.0.0.1:9', audience: AUDIENCE, fetchTimeout: 0.5, allowInsecureHttp: true },
  // RFC 8707 canonical resource URIs: scheme and host case, default port, trailing slash.
  canonical: { issuer: ISSUER, audience: 'HTTPS://MCP.fixture.test:443', jwks, audienceMatch: 'canonical' },
  hierarchy: { ...base, requiredScopes: ['files:read'], scopeImplies: { 'files:write': ['files:read'], admin: ['*'] } },
  // Claim dialects (Keycloak roles, Okta cid).
  dialect: { ...base, scopeClaims: ['scope', 'realm_access.roles'], clientIdClaims: ['cid', 'azp'] },
  id_token: { issuer: ISSUER, jwks, idToken: 'web-client' },
  // Token introspection (RFC 7662) at a loopback port where nothing listens: no answer → 503.
  introspection_down: {
    ...base,
    fetchTimeout: 0.5,
    introspection: { clientId: 'mcp-server', clientSecret: 's3cret', endpoint: 'http://127.0.0.1:9/introspect', clientAuth: 'post', cacheTtl: 30, cacheSize: 64, maxConcurrent: 4, jwts: false },
  },
  // Several providers, each with its own audience and algorithms.
  providers: {
    providers: [
      { issuer: ISSUER, audience: AUDIENCE, jwks },
      { issuer: 'https://idp2.fixture.test', audience: 'api-2', jwks, algorithms: ['EdDSA', 'Ed25519'] },
    ],
    requiredScopes: ['tools:call'],
  },
};

const accepted = (sub, clientId, scopes, audienceMatched, kind = 'jwt') => ({ sub, clientId, scopes, audienceMatched, kind });
const alice = accepted('alice', 'app-1', ['tools:call', 'read'], AUDIENCE);

const cases = [
  { name: 'valid RS256', token: mint(), code: null, claims: alice },
  { name: 'valid ES256', token: mint({ alg: 'ES256' }), code: null, claims: alice },
  { name: 'valid EdDSA', token: mint({ alg: 'EdDSA' }), code: null, claims: alice },
  { name: 'static token', token: STATIC, code: null, claims: accepted('ci-bot', 'ci-bot', ['tools:call'], AUDIENCE, 'static_token') },
  { name: 'client id falls back to azp', verifier: 'at_jwt', token: mint({ header: { typ: 'at+jwt' }, claims: { ...without('client_id'), azp: 'app-azp' } }), code: null, claims: accepted('alice', 'app-azp', ['tools:call', 'read'], AUDIENCE) },
  { name: 'client id falls back to sub', verifier: 'at_jwt', token: mint({ header: { typ: 'at+jwt' }, claims: without('client_id') }), code: null, claims: accepted('alice', 'alice', ['tools:call', 'read'], AUDIENCE) },
  { name: 'second issuer and audience of several', verifier: 'several', token: mint({ claims: { ...good, iss: 'https://idp2.fixture.test', aud: ['x', AUDIENCE] } }), code: null, claims: alice },
  { name: 'expired within the leeway', verifier: 'several', token: mint({ claims: { ...good, exp: NOW - 10 } }), code: null, claims: alice },
  { name: 'scp array', verifier: 'at_jwt', token: mint({ header: { typ: 'at+jwt' }, claims: { ...without('scope'), scp: ['a', 'b'] } }), code: null, claims: accepted('alice', 'app-1', ['a', 'b'], AUDIENCE) },
  { name: 'HS256 secret', verifier: 'hmac', token: mint({ alg: 'HS256' }), code: null, claims: alice },
  { name: 'no audience check', verifier: 'no_audience', token: mint({ claims: { ...good, aud: 'https://anything.test/' } }), code: null, claims: accepted('alice', 'app-1', ['tools:call', 'read'], null) },
  { name: 'no exp allowed', verifier: 'no_exp', token: mint({ claims: without('exp') }), code: null, claims: alice },
  { name: 'PEM key answers any kid', verifier: 'pem', token: mint({ alg: 'ES256', header: { kid: 'whatever' } }), code: null, claims: alice },
  { name: 'not a JWT, not a static token', token: 'not-a-token', code: 'token_unknown' },
  { name: 'two segments', token: 'eyJhbGciOiJSUzI1NiJ9.e30', code: 'token_malformed' },
  { name: 'bad base64url', token: 'eyJhbGciOiJSUzI1NiJ9.e30=.AAAA', code: 'token_malformed' },
  { name: 'header not JSON', token: `${b64('{alg')}.${json(good)}.AAAA`, code: 'token_malformed' },
  { name: 'over the default size limit', token: `${'a'.repeat(17000)}.b.c`, code: 'token_too_large' },
  { name: 'over a configured size limit', verifier: 'small', token: mint({ claims: { ...good, pad: 'x'.repeat(1200) } }), code: 'token_too_large' },
  { name: 'alg none', token: `${json({ alg: 'none' })}.${json(good)}.`, code: 'alg_not_allowed' },
  { name: 'alg HS256 with public keys', token: mint({ header: { alg: 'HS256' } }), code: 'alg_not_allowed' },
  { name: 'alg outside the allow-list', verifier: 'es256_only', token: mint(), code: 'alg_not_allowed' },
  { name: 'crit header', token: mint({ header: { crit: ['exp'], exp: 1 } }), code: 'header_unsupported' },
  { name: 'unknown kid', token: mint({ header: { kid: 'nobody' } }), code: 'key_not_found' },
  { name: 'RSA key named for an ES256 token', token: mint({ alg: 'ES256', header: { kid: 'rsa-1' } }), code: 'key_unusable' },
  { name: 'tampered signature', token: tampered, code: 'signature_invalid' },
  { name: 'expired', token: mint({ claims: { ...good, exp: NOW - 100 } }), code: 'token_expired', claim: 'exp' },
  { name: 'expired beyond the leeway', verifier: 'several', token: mint({ claims: { ...good, exp: NOW - 31 } }), code: 'token_expired', claim: 'exp' },
  { name: 'not yet valid', token: mint({ claims: { ...good, nbf: NOW + 100 } }), code: 'token_not_yet_valid', claim: 'nbf' },
  { name: 'no exp', token: mint({ claims: without('exp') }), code: 'claim_missing', claim: 'exp' },
  { name: 'exp is a string', token: mint({ claims: { ...good, exp: String(LATER) } }), code: 'claim_invalid', claim: 'exp' },
  { name: 'required claim missing', token: mint({ claims: without('client_id') }), code: 'claim_missing', claim: 'client_id' },
  { name: 'duplicate claim', token: mint({ rawClaims: JSON.stringify(good).replace('{', '{"sub":"x",') }), code: 'token_malformed' },
  { name: 'issuer with a trailing slash', token: mint({ claims: { ...good, iss: `${ISSUER}/` } }), code: 'issuer_mismatch', claim: 'iss' },
  { name: 'another audience', token: mint({ claims: { ...good, aud: 'https://other.test/' } }), code: 'audience_mismatch', claim: 'aud' },
  { name: 'missing scope', token: mint({ claims: { ...good, scope: 'read' } }), code: 'insufficient_scope', claim: 'scope', claims: accepted('alice', 'app-1', ['read'], AUDIENCE) },
  { name: 'typ JWT where at+jwt is expected', verifier: 'at_jwt', token: mint(), code: 'typ_mismatch' },
  { name: 'typ application/at+jwt', verifier: 'at_jwt', token: mint({ header: { typ: 'application/at+jwt' } }), code: null, claims: alice },
  { name: 'JWKS unreachable', verifier: 'jwks_down', token: mint(), code: 'jwks_unavailable' },
  { name: 'the RFC 9864 name Ed25519', token: mint({ alg: 'EdDSA', header: { alg: 'Ed25519' } }), code: null, claims: alice },
  { name: 'canonical audience match', verifier: 'canonical', token: mint(), code: null, claims: accepted('alice', 'app-1', ['tools:call', 'read'], 'HTTPS://MCP.fixture.test:443') },
  { name: 'canonical match keeps the path case', verifier: 'canonical', token: mint({ claims: { ...good, aud: 'https://mcp.fixture.test/MCP' } }), code: 'audience_mismatch', claim: 'aud' },
  { name: 'a broader scope implies a narrower one', verifier: 'hierarchy', token: mint({ claims: { ...good, scope: 'files:write' } }), code: null, claims: accepted('alice', 'app-1', ['files:write'], AUDIENCE) },
  { name: 'admin implies every scope', verifier: 'hierarchy', token: mint({ claims: { ...good, scope: 'admin' } }), code: null, claims: accepted('alice', 'app-1', ['admin'], AUDIENCE) },
  { name: 'no implied scope', verifier: 'hierarchy', token: mint({ claims: { ...good, scope: 'files:list' } }), code: 'insufficient_scope', claim: 'scope', claims: accepted('alice', 'app-1', ['files:list'], AUDIENCE) },
  { name: 'scopes and client id from a dialect', verifier: 'dialect', token: mint({ claims: { ...without('client_id'), cid: 'okta-client', realm_access: { roles: ['admin'] } } }), code: null, claims: accepted('alice', 'okta-client', ['tools:call', 'read', 'admin'], AUDIENCE) },
  // The dialect's client id claims replace the default ones: client_id is not among them.
  { name: 'a dialect scope claim given as a string', verifier: 'dialect', token: mint({ claims: { ...good, realm_access: { roles: 'admin' } } }), code: null, claims: accepted('alice', null, ['tools:call', 'read', 'admin'], AUDIENCE) },
  { name: 'a dialect scope claim that is an object', verifier: 'dialect', token: mint({ claims: { ...good, realm_access: { roles: { admin: true } } } }), code: 'claim_invalid', claim: 'realm_access.roles' },
  { name: 'an id_token for the client', verifier: 'id_token', token: mint({ claims: { iss: ISSUER, sub: 'u-1', aud: 'web-client', exp: LATER, iat: NOW - 5 } }), code: null, claims: accepted('u-1', 'u-1', [], 'web-client', 'id_token') },
  { name: 'an access token in id_token mode', verifier: 'id_token', token: mint({ header: { typ: 'at+jwt' }, claims: { iss: ISSUER, sub: 'u-1', aud: 'web-client', exp: LATER } }), code: 'typ_mismatch' },
  { name: 'an id_token issued to another client', verifier: 'id_token', token: mint({ claims: { iss: ISSUER, sub: 'u-1', aud: 'web-client', azp: 'other', exp: LATER } }), code: 'audience_mismatch', claim: 'azp' },
  { name: 'an opaque token while the introspection endpoint is down', verifier: 'introspection_down', token: 'an-opaque-access-token', code: 'introspection_failed' },
  { name: 'a JWT is verified locally next to introspection', verifier: 'introspection_down', token: mint(), code: null, claims: alice },
  { name: 'first provider', verifier: 'providers', token: mint(), code: null, claims: alice },
  { name: 'second provider', verifier: 'providers', token: mint({ alg: 'EdDSA', claims: { ...good, iss: 'https://idp2.fixture.test', aud: 'api-2' } }), code: null, claims: accepted('alice', 'app-1', ['tools:call', 'read'], 'api-2') },
  { name: 'second provider refuses an algorithm the first allows', verifier: 'providers', token: mint({ claims: { ...good, iss: 'https://idp2.fixture.test', aud: 'api-2' } }), code: 'alg_not_allowed' },
  { name: 'an unknown provider', verifier: 'providers', token: mint({ claims: { ...good, iss: 'https://idp3.fixture.test' } }), code: 'issuer_mismatch', claim: 'iss' },
  { name: 'the outer required scopes apply to every provider', verifier: 'providers', token: mint({ claims: { ...good, scope: 'read' } }), code: 'insufficient_scope', claim: 'scope', claims: accepted('alice', 'app-1', ['read'], AUDIENCE) },
];

// Waiting for keys that cannot come: the error names the failing step.
const waits = [
  { name: 'discovery unreachable', verifier: 'discovery_down', timeout: 0.3, code: 'discovery_failed' },
  { name: 'JWKS unreachable', verifier: 'jwks_down', timeout: 0.3, code: 'jwks_unavailable' },
];

const configs = [
  { name: 'keys without an audience', options: { issuer: ISSUER, jwks }, code: 'config_invalid' },
  { name: 'empty audience list', options: { issuer: ISSUER, audience: [], jwks }, code: 'config_invalid' },
  { name: 'leeway over 10 minutes', options: { ...base, clockTolerance: 601 }, code: 'config_invalid' },
  { name: 'HS256 allowed with public keys', options: { ...base, algorithms: ['RS256', 'HS256'] }, code: 'config_invalid' },
  { name: 'HMAC secret without an HMAC algorithm', options: { issuer: ISSUER, audience: AUDIENCE, hmacSecret: b64(HMAC_SECRET) }, code: 'config_invalid' },
  { name: 'nothing to verify with', options: {}, code: 'config_invalid' },
  { name: 'cache over its limit', options: { ...base, cacheSize: 2 ** 21 }, code: 'config_invalid' },
  { name: 'token size limit of 0', options: { ...base, maxTokenBytes: 0 }, code: 'config_invalid' },
  { name: 'fetch timeout over a minute', options: { issuer: ISSUER, audience: AUDIENCE, fetchTimeout: 61 }, code: 'config_invalid' },
  { name: 'refresh cooldown over a day', options: { issuer: ISSUER, audience: AUDIENCE, refreshCooldown: 86401 }, code: 'config_invalid' },
  { name: 'max stale over 30 days', options: { issuer: ISSUER, audience: AUDIENCE, maxStale: 2592001 }, code: 'config_invalid' },
  { name: 'plain http to a remote host', options: { issuer: 'http://idp.fixture.test', audience: AUDIENCE }, code: 'config_invalid' },
  { name: 'an audience in id_token mode', options: { ...base, idToken: 'web-client' }, code: 'config_invalid' },
  { name: 'required scopes in id_token mode', options: { issuer: ISSUER, jwks, idToken: 'web-client', requiredScopes: ['x'] }, code: 'config_invalid' },
  { name: 'an issuer next to providers', options: { issuer: ISSUER, providers: [{ ...base }] }, code: 'config_invalid' },
  { name: 'a provider with two issuers', options: { providers: [{ ...base, issuer: [ISSUER, 'https://x.test'] }] }, code: 'config_invalid' },
  { name: 'an empty scope claim list', options: { ...base, scopeClaims: [] }, code: 'config_invalid' },
  { name: 'an unknown audience match', options: { ...base, audienceMatch: 'fuzzy' }, code: 'config_invalid' },
  { name: 'introspection without a client secret', options: { ...base, introspection: { clientId: 'x', clientSecret: '', endpoint: 'https://idp.fixture.test/introspect' } }, code: 'config_invalid' },
  { name: 'an introspection cache kept over an hour', options: { ...base, introspection: { clientId: 'x', clientSecret: 'y', endpoint: 'https://idp.fixture.test/introspect', cacheTtl: 3601 } }, code: 'config_invalid' },
  { name: 'an unknown introspection client authentication', options: { ...base, introspection: { clientId: 'x', clientSecret: 'y', endpoint: 'https://idp.fixture.test/introspect', clientAuth: 'jwt' } }, code: 'config_invalid' },
  { name: 'a private key as the public key', options: { issuer: ISSUER, audience: AUDIENCE, publicKey: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) }, code: 'config_invalid' },
];

const out = new URL('./cases.json', import.meta.url);
writeFileSync(out, `${JSON.stringify({ now: NOW, verifiers, cases, waits, configs }, null, 1)}\n`);
console.log(`wrote ${cases.length} cases, ${waits.length} waits and ${configs.length} configurations to ${out.pathname}`);

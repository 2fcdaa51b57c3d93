// Writes requests.json: the cross-language fixtures of the request path (Verifier.verifyRequest /
// verify_request): the Authorization scheme rules and DPoP (RFC 9449) proofs. Same conventions as
// cases.json (Node option names, one instant for every case, the outcome every language must
// report); cases run in order against one verifier per configuration, so a replay case follows
// the case that used its proof first. `bearer` cases give a credential alone to verify / verifyAt. Run by core/tests/conformance.rs and the binding suites.
//
// The issuer and client keys are generated afresh on every run; the committed file is the fixture.
// Thumbprints are computed here (RFC 7638), independently of jwtgate's own implementation.
// Run: node tests/conformance/generate-requests.mjs
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const ISSUER = 'https://idp.fixture.test';
const AUDIENCE = 'https://mcp.fixture.test/';
const URL_ = 'https://mcp.fixture.test/mcp';
const NOW = 1700000600;

const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const json = (value) => b64(JSON.stringify(value));

const issuer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const thief = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicJwk = (pair) => pair.publicKey.export({ format: 'jwk' });
const es256 = (pair, input) => sign('sha256', Buffer.from(input), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });

/** RFC 7638 §3: required members in lexicographic order, no whitespace. */
function thumbprint(jwk) {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return b64(createHash('sha256').update(canonical).digest());
}

function jwt(header, claims, signer) {
  const input = `${json(header)}.${json(claims)}`;
  return `${input}.${b64(es256(signer, input))}`;
}

const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', client_id: 'app-1', scope: 'tools:call', exp: NOW + 3600, iat: NOW - 60 };
const token = (extra = {}) => jwt({ alg: 'ES256', typ: 'at+jwt', kid: 'issuer-1' }, { ...claims, ...extra }, issuer);
const bound = token({ cnf: { jkt: thumbprint(publicJwk(client)) } });
const unbound = token();

/** A proof for `tok` by `signer`, with claim and header changes (undefined removes a member). */
function proof(tok, { signer = client, header = {}, claims: changes = {} } = {}) {
  const h = { typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk(signer), ...header };
  const c = {
    jti: b64(randomBytes(12)), htm: 'POST', htu: URL_, iat: NOW,
    ath: b64(createHash('sha256').update(tok).digest()), ...changes,
  };
  for (const o of [h, c]) for (const [k, v] of Object.entries(o)) if (v === undefined) delete o[k];
  return jwt(h, c, signer);
}

const jwks = { keys: [{ ...publicJwk(issuer), kid: 'issuer-1', alg: 'ES256', use: 'sig' }] };
const base = { issuer: ISSUER, audience: AUDIENCE, jwks };
const verifiers = {
  default: { ...base },
  required: { ...base, dpop: 'required' },
  off: { ...base, dpop: 'off' },
  nonce: { ...base, dpopNonce: true },
  eddsa_only: { ...base, dpopAlgorithms: ['EdDSA'] },
  short_window: { ...base, dpopIatWindow: 60 },
  tiny_replay_cache: { ...base, dpopReplayCacheSize: 1 },
};

const alice = { sub: 'alice', clientId: 'app-1', scopes: ['tools:call'], audienceMatched: AUDIENCE, kind: 'jwt' };
const withPrivate = { ...client.privateKey.export({ format: 'jwk' }) };
const replayed = proof(bound);
const req = (name, authorization, dpop, outcome, extra = {}) => ({
  name, verifier: 'default', method: 'POST', url: URL_, authorization, dpop, ...outcome, ...extra,
});
const ok = { claims: alice };
const code = (c) => ({ code: c });

const requests = [
  req('no Authorization header', null, [], code('credential_missing')),
  req('another scheme (Basic)', 'Basic YWxpY2U6c2VjcmV0', [], code('credential_missing')),
  req('a scheme without a token', 'Bearer ', [], code('credential_missing')),
  req('an unbound Bearer token', `Bearer ${unbound}`, [], ok),
  req('the scheme is case-insensitive', `bearer ${unbound}`, [], ok),
  req('a bound token as Bearer', `Bearer ${bound}`, [], code('dpop_proof_missing')),
  req('a bound token as Bearer, even with a valid proof beside it', `Bearer ${bound}`, [proof(bound)], code('dpop_proof_missing')),
  req('a bound token with a valid proof', `DPoP ${bound}`, [proof(bound)], ok),
  req('htu compared without query, case and default port', `DPoP ${bound}`, [proof(bound, { claims: { htu: 'HTTPS://MCP.Fixture.TEST:443/mcp' } })], ok, { url: `${URL_}?session=1` }),
  req('DPoP scheme without a DPoP header', `DPoP ${bound}`, [], code('dpop_proof_missing')),
  req('two DPoP headers', `DPoP ${bound}`, [proof(bound), proof(bound)], code('dpop_proof_invalid')),
  req('wrong htm', `DPoP ${bound}`, [proof(bound, { claims: { htm: 'GET' } })], code('dpop_proof_invalid')),
  req('wrong htu', `DPoP ${bound}`, [proof(bound, { claims: { htu: 'https://mcp.fixture.test/other' } })], code('dpop_proof_invalid')),
  req('stale iat', `DPoP ${bound}`, [proof(bound, { claims: { iat: NOW - 301 } })], code('dpop_proof_invalid')),
  req('iat in the future', `DPoP ${bound}`, [proof(bound, { claims: { iat: NOW + 301 } })], code('dpop_proof_invalid')),
  req('wrong ath', `DPoP ${bound}`, [proof(bound, { claims: { ath: b64(createHash('sha256').update('other').digest()) } })], code('dpop_proof_invalid')),
  req('no ath', `DPoP ${bound}`, [proof(bound, { claims: { ath: undefined } })], code('dpop_proof_invalid')),
  req('typ JWT', `DPoP ${bound}`, [proof(bound, { header: { typ: 'JWT' } })], code('dpop_proof_invalid')),
  req('a private key in the proof header', `DPoP ${bound}`, [proof(bound, { header: { jwk: withPrivate } })], code('dpop_proof_invalid')),
  req('alg none', `DPoP ${bound}`, [`${json({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk(client) })}.${json({ jti: 'x', htm: 'POST', htu: URL_, iat: NOW })}.`], code('dpop_proof_invalid')),
  req('a proof signed by another key than its jwk', `DPoP ${bound}`, [proof(bound, { signer: thief, header: { jwk: publicJwk(client) } })], code('dpop_proof_invalid')),
  req('a proof by a key the token is not bound to', `DPoP ${bound}`, [proof(bound, { signer: thief })], code('dpop_key_mismatch')),
  req('an unbound token with the DPoP scheme', `DPoP ${unbound}`, [proof(unbound)], code('dpop_key_mismatch')),
  req('a proof used for the first time', `DPoP ${bound}`, [replayed], ok),
  req('the same proof again', `DPoP ${bound}`, [replayed], code('dpop_proof_replayed')),
  req('Bearer where DPoP is required', `Bearer ${unbound}`, [], code('dpop_proof_missing'), { verifier: 'required' }),
  req('DPoP where it is required', `DPoP ${bound}`, [proof(bound)], ok, { verifier: 'required' }),
  req('the DPoP scheme where DPoP is off', `DPoP ${bound}`, [proof(bound)], code('credential_missing'), { verifier: 'off' }),
  req('a bound token where DPoP is off', `Bearer ${bound}`, [], code('dpop_proof_missing'), { verifier: 'off' }),
  req('no server nonce where nonces are on', `DPoP ${bound}`, [proof(bound)], code('dpop_nonce_required'), { verifier: 'nonce' }),
  req('an ES256 proof where only EdDSA proofs are allowed', `DPoP ${bound}`, [proof(bound)], code('dpop_proof_invalid'), { verifier: 'eddsa_only' }),
  req('a proof 59 s old with a 60 s window', `DPoP ${bound}`, [proof(bound, { claims: { iat: NOW - 59 } })], ok, { verifier: 'short_window' }),
  req('a proof 61 s old with a 60 s window', `DPoP ${bound}`, [proof(bound, { claims: { iat: NOW - 61 } })], code('dpop_proof_invalid'), { verifier: 'short_window' }),
  req('the one replay-cache entry taken', `DPoP ${bound}`, [proof(bound)], ok, { verifier: 'tiny_replay_cache' }),
  req('a full replay cache', `DPoP ${bound}`, [proof(bound)], code('dpop_replay_cache_full'), { verifier: 'tiny_replay_cache' }),
];

// Plain verify / verifyAt (a credential without its request) is a Bearer presentation: bound
// tokens are refused, and with dpop = required every credential is.
const bearer = [
  { name: 'plain verify of an unbound token', verifier: 'default', token: unbound, claims: alice },
  { name: 'plain verify of a bound token', verifier: 'default', token: bound, code: 'dpop_proof_missing' },
  { name: 'plain verify where DPoP is required', verifier: 'required', token: unbound, code: 'dpop_proof_missing' },
  { name: 'plain verify of a bound token where DPoP is off', verifier: 'off', token: bound, code: 'dpop_proof_missing' },
];

const configs = [
  { name: 'an unknown DPoP mode', options: { ...base, dpop: 'sometimes' }, code: 'config_invalid' },
  { name: 'an HMAC algorithm for DPoP proofs', options: { ...base, dpopAlgorithms: ['HS256'] }, code: 'config_invalid' },
  { name: 'no DPoP algorithm', options: { ...base, dpopAlgorithms: [] }, code: 'config_invalid' },
  { name: 'a DPoP window of 0', options: { ...base, dpopIatWindow: 0 }, code: 'config_invalid' },
  { name: 'a DPoP window over an hour', options: { ...base, dpopIatWindow: 3601 }, code: 'config_invalid' },
  { name: 'an empty replay cache', options: { ...base, dpopReplayCacheSize: 0 }, code: 'config_invalid' },
  { name: 'a replay cache over its limit', options: { ...base, dpopReplayCacheSize: 2 ** 25 }, code: 'config_invalid' },
];

const out = new URL('./requests.json', import.meta.url);
writeFileSync(out, `${JSON.stringify({ now: NOW, verifiers, requests, bearer, configs }, null, 1)}\n`);
console.log(`wrote ${requests.length} requests and ${configs.length} configurations to ${out.pathname}`);

// Local keys and tokens for tests and benchmarks (node:crypto only).
import { generateKeyPairSync, sign } from 'node:crypto';

export const ISSUER = 'https://idp.example.test';
export const AUDIENCE = 'https://mcp.example.test/';

const PARAMS = {
  RS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  ES512: ['ec', { namedCurve: 'P-521' }],
  EdDSA: ['ed25519', {}],
  // RFC 9864's name for EdDSA on Ed25519 keys.
  Ed25519: ['ed25519', {}],
};

/** The digest and signature encoding of each algorithm (RFC 7518 §3.3–3.4, RFC 8037). */
const SIGNING = {
  RS256: ['sha256', {}],
  ES256: ['sha256', { dsaEncoding: 'ieee-p1363' }],
  ES512: ['sha512', { dsaEncoding: 'ieee-p1363' }],
  EdDSA: [null, {}],
  Ed25519: [null, {}],
};

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A key pair for `alg` with helpers: `jwk` (public, with kid/alg/use), `pem`, `mint(claims, header)`. */
export function keyFor(alg, kid = `${alg.toLowerCase()}-1`) {
  const [type, params] = PARAMS[alg];
  const { privateKey, publicKey } = generateKeyPairSync(type, params);
  return {
    alg,
    kid,
    privateKey,
    publicKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    pem: publicKey.export({ type: 'spki', format: 'pem' }),
    mint(claims, header = {}) {
      const input = `${b64({ alg, typ: 'JWT', kid, ...header })}.${b64(claims)}`;
      const data = Buffer.from(input);
      const [digest, encoding] = SIGNING[alg];
      const signature = sign(digest, data, { key: privateKey, ...encoding });
      return `${input}.${signature.toString('base64url')}`;
    },
  };
}

export const now = () => Math.floor(Date.now() / 1000);

/** Typical RFC 9068 access-token claims, valid for an hour. */
export function claims(extra = {}) {
  const t = now();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-42',
    client_id: 'app-1',
    scope: 'tools:call read',
    jti: 'id-1',
    iat: t,
    exp: t + 3600,
    ...extra,
  };
}

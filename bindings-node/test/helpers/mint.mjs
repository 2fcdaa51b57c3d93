// Local keys and tokens for tests and benchmarks (node:crypto only).
import { generateKeyPairSync, sign } from 'node:crypto';

export const ISSUER = 'https://idp.example.test';
export const AUDIENCE = 'https://mcp.example.test/';

const PARAMS = {
  RS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  EdDSA: ['ed25519', {}],
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
      const signature =
        alg === 'RS256'
          ? sign('sha256', data, privateKey)
          : alg === 'ES256'
            ? sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
            : sign(null, data, privateKey);
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

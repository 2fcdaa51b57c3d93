// DPoP proofs (RFC 9449 §4.2) signed with node:crypto, for tests that play a client — or an
// attacker holding a proof made for another URL.
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/**
 * A client's ES256 DPoP key: `jwk` (public), `thumbprint` (RFC 7638, the `cnf.jkt` of tokens
 * bound to it) and `proof({ method, url, token, nonce, iat, jti })`.
 */
export function dpopKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const jwk = { kty, crv, x, y };
  // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
  const thumbprint = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  return {
    jwk,
    thumbprint,
    proof({ method, url, token, nonce, iat = Math.floor(Date.now() / 1000), jti = randomUUID() }) {
      const payload = { jti, htm: method, htu: url, iat };
      if (token !== undefined) payload.ath = createHash('sha256').update(token).digest('base64url');
      if (nonce !== undefined) payload.nonce = nonce;
      const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64(payload)}`;
      const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return `${input}.${signature.toString('base64url')}`;
    },
  };
}

// Mints COUNT RFC 9068 access tokens (ES256, typ at+jwt) with a private JWK from `jwtgate keygen`,
// one per line, for the fresh-token run of benches/gateway/run. Node's own crypto, no packages.
//
//   node mint.mjs <key.private.jwk.json> <issuer> <audience> <count> [scope]
//
// Every token has its own jti and sub (bench-<n>), so none is a verified-token cache hit of
// another; exp is one hour ahead.
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [keyFile, issuer, audience, countText, scope = 'tools:call'] = process.argv.slice(2);
if (!keyFile || !issuer || !audience || !countText) {
  console.error('usage: node mint.mjs <key.private.jwk.json> <issuer> <audience> <count> [scope]');
  process.exit(2);
}
const jwk = JSON.parse(readFileSync(keyFile, 'utf8'));
const key = createPrivateKey({ key: jwk, format: 'jwk' });
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = b64({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid });
const now = Math.floor(Date.now() / 1000);
const lines = [];
for (let n = 0; n < Number(countText); n += 1) {
  const claims = {
    iss: issuer, aud: audience, sub: `bench-${n}`, client_id: 'bench', scope,
    iat: now, exp: now + 3600, jti: `bench-${now}-${n}`,
  };
  const input = `${header}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  lines.push(`${input}.${signature.toString('base64url')}`);
}
process.stdout.write(`${lines.join('\n')}\n`);

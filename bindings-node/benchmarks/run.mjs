// jwtgate against the Node JWT verifiers MCP servers use, in one process, on the same tokens
// with the same checks (signature, alg allow-list, iss, aud, exp/nbf), plus the raw
// node:crypto.verify floor. Prints a markdown table (median µs per verification) and the
// performance targets. Run with nothing else busy:  node benchmarks/run.mjs  [--quick]
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { cpus } from 'node:os';

import { createVerifier } from 'fast-jwt';
import * as jose from 'jose';
import jsonwebtoken from 'jsonwebtoken';

import { CRYPTO_BACKEND, Verifier } from '../index.mjs';
import { timeAsync as timeAsyncWith, timeSync as timeSyncWith } from './timing.mjs';
import { AUDIENCE, ISSUER, claims, keyFor } from '../test/helpers/mint.mjs';

const QUICK = process.argv.includes('--quick');
const SAMPLES = QUICK ? 3 : 7;
const SAMPLE_MS = QUICK ? 60 : 250;
const ALGS = ['RS256', 'ES256', 'EdDSA'];
const timeSync = (fn) => timeSyncWith(fn, { samples: SAMPLES, sampleMs: SAMPLE_MS });
const timeAsync = (fn) => timeAsyncWith(fn, { samples: SAMPLES, sampleMs: SAMPLE_MS });

// One key and one token per algorithm; every contender verifies exactly these.
const fixtures = Object.fromEntries(
  ALGS.map((alg) => {
    const key = keyFor(alg);
    const token = key.mint(claims({ exp: Math.floor(Date.now() / 1000) + 3600 }));
    return [alg, { key, token }];
  }),
);

// Each contender: for one alg, a function verifying its token (sync or async), checked once.
const policy = { issuer: ISSUER, audience: AUDIENCE };
const contenders = [
  {
    name: 'jwtgate `verifySync`, cold (cacheSize 0)',
    make: ({ key }, alg) => {
      const v = new Verifier({ ...policy, jwks: { keys: [key.jwk] }, algorithms: [alg], cacheSize: 0 });
      return (token) => v.verifySync(token);
    },
  },
  {
    name: 'jwtgate `verifySync`, cached',
    make: ({ key }, alg) => {
      const v = new Verifier({ ...policy, jwks: { keys: [key.jwk] }, algorithms: [alg] });
      return (token) => v.verifySync(token);
    },
  },
  {
    name: 'jwtgate `verify` (Promise), cold',
    async: true,
    make: ({ key }, alg) => {
      const v = new Verifier({ ...policy, jwks: { keys: [key.jwk] }, algorithms: [alg], cacheSize: 0 });
      return (token) => v.verify(token);
    },
  },
  {
    name: 'jwtgate `verify` (Promise), cached',
    async: true,
    make: ({ key }, alg) => {
      const v = new Verifier({ ...policy, jwks: { keys: [key.jwk] }, algorithms: [alg] });
      return (token) => v.verify(token);
    },
  },
  {
    name: '`jose.jwtVerify`, KeyObject',
    async: true,
    make: ({ key }, alg) => {
      const keyObject = createPublicKey({ key: key.jwk, format: 'jwk' });
      return (token) => jose.jwtVerify(token, keyObject, { ...policy, algorithms: [alg] });
    },
  },
  {
    name: '`jose.jwtVerify`, `createLocalJWKSet`',
    async: true,
    make: ({ key }, alg) => {
      const jwks = jose.createLocalJWKSet({ keys: [key.jwk] });
      return (token) => jose.jwtVerify(token, jwks, { ...policy, algorithms: [alg] });
    },
  },
  {
    name: '`fast-jwt`, no cache',
    make: ({ key }, alg) => {
      const v = createVerifier({ key: key.pem, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE });
      return (token) => v(token);
    },
  },
  {
    name: '`fast-jwt`, cache (hit)',
    make: ({ key }, alg) => {
      const v = createVerifier({ key: key.pem, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE, cache: true });
      return (token) => v(token);
    },
  },
  {
    name: '`jsonwebtoken.verify`',
    make: ({ key }, alg) => {
      if (alg === 'EdDSA') return null; // jsonwebtoken 9 has no EdDSA
      return (token) => jsonwebtoken.verify(token, key.pem, { algorithms: [alg], ...policy });
    },
  },
  {
    name: '`node:crypto.verify` (signature only: the floor)',
    make: ({ key, token }, alg) => {
      const dot = token.lastIndexOf('.');
      const input = Buffer.from(token.slice(0, dot));
      const signature = Buffer.from(token.slice(dot + 1), 'base64url');
      const keyObject = createPublicKey(key.pem);
      const options =
        alg === 'RS256'
          ? ['sha256', keyObject]
          : alg === 'ES256'
            ? ['sha256', { key: keyObject, dsaEncoding: 'ieee-p1363' }]
            : [null, keyObject];
      return () => cryptoVerify(options[0], input, options[1], signature);
    },
  },
];

async function check(contender, fn, token) {
  const result = contender.async ? await fn(token) : fn(token);
  if (result === false) throw new Error(`${contender.name}: the signature did not verify`);
  const sub = result?.sub ?? result?.payload?.sub;
  if (result !== true && sub !== 'user-42') throw new Error(`${contender.name}: unexpected result ${JSON.stringify(result)}`);
}

const results = new Map();
for (const contender of contenders) {
  const row = {};
  for (const alg of ALGS) {
    const { token } = fixtures[alg];
    const fn = contender.make(fixtures[alg], alg);
    if (fn === null) continue;
    await check(contender, fn, token);
    row[alg] = contender.async ? await timeAsync(() => fn(token)) : timeSync(() => fn(token));
  }
  results.set(contender.name, row);
  process.stderr.write(`measured ${contender.name}\n`);
}

const fmt = (us) => (us === undefined ? 'n/a' : us < 10 ? us.toFixed(2) : us.toFixed(1));
const lines = [];
lines.push(
  `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), jwtgate crypto backend ${CRYPTO_BACKEND}; ` +
    `median of ${SAMPLES} batches of ~${SAMPLE_MS} ms, µs per verification (lower is better). ` +
    'Promise rows are awaited one at a time (latency).',
);
lines.push('');
lines.push(`| verifier | ${ALGS.join(' | ')} |`);
lines.push(`|---|${ALGS.map(() => '---:').join('|')}|`);
for (const [name, row] of results) lines.push(`| ${name} | ${ALGS.map((a) => fmt(row[a])).join(' | ')} |`);

const get = (name, alg) => results.get(name)?.[alg];
const ratio = (slow, fast) => slow / fast;
const targets = [
  ['cold RS256 `verifySync` vs `jose` (KeyObject)', ratio(get('`jose.jwtVerify`, KeyObject', 'RS256'), get('jwtgate `verifySync`, cold (cacheSize 0)', 'RS256')), 3],
  ['cold RS256 `verifySync` vs `jose` (createLocalJWKSet)', ratio(get('`jose.jwtVerify`, `createLocalJWKSet`', 'RS256'), get('jwtgate `verifySync`, cold (cacheSize 0)', 'RS256')), 3],
  ['cold RS256 `verifySync` vs `fast-jwt` without cache', ratio(get('`fast-jwt`, no cache', 'RS256'), get('jwtgate `verifySync`, cold (cacheSize 0)', 'RS256')), 1.2],
  ['cached RS256 `verifySync` vs `fast-jwt` cache hit', ratio(get('`fast-jwt`, cache (hit)', 'RS256'), get('jwtgate `verifySync`, cached', 'RS256')), 5],
  ['cached RS256 `verify` vs `fast-jwt` cache hit', ratio(get('`fast-jwt`, cache (hit)', 'RS256'), get('jwtgate `verify` (Promise), cached', 'RS256')), 5],
];
lines.push('');
lines.push('| target | measured | goal | |');
lines.push('|---|---:|---:|---|');
for (const [name, measured, goal] of targets) {
  lines.push(`| ${name} | ${measured.toFixed(1)}× | ≥ ${goal}× | ${measured >= goal ? 'met' : 'missed'} |`);
}
console.log(lines.join('\n'));

// The MCP adapter and the Promise form against `verifySync`, in one process: every contender is
// sampled in alternation (median of many batches), so load on the machine hits all alike.
// Promise forms are awaited one call at a time (latency). "− base" is what a form adds to its
// base: `verify` (Promise) over `verifySync`, the adapter's `verifyAccessToken` over `verify`.
// Every verifier has the options the adapter gives one built from options (`audienceMatch:
// 'canonical'`, whose comparison is the core's and costs the same on every row), so that the
// adapter's own cost is what "− base" shows.
//
//   node benchmarks/adapter.mjs [--quick]
import { cpus } from 'node:os';

import { Verifier } from '../index.mjs';
import { createTokenVerifier } from '../mcp.mjs';
import { AUDIENCE, ISSUER, claims, keyFor } from '../test/helpers/mint.mjs';
import { batchFor, batchForAsync, median, sampleAsync, sampleSync } from './timing.mjs';

const QUICK = process.argv.includes('--quick');
const SAMPLES = QUICK ? 5 : 21;
const SAMPLE_MS = QUICK ? 40 : 100;

const key = keyFor('RS256');
const token = key.mint(claims({ scope: 'tools:call read' }));
const options = (cacheSize) => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: { keys: [key.jwk] },
  algorithms: ['RS256'],
  audienceMatch: 'canonical',
  cacheSize,
});
const copies = Array.from({ length: 256 }, () => Buffer.from(token).toString('latin1'));
let i = 0;
const next = () => copies[i++ & 255];

const contenders = [];
for (const [label, cacheSize] of [['cold (cacheSize 0)', 0], ['cached', 1024]]) {
  const verifier = new Verifier(options(cacheSize));
  const adapter = createTokenVerifier(new Verifier(options(cacheSize)));
  contenders.push(
    { name: `\`verifySync\`, ${label}`, fn: () => verifier.verifySync(next()) },
    { name: `\`verify\` (Promise), ${label}`, async: true, fn: () => verifier.verify(next()), base: `\`verifySync\`, ${label}` },
    { name: `jwtgate/mcp \`verifyAccessToken\`, ${label}`, async: true, fn: () => adapter.verifyAccessToken(next()), base: `\`verify\` (Promise), ${label}` },
  );
}

for (const c of contenders) {
  const result = c.async ? await c.fn() : c.fn();
  if ((result.sub ?? result.extra?.claims?.sub) !== 'user-42') throw new Error(`${c.name}: unexpected ${JSON.stringify(result)}`);
  c.batch = c.async ? await batchForAsync(c.fn, SAMPLE_MS) : batchFor(c.fn, SAMPLE_MS);
  c.samples = [];
}
for (let s = 0; s < SAMPLES; s++) {
  for (const c of contenders) c.samples.push(c.async ? await sampleAsync(c.fn, c.batch) : sampleSync(c.fn, c.batch));
}
const medians = new Map(contenders.map((c) => [c.name, median(c.samples)]));

console.log(
  `Node ${process.version}, ${cpus().length} cores, RS256, audienceMatch canonical, token ${token.length} chars; median of ${SAMPLES} alternating batches of ~${SAMPLE_MS} ms, µs per call\n`,
);
console.log('| call | µs | − base µs |');
console.log('|---|---:|---:|');
for (const c of contenders) {
  const us = medians.get(c.name);
  const extra = c.base ? (us - medians.get(c.base)).toFixed(2) : '';
  console.log(`| ${c.name} | ${us.toFixed(us < 10 ? 3 : 1)} | ${extra} |`);
}

// What a user's own loop sees from `verifySync` on a cached token, against the loop shape of
// benchmarks/run.mjs, in one process: each shape is sampled in alternation (median of many
// batches), so load on the machine hits all alike. The shapes differ in where the token string
// comes from (one string object reused; a new string per call, as each request's header gives
// one; the header value sliced after "Bearer ") and in whether the result is read.
//
//   node benchmarks/user-loop.mjs [--quick]
import { cpus } from 'node:os';

import { Verifier } from '../index.mjs';
import { AUDIENCE, ISSUER, claims, keyFor } from '../test/helpers/mint.mjs';
import { batchFor, median, sampleSync } from './timing.mjs';

const QUICK = process.argv.includes('--quick');
const SAMPLES = QUICK ? 5 : 21;
const SAMPLE_MS = QUICK ? 40 : 100;

const key = keyFor('RS256');
const token = key.mint(claims());
const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.jwk] }, algorithms: ['RS256'] });
if (verifier.verifySync(token).sub !== 'user-42') throw new Error('the token was refused');

// 256 distinct string objects with the token's text: flat one-byte strings, as Node makes of
// an incoming request's header values.
const copies = Array.from({ length: 256 }, () => Buffer.from(token).toString('latin1'));
const headers = Array.from({ length: 256 }, () => Buffer.from(`Bearer ${token}`).toString('latin1'));
let i = 0;

const shapes = {
  'the same string object (benchmarks/run.mjs)': () => verifier.verifySync(token),
  'a new string per call (a header value)': () => verifier.verifySync(copies[i++ & 255]),
  'sliced from "Bearer <token>"': () => verifier.verifySync(headers[i++ & 255].slice(7)),
  'result read (`.sub`)': () => verifier.verifySync(copies[i++ & 255]).sub,
  'the harness alone (no call)': () => copies[i++ & 255],
};

const batches = Object.fromEntries(Object.entries(shapes).map(([name, fn]) => [name, batchFor(fn, SAMPLE_MS)]));
const samples = Object.fromEntries(Object.keys(shapes).map((name) => [name, []]));
for (let s = 0; s < SAMPLES; s++) {
  for (const [name, fn] of Object.entries(shapes)) samples[name].push(sampleSync(fn, batches[name]));
}

// A user's plain loop, as written in an application's own benchmark: no helper, no closure.
function plainLoop(n) {
  const start = process.hrtime.bigint();
  for (let k = 0; k < n; k++) verifier.verifySync(copies[k & 255]);
  return Number(process.hrtime.bigint() - start) / 1e3 / n;
}
const plain = [];
for (let s = 0; s < SAMPLES; s++) plain.push(plainLoop(200_000));

console.log(
  `Node ${process.version}, ${cpus().length} cores, RS256 cached \`verifySync\`; median of ${SAMPLES} alternating batches, µs per call\n`,
);
console.log('| loop | µs per call |');
console.log('|---|---:|');
for (const [name, values] of Object.entries(samples)) console.log(`| ${name} | ${median(values).toFixed(3)} |`);
console.log(`| a plain \`for\` loop, a new string per call | ${median(plain).toFixed(3)} |`);

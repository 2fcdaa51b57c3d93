// The raw N-API fast path (src/fastcall.rs) against the plain `#[napi]` path (`verifySyncPlain`,
// `verifyPlain`), in one process, on the same RS256 token: cached (the core's cache answers)
// and cold (cacheSize 0: a signature check every time; `verify` answers both on the calling
// thread, the keys being in hand). Each path has its own native verifier;
// the two are sampled in alternation so that load on the machine hits both alike. Prints a
// markdown table of median µs per call. The fast path is kept only while it shows a gain here
// (README "Performance").
//
// Run with nothing else busy:  node benchmarks/fastpath.mjs  [--quick]
import { createRequire } from 'node:module';
import { cpus } from 'node:os';

import { CRYPTO_BACKEND, Verifier } from '../index.mjs';
import { AUDIENCE, ISSUER, claims, keyFor } from '../test/helpers/mint.mjs';
import { batchFor, batchForAsync, median, sampleAsync, sampleSync } from './timing.mjs';

const native = createRequire(import.meta.url)('../binding.js');
const QUICK = process.argv.includes('--quick');
const SAMPLES = QUICK ? 5 : 15;
const SAMPLE_MS = QUICK ? 60 : 200;

const key = keyFor('RS256');
const token = key.mint(claims());
const options = (cacheSize) => ({ issuer: ISSUER, audience: AUDIENCE, jwks: JSON.stringify({ keys: [key.jwk] }), algorithms: ['RS256'], cacheSize });

function sync(cacheSize) {
  const fast = new native.NativeVerifier(options(cacheSize)).entryPoints();
  const plain = new native.NativeVerifier(options(cacheSize));
  const fastObjects = [];
  const plainObjects = [];
  return {
    fast: () => fast.verifySync(token, fastObjects),
    plain: () => plain.verifySyncPlain(token, plainObjects),
  };
}

function promise(cacheSize) {
  const fast = new native.NativeVerifier(options(cacheSize)).entryPoints();
  const plain = new native.NativeVerifier(options(cacheSize));
  const fastObjects = [];
  const plainObjects = [];
  return {
    fast: () => fast.verify(token, fastObjects),
    plain: () => plain.verifyPlain(token, plainObjects),
  };
}

/** Median µs per call of `fast` and `plain`, sampled in alternation. */
async function compare({ fast, plain }, awaited) {
  for (const fn of [fast, plain]) {
    const result = await fn();
    if (result.sub !== 'user-42') throw new Error(`unexpected result ${JSON.stringify(result)}`);
  }
  const batches = awaited
    ? [await batchForAsync(fast, SAMPLE_MS), await batchForAsync(plain, SAMPLE_MS)]
    : [batchFor(fast, SAMPLE_MS), batchFor(plain, SAMPLE_MS)];
  const samples = [[], []];
  for (let s = 0; s < SAMPLES; s++) {
    for (const [i, fn] of [fast, plain].entries()) {
      samples[i].push(awaited ? await sampleAsync(fn, batches[i]) : sampleSync(fn, batches[i]));
    }
  }
  return samples.map(median);
}

const rows = [
  ['`verifySync`, cached', await compare(sync(1024), false)],
  ['`verifySync`, cold (cacheSize 0)', await compare(sync(0), false)],
  ['`verify` (Promise, awaited), cached', await compare(promise(1024), true)],
  ['`verify` (Promise, awaited), cold (cacheSize 0)', await compare(promise(0), true)],
];
// What an application calls: the public Verifier over the fast path.
const publicVerifier = new Verifier({ ...options(1024), jwks: { keys: [key.jwk] } });
const publicSync = () => publicVerifier.verifySync(token);
const publicCached = median(Array.from({ length: SAMPLES }, ((batch) => () => sampleSync(publicSync, batch))(batchFor(publicSync, SAMPLE_MS))));

const fmt = (us) => (us < 10 ? us.toFixed(3) : us.toFixed(1));
const lines = [
  `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), jwtgate crypto backend ${CRYPTO_BACKEND}; ` +
    `RS256, median of ${SAMPLES} alternating batches of ~${SAMPLE_MS} ms, µs per call (lower is better).`,
  '',
  '| entry point | fast path (fastcall.rs) | plain `#[napi]` | plain − fast |',
  '|---|---:|---:|---:|',
  ...rows.map(([name, [fast, plain]]) => `| ${name} | ${fmt(fast)} | ${fmt(plain)} | ${fmt(plain - fast)} |`),
  '',
  `Public \`Verifier.verifySync\` (fast path), cached: ${fmt(publicCached)} µs.`,
];
console.log(lines.join('\n'));

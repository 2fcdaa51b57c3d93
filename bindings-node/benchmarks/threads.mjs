// Scaling over worker threads: verifications per second with one worker thread and with two,
// each worker with its own Verifier (a Verifier belongs to the JS thread that built it; the
// addon loads once per worker), cold (cacheSize 0: a signature check every time) and cached.
// The same workers run every measurement, one worker and two in alternation, median of the
// rounds, so load on the machine hits both alike. The target: 2 threads ≥ 1.9× one thread,
// which needs a machine with at least two idle cores.
//
//   node benchmarks/threads.mjs [--quick]
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { CRYPTO_BACKEND, Verifier } from '../index.mjs';
import { AUDIENCE, ISSUER, claims, keyFor } from '../test/helpers/mint.mjs';
import { median } from './timing.mjs';

const ALGS = ['RS256', 'ES256'];
const MODES = [
  ['`verifySync`, cold (cacheSize 0)', 0, false],
  ['`verifySync`, cached', 1024, false],
  ['`verify` (Promise, awaited), cold (cacheSize 0)', 0, true],
  ['`verify` (Promise, awaited), cached', 1024, true],
];

/**
 * Nanoseconds this thread has run on a CPU (Linux schedstat), or undefined elsewhere: calls per
 * CPU-second show contention between the threads even on a busy machine, where wall-clock
 * throughput cannot.
 */
function threadCpuNs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** A worker: builds every contender, then runs the one it is told to for `ms`, counting calls. */
async function worker() {
  const contenders = [];
  for (const alg of ALGS) {
    const key = keyFor(alg);
    const token = key.mint(claims({ exp: Math.floor(Date.now() / 1000) + 3600 }));
    for (const [, cacheSize, promise] of MODES) {
      const v = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [key.jwk] }, algorithms: [alg], cacheSize });
      if (v.verifySync(token).sub !== 'user-42') throw new Error('the token was refused');
      contenders.push(promise ? { promise, fn: () => v.verify(token) } : { promise, fn: () => v.verifySync(token) });
    }
  }
  parentPort.on('message', async ({ index, ms }) => {
    const { promise, fn } = contenders[index];
    let calls = 0;
    const cpuStart = threadCpuNs();
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(ms * 1e6));
    let now = start;
    // The clock is read every 64 calls.
    while (now < end) {
      if (promise) {
        for (let i = 0; i < 64; i++) await fn();
      } else {
        for (let i = 0; i < 64; i++) fn();
      }
      calls += 64;
      now = process.hrtime.bigint();
    }
    const cpuEnd = threadCpuNs();
    const cpuSeconds = cpuStart === undefined || cpuEnd === undefined ? undefined : (cpuEnd - cpuStart) / 1e9;
    parentPort.postMessage({ calls, seconds: Number(now - start) / 1e9, cpuSeconds });
  });
  parentPort.postMessage('ready');
}

async function main() {
  const QUICK = process.argv.includes('--quick');
  const ROUNDS = QUICK ? 3 : 9;
  const MS = QUICK ? 60 : 200;
  const workers = [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: { worker: true } }));
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  })));

  /**
   * Contender `index` on the first `threads` workers at once: verifications per second (wall
   * clock, summed over the threads) and per CPU-second (all calls over the threads' CPU time).
   */
  async function run(index, threads) {
    const answers = await Promise.all(
      workers.slice(0, threads).map(
        (w) =>
          new Promise((resolve) => {
            w.once('message', resolve);
            w.postMessage({ index, ms: MS });
          }),
      ),
    );
    const wall = answers.reduce((sum, { calls, seconds }) => sum + calls / seconds, 0);
    const cpu = answers.some((a) => a.cpuSeconds === undefined)
      ? undefined
      : answers.reduce((sum, a) => sum + a.calls, 0) / answers.reduce((sum, a) => sum + a.cpuSeconds, 0);
    return { wall, cpu };
  }

  const rows = [];
  let index = 0;
  for (const alg of ALGS) {
    for (const [name] of MODES) {
      const wall = { 1: [], 2: [] };
      const cpu = { 1: [], 2: [] };
      await run(index, 2); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        for (const threads of [1, 2]) {
          const measured = await run(index, threads);
          wall[threads].push(measured.wall);
          if (measured.cpu !== undefined) cpu[threads].push(measured.cpu);
        }
      }
      const perCpu = cpu[1].length === ROUNDS ? median(cpu[2]) / median(cpu[1]) : undefined;
      rows.push([`${name}, ${alg}`, median(wall[1]), median(wall[2]), perCpu]);
      process.stderr.write(`measured ${name}, ${alg}\n`);
      index += 1;
    }
  }
  await Promise.all(workers.map((w) => w.terminate()));

  const fmt = (perSecond) => Math.round(perSecond).toLocaleString('en-US');
  const lines = [
    `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), jwtgate crypto backend ${CRYPTO_BACKEND}; ` +
      `worker threads, one Verifier each; median of ${ROUNDS} alternating rounds of ~${MS} ms, verifications per second ` +
      '(higher is better). Promise rows are awaited one at a time in each thread.',
    '',
    '| call | 1 thread | 2 threads | 2 ÷ 1 | per CPU-second, 2 ÷ 1 |',
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      ([name, one, two, perCpu]) =>
        `| ${name} | ${fmt(one)} | ${fmt(two)} | ${(two / one).toFixed(2)}× | ${perCpu === undefined ? 'n/a' : `${perCpu.toFixed(2)}×`} |`,
    ),
    '',
    `Target: 2 threads ≥ 1.9× one thread. Lowest here: ${Math.min(...rows.map(([, one, two]) => two / one)).toFixed(2)}×. ` +
      'The last column compares verifications per CPU-second of the threads (Linux schedstat): 1.00× means the ' +
      'threads do not slow each other down, so the wall-clock ratio reaches 2× given two idle cores.',
  ];
  console.log(lines.join('\n'));
}

if (isMainThread) await main();
else if (workerData?.worker) await worker();

// Timing helpers shared by the benchmarks: the median over `samples` of the mean µs per call in
// batches of ~`sampleMs` (after a warm-up that sizes the batch).

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A batch size for `fn` that takes about `sampleMs` (runs `fn` meanwhile: the warm-up). */
export function batchFor(fn, sampleMs) {
  let batch = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (ms >= sampleMs / 4) return Math.max(1, Math.round((batch * sampleMs) / ms));
    batch *= 4;
  }
}

/** µs per call of one batch of `batch` calls. */
export function sampleSync(fn, batch) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < batch; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e3 / batch;
}

export function timeSync(fn, { samples, sampleMs }) {
  const batch = batchFor(fn, sampleMs);
  return median(Array.from({ length: samples }, () => sampleSync(fn, batch)));
}

/** The same for a Promise-returning function, awaited one call at a time (latency). */
export async function batchForAsync(fn, sampleMs) {
  let batch = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await fn();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (ms >= sampleMs / 4) return Math.max(1, Math.round((batch * sampleMs) / ms));
    batch *= 4;
  }
}

export async function sampleAsync(fn, batch) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < batch; i++) await fn();
  return Number(process.hrtime.bigint() - t) / 1e3 / batch;
}

export async function timeAsync(fn, { samples, sampleMs }) {
  const batch = await batchForAsync(fn, sampleMs);
  const out = [];
  for (let s = 0; s < samples; s++) out.push(await sampleAsync(fn, batch));
  return median(out);
}

// Whether a verification's Promise was already settled when returned: `verify()` and
// `verifyRequest()` answer on the calling thread when the keys are in hand, and go to the libuv
// thread pool only when the core must wait (a key fetch, an introspection call).

/**
 * Whether `promise` settles within a few microtask turns — the answer was computed before the
 * call returned — rather than in a later event-loop turn, when the thread pool's answer arrives.
 */
export async function answeredAtOnce(promise) {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await null;
  const early = settled;
  await promise.catch(() => undefined);
  return early;
}

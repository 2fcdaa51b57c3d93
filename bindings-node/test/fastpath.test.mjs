// The raw N-API fast path (src/fastcall.rs) against the plain `#[napi]` path
// (`verifySyncPlain`, `verifyPlain` in src/verifier.rs): the shared conformance fixtures
// (cases.json, and the plain Bearer presentations of requests.json) and strings chosen for the
// fast path's token buffer go through both, and every result must be identical — the same claims
// object (code, claim, identity and every other field) or the same JwtGateError (code, claim,
// message, detail, status, hint, claims), and the same reuse of claims objects. Only the glue
// differs between the two; this test keeps it that way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import { JwtGateError } from '../index.mjs';
import { AUDIENCE, claims, ISSUER, keyFor } from './helpers/mint.mjs';

// index.mjs registered the error class and the claims factory with this very addon.
const native = createRequire(import.meta.url)('../binding.js');
const fixtures = JSON.parse(readFileSync(new URL('../../tests/conformance/cases.json', import.meta.url), 'utf8'));
const requests = JSON.parse(readFileSync(new URL('../../tests/conformance/requests.json', import.meta.url), 'utf8'));

/** The identity facts the fixtures name for an accepted credential (null when absent). */
function identity(claims) {
  return {
    sub: claims.sub ?? null,
    clientId: claims.clientId ?? null,
    scopes: [...claims.scopes],
    audienceMatched: claims.audienceMatched ?? null,
    kind: claims.kind,
  };
}

/** Fixture options in the native form (what index.js hands the addon), providers' included. */
function nativeOptions(fixture) {
  const out = { ...fixture };
  if (typeof out.jwks === 'object') out.jwks = JSON.stringify(out.jwks);
  if (typeof out.hmacSecret === 'string') out.hmacSecret = Buffer.from(out.hmacSecret, 'base64url');
  if (Array.isArray(out.providers)) out.providers = out.providers.map(nativeOptions);
  return out;
}

/**
 * Two native verifiers built from the same options, one per path, each with its own
 * claims-object array: both see the same history (cache contents, key state), so their answers
 * must be the same.
 */
function paths(options) {
  const fast = new native.NativeVerifier(options).entryPoints();
  const plain = new native.NativeVerifier(options);
  const fastObjects = [];
  const plainObjects = [];
  return {
    fastSync: (token, now) => (now === undefined ? fast.verifySync(token, fastObjects) : fast.verifySync(token, fastObjects, now)),
    plainSync: (token, now) => plain.verifySyncPlain(token, plainObjects, now),
    fastVerify: (token) => fast.verify(token, fastObjects),
    plainVerify: (token) => plain.verifyPlain(token, plainObjects),
  };
}

function outcome(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    return { error };
  }
}

/** The comparable facts of a rejection. */
function rejection(e) {
  assert.ok(e instanceof JwtGateError, `expected a JwtGateError, got ${e}`);
  return { code: e.code, claim: e.claim, message: e.message, detail: e.detail, status: e.status, hint: e.hint, claims: e.claims };
}

function same(fast, plain, where) {
  if (fast.error || plain.error) {
    assert.ok(fast.error && plain.error, `${where}: one path accepted, the other threw ${(fast.error ?? plain.error).message}`);
    assert.deepEqual(rejection(fast.error), rejection(plain.error), where);
  } else {
    assert.deepEqual(fast.value, plain.value, where);
    assert.ok(Object.isFrozen(fast.value) && Object.isFrozen(plain.value), where);
  }
}

describe('fast path = plain path', () => {
  /**
   * Each credential of `list` through both paths, twice, at `now`, with the verifiers of
   * `verifiers` (one pair per name, built on first use): identical answers, the expected outcome,
   * and the same reuse of claims objects.
   */
  function bothPaths(list, verifiers, now) {
    const byVerifier = new Map();
    for (const c of list) {
      const name = c.verifier ?? 'default';
      if (!byVerifier.has(name)) byVerifier.set(name, paths(nativeOptions(verifiers[name])));
      const p = byVerifier.get(name);
      const first = [outcome(() => p.fastSync(c.token, now)), outcome(() => p.plainSync(c.token, now))];
      const second = [outcome(() => p.fastSync(c.token, now)), outcome(() => p.plainSync(c.token, now))];
      same(...first, `${c.name} (first)`);
      same(...second, `${c.name} (again)`);
      // The expected outcome itself (the conformance test checks it through index.js).
      if (c.code === null || c.code === undefined) {
        assert.ok(!first[0].error, `${c.name}: ${first[0].error?.code}`);
        assert.deepEqual(identity(first[0].value), c.claims, c.name);
        // Both reuse a claims object for the same credential, or neither does.
        assert.equal(second[0].value === first[0].value, second[1].value === first[1].value, `${c.name}: object reuse differs`);
      } else {
        assert.equal(first[0].error?.code, c.code, c.name);
        assert.equal(first[0].error.claim, c.claim, c.name);
      }
    }
  }

  test('every conformance case, twice, at the fixtures’ instant', () => {
    bothPaths(fixtures.cases, fixtures.verifiers, fixtures.now);
  });

  test('every plain Bearer presentation of the request fixtures (verifyAt), twice', () => {
    bothPaths(requests.bearer, requests.verifiers, requests.now);
  });

  test('strings around the token buffer, multi-byte text, long and empty strings', () => {
    const rsa = keyFor('RS256');
    const p = paths({ issuer: ISSUER, audience: AUDIENCE, jwks: JSON.stringify({ keys: [rsa.jwk] }), maxTokenBytes: 64 * 1024 });
    const tokens = [];
    // Valid tokens whose length crosses 8 KiB (the fast path's starting buffer).
    for (let pad = 5500; tokens.length < 12 && pad < 5900; pad += 1) {
      const token = rsa.mint(claims({ pad: 'x'.repeat(pad) }));
      if (token.length >= 8186 && token.length <= 8200 && !tokens.some((t) => t.length === token.length)) tokens.push(token);
    }
    assert.ok(tokens.length >= 8, `only ${tokens.length} boundary tokens`);
    tokens.push(rsa.mint(claims({ pad: 'y'.repeat(40000) })));
    const strings = [
      ...tokens,
      '',
      'x',
      'é'.repeat(4095),
      'é'.repeat(4096),
      `${'a'.repeat(8190)}€`,
      `${tokens[0]}\u00e9`,
      '\ufffd'.repeat(3000),
      'a.b.c',
      `${'a'.repeat(70000)}.b.c`,
    ];
    for (const s of strings) {
      for (let round = 0; round < 2; round++) {
        same(outcome(() => p.fastSync(s)), outcome(() => p.plainSync(s)), `a string of ${s.length} UTF-16 units, round ${round}`);
      }
    }
    for (const token of tokens) assert.equal(p.fastSync(token).sub, 'user-42');
  });

  test('the Promise forms agree: answered at once with the keys in hand (a refusal thrown), the pool only to wait', async () => {
    const rsa = keyFor('RS256');
    const options = {
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: JSON.stringify({ keys: [rsa.jwk] }),
      staticTokens: [{ token: 'static-k', clientId: 'bot', scopes: ['a'], audience: AUDIENCE }],
      requiredScopes: ['a'],
    };
    const p = paths(options);
    const good = rsa.mint(claims({ scope: 'a b' }));
    const cases = [good, rsa.mint(claims({ scope: 'b' })), rsa.mint(claims({ exp: 1 })), 'static-k', 'nope', 'a.b.c', good];
    // The native `verify` returns the claims object or throws the JwtGateError when the core
    // answers without waiting (index.js turns both into a settled Promise), and returns a
    // Promise only when the core must wait: here, with a static key set, never.
    for (const token of cases) {
      const fast = outcome(() => p.fastVerify(token));
      const plain = outcome(() => p.plainVerify(token));
      assert.ok(!(fast.value instanceof Promise) && !(plain.value instanceof Promise), `${token.slice(0, 12)}: sent to the pool`);
      same(fast, plain, token.slice(0, 12));
    }
  });

  test('an opaque token under introspection goes to the pool on both paths, with the same answer', async () => {
    // The fixtures' `introspection_down` verifier: its endpoint refuses connections.
    const p = paths(nativeOptions(fixtures.verifiers.introspection_down));
    const settle = (r) => Promise.resolve(r).then((value) => ({ value }), (error) => ({ error }));
    for (let round = 0; round < 2; round++) {
      const fast = p.fastVerify('an-opaque-access-token');
      const plain = p.plainVerify('an-opaque-access-token');
      // No answer is cached (failures never are): the call is made on the pool, never here.
      assert.ok(fast instanceof Promise && plain instanceof Promise, `round ${round}`);
      const [f, q] = await Promise.all([settle(fast), settle(plain)]);
      same(f, q, `round ${round}`);
      assert.equal(f.error.code, 'introspection_failed');
    }
  });

  test('a non-string token and a non-number instant fail alike', () => {
    const p = paths({ staticTokens: [{ token: 'k', clientId: 'bot' }] });
    for (const [fast, plain] of [
      [() => p.fastSync(42), () => p.plainSync(42)],
      [() => p.fastSync('k', NaN), () => p.plainSync('k', NaN)],
      [() => p.fastSync('k', -1), () => p.plainSync('k', -1)],
    ]) {
      const f = outcome(fast);
      const q = outcome(plain);
      assert.ok(f.error && q.error);
      assert.equal(f.error.code === undefined, q.error.code === undefined);
      if (f.error instanceof JwtGateError) same(f, q, String(fast));
    }
  });
});

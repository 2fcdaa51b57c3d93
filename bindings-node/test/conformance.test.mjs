// The cross-language conformance fixtures (tests/conformance/cases.json, written by
// tests/conformance/generate.mjs; requests.json, the request path with DPoP proofs and plain
// Bearer presentations, written by generate-requests.mjs), through the Node package, as
// core/tests/conformance.rs runs them. The Rust core
// (core/tests/conformance.rs) and the Python package run the same file: every language must
// report the same outcome for every case — the same identity facts for an accepted credential,
// the same error code and claim for a rejected one. One engine.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { ERROR_CODES, JwtGateError, Verifier, errorCodes } from '../index.mjs';

const fixtures = JSON.parse(readFileSync(new URL('../../tests/conformance/cases.json', import.meta.url), 'utf8'));
const requests = JSON.parse(readFileSync(new URL('../../tests/conformance/requests.json', import.meta.url), 'utf8'));
const STATUS = new Map(errorCodes().map((row) => [row.code, row.status]));

/**
 * The fixture options are the Node option names (the DESIGN option table) as JSON: the one
 * value JSON cannot hold as it is, an HMAC secret, is base64url text there (the Rust runner
 * decodes it the same way), in each provider's options too.
 */
function options(fixture) {
  const out = { ...fixture };
  if (typeof out.hmacSecret === 'string') out.hmacSecret = Buffer.from(out.hmacSecret, 'base64url');
  if (Array.isArray(out.providers)) out.providers = out.providers.map(options);
  return out;
}

const verifiers = new Map();
function verifier(name) {
  if (!verifiers.has(name)) verifiers.set(name, new Verifier(options(fixtures.verifiers[name])));
  return verifiers.get(name);
}

/** The identity facts every language reports for an accepted credential (null when absent). */
function identity(claims) {
  return {
    sub: claims.sub ?? null,
    clientId: claims.clientId ?? null,
    scopes: [...claims.scopes],
    audienceMatched: claims.audienceMatched ?? null,
    kind: claims.kind,
  };
}

function check(c, outcome, how) {
  const where = `${c.name} (${how})`;
  if (c.code === null || c.code === undefined) {
    assert.ok(!(outcome instanceof Error), `${where}: expected success, got ${outcome?.code}: ${outcome?.message}`);
    assert.deepEqual(identity(outcome), c.claims, where);
    return;
  }
  assert.ok(outcome instanceof JwtGateError, `${where}: expected ${c.code}, got ${outcome instanceof Error ? outcome : 'success'}`);
  assert.equal(outcome.code, c.code, `${where}: ${outcome.message}`);
  assert.equal(outcome.claim, c.claim, `${where}: ${outcome.message}`);
  assert.equal(outcome.status, STATUS.get(c.code), where);
  if (c.claims !== undefined) {
    // insufficient_scope: the otherwise valid credential.
    assert.deepEqual(identity(outcome.claims), c.claims, where);
  }
}

describe('conformance: tokens at the fixtures’ instant', () => {
  for (const c of fixtures.cases) {
    test(`${c.name} → ${c.code ?? 'accepted'}`, async () => {
      const v = verifier(c.verifier ?? 'default');
      let sync;
      try {
        sync = v.verifyAtSync(c.token, fixtures.now);
      } catch (e) {
        sync = e;
      }
      check(c, sync, 'verifyAtSync');
      const settled = await v.verifyAt(c.token, fixtures.now).catch((e) => e);
      check(c, settled, 'verifyAt');
    });
  }
});

describe('conformance: waiting for keys that cannot come', () => {
  for (const w of fixtures.waits) {
    test(`${w.name} → ${w.code}`, async () => {
      const e = await verifier(w.verifier)
        .waitReady(w.timeout)
        .then(() => undefined, (x) => x);
      assert.ok(e instanceof JwtGateError, `${w.name}: ${e}`);
      assert.equal(e.code, w.code, e.message);
    });
  }
});

describe('conformance: configurations', () => {
  for (const c of fixtures.configs) {
    test(`${c.name} → ${c.code}`, () => {
      assert.throws(
        () => new Verifier(options(c.options)),
        (e) => e instanceof JwtGateError && e.code === c.code,
      );
    });
  }
});

describe('conformance: requests (Authorization schemes, DPoP proofs) at the fixtures’ instant', () => {
  // The cases run in order, and some depend on it (a proof's first use, then its replay): each
  // entry point gets verifiers of its own.
  const byEntryPoint = { sync: new Map(), pool: new Map() };
  const requestVerifier = (entry, name) => {
    const made = byEntryPoint[entry];
    if (!made.has(name)) made.set(name, new Verifier(options(requests.verifiers[name])));
    return made.get(name);
  };
  const requestOf = (c) => ({ method: c.method, url: c.url, authorization: c.authorization, dpop: c.dpop });
  for (const c of requests.requests) {
    test(`${c.name} → ${c.code ?? 'accepted'}`, async () => {
      let sync;
      try {
        sync = requestVerifier('sync', c.verifier).verifyRequestAtSync(requestOf(c), requests.now);
      } catch (e) {
        sync = e;
      }
      check(c, sync, 'verifyRequestAtSync');
      const settled = await requestVerifier('pool', c.verifier)
        .verifyRequestAt(requestOf(c), requests.now)
        .catch((e) => e);
      check(c, settled, 'verifyRequestAt');
    });
  }
  // Plain Bearer presentations (the core's verify_at), after the requests, against the same
  // verifiers (core/tests/conformance.rs, `every_request_gives_the_expected_outcome`).
  for (const c of requests.bearer) {
    test(`bearer: ${c.name} → ${c.code ?? 'accepted'}`, async () => {
      let sync;
      try {
        sync = requestVerifier('sync', c.verifier).verifyAtSync(c.token, requests.now);
      } catch (e) {
        sync = e;
      }
      check(c, sync, 'verifyAtSync');
      const settled = await requestVerifier('pool', c.verifier)
        .verifyAt(c.token, requests.now)
        .catch((e) => e);
      check(c, settled, 'verifyAt');
    });
  }
  for (const c of requests.configs) {
    test(`${c.name} → ${c.code}`, () => {
      assert.throws(
        () => new Verifier(options(c.options)),
        (e) => e instanceof JwtGateError && e.code === c.code,
      );
    });
  }
});

// token_inactive is the provider's answer (RFC 7662 `active: false`): no fixture can give it
// without a live provider. test/introspection.test.mjs gets it from the real IdP, as the core's
// introspection_idp.rs does.
const NEEDS_A_LIVE_PROVIDER = new Set(['token_inactive']);

test('the fixtures cover every error code (but the live provider’s answer)', () => {
  const covered = new Set(
    [...fixtures.cases, ...fixtures.waits, ...fixtures.configs, ...requests.requests, ...requests.bearer, ...requests.configs].map(
      (c) => c.code,
    ),
  );
  for (const code of ERROR_CODES) {
    if (NEEDS_A_LIVE_PROVIDER.has(code)) continue;
    assert.ok(covered.has(code), `no fixture for ${code}`);
  }
});

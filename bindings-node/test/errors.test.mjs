// Error codes against the shared fixture set (test/fixtures/errors.json). The Rust core runs
// the same file in tests/error_fixtures.rs, so Node and Rust agree code for code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { ERROR_CODES, JwtGateError, Verifier } from '../index.mjs';

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/errors.json', import.meta.url), 'utf8'));
const verifiers = Object.fromEntries(
  Object.entries(fixtures.verifiers).map(([name, options]) => [name, new Verifier(options)]),
);

function outcome(fn) {
  try {
    fn();
    return { code: null };
  } catch (e) {
    assert.ok(e instanceof JwtGateError, `expected a JwtGateError, got ${e}`);
    return e;
  }
}

describe('shared fixtures: tokens', () => {
  for (const c of fixtures.cases) {
    test(`${c.name} → ${c.code ?? 'accepted'}`, async () => {
      const verifier = verifiers[c.verifier ?? 'default'];
      const sync = outcome(() => verifier.verifySync(c.token));
      assert.equal(sync.code, c.code, sync.message);
      if (c.claim !== undefined) assert.equal(sync.claim, c.claim);
      if (c.code !== null) {
        assert.ok(ERROR_CODES.includes(sync.code));
        assert.equal(sync.name, 'JwtGateError');
        assert.ok(sync.message.length > 0);
        // Messages never contain the token.
        if (c.token.length > 20) assert.ok(!sync.message.includes(c.token));
      }
      // verify() settles the same way.
      const settled = await verifier.verify(c.token).then(
        () => ({ code: null }),
        (e) => e,
      );
      assert.equal(settled.code, c.code);
      if (c.code !== null) assert.ok(settled instanceof JwtGateError);
    });
  }
});

describe('shared fixtures: configurations', () => {
  for (const c of fixtures.configs) {
    test(`${c.name} → ${c.code}`, () => {
      const e = outcome(() => new Verifier(c.options));
      assert.equal(e.code, c.code);
    });
  }
});

test('ERROR_CODES lists every code of DESIGN.md, in the core order', () => {
  assert.deepEqual(ERROR_CODES, [
    'token_malformed', 'token_too_large', 'alg_not_allowed', 'header_unsupported',
    'key_not_found', 'key_unusable', 'signature_invalid', 'token_expired',
    'token_not_yet_valid', 'claim_missing', 'claim_invalid', 'issuer_mismatch',
    'audience_mismatch', 'typ_mismatch', 'insufficient_scope', 'token_unknown',
    'jwks_unavailable', 'discovery_failed', 'config_invalid',
  ]);
  assert.ok(Object.isFrozen(ERROR_CODES));
});

test('every code the fixtures expect is in ERROR_CODES', () => {
  for (const c of [...fixtures.cases, ...fixtures.configs]) {
    if (c.code !== null) assert.ok(ERROR_CODES.includes(c.code), c.code);
  }
});

// A Rust panic must reach JavaScript as a thrown Error, never abort the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const native = require('../binding.js');
const { Verifier } = require('../index.js');

test('a Rust panic becomes a thrown Error and the addon keeps working', () => {
  assert.throws(() => native._debugPanic(), (err) => {
    assert.ok(err instanceof Error);
    assert.match(String(err.message), /deliberate/);
    return true;
  });
  const verifier = new Verifier({ staticTokens: [{ token: 'k-123', clientId: 'bot' }] });
  assert.equal(verifier.verifySync('k-123').clientId, 'bot');
});

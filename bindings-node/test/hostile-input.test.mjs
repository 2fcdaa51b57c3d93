// Hostile argument values: every option and every argument of verify / verifySync / verifyAt /
// verifyAtSync / waitReady / fromEnv must end in a typed error — a JwtGateError with one of ERROR_CODES, or a TypeError for
// a wrong type — never a Rust panic surfacing as a generic Error, never a crash, and never a
// lone surrogate silently turned into U+FFFD. For dpopNonceSecret, scopeClaims, clientIdClaims,
// idToken, providers (cyclic and deeply nested option objects included) and introspection (every
// member) every refusal is config_invalid.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';

import { ERROR_CODES, JwtGateError, Verifier } from '../index.mjs';
import { AUDIENCE, claims, ISSUER, keyFor } from './helpers/mint.mjs';

const ec = keyFor('ES256');
const jwks = { keys: [ec.jwk] };
const TOKEN = ec.mint(claims());

const SECONDS = ['clockTolerance', 'fetchTimeout', 'refreshCooldown', 'maxStale', 'dpopIatWindow'];
const SIZES = ['cacheSize', 'maxTokenBytes', 'dpopReplayCacheSize'];
const KEY_SOURCES = ['jwksUri', 'jwks', 'publicKey', 'hmacSecret'];
const OPTIONS = [
  'issuer',
  'audience',
  'jwksUri',
  'jwks',
  'publicKey',
  'hmacSecret',
  'algorithms',
  'requiredScopes',
  'clockTolerance',
  'typ',
  'requiredClaims',
  'staticTokens',
  'cacheSize',
  'insecureSkipAudienceCheck',
  'insecureAllowMissingExp',
  'allowInsecureHttp',
  'fetchTimeout',
  'refreshCooldown',
  'maxTokenBytes',
  'maxStale',
  'scopeImplies',
  'audienceMatch',
  'dpop',
  'dpopAlgorithms',
  'dpopIatWindow',
  'dpopNonce',
  'dpopReplayCacheSize',
  'dpopNonceSecret',
  'scopeClaims',
  'clientIdClaims',
  'idToken',
  'providers',
  'introspection',
];
// Options whose every refused value must be config_invalid (never a TypeError or another code).
const STRICT = new Set(['dpopNonceSecret', 'scopeClaims', 'clientIdClaims', 'idToken', 'providers', 'introspection']);

// The introspection option: a valid client, then each member hostile in turn.
const CLIENT = { clientId: 'resource-server', clientSecret: 's3cret', endpoint: 'https://idp.example.test/introspect' };
const INTROSPECTION = [
  { clientId: 'rs' },
  { clientSecret: 's' },
  { ...CLIENT, clientSecret: '' },
  { ...CLIENT, clientId: ' ' },
  { ...CLIENT, unknown: 1 },
  { ...CLIENT, client_id: 'rs' },
  { ...CLIENT, endpoint: 'ftp://idp.example.test/introspect' },
  { ...CLIENT, endpoint: 'http://idp.example.test/introspect' },
  { ...CLIENT, endpoint: 'not a url' },
  { ...CLIENT, endpoint: '' },
  { ...CLIENT, endpoint: 'https://user:pass@idp.example.test/introspect' },
  { ...CLIENT, clientAuth: 'jwt' },
  { ...CLIENT, clientAuth: 'BASIC' },
  { ...CLIENT, clientAuth: 'private_key_jwt' },
  { ...CLIENT, jwts: 'yes' },
  { ...CLIENT, jwts: 1 },
  { ...CLIENT, cacheTtl: 3601 },
  { ...CLIENT, cacheSize: 65_537 },
  { ...CLIENT, cacheSize: 1.5 },
  { ...CLIENT, maxConcurrent: 0 },
  { ...CLIENT, maxConcurrent: 1025 },
  { ...CLIENT, maxConcurrent: 2.5 },
  { ...CLIENT, cacheTtl: '60' },
  { ...CLIENT, endpoint: null },
  // Without an endpoint and with two issuers, there is no metadata to discover it from.
  { clientId: 'rs', clientSecret: 's' },
];
for (const member of ['clientId', 'clientSecret', 'endpoint', 'clientAuth', 'jwts', 'cacheTtl', 'cacheSize', 'maxConcurrent']) {
  for (const value of [1e20, 2 ** 64, -1, NaN, Infinity, -Infinity, '\ud800', 'a\udfffb', 10n, Symbol('m'), () => 1, [], {}, null, Buffer.from('x')]) {
    INTROSPECTION.push({ ...CLIENT, [member]: value });
  }
}

const cyclic = { issuer: ISSUER, audience: AUDIENCE, jwks };
cyclic.providers = [cyclic];
let deep = { issuer: ISSUER, audience: AUDIENCE, jwks };
for (let i = 0; i < 100_000; i++) deep = { providers: [deep] };
const PATHS = [[''], ['a..b'], ['.'], Array(17).fill('scope'), ['x'.repeat(300)], [42], [null], ['scope', '\ud800'], 'a.\udfff'];

// Numbers: finite but huge (past a Duration, a u64, the i64 seconds of a clock; 2 ** 40 is exact
// and reaches the core, whose limits refuse it before allocating a cache), negative,
// NaN, infinities, a fraction. Strings: lone surrogates (no UTF-8 form). Wrong types: BigInt,
// Symbol, functions, containers, Buffers, Dates, Proxies, null-prototype objects.
const HOSTILE = [
  1e20, 1.8e19, 9.3e18, 2 ** 64, 1e300, Number.MAX_VALUE, 2 ** 40, -1, -1e-9, NaN, Infinity, -Infinity, 1.5,
  '\ud800', 'a\udfffb', '10', '',
  [], {}, [[1]], ['\ud800'], { '\ud800': 'x' }, [null], [1e20], [{}],
  10n, 2n ** 70n, Symbol('s'), () => 1, true, new Date(0), Buffer.from([0xff, 0xfe]), null,
  Object.create(null), new Proxy({}, {}),
];
// Values that only make sense for one option.
const EXTRA = {
  staticTokens: [
    [{ token: '\ud800', clientId: 'c' }],
    [{ token: 't', clientId: 'a\udfff' }],
    [{ token: 't', clientId: 'c', scopes: ['\ud800'] }],
    [{ token: 10n, clientId: 'c' }],
    [{ token: 't', clientId: 'c', scopes: 'tools:call' }],
    [{ token: 't', clientId: 'c', audience: '\ud800' }],
    [{ token: 't', clientId: 'c', audience: 42 }],
    [{ token: 't', clientId: 'c', audience: ['x'] }],
    'tok',
  ],
  hmacSecret: [new Uint16Array(16), new ArrayBuffer(32), new DataView(new ArrayBuffer(32)), new Uint8Array(0), Buffer.alloc(31)],
  jwks: [{ keys: [{ ...ec.jwk, kid: '\ud800' }] }, { keys: [{ ...ec.jwk, x: 10n }] }, '{"keys":[{"kty":"\\ud800"}]}'],
  publicKey: [['\ud800'], [ec.pem, 42]],
  algorithms: [['ES256', '\ud800'], 'ES256'],
  dpopAlgorithms: [['ES256', '\ud800'], ['HS256'], ['none'], 'ES256'],
  dpopNonceSecret: [new Uint16Array(16), new ArrayBuffer(32), new DataView(new ArrayBuffer(32)), new Uint8Array(0), Buffer.alloc(31), 'x'.repeat(31)],
  scopeClaims: PATHS,
  clientIdClaims: PATHS,
  idToken: [' ', 'x'.repeat(100_000), ['client']],
  providers: [
    [{}],
    [[]],
    [{ issuer: ISSUER, audience: AUDIENCE, jwks, bogus: 1 }],
    [{ issuer: '\ud800', audience: AUDIENCE, jwks }],
    [{ issuer: ISSUER, audience: AUDIENCE, hmacSecret: 10n, algorithms: ['HS256'] }],
    [{ issuer: ISSUER, audience: AUDIENCE, jwks, providers: 'x' }],
    [{ issuer: ISSUER, audience: AUDIENCE, jwks, dpopNonceSecret: 'x'.repeat(32) }],
    [cyclic],
    deep.providers,
    Array(10_000).fill({ issuer: ISSUER, audience: AUDIENCE, jwks }),
    { length: 1, 0: { issuer: ISSUER, audience: AUDIENCE, jwks } },
    [{ issuer: ISSUER, audience: AUDIENCE, jwks, introspection: { ...CLIENT, cacheTtl: -1 } }],
  ],
  introspection: INTROSPECTION,
};

function hasLoneSurrogate(value) {
  // Iterative: some hostile values nest deeper than the stack.
  const pending = [value];
  const seen = new Set();
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return true;
    } else if (typeof item === 'object' && item !== null && !seen.has(item)) {
      seen.add(item);
      for (const [k, v] of Object.entries(item)) {
        if (!k.isWellFormed()) return true;
        pending.push(v);
      }
    }
  }
  return false;
}

function baseFor(option) {
  if (KEY_SOURCES.includes(option)) return { issuer: ISSUER, audience: AUDIENCE };
  if (option === 'providers') return {};
  if (option === 'idToken') return { issuer: ISSUER, jwks };
  if (option === 'issuer') return { audience: AUDIENCE, jwks };
  if (option === 'audience') return { issuer: ISSUER, jwks };
  // Two issuers: no single issuer to discover the introspection endpoint from.
  if (option === 'introspection') return { issuer: [ISSUER, `${ISSUER}/2`], audience: AUDIENCE, jwks };
  return { issuer: ISSUER, audience: AUDIENCE, jwks };
}

function show(value) {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol' || typeof value === 'function') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Whether `error` is typed: a JwtGateError with a known code and no panic, or a TypeError. */
function typed(error) {
  if (error === undefined) return true;
  if (error instanceof JwtGateError) return ERROR_CODES.includes(error.code) && !/panic/i.test(error.message);
  return error instanceof TypeError && !/panic/i.test(error.message);
}

function describeError(error) {
  return error === undefined ? 'no error' : `${error?.constructor?.name} ${error?.code ?? ''}: ${error?.message}`;
}

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

async function settled(fn) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Numbers a seconds option must refuse (all but the fraction) and every number a size must. */
function outOfRange(option, value) {
  if (typeof value !== 'number') return false;
  if (SECONDS.includes(option)) return value !== 1.5;
  return SIZES.includes(option);
}

describe('hostile input', () => {
  test('huge seconds values are config_invalid, never a panic', async () => {
    for (const option of SECONDS) {
      for (const value of [1e20, 2 ** 64, 1e300, Number.MAX_VALUE, 9.3e18]) {
        const e = thrown(() => new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks, [option]: value }));
        assert.ok(e instanceof JwtGateError, `${option}=${value}: ${describeError(e)}`);
        assert.equal(e.code, 'config_invalid', `${option}=${value}: ${e.message}`);
      }
    }
    const remote = new Verifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `http://127.0.0.1:${await closedPort()}/jwks`,
      fetchTimeout: 0.2,
    });
    // Past Duration::MAX (u64::MAX seconds). Smaller finite timeouts are valid; the core treats
    // one too large for the clock as "no deadline".
    for (const timeout of [1e20, 2 ** 64, 1e300, Number.MAX_VALUE, Infinity]) {
      const e = await settled(() => remote.waitReady(timeout));
      assert.ok(e instanceof JwtGateError, `waitReady(${timeout}): ${describeError(e)}`);
      assert.equal(e.code, 'config_invalid');
    }
  });

  for (const option of OPTIONS) {
    test(`hostile values for option ${option} end in a typed error`, () => {
      const failures = [];
      for (const value of [...HOSTILE, ...(EXTRA[option] ?? [])]) {
        const e = thrown(() => new Verifier({ ...baseFor(option), [option]: value }));
        if (!typed(e)) {
          failures.push(`${option}=${show(value)}: ${describeError(e)}`);
        } else if (STRICT.has(option) && e !== undefined && !(e instanceof JwtGateError && e.code === 'config_invalid')) {
          failures.push(`${option}=${show(value)}: expected config_invalid, got ${describeError(e)}`);
        } else if ((outOfRange(option, value) || hasLoneSurrogate(value)) && e?.code !== 'config_invalid') {
          // Out of range is a configuration error; a lone surrogate is refused, never mangled.
          failures.push(`${option}=${show(value)}: expected config_invalid, got ${describeError(e)}`);
        }
      }
      assert.deepEqual(failures, []);
    });
  }

  test('every bad introspection value is refused: config_invalid, never accepted', () => {
    const failures = [];
    for (const value of INTROSPECTION) {
      const e = thrown(() => new Verifier({ ...baseFor('introspection'), introspection: value }));
      if (!(e instanceof JwtGateError && e.code === 'config_invalid')) failures.push(`${show(value)}: ${describeError(e)}`);
    }
    assert.deepEqual(failures, []);
    // The same client, valid: accepted (with its endpoint, or one issuer to discover it from).
    assert.ok(new Verifier({ ...baseFor('introspection'), introspection: { ...CLIENT, clientAuth: 'post', cacheTtl: 0, cacheSize: 0, maxConcurrent: 1024, jwts: true } }));
    assert.ok(new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks, introspection: { clientId: 'rs', clientSecret: 's' } }));
  });

  test('hostile verify / verifySync / waitReady / fromEnv arguments end in a typed error', async () => {
    const local = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks, staticTokens: [{ token: 'k\ufffd', clientId: 'bot' }] });
    const remote = new Verifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: `http://127.0.0.1:${await closedPort()}/jwks`,
      fetchTimeout: 0.2,
      refreshCooldown: 0.1,
    });
    const failures = [];
    const tokens = ['\ud800', 'a\udfff.b.c', `${TOKEN}\ud800`, 'k\ud800', '\u0000', 42, null, undefined, {}, [], Symbol('t'), 10n, Buffer.from('x')];
    for (const v of [local, remote]) {
      for (const token of tokens) {
        for (const [name, e] of [
          ['verifySync', thrown(() => v.verifySync(token))],
          ['verify', await settled(() => v.verify(token))],
        ]) {
          if (!typed(e) || e === undefined) failures.push(`${name}(${show(token)}): ${describeError(e)}`);
          else if (typeof token === 'string' && !(e instanceof JwtGateError)) failures.push(`${name}(${show(token)}): ${describeError(e)}`);
          else if (typeof token === 'string' && !token.isWellFormed() && e.code !== 'token_malformed') {
            failures.push(`${name}(${show(token)}): expected token_malformed, got ${describeError(e)}`);
          }
        }
      }
    }
    // verifyAt / verifyAtSync: the instant, then the token.
    const instants = [1e20, 2 ** 64, Infinity, -1, -Infinity, NaN, -1e-9, Number.MAX_VALUE, '5', 10n, [], {}, null, undefined, true, Symbol('t')];
    for (const v of [local, remote]) {
      for (const at of instants) {
        for (const [name, e] of [
          ['verifyAtSync', thrown(() => v.verifyAtSync(TOKEN, at))],
          ['verifyAt', await settled(() => v.verifyAt(TOKEN, at))],
        ]) {
          if (e === undefined || !typed(e)) failures.push(`${name}(token, ${show(at)}): ${describeError(e)}`);
          else if (typeof at === 'number' && e.code !== 'config_invalid') failures.push(`${name}(token, ${show(at)}): ${describeError(e)}`);
          else if (typeof at !== 'number' && !(e instanceof TypeError)) failures.push(`${name}(token, ${show(at)}): ${describeError(e)}`);
        }
      }
      for (const token of tokens) {
        for (const [name, e] of [
          ['verifyAtSync', thrown(() => v.verifyAtSync(token, 1700000000))],
          ['verifyAt', await settled(() => v.verifyAt(token, 1700000000))],
        ]) {
          if (!typed(e) || e === undefined) failures.push(`${name}(${show(token)}): ${describeError(e)}`);
          else if (typeof token === 'string' && !token.isWellFormed() && e.code !== 'token_malformed') {
            failures.push(`${name}(${show(token)}): expected token_malformed, got ${describeError(e)}`);
          }
        }
      }
    }
    // A lone surrogate never becomes U+FFFD on its way to the core: no match with "k\ufffd".
    assert.equal(local.verifySync('k\ufffd').clientId, 'bot');
    for (const timeout of [1e20, 2 ** 64, Infinity, -1, -Infinity, NaN, '5', 10n, [], {}, null, true, Symbol('t')]) {
      for (const v of [local, remote]) {
        let e;
        try {
          e = await v.waitReady(timeout).then(
            () => undefined,
            (x) => x,
          );
        } catch (x) {
          failures.push(`waitReady(${show(timeout)}) threw instead of rejecting: ${describeError(x)}`);
          continue;
        }
        if (e === undefined || !typed(e)) failures.push(`waitReady(${show(timeout)}): ${describeError(e)}`);
      }
    }
    for (const prefix of ['\ud800', 'MCP_\udfff', '', 42, null, {}, 10n, Symbol('p')]) {
      const e = thrown(() => Verifier.fromEnv(prefix));
      if (e === undefined || !typed(e)) failures.push(`fromEnv(${show(prefix)}): ${describeError(e)}`);
      else if (typeof prefix === 'string' && e.code !== 'config_invalid') failures.push(`fromEnv(${show(prefix)}): ${describeError(e)}`);
    }
    assert.deepEqual(failures, []);
  });
});

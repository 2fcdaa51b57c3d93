// The Verifier API: options, results, caching, errors, remote keys, threads.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';

import * as esm from '../index.mjs';
import { CRYPTO_BACKEND, ERROR_CODES, JwtGateError, Verifier, errorCodes } from '../index.mjs';
import { AUDIENCE, claims, ISSUER, keyFor, now } from './helpers/mint.mjs';
import { startIdp } from './helpers/idp.mjs';
import { answeredAtOnce } from './helpers/settled.mjs';

const require = createRequire(import.meta.url);
const rsa = keyFor('RS256');
const ec = keyFor('ES256');
const ed = keyFor('EdDSA');
const jwks = { keys: [rsa.jwk, ec.jwk, ed.jwk] };
const base = { issuer: ISSUER, audience: AUDIENCE, jwks };

function rejection(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected a throw');
}

/** An HS256 token (RFC 7515 App. A.1 shape) signed with `secret`. */
function hs256(secret, payload) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('package', () => {
  test('ESM and CommonJS entries export the same objects', () => {
    const cjs = require('../index.js');
    assert.equal(cjs.Verifier, Verifier);
    assert.equal(cjs.JwtGateError, JwtGateError);
    assert.equal(cjs.ERROR_CODES, ERROR_CODES);
    assert.equal(cjs.errorCodes, errorCodes);
    assert.equal(esm.default, cjs);
    assert.equal(CRYPTO_BACKEND, 'aws-lc-rs');
  });

  test('JwtGateError is an Error with code, message, claim, status, hint and detail', () => {
    const e = new JwtGateError('token has expired', 'token_expired', 'exp', { skewSeconds: 5 });
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'JwtGateError');
    assert.equal(e.code, 'token_expired');
    assert.equal(e.claim, 'exp');
    assert.equal(e.status, 401);
    assert.equal(e.hint, errorCodes().find((row) => row.code === 'token_expired').hint);
    assert.deepEqual(e.detail, { skewSeconds: 5 });
    assert.ok(Object.isFrozen(e.detail));
    assert.match(String(e), /^JwtGateError: token has expired/);
    const bare = new JwtGateError('x', 'token_malformed');
    assert.ok(!('claim' in bare) && !('detail' in bare) && !('claims' in bare));
    assert.equal(new JwtGateError('x', 'insufficient_scope').status, 403);
  });

  test('ERROR_CODES lists every code of the core error table, in its order', () => {
    assert.deepEqual(ERROR_CODES, [
      'token_malformed', 'token_too_large', 'alg_not_allowed', 'header_unsupported',
      'key_not_found', 'key_unusable', 'signature_invalid', 'token_expired',
      'token_not_yet_valid', 'claim_missing', 'claim_invalid', 'issuer_mismatch',
      'audience_mismatch', 'typ_mismatch', 'insufficient_scope', 'token_unknown',
      'jwks_unavailable', 'discovery_failed', 'config_invalid', 'credential_missing',
      'dpop_proof_missing', 'dpop_proof_invalid', 'dpop_proof_replayed', 'dpop_key_mismatch',
      'dpop_nonce_required', 'token_inactive', 'introspection_failed', 'dpop_replay_cache_full',
    ]);
    assert.ok(Object.isFrozen(ERROR_CODES));
  });

  test('errorCodes(): the core’s table of codes, HTTP statuses, client descriptions and hints', () => {
    const table = errorCodes();
    assert.deepEqual(table.map((row) => row.code), ERROR_CODES);
    assert.ok(Object.isFrozen(table) && table.every(Object.isFrozen));
    const status = Object.fromEntries(table.map((row) => [row.code, row.status]));
    assert.equal(status.insufficient_scope, 403);
    assert.equal(status.jwks_unavailable, 503);
    assert.equal(status.discovery_failed, 503);
    assert.equal(status.config_invalid, 500);
    assert.equal(status.dpop_proof_invalid, 401);
    assert.equal(status.dpop_replay_cache_full, 503);
    assert.equal(status.token_inactive, 401);
    assert.equal(status.introspection_failed, 503);
    assert.equal(status.token_expired, 401);
    const expired = table.find((row) => row.code === 'token_expired');
    assert.equal(expired.clientDescription, 'The access token expired');
    for (const row of table) {
      assert.deepEqual(Object.keys(row), ['code', 'status', 'clientDescription', 'hint']);
      assert.ok(row.clientDescription.length > 0 && row.hint.length > 0, row.code);
    }
  });
});

describe('options', () => {
  test('jwks as an object or as JSON text; publicKey as PEM or KeyObject', () => {
    const token = rsa.mint(claims());
    for (const options of [
      base,
      { ...base, jwks: JSON.stringify(jwks) },
      { issuer: ISSUER, audience: AUDIENCE, publicKey: rsa.pem },
      { issuer: ISSUER, audience: AUDIENCE, publicKey: rsa.publicKey },
      { issuer: ISSUER, audience: AUDIENCE, publicKey: [ec.pem, rsa.publicKey] },
    ]) {
      assert.equal(new Verifier(options).verifySync(token).sub, 'user-42');
    }
  });

  test('several issuers and audiences', () => {
    const v = new Verifier({ ...base, issuer: ['https://a.test', ISSUER], audience: ['x', AUDIENCE] });
    assert.equal(v.verifySync(rsa.mint(claims())).iss, ISSUER);
  });

  test('unknown options, wrong types and bad values are config_invalid', () => {
    for (const options of [
      { ...base, audiences: AUDIENCE },
      { ...base, issuer: 42 },
      { ...base, algorithms: ['RS257'] },
      { ...base, clockTolerance: -1 },
      { ...base, cacheSize: 1.5 },
      { ...base, publicKey: rsa.privateKey },
      { ...base, staticTokens: [{ token: 't', clientId: 'c', scope: ['x'] }] },
      { ...base, staticTokens: [{ token: 't' }] },
      null,
      'https://idp',
    ]) {
      const e = rejection(() => new Verifier(options));
      assert.ok(e instanceof JwtGateError, String(e));
      assert.equal(e.code, 'config_invalid', e.message);
    }
    assert.match(rejection(() => new Verifier({ ...base, audiences: 'x' })).message, /unknown option "audiences"/);
    assert.match(rejection(() => new Verifier({ ...base, algorithms: ['RS257'] })).message, /RS257/);
  });

  test('requiredScopes, requiredClaims, typ, algorithms', () => {
    const v = new Verifier({ ...base, requiredScopes: ['admin'] });
    assert.equal(rejection(() => v.verifySync(rsa.mint(claims()))).code, 'insufficient_scope');
    const rc = new Verifier({ ...base, requiredClaims: ['tenant'] });
    const e = rejection(() => rc.verifySync(rsa.mint(claims())));
    assert.equal(e.code, 'claim_missing');
    assert.equal(e.claim, 'tenant');
    const typ = new Verifier({ ...base, typ: 'at+jwt' });
    assert.equal(rejection(() => typ.verifySync(rsa.mint(claims()))).code, 'typ_mismatch');
    assert.equal(typ.verifySync(rsa.mint(claims(), { typ: 'at+jwt' })).typ, 'at+jwt');
    const es = new Verifier({ ...base, algorithms: ['ES256'] });
    assert.deepEqual(es.algorithms, ['ES256']);
    assert.equal(rejection(() => es.verifySync(rsa.mint(claims()))).code, 'alg_not_allowed');
    assert.equal(es.verifySync(ec.mint(claims())).alg, 'ES256');
  });

  test('clockTolerance applies to exp', () => {
    const token = rsa.mint(claims({ exp: now() - 30 }));
    assert.equal(rejection(() => new Verifier(base).verifySync(token)).code, 'token_expired');
    assert.equal(new Verifier({ ...base, clockTolerance: 120 }).verifySync(token).sub, 'user-42');
  });

  test('insecureSkipAudienceCheck is explicit', () => {
    const token = rsa.mint(claims({ aud: 'https://elsewhere.test/' }));
    assert.equal(rejection(() => new Verifier(base).verifySync(token)).code, 'audience_mismatch');
    const v = new Verifier({ issuer: ISSUER, jwks, insecureSkipAudienceCheck: true });
    assert.equal(v.verifySync(token).sub, 'user-42');
  });

  test('hmacSecret: a Buffer, a Uint8Array or a string (its UTF-8 bytes), for the HS* algorithms named', () => {
    const secret = 'ünïcode-secret-of-32-bytes-or-more!';
    const bytes = Buffer.from(secret, 'utf8');
    const token = hs256(bytes, claims());
    for (const hmacSecret of [bytes, new Uint8Array(bytes), secret]) {
      const v = new Verifier({ issuer: ISSUER, audience: AUDIENCE, hmacSecret, algorithms: ['HS256'] });
      const c = v.verifySync(token);
      assert.equal(c.alg, 'HS256');
      assert.equal(c.sub, 'user-42');
    }
    const other = new Verifier({ issuer: ISSUER, audience: AUDIENCE, hmacSecret: Buffer.alloc(32, 1), algorithms: ['HS256'] });
    assert.equal(rejection(() => other.verifySync(token)).code, 'signature_invalid');
    // The core decides which algorithms a secret serves: none named is a configuration error.
    for (const options of [
      { issuer: ISSUER, audience: AUDIENCE, hmacSecret: bytes },
      { issuer: ISSUER, audience: AUDIENCE, hmacSecret: bytes, algorithms: ['HS256'], jwks },
      { issuer: ISSUER, audience: AUDIENCE, hmacSecret: 42, algorithms: ['HS256'] },
      { issuer: ISSUER, audience: AUDIENCE, hmacSecret: new Uint16Array(16), algorithms: ['HS256'] },
      { issuer: ISSUER, audience: AUDIENCE, hmacSecret: 'short', algorithms: ['HS256'] },
    ]) {
      const e = rejection(() => new Verifier(options));
      assert.ok(e instanceof JwtGateError, String(e));
      assert.equal(e.code, 'config_invalid', e.message);
    }
  });

  test('insecureAllowMissingExp accepts tokens without exp, only when asked', () => {
    const token = rsa.mint({ ...claims(), exp: undefined });
    const e = rejection(() => new Verifier(base).verifySync(token));
    assert.equal(e.code, 'claim_missing');
    assert.equal(e.claim, 'exp');
    const c = new Verifier({ ...base, insecureAllowMissingExp: true }).verifySync(token);
    assert.equal(c.exp, undefined);
    assert.equal(c.sub, 'user-42');
  });

  test('a static token with an audience reports it as aud and audienceMatched', () => {
    const v = new Verifier({
      staticTokens: [
        { token: 'with-aud', clientId: 'bot', audience: 'https://mcp.example.test/' },
        { token: 'without', clientId: 'other' },
      ],
    });
    const c = v.verifySync('with-aud');
    assert.deepEqual(c.aud, ['https://mcp.example.test/']);
    assert.equal(c.audienceMatched, 'https://mcp.example.test/');
    assert.equal(v.verifySync('without').audienceMatched, undefined);
    assert.equal(rejection(() => new Verifier({ staticTokens: [{ token: 't', clientId: 'c', audiences: ['x'] }] })).code, 'config_invalid');
  });

  test('maxTokenBytes', () => {
    const v = new Verifier({ ...base, maxTokenBytes: 100 });
    assert.equal(rejection(() => v.verifySync(rsa.mint(claims()))).code, 'token_too_large');
  });
});

describe('results', () => {
  test('the claims object: typed registered claims, scopes, client, payload', () => {
    const t = now();
    const c = new Verifier(base).verifySync(
      ed.mint(claims({ aud: [AUDIENCE, 'other'], exp: t + 60.75, nbf: t - 5, scope: 'a b', tenant: { id: 7 } })),
    );
    assert.equal(c.kind, 'jwt');
    assert.equal(c.alg, 'EdDSA');
    assert.equal(c.kid, 'eddsa-1');
    assert.equal(c.typ, 'JWT');
    assert.equal(c.iss, ISSUER);
    assert.equal(c.sub, 'user-42');
    assert.deepEqual(c.aud, [AUDIENCE, 'other']);
    assert.equal(c.exp, t + 60); // whole seconds; the raw value is in payload
    assert.equal(c.payload.exp, t + 60.75);
    assert.equal(c.nbf, t - 5);
    assert.equal(c.iat, t);
    assert.equal(c.jti, 'id-1');
    assert.equal(c.clientId, 'app-1');
    assert.deepEqual(c.scopes, ['a', 'b']);
    assert.deepEqual(c.payload.tenant, { id: 7 });
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.payload.tenant) && Object.isFrozen(c.scopes));
  });

  test('audienceMatched, principal and tokenId come from the core', () => {
    const v = new Verifier({ ...base, audience: ['https://first.test/', AUDIENCE] });
    const token = rsa.mint(claims({ aud: ['https://unrelated.test/', AUDIENCE] }));
    const c = v.verifySync(token);
    assert.equal(c.audienceMatched, AUDIENCE);
    assert.deepEqual(c.principal, [ISSUER, 'user-42']);
    assert.ok(Object.isFrozen(c.principal));
    assert.match(c.tokenId, /^\d+$/);
    assert.equal(BigInt(c.tokenId) < 2n ** 64n, true);
    // The same credential has the same id, from any verifier of this process; another differs.
    assert.equal(new Verifier({ ...base, cacheSize: 0 }).verifySync(token).tokenId, c.tokenId);
    assert.notEqual(v.verifySync(rsa.mint(claims({ jti: 'other' }))).tokenId, c.tokenId);
    // JSON-serialisable (a tokenId as a string, not a BigInt).
    assert.equal(JSON.parse(JSON.stringify(c)).tokenId, c.tokenId);
    const skip = new Verifier({ issuer: ISSUER, jwks, insecureSkipAudienceCheck: true });
    assert.equal(skip.verifySync(token).audienceMatched, undefined);
    const s = new Verifier({ staticTokens: [{ token: 'k', clientId: 'bot' }] }).verifySync('k');
    assert.deepEqual(s.principal, [undefined, 'bot']);
  });

  test('verifyAt / verifyAtSync verify at a given instant (seconds since the epoch)', async () => {
    const t = now();
    const old = rsa.mint(claims({ iat: t - 7200, exp: t - 3600 }));
    const v = new Verifier(base);
    assert.equal(rejection(() => v.verifySync(old)).code, 'token_expired');
    assert.equal(v.verifyAtSync(old, t - 5000).sub, 'user-42');
    assert.equal((await v.verifyAt(old, t - 5000.5)).sub, 'user-42');
    const early = rejection(() => v.verifyAtSync(old, t - 10000));
    assert.equal(early.code, 'token_not_yet_valid');
    assert.equal((await v.verifyAt(old, t).catch((e) => e)).code, 'token_expired');
    assert.throws(() => v.verifyAtSync(old, '1700000000'), TypeError);
    await assert.rejects(v.verifyAt(old), TypeError);
    for (const bad of [-1, NaN, Infinity, -Infinity, 1e20]) {
      assert.equal(rejection(() => v.verifyAtSync(old, bad)).code, 'config_invalid', String(bad));
      assert.equal((await v.verifyAt(old, bad).catch((e) => e)).code, 'config_invalid', String(bad));
    }
  });

  test('clientId falls back to azp, then sub; scp is read too', () => {
    const v = new Verifier(base);
    const noClient = { ...claims(), client_id: undefined };
    assert.equal(v.verifySync(rsa.mint({ ...noClient, azp: 'spa' })).clientId, 'spa');
    assert.equal(v.verifySync(rsa.mint(noClient)).clientId, 'user-42');
    assert.deepEqual(v.verifySync(rsa.mint({ ...claims(), scope: undefined, scp: ['x', 'y'] })).scopes, ['x', 'y']);
  });

  test('a cached verification returns the same frozen object', async () => {
    const v = new Verifier(base);
    const token = rsa.mint(claims());
    // The core's cache may hand this thread its own copy of the first result (one reference
    // count per core), so the object is settled from the second verification on.
    const first = v.verifySync(token);
    const second = v.verifySync(token);
    assert.deepEqual(second, first);
    assert.equal(v.verifySync(token), second);
    assert.equal(await v.verify(token), second);
    assert.throws(() => {
      'use strict';
      first.sub = 'mallory';
    }, TypeError);
    // Without the core cache, every verification builds its own object.
    const uncached = new Verifier({ ...base, cacheSize: 0 });
    assert.notEqual(uncached.verifySync(token), uncached.verifySync(token));
    assert.deepEqual(uncached.verifySync(token), first);
  });

  test('an expired cached token is rejected, not served from the binding', async () => {
    const v = new Verifier(base);
    // A few seconds of life, so the first check lands inside it even on a loaded machine; then
    // wait for the token's own exp to pass.
    const exp = now() + 4;
    const token = rsa.mint(claims({ exp }));
    assert.equal(v.verifySync(token).sub, 'user-42');
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 1100));
    assert.equal(rejection(() => v.verifySync(token)).code, 'token_expired');
    assert.equal((await v.verify(token).catch((e) => e)).code, 'token_expired');
  });

  test('many tokens through a small cache stay correct', () => {
    const v = new Verifier({ ...base, cacheSize: 4 });
    const tokens = Array.from({ length: 40 }, (_, i) => [i, rsa.mint(claims({ sub: `user-${i}` }))]);
    for (let round = 0; round < 3; round++) {
      for (const [i, token] of tokens) assert.equal(v.verifySync(token).sub, `user-${i}`);
    }
  });

  test('verify() returns a Promise, resolves like verifySync and rejects with JwtGateError', async () => {
    const v = new Verifier(base);
    const token = ec.mint(claims());
    const p = v.verify(token);
    assert.ok(p instanceof Promise);
    assert.equal((await p).alg, 'ES256');
    const e = await v.verify(token.slice(0, -4) + 'AAAA').catch((x) => x);
    assert.ok(e instanceof JwtGateError);
    assert.equal(e.code, 'signature_invalid');
  });

  test('verify() settles on the calling thread when the keys are in hand; its rejections are verifySync\'s errors', async () => {
    const token = rsa.mint(claims());
    const cached = new Verifier(base);
    assert.equal(await answeredAtOnce(cached.verify(token)), true, 'a new token: its signature checked here');
    assert.equal(await answeredAtOnce(cached.verify(token)), true, 'the cached token');
    const uncached = new Verifier({ ...base, cacheSize: 0, staticTokens: [{ token: 'k', clientId: 'bot' }] });
    for (let round = 0; round < 2; round++) {
      assert.equal(await answeredAtOnce(uncached.verify(token)), true, `no cache, round ${round}`);
    }
    assert.equal(await answeredAtOnce(uncached.verify('k')), true, 'a static token');
    // A refusal is a rejected Promise (never a throw), with the error verifySync throws.
    const refused = [token.slice(0, -4) + 'AAAA', rsa.mint(claims({ exp: now() - 600 })), 'nope', 'a.b.c', 'x'.repeat(20_000)];
    for (const bad of refused) {
      let promise;
      assert.doesNotThrow(() => (promise = uncached.verify(bad)));
      assert.ok(promise instanceof Promise);
      assert.equal(await answeredAtOnce(promise.catch(() => undefined)), true, bad.slice(0, 12));
      const e = await promise.catch((x) => x);
      const sync = rejection(() => uncached.verifySync(bad));
      assert.ok(e instanceof JwtGateError, String(e));
      assert.deepEqual(
        { code: e.code, message: e.message, claim: e.claim, detail: e.detail, status: e.status },
        { code: sync.code, message: sync.message, claim: sync.claim, detail: sync.detail, status: sync.status },
      );
    }
  });

  test('a non-string token is a TypeError', async () => {
    const v = new Verifier(base);
    assert.throws(() => v.verifySync(undefined), TypeError);
    assert.throws(() => v.verifySync(Buffer.from('x')), TypeError);
    await assert.rejects(v.verify(42), TypeError);
  });

  test('non-ASCII input is rejected, never mangled into a match', () => {
    const v = new Verifier({ ...base, staticTokens: [{ token: 'Abc', clientId: 'bot' }] });
    assert.equal(v.verifySync('Abc').clientId, 'bot');
    // U+0141 would become "A" in a Latin-1 conversion; it must not match.
    assert.equal(rejection(() => v.verifySync('\u0141bc')).code, 'token_unknown');
    assert.equal(rejection(() => v.verifySync('\ud800.x.y')).code, 'token_malformed');
    const token = rsa.mint(claims());
    assert.equal(rejection(() => v.verifySync(`${token}\u00e9`)).code, 'token_malformed');
  });

  test('long strings are read whole', () => {
    const v = new Verifier(base);
    const big = rsa.mint(claims({ pad: 'x'.repeat(20000) }));
    assert.equal(rejection(() => v.verifySync(big)).code, 'token_too_large');
    const roomy = new Verifier({ ...base, maxTokenBytes: 64 * 1024 });
    assert.equal(roomy.verifySync(big).payload.pad.length, 20000);
  });
});

describe('errors as data', () => {
  test('detail: expected and found, skew, kid; status and hint from the core table', () => {
    const v = new Verifier(base);
    const aud = rejection(() => v.verifySync(rsa.mint(claims({ aud: 'https://elsewhere.test/' }))));
    assert.equal(aud.code, 'audience_mismatch');
    assert.deepEqual(aud.detail, { expected: [AUDIENCE], found: ['https://elsewhere.test/'] });
    assert.equal(aud.status, 401);
    assert.equal(aud.hint, errorCodes().find((row) => row.code === 'audience_mismatch').hint);
    const expired = rejection(() => v.verifySync(rsa.mint(claims({ exp: now() - 100 }))));
    assert.ok(expired.detail.skewSeconds >= 100 && expired.detail.skewSeconds < 110, JSON.stringify(expired.detail));
    assert.deepEqual(Object.keys(expired.detail), ['skewSeconds']);
    const kid = rejection(() => v.verifySync(rsa.mint(claims(), { kid: 'nobody' })));
    assert.equal(kid.code, 'key_not_found');
    assert.deepEqual(kid.detail, { kid: 'nobody' });
    const unknown = rejection(() => new Verifier({ staticTokens: [{ token: 'k', clientId: 'c' }] }).verifySync('x'));
    assert.equal(unknown.detail, undefined);
  });

  test('insufficient_scope: 403, the missing scopes, and the otherwise valid credential as claims', async () => {
    const v = new Verifier({ ...base, requiredScopes: ['admin', 'read'] });
    for (const e of [rejection(() => v.verifySync(rsa.mint(claims()))), await v.verify(rsa.mint(claims({ jti: 'x' }))).catch((x) => x)]) {
      assert.equal(e.code, 'insufficient_scope');
      assert.equal(e.status, 403);
      assert.deepEqual(e.detail, { missingScopes: ['admin'] });
      assert.equal(e.claims.clientId, 'app-1');
      assert.deepEqual(e.claims.scopes, ['tools:call', 'read']);
      assert.ok(Object.isFrozen(e.claims));
    }
  });
});

describe('stats', () => {
  test('outcomes, rejections by code, cache use: the core’s counters', async () => {
    const v = new Verifier({ ...base, staticTokens: [{ token: 'k', clientId: 'bot' }] });
    const token = rsa.mint(claims());
    v.verifySync(token);
    v.verifySync(token);
    await v.verify(token);
    v.verifySync('k');
    rejection(() => v.verifySync('nope'));
    rejection(() => v.verifySync('a.b.c'));
    rejection(() => v.verifySync(rsa.mint(claims({ exp: 1 }))));
    const s = v.stats();
    assert.deepEqual(
      [s.accepted, s.verified, s.cacheHits, s.staticTokens, s.rejected],
      [4, 1, 2, 1, 3],
      JSON.stringify(s),
    );
    assert.deepEqual(s.rejectedByCode, { token_malformed: 1, token_expired: 1, token_unknown: 1 });
    assert.equal(s.cacheCapacity, 1024);
    assert.equal(s.cacheEntries, 1);
    assert.equal(s.cacheInserts, 1);
    assert.equal(s.keyGeneration, 1);
    assert.equal(s.keysStale, false);
    assert.equal(s.keyAgeSeconds, undefined);
    for (const name of ['cacheMisses', 'cacheEvictions', 'discoveryFetches', 'discoveryFailures', 'jwksFetches', 'jwksFailures', 'kidRefreshes']) {
      assert.equal(typeof s[name], 'number', name);
    }
    assert.equal(new Verifier({ ...base, cacheSize: 0 }).stats().cacheCapacity, 0);
  });
});

describe('static tokens', () => {
  test('identity and scopes; next to JWTs; whitespace-only secrets ignored', () => {
    const v = new Verifier({
      ...base,
      staticTokens: [
        { token: 'sekret-1', clientId: 'ci-bot', scopes: ['deploy'] },
        { token: '   ', clientId: 'blank' },
      ],
    });
    const c = v.verifySync('sekret-1');
    assert.equal(c.kind, 'static_token');
    assert.equal(c.clientId, 'ci-bot');
    assert.equal(c.sub, 'ci-bot');
    assert.deepEqual(c.scopes, ['deploy']);
    assert.deepEqual(c.payload, {});
    assert.equal(c.exp, undefined);
    assert.equal(rejection(() => v.verifySync('   ')).code, 'token_unknown');
    assert.equal(v.verifySync(rsa.mint(claims())).kind, 'jwt');
  });

  test('a static-token-only verifier', async () => {
    const v = new Verifier({ staticTokens: [{ token: 'k', clientId: 'bot' }] });
    assert.equal((await v.verify('k')).clientId, 'bot');
    assert.equal((await v.verify('nope').catch((e) => e)).code, 'token_unknown');
    assert.deepEqual(v.keysStatus().kids, []);
  });
});

describe('fromEnv', () => {
  test('reads {prefix}… variables; half-configured is config_invalid naming the variable', () => {
    process.env.JGT_BEARER_TOKEN = 'env-secret';
    try {
      assert.equal(Verifier.fromEnv('JGT_').verifySync('env-secret').clientId, 'bearer-token');
      process.env.JGT_OIDC_AUDIENCE = AUDIENCE;
      const e = rejection(() => Verifier.fromEnv('JGT_'));
      assert.equal(e.code, 'config_invalid');
      assert.match(e.message, /JGT_OAUTH_ISSUER/);
    } finally {
      delete process.env.JGT_BEARER_TOKEN;
      delete process.env.JGT_OIDC_AUDIENCE;
    }
  });

  test('fromEnv() without a prefix ignores a generic API_KEY / BEARER_TOKEN (default prefix MCP_)', () => {
    // An unrelated API_KEY or BEARER_TOKEN (a CI secret, another tool's key) must never become
    // an accepted credential.
    const saved = { ...process.env };
    try {
      for (const name of Object.keys(process.env)) if (name.startsWith('MCP_')) delete process.env[name];
      process.env.API_KEY = 'x';
      process.env.BEARER_TOKEN = 'y';
      process.env.MCP_API_KEY = 'mcp-key';
      const v = Verifier.fromEnv();
      assert.equal(v.verifySync('mcp-key').clientId, 'api-key');
      for (const generic of ['x', 'y']) assert.equal(rejection(() => v.verifySync(generic)).code, 'token_unknown');
      delete process.env.MCP_API_KEY;
      // Nothing under MCP_: no verifier at all, API_KEY unused.
      assert.equal(rejection(() => Verifier.fromEnv()).code, 'config_invalid');
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  test('fromEnv("") is config_invalid: an empty prefix would read the generic names', () => {
    process.env.API_KEY = 'x';
    try {
      const e = rejection(() => Verifier.fromEnv(''));
      assert.ok(e instanceof JwtGateError);
      assert.equal(e.code, 'config_invalid');
      assert.match(e.message, /prefix/);
    } finally {
      delete process.env.API_KEY;
    }
  });

  test('issuer discovery from the environment, against the real IdP', async () => {
    const idp = await startIdp();
    process.env.JGT2_OAUTH_ISSUER = idp.issuer;
    process.env.JGT2_OIDC_AUDIENCE = idp.resource;
    process.env.JGT2_OIDC_REQUIRED_SCOPES = 'tools:call';
    try {
      const v = Verifier.fromEnv('JGT2_');
      await v.waitReady(10);
      const c = await v.verify(await idp.token({ alg: 'PS256', scope: 'tools:call' }));
      assert.equal(c.alg, 'PS256');
      assert.ok(c.scopes.includes('tools:call'));
    } finally {
      delete process.env.JGT2_OAUTH_ISSUER;
      delete process.env.JGT2_OIDC_AUDIENCE;
      delete process.env.JGT2_OIDC_REQUIRED_SCOPES;
      idp.stop();
    }
  });
});

describe('fromEnv: seed-style variables', () => {
  test('OIDC_AUDIENCE_CHECK=off: no audience check, only when said so (real IdP)', async () => {
    const idp = await startIdp();
    const saved = { ...process.env };
    try {
      process.env.JGS_OAUTH_ISSUER = idp.issuer;
      // An issuer without an audience is half configured: the error names the way out.
      const e = rejection(() => Verifier.fromEnv('JGS_'));
      assert.equal(e.code, 'config_invalid');
      assert.match(e.message, /JGS_OIDC_AUDIENCE_CHECK=off/);
      process.env.JGS_OIDC_AUDIENCE_CHECK = 'maybe';
      assert.match(rejection(() => Verifier.fromEnv('JGS_')).message, /JGS_OIDC_AUDIENCE_CHECK/);
      process.env.JGS_OIDC_AUDIENCE_CHECK = 'off';
      const v = Verifier.fromEnv('JGS_');
      await v.waitReady(10);
      // Tokens for any resource of this issuer are accepted, and none is reported as matched.
      for (const resource of [idp.resource, 'http://127.0.0.1:1/other']) {
        const c = await v.verify(await idp.token({ scope: 'tools:call', resource }));
        assert.equal(c.aud[0], resource);
        assert.equal(c.audienceMatched, undefined);
      }
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
      idp.stop();
    }
  });
});

describe('remote keys', () => {
  test('discovery from the issuer; keysStatus; verify before the keys arrive waits for them', async () => {
    const idp = await startIdp();
    try {
      const v = new Verifier({ issuer: idp.issuer, audience: idp.resource });
      // No waitReady: the first verify() waits (off the main thread) for the first fetch.
      const c = await v.verify(await idp.token({ alg: 'ES256' }));
      assert.equal(c.iss, idp.issuer);
      const status = v.keysStatus();
      assert.equal(status.ready, true);
      assert.equal(status.source, `${idp.issuer}/jwks`);
      assert.deepEqual([...status.kids].sort(), Object.values(idp.kids).sort());
      assert.equal(status.keyCount, 4);
      assert.equal(status.maxAgeSeconds > 0, true);
      // verifySync on a fresh verifier waits for its keys too (bounded by the fetch timeout).
      const sync = new Verifier({ issuer: idp.issuer, audience: idp.resource });
      assert.equal(sync.verifySync(await idp.token({ alg: 'EdDSA' })).alg, 'EdDSA');
    } finally {
      idp.stop();
    }
  });

  test('waitReady rejects with the discovery error', async () => {
    const closed = createServer();
    await new Promise((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address();
    await new Promise((r) => closed.close(r));
    const v = new Verifier({ issuer: `http://127.0.0.1:${port}`, audience: AUDIENCE, fetchTimeout: 1 });
    const e = await v.waitReady(2).catch((x) => x);
    assert.ok(e instanceof JwtGateError);
    assert.ok(['discovery_failed', 'jwks_unavailable'].includes(e.code), e.code);
    assert.match(e.message, /127\.0\.0\.1/);
    assert.ok(v.keysStatus().lastError);
    const early = await v.verify(rsa.mint(claims())).catch((x) => x);
    assert.ok(['discovery_failed', 'jwks_unavailable'].includes(early.code), early.code);
  });

  test('maxStale bounds how long the last good keys outlive failing fetches; keysStatus().stale', async () => {
    let failing = false;
    const server = createServer((req, res) => {
      if (failing) {
        res.writeHead(500).end('down');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
      }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const v = new Verifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: `http://127.0.0.1:${server.address().port}/jwks`,
        maxStale: 2,
        refreshCooldown: 0.1, // the least the core allows
        fetchTimeout: 1,
      });
      await v.waitReady(5);
      assert.equal((await v.verify(rsa.mint(claims()))).sub, 'user-42');
      let status = v.keysStatus();
      assert.deepEqual([status.ready, status.stale, status.maxStaleSeconds], [true, false, 2]);
      failing = true;
      // Past the cooldown, an unknown kid makes the verifier refetch at once: the fetch fails.
      await new Promise((r) => setTimeout(r, 250));
      const unknown = keyFor('ES256', 'unknown-kid');
      await v.verify(unknown.mint(claims())).catch(() => undefined);
      status = v.keysStatus();
      assert.ok(status.ready && status.stale && status.lastError, JSON.stringify(status));
      assert.equal(v.verifySync(rsa.mint(claims({ jti: 'again' }))).sub, 'user-42'); // stale-if-error
      const deadline = Date.now() + 10_000;
      while (v.keysStatus().ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const e = await v.verify(rsa.mint(claims({ jti: 'late' }))).catch((x) => x);
      assert.ok(e instanceof JwtGateError);
      assert.equal(e.code, 'jwks_unavailable');
      assert.match(e.message, /max_stale/);
      assert.equal(v.keysStatus().ready, false);
    } finally {
      server.close();
    }
  });

  test('maxStale is checked like every duration', () => {
    for (const maxStale of [-1, NaN, Infinity, 1e20, 31 * 24 * 3600, '1h', 10n]) {
      const e = rejection(() => new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'https://idp.example.test/jwks', maxStale }));
      assert.ok(e instanceof JwtGateError, String(e));
      assert.equal(e.code, 'config_invalid');
    }
  });

  test('verify() goes to the pool only when the core must wait for keys: the first fetch, a rotated key', async () => {
    // The JWKS is served from this event loop: no fetch can finish before verify() returns.
    let served = { keys: [rsa.jwk] };
    let fetches = 0;
    const server = createServer((req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    try {
      const v = new Verifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUri: `http://127.0.0.1:${server.address().port}/jwks`,
        refreshCooldown: 0.1, // the least the core allows
      });
      // Keys not arrived yet: the Promise waits for the fetch (on the pool), then resolves.
      const first = v.verify(rsa.mint(claims()));
      assert.equal(await answeredAtOnce(first), false, 'before the keys arrive');
      assert.equal((await first).sub, 'user-42');
      assert.equal(fetches, 1);
      // Keys in hand: answered here, no fetch.
      assert.equal(await answeredAtOnce(v.verify(rsa.mint(claims({ jti: 'second' })))), true, 'keys in hand');
      const expired = v.verify(rsa.mint(claims({ exp: now() - 600 })));
      assert.equal(await answeredAtOnce(expired.catch(() => undefined)), true, 'a refusal with keys in hand');
      assert.equal((await expired.catch((x) => x)).code, 'token_expired');
      // The provider rotates to a new key: its first token needs a fetch (past the cooldown).
      const rotated = keyFor('ES256', 'rotated-kid');
      served = { keys: [rsa.jwk, rotated.jwk] };
      await new Promise((r) => setTimeout(r, 250));
      const afterRotation = v.verify(rotated.mint(claims()));
      assert.equal(await answeredAtOnce(afterRotation), false, 'an unknown kid: a fetch');
      const c = await afterRotation;
      assert.equal(c.kid, 'rotated-kid');
      assert.equal(fetches, 2);
      assert.equal(await answeredAtOnce(v.verify(rotated.mint(claims({ jti: 'again' })))), true, 'the rotated key in hand');
    } finally {
      server.close();
    }
  });

  test('verify() keeps the event loop free while a key fetch is slow', async () => {
    let served = 0;
    const slow = createServer((req, res) => {
      served += 1;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(jwks));
      }, 400);
    });
    await new Promise((r) => slow.listen(0, '127.0.0.1', r));
    try {
      const v = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: `http://127.0.0.1:${slow.address().port}/jwks` });
      let ticks = 0;
      const timer = setInterval(() => {
        ticks += 1;
      }, 10);
      const started = Date.now();
      const c = await v.verify(rsa.mint(claims()));
      clearInterval(timer);
      assert.equal(c.sub, 'user-42');
      assert.ok(Date.now() - started >= 350);
      // The slow server answers on this very event loop, and the timer kept ticking.
      assert.ok(ticks >= 15, `only ${ticks} ticks while waiting`);
      assert.equal(served, 1);
    } finally {
      slow.close();
    }
  });
});

describe('threads', () => {
  test('the package works in worker threads, each with its own classes', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { Verifier, JwtGateError } = require(workerData.entry);
      const v = new Verifier(workerData.options);
      v.verifySync(workerData.token);
      const ok = v.verifySync(workerData.token);
      let code;
      try { v.verifySync('x.y.z'); } catch (e) { code = e instanceof JwtGateError && e.code; }
      v.verify(workerData.token).then((c) => parentPort.postMessage({ sub: ok.sub, same: c === ok, code }));
    `;
    const token = rsa.mint(claims());
    const results = await Promise.all(
      [1, 2].map(
        () =>
          new Promise((resolve, reject) => {
            const w = new Worker(code, {
              eval: true,
              workerData: { entry: require.resolve('../index.js'), options: { ...base, jwks: JSON.stringify(jwks) }, token },
            });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    for (const r of results) assert.deepEqual(r, { sub: 'user-42', same: true, code: 'token_malformed' });
    // And the main thread still works after the workers exited.
    assert.equal(new Verifier(base).verifySync(token).sub, 'user-42');
  });

  test('concurrent verify() calls from one thread', async () => {
    const v = new Verifier({ ...base, cacheSize: 0 });
    const tokens = Array.from({ length: 64 }, (_, i) => [rsa, ec, ed][i % 3].mint(claims({ sub: `u${i}` })));
    const subs = (await Promise.all(tokens.map((t) => v.verify(t)))).map((c) => c.sub);
    assert.deepEqual(subs, tokens.map((_, i) => `u${i}`));
  });
});

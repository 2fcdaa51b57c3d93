// Identity-provider features through the binding: claim dialects (scopeClaims, clientIdClaims)
// with tokens shaped like each provider's, id_token mode, several providers in one verifier
// (providers, providerKeysStatus), shared DPoP nonce secrets (dpopNonceSecret), ES512 and the
// Ed25519 name, stats.refusedAfterVerification. Local keys for the option conversions; the
// repository's real IdP (tests/idp, oidc-provider) for id_tokens from a real authorization-code
// flow and for two providers rotating their keys independently.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { CRYPTO_BACKEND, JwtGateError, Verifier } from '../index.mjs';
import { dpopKey } from './helpers/dpop.mjs';
import { startIdp } from './helpers/idp.mjs';
import { AUDIENCE, claims, ISSUER, keyFor, now } from './helpers/mint.mjs';

const ec = keyFor('ES256');
const base = { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [ec.jwk] } };

function outcome(fn) {
  try {
    return fn();
  } catch (e) {
    return e;
  }
}

/** The identity facts of a result. */
const who = (c) => ({ kind: c.kind, clientId: c.clientId, scopes: [...c.scopes] });

describe('claim dialects (scopeClaims, clientIdClaims), tokens shaped like each provider’s', () => {
  const cases = [
    {
      name: 'Keycloak: realm and client roles, azp',
      options: { scopeClaims: ['realm_access.roles', 'resource_access.mcp-server.roles'], clientIdClaims: ['azp'] },
      token: { realm_access: { roles: ['tools:call'] }, resource_access: { 'mcp-server': { roles: ['admin'] } }, azp: 'kc-client', client_id: undefined },
      expect: { clientId: 'kc-client', scopes: ['tools:call', 'admin'] },
    },
    {
      name: 'Auth0: permissions (one path, as a string)',
      options: { scopeClaims: 'permissions' },
      token: { permissions: ['tools:call', 'read:files'], scope: 'openid profile' },
      expect: { clientId: 'app-1', scopes: ['tools:call', 'read:files'] },
    },
    {
      name: 'Entra: app roles and scp, appid',
      options: { scopeClaims: ['roles', 'scp'], clientIdClaims: ['appid', 'azp'] },
      token: { roles: ['Tools.Call'], scp: 'tools:call', appid: '00000000-aaaa', client_id: undefined, scope: undefined },
      expect: { clientId: '00000000-aaaa', scopes: ['Tools.Call', 'tools:call'] },
    },
    {
      name: 'Okta: scp as an array, cid',
      options: { scopeClaims: ['scp'], clientIdClaims: ['cid'] },
      token: { scp: ['tools:call', 'read'], cid: '0oa-okta', client_id: undefined, scope: undefined },
      expect: { clientId: '0oa-okta', scopes: ['tools:call', 'read'] },
    },
    {
      name: 'Cognito: groups and scope, client_id',
      options: { scopeClaims: ['cognito:groups', 'scope'] },
      token: { 'cognito:groups': ['admins'], scope: 'tools:call' },
      expect: { clientId: 'app-1', scopes: ['admins', 'tools:call'] },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const verifier = new Verifier({ ...base, requiredScopes: ['tools:call'], ...c.options });
      const token = ec.mint(claims(c.token));
      assert.deepEqual(who(verifier.verifySync(token)), { kind: 'jwt', ...c.expect });
      assert.deepEqual(who(await verifier.verify(token)), { kind: 'jwt', ...c.expect });
      // The dialect replaces the default: RFC 9068 `scope` alone no longer counts.
      if (!JSON.stringify(c.options.scopeClaims).includes('"scope"')) {
        const plain = outcome(() => verifier.verifySync(ec.mint(claims({ scope: 'tools:call' }))));
        assert.ok(plain instanceof JwtGateError && plain.code === 'insufficient_scope', String(plain));
      }
    });
  }

  test('a scope claim of another shape is claim_invalid', () => {
    const verifier = new Verifier({ ...base, scopeClaims: ['permissions'] });
    const e = outcome(() => verifier.verifySync(ec.mint(claims({ permissions: { read: true } }))));
    assert.ok(e instanceof JwtGateError && e.code === 'claim_invalid', String(e));
  });
});

describe('ES512 and the Ed25519 name (RFC 9864)', () => {
  test('ES512 tokens on P-521 keys', { skip: CRYPTO_BACKEND !== 'aws-lc-rs' && 'ES512 needs aws-lc-rs' }, () => {
    const p521 = keyFor('ES512');
    const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [p521.jwk] } });
    assert.ok(verifier.algorithms.includes('ES512'));
    assert.equal(verifier.verifySync(p521.mint(claims())).alg, 'ES512');
  });

  test('Ed25519 and EdDSA are one algorithm: a key published under either verifies tokens under either', () => {
    const named = keyFor('Ed25519');
    const legacy = { ...named.jwk, alg: 'EdDSA' };
    for (const published of [named.jwk, legacy]) {
      const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [published] } });
      assert.equal(verifier.verifySync(named.mint(claims())).alg, 'Ed25519');
      assert.equal(verifier.verifySync(named.mint(claims({ jti: 'x' }), { alg: 'EdDSA' })).alg, 'EdDSA');
    }
    const only = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [named.jwk] }, algorithms: ['Ed25519'] });
    assert.deepEqual(only.algorithms, ['Ed25519']);
  });
});

describe('id_token mode (idToken)', () => {
  const options = { issuer: ISSUER, jwks: { keys: [ec.jwk] }, idToken: 'mcp-client' };
  const idToken = (extra = {}) => ({ iss: ISSUER, sub: 'alice', aud: 'mcp-client', iat: now(), exp: now() + 300, ...extra });

  test('an id_token for the client is accepted as kind id_token; an access token is not', () => {
    const verifier = new Verifier(options);
    const accepted = verifier.verifySync(ec.mint(idToken()));
    assert.equal(accepted.kind, 'id_token');
    assert.equal(accepted.sub, 'alice');
    assert.deepEqual(accepted.scopes, []);
    const access = outcome(() => verifier.verifySync(ec.mint(idToken({ jti: 'a' }), { typ: 'at+jwt' })));
    assert.equal(access.code, 'typ_mismatch');
    const other = outcome(() => verifier.verifySync(ec.mint(idToken({ aud: 'another-client' }))));
    assert.equal(other.code, 'audience_mismatch');
    const azp = outcome(() => verifier.verifySync(ec.mint(idToken({ aud: ['mcp-client', 'x'], azp: 'x' }))));
    assert.ok(azp instanceof JwtGateError, String(azp));
  });

  test('audience, requiredScopes or typ next to it are config_invalid', () => {
    for (const extra of [{ audience: AUDIENCE }, { requiredScopes: ['tools:call'] }, { typ: 'JWT' }, { idToken: '' }, { idToken: 42 }]) {
      const e = outcome(() => new Verifier({ ...options, ...extra }));
      assert.ok(e instanceof JwtGateError && e.code === 'config_invalid', `${JSON.stringify(extra)}: ${e}`);
    }
  });
});

describe('several providers in one verifier (providers)', () => {
  const a = keyFor('ES256', 'a-1');
  const b = keyFor('EdDSA', 'b-1');
  const h = 'a shared secret of at least 32 bytes!';
  const providers = [
    // A JWKS object and a dialect: converted for the provider like at the top level.
    { issuer: 'https://a.example', audience: AUDIENCE, jwks: { keys: [a.jwk] }, scopeClaims: ['permissions'] },
    // A KeyObject.
    { issuer: 'https://b.example', audience: AUDIENCE, publicKey: b.publicKey, algorithms: ['EdDSA'] },
    // A string HMAC secret (its UTF-8 bytes).
    { issuer: 'https://h.example', audience: AUDIENCE, hmacSecret: h, algorithms: ['HS256'] },
  ];

  test('each token goes to its issuer’s provider; the outer verifier keeps static tokens and required scopes', () => {
    const verifier = new Verifier({
      providers,
      requiredScopes: ['tools:call'],
      staticTokens: [{ token: 'ci-key', clientId: 'ci', scopes: ['tools:call'] }],
    });
    const fromA = verifier.verifySync(a.mint(claims({ iss: 'https://a.example', permissions: ['tools:call'], scope: undefined })));
    assert.equal(fromA.iss, 'https://a.example');
    assert.deepEqual([...fromA.scopes], ['tools:call']);
    assert.equal(verifier.verifySync(b.mint(claims({ iss: 'https://b.example' }))).iss, 'https://b.example');
    assert.equal(verifier.verifySync('ci-key').kind, 'static_token');
    // Provider b's own algorithms.
    const es = outcome(() => verifier.verifySync(a.mint(claims({ iss: 'https://b.example' }))));
    assert.ok(es instanceof JwtGateError && es.code === 'alg_not_allowed', String(es));
    // An unknown issuer, and a known issuer with another provider's key.
    assert.equal(outcome(() => verifier.verifySync(a.mint(claims({ iss: 'https://c.example' })))).code, 'issuer_mismatch');
    assert.equal(outcome(() => verifier.verifySync(a.mint(claims({ iss: 'https://h.example' })))).code, 'alg_not_allowed');
    // The outer required scopes, for every provider: refused after its provider verified it.
    const before = verifier.stats();
    const scope = outcome(() => verifier.verifySync(b.mint(claims({ iss: 'https://b.example', scope: 'read' }))));
    assert.equal(scope.code, 'insufficient_scope');
    assert.equal(verifier.stats().refusedAfterVerification, before.refusedAfterVerification + 1);
    const status = verifier.providerKeysStatus();
    assert.deepEqual(status.map((p) => p.issuer), ['https://a.example', 'https://b.example', 'https://h.example']);
    assert.ok(status.every((p) => p.status.source === 'static' && p.status.ready), JSON.stringify(status));
    assert.deepEqual(new Verifier(base).providerKeysStatus(), []);
  });

  test('bad provider options are config_invalid, naming the provider', () => {
    const cyclic = { issuer: 'https://x.example', audience: AUDIENCE };
    cyclic.providers = [cyclic];
    let deep = { issuer: 'https://d.example', audience: AUDIENCE, jwks: { keys: [a.jwk] } };
    for (let i = 0; i < 10_000; i++) deep = { providers: [deep] };
    const cases = [
      [{ providers: 'https://a.example' }, /providers must be a list/],
      [{ providers: [null] }, /providers\[0\] must be an object/],
      [{ providers: [providers[0], { ...providers[1], bogus: 1 }] }, /unknown option "bogus" in providers\[1\]/],
      [{ providers: [{ ...providers[2], hmacSecret: 42 }] }, /hmacSecret must be/],
      [{ providers: [{ ...providers[0], issuer: [ISSUER, 'https://x.example'] }] }, /exactly one issuer/],
      [{ providers: [providers[0], providers[0]] }, /two providers/],
      [{ providers: [{ ...providers[0], staticTokens: [{ token: 't', clientId: 'c' }] }] }, /static tokens/],
      [{ providers: [{ ...providers[0], providers: [providers[1]] }] }, /providers/],
      [{ providers, issuer: ISSUER }, /issuer is configured on each provider/],
      [{ providers: [cyclic] }, /nest too deep/],
      [deep, /nest too deep/],
      [{ providers: Array.from({ length: 65 }, (_, i) => ({ ...providers[0], issuer: `https://p${i}.example` })) }, /at most 64/],
      [{ providers: [{ ...providers[0], jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }] }, /provider 1/],
    ];
    for (const [options, message] of cases) {
      const e = outcome(() => new Verifier(options));
      assert.ok(e instanceof JwtGateError && e.code === 'config_invalid', `${message}: ${e}`);
      assert.match(e.message, message);
    }
  });
});

describe('dpopNonceSecret: nonces several processes accept', () => {
  const RESOURCE = 'https://mcp.example.test/mcp';
  const client = dpopKey();
  const token = ec.mint(claims({ aud: RESOURCE, cnf: { jkt: client.thumbprint } }));
  const options = { issuer: ISSUER, audience: RESOURCE, jwks: { keys: [ec.jwk] } };
  const secret = 'one secret for every process, >= 32 bytes';

  /** A nonce from `from`'s challenge, then a proof with it to `to`. */
  async function across(from, to) {
    const nonce = from.protectedResource(RESOURCE).challenge().dpopNonce;
    assert.equal(typeof nonce, 'string');
    const request = { method: 'POST', url: RESOURCE, authorization: `DPoP ${token}`, dpop: client.proof({ method: 'POST', url: RESOURCE, token, nonce }) };
    return to.verifyRequest(request).catch((e) => e);
  }

  test('a nonce one verifier issued is accepted by another with the same secret (string or bytes)', async () => {
    const one = new Verifier({ ...options, dpopNonceSecret: secret });
    const other = new Verifier({ ...options, dpopNonceSecret: Buffer.from(secret, 'utf8') });
    assert.equal((await across(one, other)).confirmationJkt, client.thumbprint);
    // Without the shared secret each draws its own key: the other's nonce is refused.
    const alone = new Verifier({ ...options, dpopNonce: true });
    const refused = await across(alone, new Verifier({ ...options, dpopNonce: true }));
    assert.ok(refused instanceof JwtGateError && refused.code.startsWith('dpop_'), String(refused));
    const wrong = await across(one, new Verifier({ ...options, dpopNonceSecret: `${secret}!` }));
    assert.ok(wrong instanceof JwtGateError && wrong.code.startsWith('dpop_'), String(wrong));
  });

  test('bad secrets are config_invalid', () => {
    for (const bad of ['', 'short', Buffer.alloc(31), new Uint8Array(0), 42, null, new ArrayBuffer(32), new Uint16Array(16), ['x'], '\ud800'.repeat(32)]) {
      const e = outcome(() => new Verifier({ ...options, dpopNonceSecret: bad }));
      assert.ok(e instanceof JwtGateError && e.code === 'config_invalid', `${String(bad)}: ${e}`);
    }
    const off = outcome(() => new Verifier({ ...options, dpopNonceSecret: secret, dpopNonce: false }));
    assert.ok(off instanceof JwtGateError && off.code === 'config_invalid', String(off));
  });
});

describe('stats.refusedAfterVerification', () => {
  test('a DPoP-bound token presented as a Bearer token verified, then was refused', () => {
    const verifier = new Verifier(base);
    const bound = ec.mint(claims({ cnf: { jkt: dpopKey().thumbprint } }));
    for (let i = 0; i < 2; i++) assert.equal(outcome(() => verifier.verifySync(bound)).code, 'dpop_proof_missing');
    const stats = verifier.stats();
    assert.equal(stats.refusedAfterVerification, 2);
    assert.equal(stats.accepted, 0);
    assert.equal(stats.rejected, 2);
    assert.equal(stats.rejectedByCode.dpop_proof_missing, 2);
  });
});

describe('with the real IdP (oidc-provider)', () => {
  let first;
  let second;
  before(async () => {
    [first, second] = await Promise.all([startIdp({ keys: ['ES256', 'RS256'] }), startIdp({ keys: ['ES256', 'EdDSA'] })]);
  });
  after(() => {
    first?.stop();
    second?.stop();
  });

  test('two providers, each its own keys: rotating one refreshes only that one; unknown issuers cost no traffic', async () => {
    const verifier = new Verifier({
      providers: [
        { issuer: first.issuer, audience: first.resource },
        { issuer: second.issuer, audience: second.resource, algorithms: ['ES256', 'EdDSA'] },
      ],
      requiredScopes: ['tools:call'],
    });
    await verifier.waitReady(10);
    const fromFirst = await verifier.verify(await first.token({ alg: 'RS256', scope: 'tools:call' }));
    assert.equal(fromFirst.iss, first.issuer);
    const fromSecond = await verifier.verify(await second.token({ alg: 'EdDSA', scope: 'tools:call' }));
    assert.equal(fromSecond.iss, second.issuer);
    const status = () => Object.fromEntries(verifier.providerKeysStatus().map((p) => [p.issuer, p.status]));
    const [firstBefore, secondBefore] = [status()[first.issuer], status()[second.issuer]];
    assert.ok(firstBefore.ready && secondBefore.ready);
    const countsBefore = [await first.requestCounts(), await second.requestCounts()];

    const rotated = await second.admin('rotate', { keys: ['ES256'] });
    const newKid = rotated.kids.ES256;
    const token = await second.token({ alg: 'ES256', scope: 'tools:call' });
    const claimsOf = await verifier.verify(token);
    assert.equal(claimsOf.kid, newKid);
    assert.ok(status()[second.issuer].generation > secondBefore.generation);
    assert.equal(status()[first.issuer].generation, firstBefore.generation);
    const countsAfter = [await first.requestCounts(), await second.requestCounts()];
    assert.deepEqual(countsAfter[0], countsBefore[0], 'the first provider was not asked for keys');
    assert.ok(JSON.stringify(countsAfter[1]) !== JSON.stringify(countsBefore[1]), 'the second provider’s JWKS was fetched');

    // A token signed by a trusted key but naming an issuer no provider has: refused before any
    // key lookup, without a request to either provider.
    const { token: stranger } = await first.admin('sign', {
      alg: 'ES256',
      claims: { iss: 'https://stranger.example', aud: first.resource, exp: now() + 60, scope: 'tools:call' },
    });
    const e = await verifier.verify(stranger).catch((x) => x);
    assert.ok(e instanceof JwtGateError && e.code === 'issuer_mismatch', String(e));
    assert.deepEqual([await first.requestCounts(), await second.requestCounts()], countsAfter);
  });

  test('id_token mode with the id_token of a real authorization-code flow', async () => {
    const verifier = new Verifier({ issuer: first.issuer, idToken: 'client-app' });
    await verifier.waitReady(10);
    const flow = await first.admin('authorization-code', { client_id: 'client-app', sub: 'bob', nonce: 'n-1' });
    const claimsOf = await verifier.verify(flow.id_token);
    assert.equal(claimsOf.kind, 'id_token');
    assert.equal(claimsOf.sub, 'bob');
    assert.deepEqual(claimsOf.aud, ['client-app']);
    assert.deepEqual([...claimsOf.scopes], []);
    // The access token of the same flow is no id_token (typ at+jwt, aud the resource).
    const access = await verifier.verify(flow.access_token).catch((x) => x);
    assert.ok(access instanceof JwtGateError, String(access));
    // An id_token issued to another client, and an expired one.
    const other = await first.admin('id-token', { client_id: 'client-opaque', sub: 'bob' });
    assert.equal((await verifier.verify(other.id_token).catch((x) => x)).code, 'audience_mismatch');
    const expired = await first.admin('id-token', { client_id: 'client-app', sub: 'bob', exp: now() - 600 });
    assert.equal((await verifier.verify(expired.id_token).catch((x) => x)).code, 'token_expired');
    // Several audiences need azp = the client (OIDC Core §3.1.3.7).
    const several = await first.admin('id-token', { client_id: 'client-app', sub: 'bob', aud: ['client-app', 'client-opaque'], azp: 'client-opaque' });
    assert.ok((await verifier.verify(several.id_token).catch((x) => x)) instanceof JwtGateError);
    const withAzp = await first.admin('id-token', { client_id: 'client-app', sub: 'bob', aud: ['client-app', 'client-opaque'] });
    assert.equal((await verifier.verify(withAzp.id_token)).kind, 'id_token');
  });
});

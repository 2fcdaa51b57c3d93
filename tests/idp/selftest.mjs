// The test identity provider (server.mjs) tested with plain fetch: opaque access tokens,
// introspection (RFC 7662) and revocation (RFC 7009), id_tokens (OpenID Connect Core), and two
// instances rotating their keys independently.
//
//   node --test tests/idp/selftest.mjs
//
// Needs `npm ci --prefix tests/idp`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, constants } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));
const RESOURCE = 'https://mcp.test/';
const TTL = 300;

const children = [];

/** Starts server.mjs with `env`; resolves its start-up line, parsed. */
function startIdp(env = {}) {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', EXIT_ON_STDIN_EOF: '1', TTL: String(TTL), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error('the IdP did not start within 30 s')), 30_000);
    function fail(error) {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${error.message}\nstderr:\n${stderr}`));
    }
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`the IdP exited with ${code}`)));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline !== -1) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(JSON.parse(stdout.slice(0, newline)));
      }
    });
  });
}

after(() => {
  for (const child of children) {
    child.stdin.end();
    child.kill();
  }
});

const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const RS = ['resource-server', 'secret-resource-server'];
const OPAQUE = ['client-opaque', 'secret-opaque'];

/** A form POST; resolves { status, body (JSON or text) }. */
async function post(url, form, { auth, headers = {} } = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(auth ? { authorization: basic(...auth) } : {}),
      ...headers,
    },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, body };
}

async function adminPost(origin, path, json) {
  const response = await fetch(`${origin}${path}`, { method: 'POST', body: JSON.stringify(json) });
  return { status: response.status, body: await response.json() };
}

async function getJson(url) {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return response.json();
}

function decode(jwt) {
  const [h, p] = jwt.split('.');
  const json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  return { header: json(h), payload: json(p) };
}

// JWS verification with node:crypto (RFC 7515 §5.2; JWA RFC 7518 §3, EdDSA RFC 8037).
const VERIFIERS = {
  RS256: ['sha256', {}],
  PS256: ['sha256', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
  ES256: ['sha256', { dsaEncoding: 'ieee-p1363' }],
  EdDSA: [null, {}],
};

/** Verifies `jwt` against the issuer's published JWKS; returns the JWK used. */
async function verifyWithJwks(issuer, jwt) {
  const { header } = decode(jwt);
  const { keys } = await getJson(`${issuer}/jwks`);
  const jwk = keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is published`);
  const [hash, options] = VERIFIERS[header.alg];
  const [h, p, s] = jwt.split('.');
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  assert.ok(
    verify(hash, Buffer.from(`${h}.${p}`), { key, ...options }, Buffer.from(s, 'base64url')),
    'signature verifies with the published key',
  );
  return jwk;
}

/** A DPoP proof (RFC 9449 §4.2) for POST `htu`, signed with a fresh P-256 key; and its jkt. */
function dpopProof(htu) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } };
  const claims = { jti: randomUUID(), htm: 'POST', htu, iat: Math.floor(Date.now() / 1000) };
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  // RFC 7638 §3.2: the required members in lexicographic order.
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  return { proof: `${input}.${signature.toString('base64url')}`, jkt };
}

const isJwt = (token) => token.split('.').length === 3;

describe('one instance', () => {
  let idp;
  let metadata;
  before(async () => {
    idp = await startIdp();
    metadata = await getJson(`${idp.issuer}/.well-known/openid-configuration`);
  });

  const opaqueToken = async (form = {}, auth = OPAQUE) => {
    const { status, body } = await post(`${idp.issuer}/token`, { grant_type: 'client_credentials', ...form }, { auth });
    assert.equal(status, 200, JSON.stringify(body));
    return body;
  };
  const introspect = (token, auth = RS) => post(metadata.introspection_endpoint, { token }, { auth });

  test('discovery publishes the introspection and revocation endpoints', () => {
    assert.equal(metadata.introspection_endpoint, `${idp.issuer}/token/introspection`);
    assert.equal(metadata.revocation_endpoint, `${idp.issuer}/token/revocation`);
    // oidc-provider publishes no introspection_/revocation_endpoint_auth_methods_supported
    // (RFC 8414 §2: then known "by other means"); its token endpoint's are the same methods.
    assert.equal(metadata.introspection_endpoint_auth_methods_supported, undefined);
    assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
  });

  test('client-opaque gets an opaque token; introspection (basic and post) describes it; revocation ends it', async () => {
    const response = await opaqueToken({ scope: 'tools:call read' });
    assert.equal(response.token_type, 'Bearer');
    assert.equal(response.expires_in, TTL);
    assert.equal(response.scope, 'tools:call read');
    const token = response.access_token;
    assert.ok(!isJwt(token), `not a JWT: ${token}`);

    const now = Math.floor(Date.now() / 1000);
    const basicAuth = await introspect(token);
    assert.equal(basicAuth.status, 200);
    const info = basicAuth.body;
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'client-opaque');
    assert.equal(info.scope, 'tools:call read');
    assert.equal(info.iss, idp.issuer);
    assert.equal(info.aud, RESOURCE);
    assert.equal(info.token_type, 'Bearer');
    assert.ok(Math.abs(info.iat - now) <= 5, `iat ${info.iat} near ${now}`);
    assert.equal(info.exp - info.iat, TTL);

    // client_secret_post (RFC 6749 §2.3.1) answers the same.
    const postAuth = await post(metadata.introspection_endpoint, {
      token,
      client_id: RS[0],
      client_secret: RS[1],
    });
    assert.deepEqual(postAuth.body, info);

    // The token's own client may introspect it; another client is told nothing (RFC 7662 §2.2).
    assert.deepEqual((await introspect(token, OPAQUE)).body, info);
    assert.deepEqual((await introspect(token, ['client-es256', 'secret-es256'])).body, { active: false });
    // Bad credentials: 401 invalid_client.
    const bad = await introspect(token, [RS[0], 'wrong']);
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, 'invalid_client');
    // An unknown token is inactive.
    assert.deepEqual((await introspect('not-a-token')).body, { active: false });

    // Revocation (RFC 7009): another client is refused, resource-server may.
    const refused = await post(metadata.revocation_endpoint, { token }, { auth: ['client-es256', 'secret-es256'] });
    assert.equal(refused.status, 400);
    assert.equal((await introspect(token)).body.active, true);
    const revoked = await post(metadata.revocation_endpoint, { token, token_type_hint: 'access_token' }, { auth: RS });
    assert.equal(revoked.status, 200);
    assert.deepEqual((await introspect(token)).body, { active: false });
  });

  test('the owning client revokes with client_secret_post', async () => {
    const { access_token: token } = await opaqueToken({ scope: 'read' });
    assert.equal((await introspect(token)).body.scope, 'read');
    const revoked = await post(metadata.revocation_endpoint, { token, client_id: OPAQUE[0], client_secret: OPAQUE[1] });
    assert.equal(revoked.status, 200);
    assert.deepEqual((await introspect(token)).body, { active: false });
  });

  test('an opaque token for a loopback resource has that audience', async () => {
    const resource = 'http://127.0.0.1:9/mcp';
    const { access_token: token } = await opaqueToken({ scope: 'tools:call', resource });
    const { body } = await introspect(token);
    assert.equal(body.aud, resource);
    assert.equal(body.scope, 'tools:call');
  });

  test('a DPoP-bound opaque token introspects as DPoP with cnf.jkt (RFC 9449 §6.2)', async () => {
    const { proof, jkt } = dpopProof(`${idp.issuer}/token`);
    const { status, body } = await post(
      `${idp.issuer}/token`,
      { grant_type: 'client_credentials', scope: 'read' },
      { auth: OPAQUE, headers: { dpop: proof } },
    );
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'DPoP');
    const info = (await introspect(body.access_token)).body;
    assert.equal(info.active, true);
    assert.equal(info.token_type, 'DPoP');
    assert.deepEqual(info.cnf, { jkt });
  });

  test('JWT access tokens are unchanged and cannot be introspected (oidc-provider refuses)', async () => {
    const { access_token: jwt } = await opaqueToken({ scope: 'read' }, ['client-es256', 'secret-es256']);
    const { header, payload } = decode(jwt);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    assert.equal(header.kid, idp.kids.ES256);
    assert.equal(payload.client_id, 'client-es256');
    const { status, body } = await introspect(jwt);
    assert.equal(status, 400);
    assert.equal(body.error, 'unsupported_token_type');
  });

  test('/__admin/id-token: the provider\'s own id_token for a client', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { status, body } = await adminPost(idp.issuer, '/__admin/id-token', {
      client_id: 'client-app',
      sub: 'alice',
      nonce: 'n-1',
      claims: { email: 'alice@example.com' },
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.resigned, false);
    const { header, payload } = decode(body.id_token);
    // OIDC Core 2: iss, sub, aud (the client), exp, iat; no typ in the header from this provider.
    assert.deepEqual(header, { alg: 'RS256', kid: idp.kids.RS256 });
    assert.equal(payload.iss, idp.issuer);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.aud, 'client-app');
    assert.equal(payload.azp, undefined);
    assert.equal(payload.nonce, 'n-1');
    assert.equal(payload.email, 'alice@example.com');
    assert.ok(payload.iat >= before);
    assert.equal(payload.exp - payload.iat, TTL);
    await verifyWithJwks(idp.issuer, body.id_token);

    // A client-<alg> client's id_token is signed with <alg>.
    for (const alg of ['ES256', 'EdDSA', 'PS256']) {
      const r = await adminPost(idp.issuer, '/__admin/id-token', { client_id: `client-${alg.toLowerCase()}`, sub: 'alice' });
      assert.equal(decode(r.body.id_token).header.alg, alg);
      await verifyWithJwks(idp.issuer, r.body.id_token);
    }
  });

  test('/__admin/id-token: several audiences bring azp; explicit azp, exp; refusals', async () => {
    const several = await adminPost(idp.issuer, '/__admin/id-token', {
      client_id: 'client-es256',
      sub: 'alice',
      aud: ['client-es256', 'https://api.example'],
    });
    assert.equal(several.body.resigned, true);
    let { header, payload } = decode(several.body.id_token);
    assert.deepEqual(header, { alg: 'ES256', kid: idp.kids.ES256 });
    assert.deepEqual(payload.aud, ['client-es256', 'https://api.example']);
    assert.equal(payload.azp, 'client-es256');
    await verifyWithJwks(idp.issuer, several.body.id_token);

    const noAzp = await adminPost(idp.issuer, '/__admin/id-token', {
      client_id: 'client-es256',
      sub: 'alice',
      aud: ['client-es256', 'https://api.example'],
      azp: null,
    });
    assert.equal(decode(noAzp.body.id_token).payload.azp, undefined);

    const otherAzp = await adminPost(idp.issuer, '/__admin/id-token', { client_id: 'client-app', sub: 'a', azp: 'someone-else' });
    ({ payload } = decode(otherAzp.body.id_token));
    assert.equal(payload.aud, 'client-app');
    assert.equal(payload.azp, 'someone-else');

    const expired = await adminPost(idp.issuer, '/__admin/id-token', {
      client_id: 'client-app',
      sub: 'a',
      exp: Math.floor(Date.now() / 1000) - 60,
    });
    assert.ok(decode(expired.body.id_token).payload.exp < Date.now() / 1000);
    await verifyWithJwks(idp.issuer, expired.body.id_token);

    const unknown = await adminPost(idp.issuer, '/__admin/id-token', { client_id: 'nobody', sub: 'a' });
    assert.equal(unknown.status, 400);
    const reserved = await adminPost(idp.issuer, '/__admin/id-token', { client_id: 'client-app', sub: 'a', claims: { iss: 'x' } });
    assert.equal(reserved.status, 400);
  });

  test('/__admin/authorization-code: the real code flow gives an id_token and a user\'s access token', async () => {
    await adminPost(idp.issuer, '/__admin/reset-counts', {});
    const { status, body } = await adminPost(idp.issuer, '/__admin/authorization-code', {
      client_id: 'client-app',
      sub: 'bob',
      nonce: 'n-2',
    });
    assert.equal(status, 200, JSON.stringify(body));
    const id = decode(body.id_token);
    assert.equal(id.header.typ, undefined);
    assert.equal(id.payload.iss, idp.issuer);
    assert.equal(id.payload.sub, 'bob');
    assert.equal(id.payload.aud, 'client-app');
    assert.equal(id.payload.nonce, 'n-2');
    await verifyWithJwks(idp.issuer, body.id_token);
    const at = decode(body.access_token);
    assert.equal(at.header.typ, 'at+jwt');
    assert.equal(at.payload.sub, 'bob');
    assert.equal(at.payload.client_id, 'client-app');
    assert.equal(at.payload.aud, RESOURCE);
    assert.equal(at.payload.scope, 'tools:call read');
    // The server's own requests are not counted (only this test's JWKS fetch is).
    assert.deepEqual(await getJson(`${idp.issuer}/__admin/requests`), { '/jwks': 1 });

    // client-opaque: an opaque access token for the user, and a refresh token with offline_access.
    const opaque = await adminPost(idp.issuer, '/__admin/authorization-code', {
      client_id: 'client-opaque',
      sub: 'carol',
      scope: 'openid offline_access tools:call',
    });
    assert.equal(opaque.status, 200, JSON.stringify(opaque.body));
    assert.ok(!isJwt(opaque.body.access_token));
    assert.ok(opaque.body.refresh_token);
    assert.equal(decode(opaque.body.id_token).payload.aud, 'client-opaque');
    const info = (await introspect(opaque.body.access_token)).body;
    assert.equal(info.active, true);
    assert.equal(info.sub, 'carol');
    assert.equal(info.client_id, 'client-opaque');
    assert.equal(info.scope, 'tools:call');

    const refused = await adminPost(idp.issuer, '/__admin/authorization-code', { client_id: 'client-es256', sub: 'x' });
    assert.equal(refused.status, 400);
  });
});

describe('two instances', () => {
  let a;
  let b;
  before(async () => {
    [a, b] = await Promise.all([
      startIdp({ KEYS: 'ES256,RS256' }),
      startIdp({ KEYS: 'ES256,RS256', ISSUER_PATH: '/realms/b', ACCESS_TOKEN_FORMAT: 'opaque' }),
    ]);
  });

  const origin = (idp) => `http://127.0.0.1:${idp.port}`;
  const kidsOf = async (idp) => (await getJson(`${idp.issuer}/jwks`)).keys.map((k) => k.kid);
  const tokenAt = async (idp, auth) => {
    const { status, body } = await post(`${idp.issuer}/token`, { grant_type: 'client_credentials', scope: 'read' }, { auth });
    assert.equal(status, 200, JSON.stringify(body));
    return body.access_token;
  };
  const introspectAt = async (idp, token) => (await post(`${idp.issuer}/token/introspection`, { token }, { auth: RS })).body;

  test('ACCESS_TOKEN_FORMAT=opaque makes every client\'s tokens opaque', async () => {
    const token = await tokenAt(b, ['client-es256', 'secret-es256']);
    assert.ok(!isJwt(token));
    const info = await introspectAt(b, token);
    assert.equal(info.active, true);
    assert.equal(info.iss, `${origin(b)}/realms/b`);
    assert.equal(info.client_id, 'client-es256');
    // The other instance knows nothing of it.
    assert.deepEqual(await introspectAt(a, token), { active: false });

    // The code flow under an issuer path: client-app's access token is opaque here too.
    const flow = await adminPost(origin(b), '/__admin/authorization-code', { client_id: 'client-app', sub: 'dan' });
    assert.equal(flow.status, 200, JSON.stringify(flow.body));
    assert.ok(!isJwt(flow.body.access_token));
    const id = decode(flow.body.id_token).payload;
    assert.equal(id.iss, b.issuer);
    assert.equal(id.aud, 'client-app');
    await verifyWithJwks(b.issuer, flow.body.id_token);
    assert.equal((await introspectAt(b, flow.body.access_token)).sub, 'dan');
  });

  test('each rotates its keys independently; tokens issued before a rotation stay introspectable', async () => {
    const opaqueBefore = await tokenAt(a, OPAQUE);
    const [aKids0, bKids0] = [await kidsOf(a), await kidsOf(b)];
    assert.equal(aKids0.filter((k) => bKids0.includes(k)).length, 0, 'no shared kid at start');

    const rotateA = await adminPost(origin(a), '/__admin/rotate', { keys: ['ES256'], keep: [a.kids.ES256] });
    assert.equal(rotateA.status, 200);
    assert.notEqual(rotateA.body.kids.ES256, a.kids.ES256);
    assert.deepEqual(await kidsOf(a), [rotateA.body.kids.ES256, a.kids.ES256]);
    assert.deepEqual(await kidsOf(b), bKids0, 'rotating A leaves B alone');

    const rotateB = await adminPost(origin(b), '/__admin/rotate', { keys: ['ES256', 'RS256'] });
    assert.equal(rotateB.status, 200);
    const bKids1 = await kidsOf(b);
    assert.deepEqual(bKids1, [rotateB.body.kids.ES256, rotateB.body.kids.RS256]);
    assert.equal(bKids1.filter((k) => bKids0.includes(k)).length, 0, 'B has only fresh keys');
    assert.equal((await kidsOf(a)).filter((k) => bKids1.includes(k)).length, 0, 'A and B share no kid');
    assert.notEqual(rotateA.body.kids.ES256, rotateB.body.kids.ES256);

    // New tokens and id_tokens carry the new kids.
    const jwt = await tokenAt(a, ['client-es256', 'secret-es256']);
    assert.equal(decode(jwt).header.kid, rotateA.body.kids.ES256);
    const id = await adminPost(origin(a), '/__admin/id-token', { client_id: 'client-app', sub: 'alice' });
    assert.equal(decode(id.body.id_token).header.kid, rotateA.body.kids.ES256);
    await verifyWithJwks(a.issuer, id.body.id_token);

    // The in-memory token store outlives the provider swap.
    const info = await introspectAt(a, opaqueBefore);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'client-opaque');
  });
});

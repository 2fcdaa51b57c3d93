// jwtgate/mcp's own middleware (requireAuth on Express, requireAuthRequest behind the SDK's Node
// bridge) against requests an attacker shapes, over raw HTTP on 127.0.0.1 (node:net, so that the
// request line is exactly what is sent):
//   - the URL handed to the core for the DPoP proof's `htu` (RFC 9449 §4.3) is the configured
//     resource's origin + the target's path and query: an absolute-form target (RFC 9112 §3.2.2,
//     which Express still routes by its path) or a scheme-relative `//host/path` cannot replace
//     the origin, so a proof made for another host is refused;
//   - AuthInfo.token is the token the core verified, whatever the spaces and tabs between the
//     scheme and the token (RFC 9110 §11.4);
//   - challenges and DPoP nonces (RFC 9449 §8) are the refusing verifier's own;
//   - the SDK's middleware (createTokenVerifier) cannot present a proof: with dpop 'required' it
//     refuses every credential.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { toNodeHandler } from '@modelcontextprotocol/node';
import express from 'express';

import { JwtGateError, ProtectedResource, Verifier } from '../index.mjs';
import { createTokenVerifier, requireAuth, requireAuthRequest } from '../mcp.mjs';
import { dpopKey } from './helpers/dpop.mjs';
import { claims, ISSUER, keyFor } from './helpers/mint.mjs';

// The resource as clients name it (behind a proxy: not the address the server listens on).
const RESOURCE = 'https://mcp.example.test/mcp';
const OTHER = 'https://evil.example/mcp';
const issuer = keyFor('ES256');
const client = dpopKey();
const options = { issuer: ISSUER, audience: RESOURCE, jwks: { keys: [issuer.jwk] }, requiredScopes: ['tools:call'] };
const bound = issuer.mint(claims({ aud: RESOURCE, scope: 'tools:call', cnf: { jkt: client.thumbprint } }));
const bearer = issuer.mint(claims({ aud: RESOURCE, scope: 'tools:call', jti: 'bearer-1' }));

const logged = [];
const logger = { warn: (message) => logged.push(message) };
const servers = [];

/** Listens on 127.0.0.1; resolves with the port. */
async function listen(server) {
  servers.push(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

after(() => {
  for (const server of servers) server.close();
});

/** Echoes what the middleware put in AuthInfo. */
const echo = (auth) => ({ token: auth.token, clientId: auth.clientId });

/**
 * One HTTP/1.1 request written byte for byte: `line` is the request line, `headers` the header
 * fields after Host. Resolves with `{ status, headers, body }`.
 */
function raw(port, line, headers = {}) {
  const fields = Object.entries({ host: `127.0.0.1:${port}`, ...headers, 'content-length': '0', connection: 'close' })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${line}\r\n${fields}\r\n`));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = received.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const parsed = {};
      for (const field of lines) {
        const colon = field.indexOf(':');
        parsed[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body: rest.join('\r\n\r\n') });
    });
  });
}

/** A DPoP request's headers: the bound token and a fresh proof for `htu`. */
function dpopHeaders(htu, { method = 'POST', nonce } = {}) {
  return { authorization: `DPoP ${bound}`, dpop: client.proof({ method, url: htu, token: bound, nonce }) };
}

/** The decoded body of a chunked or plain response. */
function json(response) {
  const body = response.headers['transfer-encoding'] === 'chunked' ? dechunk(response.body) : response.body;
  return JSON.parse(body);
}

function dechunk(body) {
  let out = '';
  let rest = body;
  for (;;) {
    const end = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, end), 16);
    if (!size) return out;
    out += rest.slice(end + 2, end + 2 + size);
    rest = rest.slice(end + 2 + size + 2);
  }
}

describe('requireAuth (Express): the request target never changes the origin', () => {
  let port;
  before(async () => {
    const verifier = new Verifier(options);
    const app = express();
    // Gates every path, as `app.use(requireAuth(...))` in front of a router does.
    app.use(requireAuth({ verifier, resource: verifier.protectedResource(RESOURCE), logger }));
    app.use((req, res) => res.json(echo(req.auth)));
    port = await listen(createServer(app));
  });

  test('origin-form: a proof for the resource URL is accepted', async () => {
    const response = await raw(port, 'POST /mcp HTTP/1.1', dpopHeaders(RESOURCE));
    assert.equal(response.status, 200, JSON.stringify(response));
    assert.deepEqual(json(response), { token: bound, clientId: 'app-1' });
  });

  test('absolute-form naming another host: a proof for that host is refused', async () => {
    const response = await raw(port, `POST ${OTHER} HTTP/1.1`, dpopHeaders(OTHER));
    assert.equal(response.status, 401, JSON.stringify(response));
    assert.match(response.headers['www-authenticate'], /DPoP algs="[^"]*", error="invalid_dpop_proof"/);
    assert.ok(logged.some((line) => line.includes('(dpop_proof_invalid)')), JSON.stringify(logged));
  });

  test('absolute-form naming the resource: its path and query, with the configured origin', async () => {
    const response = await raw(port, `POST ${RESOURCE}?session=1 HTTP/1.1`, dpopHeaders(RESOURCE));
    assert.equal(response.status, 200, JSON.stringify(response));
    // The path of an absolute-form target is the path, whatever host it names.
    const elsewhere = await raw(port, `POST ${OTHER} HTTP/1.1`, dpopHeaders(RESOURCE));
    assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere));
  });

  test('a scheme-relative target is a path on this origin, not another host', async () => {
    const response = await raw(port, 'POST //evil.example/mcp HTTP/1.1', dpopHeaders(OTHER));
    assert.equal(response.status, 401, JSON.stringify(response));
    assert.match(response.headers['www-authenticate'], /DPoP algs="[^"]*", error="invalid_dpop_proof"/);
    // The proof for the URL the target names on this origin is the one that works.
    const own = await raw(port, 'POST //evil.example/mcp HTTP/1.1', dpopHeaders('https://mcp.example.test//evil.example/mcp'));
    assert.equal(own.status, 200, JSON.stringify(own));
  });

  test('an asterisk-form target names no resource: 400', async () => {
    const response = await raw(port, 'OPTIONS * HTTP/1.1', dpopHeaders(RESOURCE, { method: 'OPTIONS' }));
    assert.equal(response.status, 400, JSON.stringify(response));
  });

  test('AuthInfo.token is the token the core verified: a tab or several spaces after the scheme', async () => {
    for (const authorization of [`Bearer\t${bearer}`, `Bearer   ${bearer}`, `bearer \t ${bearer}`, `Bearer ${bearer}\t`]) {
      const response = await raw(port, 'POST /mcp HTTP/1.1', { authorization });
      assert.equal(response.status, 200, JSON.stringify({ authorization, response }));
      assert.equal(json(response).token, bearer, JSON.stringify(authorization));
    }
    const dpop = await raw(port, 'POST /mcp HTTP/1.1', { ...dpopHeaders(RESOURCE), authorization: `DPoP\t\t${bound}` });
    assert.equal(dpop.status, 200, JSON.stringify(dpop));
    assert.equal(json(dpop).token, bound);
  });
});

describe('requireAuthRequest (web-standard, behind the SDK’s Node bridge)', () => {
  let port;
  let gate;
  before(async () => {
    const verifier = new Verifier(options);
    gate = requireAuthRequest({ verifier, resource: verifier.protectedResource(RESOURCE), logger });
    const handler = async (request) => {
      const auth = await gate(request);
      return auth instanceof Response ? auth : Response.json(echo(auth));
    };
    port = await listen(createServer(toNodeHandler({ fetch: handler })));
  });

  test('origin-form: a proof for the resource URL is accepted', async () => {
    const response = await raw(port, 'POST /mcp HTTP/1.1', dpopHeaders(RESOURCE));
    assert.equal(response.status, 200, JSON.stringify(response));
    assert.equal(json(response).token, bound);
  });

  test('a scheme-relative target (request.url http://host//evil.example/mcp) keeps the configured origin', async () => {
    const response = await raw(port, 'POST //evil.example/mcp HTTP/1.1', dpopHeaders(OTHER));
    assert.equal(response.status, 401, JSON.stringify(response));
    assert.match(response.headers['www-authenticate'], /DPoP algs="[^"]*", error="invalid_dpop_proof"/);
    // The same through a Request built by the application.
    const answer = await gate(new Request('http://127.0.0.1:1//evil.example/mcp', { method: 'POST', headers: dpopHeaders(OTHER) }));
    assert.ok(answer instanceof Response);
    assert.equal(answer.status, 401);
  });

  test('AuthInfo.token is the token the core verified', async () => {
    for (const authorization of [`Bearer\t${bearer}`, `Bearer  \t${bearer}`]) {
      const auth = await gate(new Request('http://127.0.0.1:1/mcp', { method: 'POST', headers: { authorization } }));
      assert.equal(auth.token, bearer, JSON.stringify(authorization));
    }
    const response = await raw(port, 'POST /mcp HTTP/1.1', { authorization: `Bearer\t${bearer}` });
    assert.equal(json(response).token, bearer);
  });
});

describe('challenges and DPoP nonces are the refusing verifier’s', () => {
  const nonceOptions = { ...options, dpopNonce: true };

  /** An Express app guarded by requireAuth({ verifier, resource }); resolves with its port. */
  async function guarded(verifier, resource) {
    const app = express();
    app.use(requireAuth({ verifier, resource, logger }));
    app.use((req, res) => res.json(echo(req.auth)));
    return listen(createServer(app));
  }

  test('a resource built by another verifier: the nonce in the challenge is this verifier’s', async () => {
    const verifier = new Verifier(nonceOptions);
    // Same settings, another verifier (its own nonce key): its nonces are not this verifier's.
    const port = await guarded(verifier, new Verifier(nonceOptions).protectedResource(RESOURCE));
    const first = await raw(port, 'POST /mcp HTTP/1.1', dpopHeaders(RESOURCE));
    assert.equal(first.status, 401, JSON.stringify(first));
    assert.match(first.headers['www-authenticate'], /DPoP algs="[^"]*", error="use_dpop_nonce"/);
    const nonce = first.headers['dpop-nonce'];
    assert.ok(nonce, JSON.stringify(first.headers));
    const second = await raw(port, 'POST /mcp HTTP/1.1', dpopHeaders(RESOURCE, { nonce }));
    assert.equal(second.status, 200, JSON.stringify(second));
    assert.equal(json(second).token, bound);
  });

  test('a resource built without a verifier: the challenge still carries this verifier’s nonce', async () => {
    const port = await guarded(new Verifier(nonceOptions), new ProtectedResource(RESOURCE, { authorizationServers: [ISSUER] }));
    const first = await raw(port, 'POST /mcp HTTP/1.1', dpopHeaders(RESOURCE));
    assert.equal(first.status, 401, JSON.stringify(first));
    const nonce = first.headers['dpop-nonce'];
    assert.ok(nonce, JSON.stringify(first.headers));
    const second = await raw(port, 'POST /mcp HTTP/1.1', dpopHeaders(RESOURCE, { nonce }));
    assert.equal(second.status, 200, JSON.stringify(second));
  });

  test('a resource contradicting the verifier’s DPoP settings is config_invalid', () => {
    const standalone = new ProtectedResource(RESOURCE, { authorizationServers: [ISSUER] });
    const cases = [
      [new Verifier(options), new Verifier({ ...options, dpop: 'required' }).protectedResource(RESOURCE)],
      [new Verifier(options), new Verifier({ ...options, dpopAlgorithms: ['ES256'] }).protectedResource(RESOURCE)],
      [new Verifier({ ...options, dpop: 'off' }), new Verifier(options).protectedResource(RESOURCE)],
      // DPoP required, a document that does not say so (RFC 9449 §5.1).
      [new Verifier({ ...options, dpop: 'required' }), standalone],
    ];
    for (const [verifier, resource] of cases) {
      for (const make of [requireAuth, requireAuthRequest]) {
        assert.throws(
          () => make({ verifier, resource, logger }),
          (e) => e instanceof JwtGateError && e.code === 'config_invalid' && /verifier\.protectedResource/.test(e.message),
        );
      }
    }
    for (const verifier of [new Verifier(options), new Verifier({ ...options, dpop: 'off' })]) {
      requireAuth({ verifier, resource: standalone, logger });
    }
  });
});

describe('the SDK’s middleware path with dpop: required', () => {
  test('createTokenVerifier refuses every credential: the SDK hands it the token alone, never a proof', async () => {
    const tv = createTokenVerifier(
      { ...options, dpop: 'required', staticTokens: [{ token: 'static-key', clientId: 'bot', scopes: ['tools:call'] }] },
      { logger },
    );
    for (const token of [bearer, bound, 'static-key']) {
      const error = await tv.verifyAccessToken(token).catch((e) => e);
      assert.ok(error.cause instanceof JwtGateError, String(error));
      assert.equal(error.cause.code, 'dpop_proof_missing');
      assert.equal(error.toResponseObject().error, 'invalid_token');
    }
  });
});

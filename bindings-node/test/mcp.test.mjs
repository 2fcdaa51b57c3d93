// A real MCP server (Express + StreamableHTTPServerTransport + requireBearerAuth) guarded by
// jwtgate/mcp, real tokens from the repository's oidc-provider IdP, and the SDK's own Client.
// Everything listens on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import {
  getOAuthProtectedResourceMetadataUrl,
  mcpAuthMetadataRouter,
} from '@modelcontextprotocol/sdk/server/auth/router.js';
import { InsufficientScopeError, InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';

import { createRequire } from 'node:module';
import { createServer } from 'node:net';

import { JwtGateError, Verifier } from '../index.mjs';
import { createTokenVerifier } from '../mcp.mjs';
import { startIdp } from './helpers/idp.mjs';
import { AUDIENCE, claims, ISSUER, keyFor, now } from './helpers/mint.mjs';

const STATIC_TOKEN = 'ci-static-token-0123456789';

let idp;
let http;
let base;
// What the adapters of this file log (instead of the test output).
const logged = [];
const logger = { warn: (message) => logged.push(message) };

/** An MCP server whose one tool returns the request's authInfo as JSON text. */
function mcpHandler() {
  return async (req, res) => {
    const server = new McpServer({ name: 'jwtgate-test', version: '1.0.0' });
    server.registerTool('whoami', { description: 'returns authInfo' }, async (extra) => ({
      content: [{ type: 'text', text: JSON.stringify(extra.authInfo) }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  };
}

before(async () => {
  idp = await startIdp();
  const app = express();
  app.use(express.json());
  http = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${http.address().port}`;

  const resourceServerUrl = new URL(`${base}/mcp`);
  const metadata = await (await fetch(`${idp.issuer}/.well-known/oauth-authorization-server`)).json();
  app.use(mcpAuthMetadataRouter({ oauthMetadata: metadata, resourceServerUrl, scopesSupported: ['tools:call'] }));

  const guard = (verifier) =>
    requireBearerAuth({ verifier, resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resourceServerUrl) });
  // The endpoint under test: tokens for https://mcp.test/ with tools:call, or the static token.
  const verifier = createTokenVerifier(
    {
      issuer: idp.issuer,
      audience: idp.resource,
      requiredScopes: ['tools:call'],
      typ: 'at+jwt',
      staticTokens: [{ token: STATIC_TOKEN, clientId: 'ci-bot', scopes: ['tools:call'] }],
    },
    { logger },
  );
  await verifier.verifier.waitReady(10);
  app.post('/mcp', guard(verifier), mcpHandler());
  // The same IdP, but an endpoint that is another resource: IdP tokens are not for it.
  app.post(
    '/other',
    guard(createTokenVerifier({ issuer: idp.issuer, audience: 'https://other.test/' }, { logger })),
    mcpHandler(),
  );
  // Endpoints whose core messages name internal detail (see `leaking`).
  const closed = `http://127.0.0.1:${await closedPort()}`;
  leaking = [
    {
      path: '/leak-audience',
      codes: ['audience_mismatch'],
      options: { issuer: idp.issuer, audience: 'https://expected-audience.test/' },
      secrets: ['https://expected-audience.test/', 'expected-audience', idp.resource],
    },
    {
      path: '/leak-issuer',
      codes: ['issuer_mismatch'],
      options: { issuer: 'https://expected-issuer.test', audience: idp.resource, jwksUri: `${idp.issuer}/jwks` },
      secrets: ['https://expected-issuer.test', 'expected-issuer', `${idp.issuer}/jwks`, idp.resource],
    },
    {
      path: '/leak-jwks',
      codes: ['jwks_unavailable'],
      options: {
        issuer: 'https://expected-issuer.test',
        audience: idp.resource,
        jwksUri: `${closed}/private-jwks-path`,
        fetchTimeout: 1,
      },
      secrets: [`${closed}/private-jwks-path`, 'private-jwks-path', 'expected-issuer', 'refused', idp.resource],
      server: true,
    },
    {
      // Until discovery has answered, a verification is jwks_unavailable naming the discovery
      // error; discovery_failed is what waitReady reports.
      path: '/leak-discovery',
      codes: ['jwks_unavailable', 'discovery_failed'],
      options: { issuer: `${closed}/private-realm`, audience: idp.resource, fetchTimeout: 1 },
      secrets: [`${closed}/private-realm`, 'private-realm', 'openid-configuration', 'refused', idp.resource],
      server: true,
    },
    {
      path: '/leak-expired',
      codes: ['token_expired'],
      options: { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [local.jwk] } },
      secrets: [ISSUER, AUDIENCE, 'idp.example.test'],
      token: () => local.mint(claims({ exp: now() - 120, iat: now() - 600 })),
      description: 'The access token expired',
    },
  ];
  for (const { path, options } of leaking) {
    app.post(path, guard(createTokenVerifier(options, { logger })), mcpHandler());
  }
});

const local = keyFor('ES256');
let leaking;
// The core's client descriptions, code → sentence.
const CLIENT = createRequire(import.meta.url)('../binding.js').clientDescriptions();

async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

after(() => {
  http?.close();
  idp?.stop();
});

async function connect(path, token) {
  const client = new Client({ name: 'jwtgate-test-client', version: '1.0.0' });
  const headers = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}${path}`), { requestInit: { headers } }));
  return client;
}

async function whoami(path, token) {
  const client = await connect(path, token);
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return JSON.parse(result.content[0].text);
  } finally {
    await client.close();
  }
}

/** A raw MCP initialize request, for the status code and headers. */
function initialize(path, token) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
}

function challenge(response) {
  const header = response.headers.get('www-authenticate');
  assert.ok(header, 'a WWW-Authenticate challenge');
  assert.match(header, /^Bearer /);
  assert.ok(
    header.includes(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`) ||
      header.includes(`resource_metadata="${base}/.well-known/oauth-protected-resource/other"`),
    header,
  );
  return header;
}

describe('MCP server with requireBearerAuth and jwtgate/mcp', () => {
  test('an IdP token calls the tool; authInfo carries the claims', async () => {
    const { access_token: token, expires_in: expiresIn } = await idp.tokenResponse({ scope: 'tools:call read' });
    const auth = await whoami('/mcp', token);
    assert.equal(auth.token, token);
    assert.equal(auth.clientId, 'client-rs256');
    assert.deepEqual(auth.scopes, ['tools:call', 'read']);
    assert.equal(typeof auth.expiresAt, 'number');
    assert.ok(Math.abs(auth.expiresAt - (Date.now() / 1000 + expiresIn)) < 30);
    assert.equal(auth.resource, 'https://mcp.test/');
    assert.equal(auth.extra.claims.iss, idp.issuer);
    assert.equal(auth.extra.claims.client_id, 'client-rs256');
    assert.equal(auth.extra.verified.alg, 'RS256');
    assert.equal(auth.extra.verified.typ, 'at+jwt');
  });

  test('every IdP signing algorithm is accepted', async () => {
    for (const alg of ['PS256', 'ES256', 'EdDSA']) {
      const auth = await whoami('/mcp', await idp.token({ alg, scope: 'tools:call' }));
      assert.equal(auth.extra.verified.alg, alg);
      assert.equal(auth.clientId, `client-${alg.toLowerCase()}`);
    }
  });

  test('a static bearer token → 200, the configured identity', async () => {
    const response = await initialize('/mcp', STATIC_TOKEN);
    assert.equal(response.status, 200);
    const auth = await whoami('/mcp', STATIC_TOKEN);
    assert.equal(auth.clientId, 'ci-bot');
    assert.deepEqual(auth.scopes, ['tools:call']);
    assert.ok(auth.expiresAt > Date.now() / 1000);
    assert.equal(auth.extra.verified.kind, 'static_token');
  });

  test('no token → 401 with WWW-Authenticate and resource_metadata', async () => {
    const response = await initialize('/mcp');
    assert.equal(response.status, 401);
    assert.match(challenge(response), /error="invalid_token"/);
    await assert.rejects(connect('/mcp'));
  });

  test('missing scope → 403 insufficient_scope', async () => {
    const token = await idp.token({ scope: 'read' });
    const response = await initialize('/mcp', token);
    assert.equal(response.status, 403);
    const header = challenge(response);
    assert.match(header, /error="insufficient_scope"/);
    assert.match(header, /error_description="The access token lacks a required scope"/);
    assert.deepEqual(await response.json(), {
      error: 'insufficient_scope',
      error_description: 'The access token lacks a required scope',
    });
    await assert.rejects(whoami('/mcp', token));
  });

  test('wrong audience → 401', async () => {
    const token = await idp.token({ scope: 'tools:call' });
    const response = await initialize('/other', token);
    assert.equal(response.status, 401);
    const header = challenge(response);
    assert.match(header, /error="invalid_token"/);
    assert.match(header, /error_description="The access token was not issued for this resource"/);
    assert.doesNotMatch(header, /other\.test/);
    await assert.rejects(whoami('/other', token));
  });

  test('tampered signature → 401', async () => {
    const token = await idp.token({ scope: 'tools:call' });
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    const response = await initialize('/mcp', tampered);
    assert.equal(response.status, 401);
    assert.match(challenge(response), /error_description="The access token signature is invalid"/);
    await assert.rejects(whoami('/mcp', tampered));
  });

  test('a garbage bearer value → 401', async () => {
    const response = await initialize('/mcp', 'garbage');
    assert.equal(response.status, 401);
    challenge(response);
  });
});

describe('what an unauthenticated client learns from a rejection', () => {
  test('a fixed description per code: no JWKS URL, expected issuer or audience in the 401 or 500', async () => {
    const token = await idp.token({ scope: 'tools:call' });
    for (const { path, codes, secrets, token: own, description, server } of leaking) {
      logged.length = 0;
      const response = await initialize(path, own ? own() : token);
      const body = await response.text();
      let header = '';
      if (server) {
        // Keys unavailable: the server is at fault, not the token. The SDK's ServerError: 500
        // server_error, no challenge (the core's status is 503, which the SDK cannot send).
        assert.equal(response.status, 500, path);
        assert.equal(response.headers.get('www-authenticate'), null, path);
        assert.equal(JSON.parse(body).error, 'server_error');
      } else {
        assert.equal(response.status, 401, path);
        header = challenge(response);
        assert.match(header, /error="invalid_token"/);
        assert.ok(header.includes(`error_description="${JSON.parse(body).error_description}"`), header);
      }
      const visible = `${header}\n${body}`;
      for (const secret of secrets) {
        assert.ok(!visible.includes(secret), `${path}: ${JSON.stringify(secret)} reached the client: ${visible}`);
      }
      const said = JSON.parse(body).error_description;
      // The core's fixed sentence for the code (ErrorCode::client_description), nothing else.
      assert.ok(codes.some((code) => said === CLIENT[code]), `${path}: ${said}`);
      assert.match(said, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/); // RFC 6750 §3 error_description
      if (description) assert.equal(said, description);
      // The detail went to the server's log instead: once, with the code.
      assert.equal(logged.length, 1, `${path}: ${JSON.stringify(logged)}`);
      assert.ok(codes.some((code) => logged[0].includes(`(${code})`)), logged[0]);
    }
    assert.equal(
      JSON.parse(await (await initialize('/leak-jwks', token)).text()).error_description,
      'The server cannot verify access tokens right now',
    );
  });

  test('the SDK error keeps the JwtGateError with the detail as its cause', async () => {
    const options = leaking.find((l) => l.path === '/leak-audience').options;
    const tv = createTokenVerifier(options, { logger });
    await tv.verifier.waitReady(10);
    const e = await tv.verifyAccessToken(await idp.token({ scope: 'tools:call' })).catch((x) => x);
    assert.ok(e instanceof InvalidTokenError);
    assert.equal(e.message, 'The access token was not issued for this resource');
    assert.ok(e.cause instanceof JwtGateError);
    assert.equal(e.cause.code, 'audience_mismatch');
    assert.match(e.cause.message, /expected-audience/);
  });

  test('the logger option is checked; console by default', () => {
    for (const bad of [null, 42, { logger: {} }, { logger: null }, { log: console }]) {
      const e = (() => {
        try {
          createTokenVerifier({ staticTokens: [{ token: 't', clientId: 'c' }] }, bad);
        } catch (x) {
          return x;
        }
        return undefined;
      })();
      assert.ok(e instanceof JwtGateError && e.code === 'config_invalid', `${JSON.stringify(bad)}: ${e}`);
    }
    assert.ok(createTokenVerifier({ staticTokens: [{ token: 't', clientId: 'c' }] }).verifier instanceof Verifier);
  });
});

describe('createTokenVerifier', () => {
  test('throws the SDK error classes (ESM), with the JwtGateError as cause', async () => {
    const tv = createTokenVerifier({ issuer: idp.issuer, audience: idp.resource, requiredScopes: ['admin'] }, { logger });
    await tv.verifier.waitReady(10);
    const token = await idp.token({ scope: 'tools:call' });
    const scope = await tv.verifyAccessToken(token).catch((e) => e);
    assert.ok(scope instanceof InsufficientScopeError);
    assert.ok(scope.cause instanceof JwtGateError);
    assert.equal(scope.cause.code, 'insufficient_scope');
    const invalid = await tv.verifyAccessToken('a.b.c').catch((e) => e);
    assert.ok(invalid instanceof InvalidTokenError);
    assert.equal(invalid.cause.code, 'token_malformed');
  });

  test('accepts an existing Verifier', async () => {
    const verifier = new Verifier({ issuer: idp.issuer, audience: idp.resource });
    const tv = createTokenVerifier(verifier);
    assert.equal(tv.verifier, verifier);
    await verifier.waitReady(10);
    const auth = await tv.verifyAccessToken(await idp.token({ alg: 'ES256' }));
    assert.equal(auth.clientId, 'client-es256');
    assert.ok(auth.resource instanceof URL);
  });

  test('resource is the core’s matched audience, clientId the core’s client id', async () => {
    const statics = createTokenVerifier(
      {
        staticTokens: [
          { token: 'static-with-resource', clientId: 'bot', audience: 'https://mcp.test/' },
          { token: 'static-without', clientId: 'other' },
        ],
      },
      { logger },
    );
    const withResource = await statics.verifyAccessToken('static-with-resource');
    assert.ok(withResource.resource instanceof URL);
    assert.equal(withResource.resource.href, 'https://mcp.test/');
    assert.equal(withResource.clientId, 'bot');
    assert.equal((await statics.verifyAccessToken('static-without')).resource, undefined);
    // Several configured audiences, a token with several: the one the core matched, also
    // through a shared Verifier (the adapter does not see its options).
    const token = local.mint(claims({ aud: ['https://unrelated.test/', AUDIENCE], client_id: undefined, azp: 'spa' }));
    const shared = new Verifier({ issuer: ISSUER, audience: ['https://first.test/', AUDIENCE], jwks: { keys: [local.jwk] } });
    const auth = await createTokenVerifier(shared, { logger }).verifyAccessToken(token);
    assert.equal(auth.resource.href, AUDIENCE);
    assert.equal(auth.clientId, 'spa');
    // No audience checked: no resource.
    const open = createTokenVerifier({ issuer: ISSUER, insecureSkipAudienceCheck: true, jwks: { keys: [local.jwk] } }, { logger });
    assert.equal((await open.verifyAccessToken(token)).resource, undefined);
  });

  test('the CommonJS entry throws the CommonJS SDK classes', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const cjs = require('../mcp.js');
    const errors = require('@modelcontextprotocol/sdk/server/auth/errors.js');
    const tv = cjs.createTokenVerifier({ staticTokens: [{ token: STATIC_TOKEN, clientId: 'ci-bot' }] }, { logger });
    const e = await tv.verifyAccessToken('nope').catch((x) => x);
    assert.ok(e instanceof errors.InvalidTokenError);
    assert.ok(!(e instanceof InvalidTokenError));
    assert.equal((await tv.verifyAccessToken(STATIC_TOKEN)).clientId, 'ci-bot');
  });
});

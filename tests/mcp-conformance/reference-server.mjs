// The reference MCP server of the conformance suite's self-test: the Node package of this
// repository (bindings-node: jwtgate's Verifier) guarding MCP endpoints of
// @modelcontextprotocol/sdk 1.x (StreamableHTTPServerTransport, one `whoami` tool), on 127.0.0.1.
//
// One process serves several endpoints, each its own protected resource (resource identifier =
// its URL, metadata at its path-aware RFC 9728 URL):
//   /mcp                  conforming; stateless, answers as an event stream
//   /json/mcp             conforming; stateful (Mcp-Session-Id), answers as JSON
//   /bug/<name>/mcp       non-conforming on purpose, one defect each (BUGS below): the suite must
//                         fail on them, naming the check
//
// Metadata documents and challenges come from the core (the binding's ProtectedResource); the
// credential is checked by the core's request path (`verifier.verifyRequest`, DPoP included) when
// the binding has it, else by `verifier.verify` of the Bearer token (no DPoP).
//
//   node reference-server.mjs --issuer <issuer> --scopes "<scopes>" [--dpop off|allowed|required] [--port 0]
// prints one JSON line once listening: {"base": "http://127.0.0.1:PORT", "api": "request"|"verify",
// "endpoints": {"<name>": "<url>"}}.

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const BINDINGS_NODE = fileURLToPath(new URL('../../bindings-node/', import.meta.url));
const requireFromBinding = createRequire(`${BINDINGS_NODE}package.json`);
const { ProtectedResource, Verifier } = requireFromBinding('./index.js');
const { McpServer } = requireFromBinding('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = requireFromBinding('@modelcontextprotocol/sdk/server/streamableHttp.js');

function option(name, fallback) {
  const flag = `--${name}=`;
  const args = process.argv.slice(2);
  const inline = args.find((a) => a.startsWith(flag));
  if (inline !== undefined) return inline.slice(flag.length);
  const at = args.indexOf(`--${name}`);
  return at !== -1 && args[at + 1] !== undefined ? args[at + 1] : fallback;
}

const ISSUER = option('issuer');
const SCOPES = option('scopes', '').split(/\s+/).filter(Boolean);
const DPOP = option('dpop', 'off');
const PORT = Number(option('port', '0'));
if (!ISSUER) {
  console.error('usage: node reference-server.mjs --issuer <issuer> --scopes "<scopes>" [--dpop off|allowed|required] [--port 0]');
  process.exit(2);
}

/** The defects of the non-conforming endpoints; each breaks one rule the suite checks. */
const BUGS = [
  'no-resource-metadata', //            challenges without resource_metadata (RFC 9728 §5.1)
  'error-without-credential', //        error="invalid_token" when no credential was sent (RFC 6750 §3.1)
  'missing-scope-as-401', //            401 invalid_token instead of 403 insufficient_scope
  'incremental-scope', //               403 naming one scope, not every required one (MCP)
  'accepts-other-audience', //          accepts tokens for another resource (RFC 8707, MCP)
  'unescaped-challenge', //             a quoted-string with a bare `"` (RFC 9110 §5.6.4)
  'offline-access-in-metadata', //      scopes_supported lists offline_access (MCP)
  'accepts-query-token', //             reads the token from the query string (MCP, RFC 6750 §2.3)
  'bearer-methods-body', //             bearer_methods_supported claims ["header", "body"]
];
// With --dpop allowed: the Bearer challenge only, no `DPoP algs=…` one (RFC 9449 §7.1).
if (DPOP === 'allowed') BUGS.push('no-dpop-challenge');

// The audience of the suite's "another audience" token (check.mjs OTHER_AUDIENCE).
const OTHER_AUDIENCE = 'http://127.0.0.1:9/jwtgate-conformance/another-resource';

/** RFC 9110 §5.6.4 quoted-string (for the broken endpoints' edits); `escape: false` breaks it. */
function quoted(value, escape = true) {
  return escape ? `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${value}"`;
}

/** One protected MCP endpoint. */
function endpoint(base, path, { bug, stateful = false, json = false } = {}) {
  const resource = `${base}${path}`;
  const audience = bug === 'accepts-other-audience' ? [resource, OTHER_AUDIENCE] : resource;
  const options = { issuer: ISSUER, audience, requiredScopes: SCOPES };
  if (DPOP !== 'off') options.dpop = DPOP;
  const verifier = new Verifier(options);
  // The request path of the core (DPoP included) when the binding has it; before that, verify()
  // of the Bearer token and the core's ProtectedResource (no DPoP).
  const requestApi = typeof verifier.protectedResource === 'function' && typeof verifier.verifyRequest === 'function';
  if (!requestApi && DPOP !== 'off') throw new Error('DPoP needs the binding\'s verifyRequest / protectedResource (not in this build)');
  const resourceOptions = { authorizationServers: [ISSUER], scopesSupported: SCOPES };
  const protectedResource = requestApi
    ? verifier.protectedResource(resource, resourceOptions)
    : new ProtectedResource(resource, resourceOptions);

  function metadata() {
    const doc = protectedResource.metadata();
    if (bug === 'offline-access-in-metadata') doc.scopes_supported = [...doc.scopes_supported, 'offline_access'];
    if (bug === 'bearer-methods-body') doc.bearer_methods_supported = ['header', 'body'];
    return doc;
  }

  function challengeFor(error) {
    const c = protectedResource.challenge(error ?? undefined, SCOPES);
    let { status, wwwAuthenticate } = c;
    const noCredential = !error || error.code === 'credential_missing';
    if (wwwAuthenticate !== undefined && wwwAuthenticate !== null) {
      if (bug === 'no-resource-metadata') wwwAuthenticate = wwwAuthenticate.replace(/resource_metadata="[^"]*"(, )?/g, '').replace(/,\s*$/, '');
      if (bug === 'error-without-credential' && noCredential) {
        wwwAuthenticate = wwwAuthenticate.replace(/^Bearer /, 'Bearer error="invalid_token", error_description="Missing Authorization header", ');
      }
      if (bug === 'missing-scope-as-401' && status === 403) {
        status = 401;
        wwwAuthenticate = wwwAuthenticate.replace('insufficient_scope', 'invalid_token');
      }
      if (bug === 'incremental-scope' && status === 403) {
        wwwAuthenticate = wwwAuthenticate.replace(/scope="[^"]*"/, `scope=${quoted(SCOPES[SCOPES.length - 1])}`);
      }
      if (bug === 'no-dpop-challenge') wwwAuthenticate = wwwAuthenticate.replace(/,\s*DPoP .*$/, '');
      if (bug === 'unescaped-challenge' && !noCredential) {
        wwwAuthenticate = wwwAuthenticate.replace(/error_description="[^"]*"/, `error_description=${quoted('The "access token" is invalid', false)}`);
      }
    }
    return { ...c, status, wwwAuthenticate };
  }

  async function authenticate(req, url) {
    let authorization = req.headers.authorization;
    if (bug === 'accepts-query-token' && !authorization && url.searchParams.has('access_token')) {
      authorization = `Bearer ${url.searchParams.get('access_token')}`;
    }
    if (requestApi) {
      const dpop = req.headersDistinct.dpop ?? [];
      return verifier.verifyRequest({ method: req.method, url: url.href, authorization, dpop });
    }
    const match = /^Bearer +(\S+)$/i.exec(authorization ?? '');
    if (!match) return Promise.reject(Object.assign(new Error('no credential'), { noCredential: true }));
    return verifier.verify(match[1]);
  }

  function mcpServer() {
    const server = new McpServer({ name: 'jwtgate-conformance-reference', version: '1.0.0' });
    server.registerTool('whoami', { description: 'the verified client id and scopes' }, async (extra) => ({
      content: [{ type: 'text', text: JSON.stringify({ clientId: extra.authInfo?.clientId, scopes: extra.authInfo?.scopes }) }],
    }));
    return server;
  }
  const sessions = new Map();

  async function handle(req, res, url) {
    if (req.method === 'GET' && url.pathname === protectedResource.metadataPath) {
      const text = JSON.stringify(metadata());
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    let claims;
    try {
      claims = await authenticate(req, url);
    } catch (error) {
      const c = challengeFor(error.noCredential ? undefined : error);
      const headers = { 'content-type': 'application/json' };
      if (c.wwwAuthenticate) headers['www-authenticate'] = c.wwwAuthenticate;
      if (c.dpopNonce) headers['dpop-nonce'] = c.dpopNonce;
      res.writeHead(c.status, headers);
      res.end(JSON.stringify({ error: c.status === 403 ? 'insufficient_scope' : 'invalid_token' }));
      return;
    }
    req.auth = { token: '', clientId: claims.clientId ?? '', scopes: [...(claims.scopes ?? [])], expiresAt: claims.exp };

    if (!stateful) {
      const server = mcpServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: json });
      res.on('close', () => {
        transport.close();
        server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res);
      return;
    }
    const id = req.headers['mcp-session-id'];
    let transport = id ? sessions.get(id) : undefined;
    if (!transport) {
      if (id) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'unknown session' }, id: null }));
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: json,
        onsessioninitialized: (sid) => sessions.set(sid, transport),
      });
      await mcpServer().connect(transport);
    }
    await transport.handleRequest(req, res);
  }

  return { path, resource, metadataPath: protectedResource.metadataPath, verifier, handle, requestApi };
}

const server = http.createServer();
server.listen(PORT, '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const endpoints = [
    ['conforming', endpoint(base, '/mcp')],
    ['conforming-stateful-json', endpoint(base, '/json/mcp', { stateful: true, json: true })],
    ...BUGS.map((bug) => [bug, endpoint(base, `/bug/${bug}/mcp`, { bug })]),
  ];
  const byPath = new Map();
  for (const [, e] of endpoints) {
    byPath.set(e.path, e);
    byPath.set(e.metadataPath, e);
  }
  server.on('request', (req, res) => {
    const url = new URL(req.url, base);
    const e = byPath.get(url.pathname);
    if (!e) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not_found' }));
      return;
    }
    e.handle(req, res, url).catch((error) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'server_error' }));
    });
  });
  try {
    await Promise.all(endpoints.map(([, e]) => e.verifier.waitReady(20)));
  } catch (error) {
    console.error(`the verifiers did not get the IdP's keys: ${error.message}`);
    process.exit(1);
  }
  process.stdout.write(
    `${JSON.stringify({ base, api: endpoints[0][1].requestApi ? 'request' : 'verify', endpoints: Object.fromEntries(endpoints.map(([n, e]) => [n, e.resource])) })}\n`,
  );
});

if (process.env.EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));

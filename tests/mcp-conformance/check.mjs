#!/usr/bin/env node
// The MCP resource-server conformance suite: plays an MCP client (Streamable HTTP) against a
// running MCP server and checks, from the outside, what the MCP authorization specification
// (revision 2026-07-28), RFC 6750, RFC 9728 and RFC 9449 ask of a resource server. Tokens come
// from the repository's test identity provider (tests/idp/server.mjs); see README.md here for
// each check and the sentence it comes from.
//
//   node tests/mcp-conformance/check.mjs --server <MCP endpoint URL> --issuer <issuer URL> \
//        --scopes "<space-separated scopes the server requires>" [--resource <resource id; default = --server>] \
//        [--dpop off|allowed|required] [--admin <IdP admin origin; default = issuer origin>]
//
// Prints one line per check (`ok N - name`, or `not ok N - name: expected …, got …`), then the
// plan `1..N`. Exit status: 0 when every check passed, 1 when one failed or the set-up (IdP,
// server) did not work (`Bail out! …`), 2 for a usage error. Needs `npm ci --prefix
// tests/mcp-conformance` (oauth4webapi).

import { createHash, createHmac, generateKeyPairSync, KeyObject, randomBytes, sign as cryptoSign } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

import { challengesOf, parseWwwAuthenticate } from './lib/www-authenticate.mjs';

// The client library for tokens and DPoP proofs, pinned in package-lock.json here.
let oauth;
try {
  oauth = await import('oauth4webapi');
} catch (error) {
  process.stderr.write(`check.mjs: cannot load oauth4webapi (${error.code ?? error.message}): run \`npm ci --prefix tests/mcp-conformance\`\n`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Command line

const USAGE = `usage: node check.mjs --server <MCP endpoint URL> --issuer <issuer URL> --scopes "<scopes>"
                      [--resource <resource id; default = --server>] [--dpop off|allowed|required]
                      [--admin <IdP admin origin; default = the issuer's origin>]`;

function usageError(message) {
  process.stderr.write(`check.mjs: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const known = new Set(['server', 'issuer', 'scopes', 'resource', 'dpop', 'admin']);
  const out = {};
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (!arg.startsWith('--')) usageError(`unexpected argument ${JSON.stringify(arg)}`);
    let name = arg.slice(2);
    let value;
    const eq = name.indexOf('=');
    if (eq !== -1) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = argv[++k];
      if (value === undefined) usageError(`--${name} needs a value`);
    }
    if (!known.has(name)) usageError(`unknown option --${name}`);
    out[name] = value;
  }
  for (const name of ['server', 'issuer', 'scopes']) {
    if (out[name] === undefined) usageError(`--${name} is required`);
  }
  out.resource ??= out.server;
  out.dpop ??= 'off';
  if (!['off', 'allowed', 'required'].includes(out.dpop)) usageError(`--dpop must be off, allowed or required, not ${JSON.stringify(out.dpop)}`);
  for (const name of ['server', 'issuer', 'resource']) {
    if (!URL.canParse(out[name])) usageError(`--${name} is not a URL: ${JSON.stringify(out[name])}`);
  }
  out.admin ??= new URL(out.issuer).origin;
  if (!URL.canParse(out.admin)) usageError(`--admin is not a URL: ${JSON.stringify(out.admin)}`);
  out.admin = out.admin.replace(/\/+$/, '');
  out.scopeList = out.scopes.split(/\s+/).filter(Boolean);
  return out;
}

// A reader that stops early (`| head`) is not a failure of the server.
process.stdout.on('error', (error) => process.exit(error.code === 'EPIPE' ? (failures ? 1 : 0) : 1));

const opts = parseArgs(process.argv.slice(2));
const SERVER = opts.server;
const ISSUER = opts.issuer;
const RESOURCE = opts.resource;
const SCOPES = opts.scopeList;
const DPOP_MODE = opts.dpop;

// The newest protocol revision with the initialize handshake; a server that does not know it
// answers with one it supports (MCP lifecycle: version negotiation), which is then used.
const PROTOCOL_VERSION = '2025-11-25';
const REQUEST_TIMEOUT_MS = 10_000;
const CLIENT_INFO = { name: 'jwtgate-mcp-conformance', version: '1.0.0' };

// ---------------------------------------------------------------------------------------------
// Output

class Fail extends Error {}
class SetupError extends Error {}

let counter = 0;
let failures = 0;

const oneLine = (text) => String(text).replace(/\s*\n\s*/g, ' ').trim();
const snippet = (text, max = 300) => {
  const s = oneLine(text ?? '');
  return s.length > max ? `${s.slice(0, max)}…` : s;
};

async function check(name, fn) {
  counter += 1;
  try {
    await fn();
    console.log(`ok ${counter} - ${name}`);
    return true;
  } catch (error) {
    failures += 1;
    const why = error instanceof Fail ? error.message : `unexpected error: ${error?.stack ?? error}`;
    console.log(`not ok ${counter} - ${name}: ${oneLine(why)}`);
    return false;
  }
}

function skip(name, why) {
  counter += 1;
  console.log(`ok ${counter} - ${name} # SKIP ${why}`);
}

function bailOut(message) {
  console.log(`Bail out! ${oneLine(message)}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// HTTP (node:http, so that a request can carry one header field on several lines and the
// answer's header lines are seen as sent)

/**
 * One request. `headers`: name → value, or an array of values (one header line each).
 * Resolves { status, headers (lower-cased, as node joins them), lines: [[name, value]], body }.
 * For an event stream, resolves as soon as the JSON-RPC response `rpcId` has arrived.
 */
function request(url, { method = 'POST', headers = {}, body, rpcId } = {}) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, { method, agent: false }, (res) => {
      const chunks = [];
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const lines = [];
        for (let k = 0; k < res.rawHeaders.length; k += 2) lines.push([res.rawHeaders[k], res.rawHeaders[k + 1]]);
        // RFC 9449 §9: a server nonce, for the proofs that follow.
        if (target.origin === new URL(SERVER).origin) rememberNonce(res);
        resolve({ status: res.statusCode, headers: res.headers, lines, body: Buffer.concat(chunks).toString('utf8') });
      };
      const isStream = /^text\/event-stream/i.test(res.headers['content-type'] ?? '');
      res.on('data', (chunk) => {
        chunks.push(chunk);
        if (isStream && rpcId !== undefined) {
          const text = Buffer.concat(chunks).toString('utf8');
          if (sseMessages(text).some((m) => m?.id === rpcId && ('result' in m || 'error' in m))) {
            finish();
            res.destroy();
          }
        }
      });
      res.on('end', finish);
      res.on('error', (error) => (done ? undefined : reject(error)));
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`${method} ${url}: no complete answer within ${REQUEST_TIMEOUT_MS} ms`)),
      REQUEST_TIMEOUT_MS,
    );
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) req.setHeader(name, value);
    }
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

/** The JSON-RPC messages of an event stream (text/event-stream `data:` fields). */
function sseMessages(text) {
  const out = [];
  for (const event of text.replace(/\r\n?/g, '\n').split('\n\n')) {
    const data = event
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    if (!data) continue;
    try {
      out.push(JSON.parse(data));
    } catch {
      // an event that is not JSON is not ours
    }
  }
  return out;
}

/** The JSON-RPC response `id` of a Streamable HTTP answer (JSON or an event stream). */
function rpcResponse(res, id, what) {
  const type = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  let messages;
  if (type === 'application/json') {
    let value;
    try {
      value = JSON.parse(res.body);
    } catch (error) {
      throw new Fail(`${what}: expected a JSON body, got one that does not parse (${error.message}): ${snippet(res.body)}`);
    }
    messages = Array.isArray(value) ? value : [value];
  } else if (type === 'text/event-stream') {
    messages = sseMessages(res.body);
  } else {
    throw new Fail(`${what}: expected application/json or text/event-stream, got content-type ${JSON.stringify(type)}: ${snippet(res.body)}`);
  }
  const message = messages.find((m) => m && m.id === id && ('result' in m || 'error' in m));
  if (!message) throw new Fail(`${what}: expected the JSON-RPC response with id ${id}, got ${snippet(res.body)}`);
  if (message.error) {
    throw new Fail(`${what}: expected a result, got JSON-RPC error ${message.error.code}: ${snippet(message.error.message)}`);
  }
  return message.result;
}

const headerValues = (res, name) => res.lines.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
const shownChallenge = (res) => {
  const values = headerValues(res, 'www-authenticate');
  return values.length ? `WWW-Authenticate ${values.map((v) => JSON.stringify(v)).join(' + ')}` : 'no WWW-Authenticate';
};
const answer = (res) => `HTTP ${res.status}, ${shownChallenge(res)}${res.status >= 200 && res.status < 300 ? '' : `, body ${JSON.stringify(snippet(res.body, 160))}`}`;

// ---------------------------------------------------------------------------------------------
// JOSE: base64url, signing with node:crypto, RFC 7638 thumbprints

const b64u = (value) => Buffer.from(value).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const randomId = () => randomBytes(16).toString('base64url');
const decodeJwt = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
const decodeHeader = (token) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));

// JWA (RFC 7518 §3) with node:crypto; EdDSA per RFC 8037.
const SIGNING = {
  RS256: ['sha256', {}, ['rsa', { modulusLength: 2048 }]],
  RS384: ['sha384', {}, ['rsa', { modulusLength: 2048 }]],
  RS512: ['sha512', {}, ['rsa', { modulusLength: 2048 }]],
  PS256: ['sha256', { padding: 6, saltLength: 32 }, ['rsa', { modulusLength: 2048 }]],
  PS384: ['sha384', { padding: 6, saltLength: 48 }, ['rsa', { modulusLength: 2048 }]],
  PS512: ['sha512', { padding: 6, saltLength: 64 }, ['rsa', { modulusLength: 2048 }]],
  ES256: ['sha256', { dsaEncoding: 'ieee-p1363' }, ['ec', { namedCurve: 'P-256' }]],
  ES384: ['sha384', { dsaEncoding: 'ieee-p1363' }, ['ec', { namedCurve: 'P-384' }]],
  EdDSA: [null, {}, ['ed25519', {}]],
};

/** A compact JWS; `signature(input)` returns the signature bytes ('' for none). */
function compactJws(header, payload, signature) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  return `${input}.${b64u(signature(Buffer.from(input)))}`;
}

const signerFor = (alg, privateKey) => (data) => {
  const [hash, options] = SIGNING[alg];
  return cryptoSign(hash, data, { key: privateKey, ...options });
};

/** RFC 7638 JWK SHA-256 thumbprint (required members in lexicographic order). */
function thumbprint(jwk) {
  const members = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] }[jwk.kty];
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/** RFC 9449 §4.2: ath = base64url(SHA-256(ASCII(access token))). */
const accessTokenHash = (token) => createHash('sha256').update(token, 'ascii').digest('base64url');

/** RFC 9449 §4.2: htu = the request URI without query and fragment. */
function htuOf(url) {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

// ---------------------------------------------------------------------------------------------
// The identity provider: real tokens through oauth4webapi (client credentials, RFC 8707
// resource, DPoP), negative tokens through its admin endpoint.

const idp = {};

async function adminGet(path) {
  const res = await request(`${opts.admin}${path}`, { method: 'GET' });
  if (res.status !== 200) throw new SetupError(`GET ${opts.admin}${path}: HTTP ${res.status} ${snippet(res.body)}`);
  return JSON.parse(res.body);
}

/** A JWS of `claims` signed by the IdP's current (trusted) key of `alg`. */
async function adminSign(claims, header = {}) {
  const res = await request(`${opts.admin}/__admin/sign`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ alg: idp.alg, claims, header }),
  });
  if (res.status !== 200) throw new SetupError(`POST ${opts.admin}/__admin/sign: HTTP ${res.status} ${snippet(res.body)}`);
  return JSON.parse(res.body).token;
}

/** An access token from the IdP (client_credentials; RFC 8707 `resource`; `scope`; DPoP-bound when `bind`). */
async function idpToken({ resource = RESOURCE, scope = SCOPES.join(' '), bind = false } = {}) {
  const parameters = { resource };
  if (scope) parameters.scope = scope;
  const options = { [oauth.allowInsecureRequests]: true };
  if (bind) options.DPoP = dpop.handle;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await oauth.clientCredentialsGrantRequest(idp.as, idp.client, idp.auth, parameters, options);
      return (await oauth.processClientCredentialsResponse(idp.as, idp.client, response)).access_token;
    } catch (error) {
      if (bind && attempt === 0 && oauth.isDPoPNonceError(error)) continue;
      const why = error.error ? `${error.error}: ${error.error_description ?? ''}` : error.message;
      throw new SetupError(`the IdP issued no token for resource ${JSON.stringify(resource)}, scope ${JSON.stringify(scope)}: ${why}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// DPoP (RFC 9449): the client's key (oauth4webapi makes it and the IdP binds tokens to it), proofs
// made here so that each can be wrong in exactly one way.

const dpop = { nonce: undefined };

function rememberNonce(res) {
  const nonce = res.headers['dpop-nonce'];
  if (typeof nonce === 'string' && nonce) dpop.nonce = nonce;
}

/**
 * A DPoP proof for `token` on POST SERVER, valid unless told otherwise: `header` / `claims`
 * override (undefined removes a member), `key` / `jwk` sign and name another key, `sign` replaces
 * the signature.
 */
function makeProof(token, { header = {}, claims = {}, key = dpop.privateKey, jwk = dpop.publicJwk, alg = 'ES256', sign } = {}) {
  const h = { typ: 'dpop+jwt', alg, jwk, ...header };
  const p = { jti: randomId(), htm: 'POST', htu: htuOf(SERVER), iat: now(), ath: accessTokenHash(token), nonce: dpop.nonce, ...claims };
  for (const o of [h, p]) for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return compactJws(h, p, sign ?? signerFor(alg, key));
}

// ---------------------------------------------------------------------------------------------
// MCP over Streamable HTTP

const BASE_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
let rpcIds = 0;

const initializeMessage = (id) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
});

/** POST an initialize request with `headers` (the credential under test) to `url`. */
function postInitialize(headers, url = SERVER) {
  const id = ++rpcIds;
  return request(url, { headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(initializeMessage(id)), rpcId: id });
}

/** Fills a tool's required arguments from its input schema with plain values. */
function argumentsFor(schema) {
  const args = {};
  for (const name of schema?.required ?? []) {
    const prop = schema.properties?.[name] ?? {};
    if (Array.isArray(prop.enum) && prop.enum.length) args[name] = prop.enum[0];
    else if (prop.default !== undefined) args[name] = prop.default;
    else args[name] = { string: 'conformance', number: 1, integer: 1, boolean: true, array: [], object: {} }[[prop.type].flat()[0]] ?? 'conformance';
  }
  return args;
}

/**
 * An MCP client session: initialize (+ notifications/initialized), tools/list, tools/call.
 * `send(headers, body, id)` delivers one POST with the credential and returns the answer.
 */
class McpSession {
  constructor(send) {
    this.send = send;
    this.version = undefined;
    this.sessionId = undefined;
  }

  headers() {
    const h = { ...BASE_HEADERS };
    if (this.version) h['mcp-protocol-version'] = this.version;
    if (this.sessionId) h['mcp-session-id'] = this.sessionId;
    return h;
  }

  async rpc(method, params) {
    const id = ++rpcIds;
    const res = await this.send(this.headers(), JSON.stringify({ jsonrpc: '2.0', id, method, params }), id);
    if (res.status !== 200) throw new Fail(`${method}: expected HTTP 200, got ${answer(res)}`);
    return { res, result: rpcResponse(res, id, method) };
  }

  async initialize() {
    const { res, result } = await this.rpc('initialize', initializeMessage(0).params);
    if (typeof result?.protocolVersion !== 'string') throw new Fail(`initialize: expected a protocolVersion in the result, got ${snippet(JSON.stringify(result))}`);
    this.version = result.protocolVersion;
    this.sessionId = res.headers['mcp-session-id'];
    const note = await this.send(this.headers(), JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    if (note.status !== 202 && note.status !== 200 && note.status !== 204) {
      throw new Fail(`notifications/initialized: expected HTTP 202, got ${answer(note)}`);
    }
    return result;
  }

  async callATool() {
    const { result: list } = await this.rpc('tools/list', {});
    const tools = list?.tools;
    if (!Array.isArray(tools) || tools.length === 0) throw new Fail(`tools/list: expected at least one tool, got ${snippet(JSON.stringify(list))}`);
    const tool = tools.find((t) => !(t.inputSchema?.required ?? []).length) ?? tools[0];
    const { result } = await this.rpc('tools/call', { name: tool.name, arguments: argumentsFor(tool.inputSchema) });
    if (result?.isError === true) throw new Fail(`tools/call ${tool.name}: expected a result, got isError: ${snippet(JSON.stringify(result.content))}`);
    return tool.name;
  }
}

const sendPlain = (credential) => (headers, body, rpcId) => request(SERVER, { headers: { ...headers, ...credential() }, body, rpcId });

/** Sends through oauth4webapi's protectedResourceRequest (its DPoP handle makes the proofs). */
const sendWithOauth4webapi = (token) => async (headers, body) => {
  for (let attempt = 0; ; attempt++) {
    let response;
    try {
      response = await oauth.protectedResourceRequest(token, 'POST', new URL(SERVER), new Headers(headers), body, {
        DPoP: dpop.handle,
        [oauth.allowInsecureRequests]: true,
      });
    } catch (error) {
      if (attempt === 0 && oauth.isDPoPNonceError(error)) continue;
      if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error;
      response = error.response;
    }
    const text = await response.text();
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      lines: [...response.headers],
      body: text,
    };
  }
};

// ---------------------------------------------------------------------------------------------
// What the answers must look like

/** RFC 9728 §3.1: the well-known suffix goes between the host and the resource's path. */
function metadataUrls(resource) {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname;
  const base = `${u.origin}/.well-known/oauth-protected-resource`;
  // As RFC 9728 §3.1 builds it, and with the path's trailing slash dropped (both seen in the wild).
  return [...new Set([`${base}${path}`, `${base}${path.replace(/\/+$/, '')}`])];
}
const EXPECTED_METADATA_URLS = metadataUrls(RESOURCE);

function challengesOfAnswer(res) {
  const values = headerValues(res, 'www-authenticate');
  if (values.length === 0) throw new Fail(`expected a WWW-Authenticate challenge, got ${answer(res)}`);
  try {
    return parseWwwAuthenticate(values);
  } catch (error) {
    throw new Fail(`expected a WWW-Authenticate value that parses as RFC 9110 challenges (quoted-strings escaped, RFC 9110 §5.6.4), got: ${error.message}`);
  }
}

/** The challenge that speaks for the resource: Bearer, or DPoP when there is no Bearer one. */
function primaryChallenge(challenges, res) {
  const c = challengesOf(challenges, 'Bearer')[0] ?? challengesOf(challenges, 'DPoP')[0];
  if (!c) throw new Fail(`expected a Bearer (or DPoP) challenge, got ${shownChallenge(res)}`);
  return c;
}

function expectStatus(res, status) {
  const statuses = [status].flat();
  if (!statuses.includes(res.status)) throw new Fail(`expected HTTP ${statuses.join(' or ')}, got ${answer(res)}`);
}

function expectMetadataParam(challenge, res) {
  const value = challenge.params.resource_metadata;
  if (value === undefined) throw new Fail(`expected resource_metadata in the ${challenge.scheme} challenge (RFC 9728 §5.1), got ${shownChallenge(res)}`);
  const same = (a, b) => URL.canParse(a) && new URL(a).href === new URL(b).href;
  if (!EXPECTED_METADATA_URLS.some((u) => same(value, u))) {
    throw new Fail(`expected resource_metadata="${EXPECTED_METADATA_URLS[0]}" (RFC 9728 §3.1 for resource ${RESOURCE}), got ${JSON.stringify(value)}`);
  }
}

function expectScopeParam(challenge, res) {
  const value = challenge.params.scope;
  if (SCOPES.length === 0) return;
  if (value === undefined) throw new Fail(`expected scope="${SCOPES.join(' ')}" in the ${challenge.scheme} challenge, got ${shownChallenge(res)}`);
  const have = new Set(value.split(' ').filter(Boolean));
  const missing = SCOPES.filter((s) => !have.has(s));
  if (missing.length) throw new Fail(`expected scope= to hold every required scope (${SCOPES.join(' ')}), it lacks ${missing.join(' ')}: ${shownChallenge(res)}`);
  if (have.has('offline_access') && !SCOPES.includes('offline_access')) throw new Fail(`expected no offline_access in scope= (MCP: servers SHOULD NOT), got ${shownChallenge(res)}`);
}

function expectError(challenge, errors, res) {
  const allowed = [errors].flat();
  const got = challenge.params.error;
  if (!allowed.includes(got)) {
    const want = allowed.map((e) => (e === undefined ? 'no error' : `error="${e}"`)).join(' or ');
    throw new Fail(`expected ${want} in the ${challenge.scheme} challenge, got ${got === undefined ? 'none' : `error="${got}"`}: ${shownChallenge(res)}`);
  }
}

/** RFC 9449 §7.1: a DPoP challenge with algs (the proof algorithms the server accepts). */
function expectDpopChallenge(challenges, res, errors) {
  const c = challengesOf(challenges, 'DPoP')[0];
  if (!c) throw new Fail(`expected a DPoP challenge (RFC 9449 §7.1), got ${shownChallenge(res)}`);
  const algs = (c.params.algs ?? '').split(' ').filter(Boolean);
  if (algs.length === 0) throw new Fail(`expected algs="…" in the DPoP challenge (RFC 9449 §7.1), got ${shownChallenge(res)}`);
  const bad = algs.filter((a) => a === 'none' || /^HS/.test(a));
  if (bad.length) throw new Fail(`expected only asymmetric algorithms in DPoP algs= (RFC 9449 §4.3), got ${bad.join(' ')}: ${shownChallenge(res)}`);
  if (errors !== null) expectError(c, errors, res);
  return c;
}

/** 401 invalid_token with resource_metadata (RFC 6750 §3.1, MCP: invalid or expired tokens → 401). */
function expectInvalidToken(res) {
  expectStatus(res, 401);
  const challenges = challengesOfAnswer(res);
  const c = primaryChallenge(challenges, res);
  expectError(c, 'invalid_token', res);
  expectMetadataParam(c, res);
}

/** 401 for a bad DPoP proof: resource_metadata, and a DPoP challenge with algs and `errors`. */
function expectDpopRefusal(res, errors = 'invalid_dpop_proof') {
  expectStatus(res, 401);
  const challenges = challengesOfAnswer(res);
  expectMetadataParam(primaryChallenge(challenges, res), res);
  expectDpopChallenge(challenges, res, errors);
}

// ---------------------------------------------------------------------------------------------
// Set-up

async function setUp() {
  let state;
  try {
    state = await adminGet('/__admin/state');
  } catch (error) {
    throw new SetupError(`the IdP admin endpoint ${opts.admin}/__admin/state does not answer (${error.message}); start tests/idp/server.mjs and pass --admin if it is not at the issuer's origin`);
  }
  if (state.issuer !== ISSUER) throw new SetupError(`--admin ${opts.admin} is the IdP of issuer ${JSON.stringify(state.issuer)}, not ${JSON.stringify(ISSUER)}`);
  const algs = Object.keys(state.kids ?? {});
  idp.alg = algs.includes('ES256') ? 'ES256' : algs[0];
  if (!idp.alg || !SIGNING[idp.alg]) throw new SetupError(`the IdP signs with none of ${Object.keys(SIGNING).join(', ')}`);
  idp.kid = state.kids[idp.alg];
  const lower = idp.alg.toLowerCase();
  idp.client = { client_id: `client-${lower}` };
  idp.auth = oauth.ClientSecretBasic(`secret-${lower}`);
  try {
    const response = await oauth.discoveryRequest(new URL(ISSUER), { [oauth.allowInsecureRequests]: true });
    idp.as = await oauth.processDiscoveryResponse(new URL(ISSUER), response);
  } catch (error) {
    throw new SetupError(`IdP discovery for ${ISSUER} failed: ${error.message}`);
  }

  if (DPOP_MODE !== 'off') {
    const pair = await oauth.generateKeyPair('ES256', { extractable: true });
    dpop.handle = oauth.DPoP(idp.client, pair);
    dpop.privateKey = KeyObject.from(pair.privateKey);
    const { kty, crv, x, y } = KeyObject.from(pair.publicKey).export({ format: 'jwk' });
    dpop.publicJwk = { kty, crv, x, y };
    dpop.jkt = thumbprint(dpop.publicJwk);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    dpop.otherPrivateKey = other.privateKey;
    const o = other.publicKey.export({ format: 'jwk' });
    dpop.otherJwk = { kty: o.kty, crv: o.crv, x: o.x, y: o.y };
  }

  // In required mode every token must be DPoP-bound to be presented at all, so that each check
  // fails for its own reason and not for the missing proof.
  const bind = DPOP_MODE === 'required';
  const tokens = {};
  tokens.full = await idpToken({ bind });
  const granted = new Set((decodeJwt(tokens.full).scope ?? '').split(' '));
  const ungranted = SCOPES.filter((s) => !granted.has(s));
  if (ungranted.length) {
    throw new SetupError(`the IdP did not grant ${ungranted.join(' ')} (it drops scopes it does not know): start it with SCOPES="${SCOPES.join(' ')}"`);
  }
  tokens.otherAudience = await idpToken({ resource: OTHER_AUDIENCE, bind });
  tokens.lackingScope = SCOPES.length ? await idpToken({ scope: SCOPES.slice(0, -1).join(' '), bind }) : undefined;
  if (DPOP_MODE === 'allowed') tokens.bound = await idpToken({ bind: true });
  if (DPOP_MODE === 'required') {
    tokens.bound = tokens.full;
    tokens.unbound = await idpToken({ bind: false });
  }

  // Negative tokens signed by the IdP's trusted key: the IdP's own claims, one of them wrong.
  idp.claims = decodeJwt(tokens.full);
  const base = () => ({ ...idp.claims, jti: randomId(), iat: now(), exp: now() + 300 });
  const t = now();
  tokens.adminValid = await adminSign(base());
  tokens.expired = await adminSign({ ...base(), iat: t - 7200, exp: t - 3600 });
  tokens.notYetValid = await adminSign({ ...base(), nbf: t + 3600 });
  tokens.wrongIssuer = await adminSign({ ...base(), iss: `${ISSUER.replace(/\/+$/, '')}/not-the-issuer` });
  const { aud, ...noAudience } = base();
  tokens.noAudience = await adminSign(noAudience);
  // An untrusted key of the same type, once naming the trusted key's kid and once a kid the IdP never had.
  const [type, params] = SIGNING[idp.alg][2];
  const untrusted = generateKeyPairSync(type, params).privateKey;
  tokens.untrustedTrustedKid = compactJws({ alg: idp.alg, typ: 'at+jwt', kid: idp.kid }, base(), signerFor(idp.alg, untrusted));
  tokens.untrustedUnknownKid = compactJws({ alg: idp.alg, typ: 'at+jwt', kid: `untrusted-${randomId()}` }, base(), signerFor(idp.alg, untrusted));
  tokens.unsigned = compactJws({ alg: 'none', typ: 'at+jwt' }, base(), () => Buffer.alloc(0));
  tokens.malformed = 'not-a-jwt';
  return tokens;
}

// A resource that is not this one (the IdP issues tokens for any loopback resource).
const OTHER_AUDIENCE = 'http://127.0.0.1:9/jwtgate-conformance/another-resource';

/** The credential headers for `token`: Bearer, or DPoP with a fresh proof in required mode. */
function present(token) {
  if (DPOP_MODE === 'required') return { authorization: `DPoP ${token}`, dpop: makeProof(token) };
  return { authorization: `Bearer ${token}` };
}

// ---------------------------------------------------------------------------------------------
// The checks

async function main() {
  let tokens;
  try {
    tokens = await setUp();
  } catch (error) {
    bailOut(error instanceof SetupError ? `set-up: ${error.message}` : `set-up: ${error?.stack ?? error}`);
  }
  try {
    await request(SERVER, { method: 'GET' });
  } catch (error) {
    bailOut(`the MCP server at ${SERVER} does not answer: ${error.message}`);
  }
  console.log(`# server ${SERVER}, resource ${RESOURCE}, issuer ${ISSUER}, scopes "${SCOPES.join(' ')}", dpop ${DPOP_MODE}`);

  // --- No credential, and the protected-resource metadata it points to ----------------------
  let metadataUrl;
  await check('no credential: 401 with a challenge naming resource_metadata and every required scope, without error', async () => {
    const res = await postInitialize({});
    expectStatus(res, 401);
    const challenges = challengesOfAnswer(res);
    if (DPOP_MODE !== 'required' && challengesOf(challenges, 'Bearer').length === 0) {
      throw new Fail(`expected a Bearer challenge (RFC 6750 §3), got ${shownChallenge(res)}`);
    }
    const c = primaryChallenge(challenges, res);
    metadataUrl = c.params.resource_metadata;
    for (const each of challenges) expectError(each, undefined, res);
    expectMetadataParam(c, res);
    expectScopeParam(c, res);
    if (DPOP_MODE !== 'off') expectDpopChallenge(challenges, res, undefined);
  });

  let metadata;
  await check('protected-resource metadata: 200 JSON at the path-aware well-known URL', async () => {
    const url = metadataUrl && URL.canParse(metadataUrl) ? metadataUrl : EXPECTED_METADATA_URLS[0];
    const res = await request(url, { method: 'GET', headers: { accept: 'application/json' } });
    expectStatus(res, 200);
    if (!/^application\/json/i.test(res.headers['content-type'] ?? '')) {
      throw new Fail(`expected content-type application/json (RFC 9728 §3.2), got ${JSON.stringify(res.headers['content-type'])}`);
    }
    try {
      metadata = JSON.parse(res.body);
    } catch (error) {
      throw new Fail(`expected a JSON document, got one that does not parse: ${error.message}`);
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new Fail(`expected a JSON object, got ${snippet(res.body)}`);
  });
  const withMetadata = (name, fn) =>
    check(name, async () => {
      if (!metadata) throw new Fail('expected the metadata document, got none (see the check above)');
      await fn(metadata);
    });
  await withMetadata('metadata: resource is the resource identifier', async (m) => {
    if (m.resource !== RESOURCE) throw new Fail(`expected "resource": ${JSON.stringify(RESOURCE)} (RFC 9728 §3.3: identical), got ${JSON.stringify(m.resource)}`);
  });
  await withMetadata('metadata: authorization_servers holds the issuer', async (m) => {
    if (!Array.isArray(m.authorization_servers) || !m.authorization_servers.includes(ISSUER)) {
      throw new Fail(`expected "authorization_servers" to hold ${JSON.stringify(ISSUER)}, got ${JSON.stringify(m.authorization_servers)}`);
    }
  });
  await withMetadata('metadata: scopes_supported lists scopes, without offline_access', async (m) => {
    const s = m.scopes_supported;
    if (!Array.isArray(s) || s.length === 0 || !s.every((x) => typeof x === 'string')) {
      throw new Fail(`expected "scopes_supported" as a non-empty array of strings, got ${JSON.stringify(s)}`);
    }
    if (s.includes('offline_access')) throw new Fail(`expected no offline_access in "scopes_supported" (MCP: servers SHOULD NOT), got ${JSON.stringify(s)}`);
  });
  await withMetadata('metadata: bearer_methods_supported is ["header"]', async (m) => {
    const b = m.bearer_methods_supported;
    if (!Array.isArray(b) || b.length !== 1 || b[0] !== 'header') {
      throw new Fail(`expected "bearer_methods_supported": ["header"] (MCP: tokens only in the Authorization header), got ${JSON.stringify(b)}`);
    }
  });
  if (DPOP_MODE !== 'off') {
    await withMetadata('metadata: dpop_signing_alg_values_supported lists asymmetric algorithms', async (m) => {
      const a = m.dpop_signing_alg_values_supported;
      if (!Array.isArray(a) || a.length === 0 || !a.every((x) => typeof x === 'string' && x !== 'none' && !/^HS/.test(x))) {
        throw new Fail(`expected "dpop_signing_alg_values_supported" as a non-empty array of asymmetric JWS algorithms (RFC 9728 §2), got ${JSON.stringify(a)}`);
      }
      const required = m.dpop_bound_access_tokens_required;
      if (DPOP_MODE === 'required' && required !== true) {
        throw new Fail(`expected "dpop_bound_access_tokens_required": true in required mode (RFC 9728 §2), got ${JSON.stringify(required)}`);
      }
      if (DPOP_MODE === 'allowed' && required === true) {
        throw new Fail('expected "dpop_bound_access_tokens_required" absent or false (--dpop allowed: Bearer tokens are accepted), got true');
      }
    });
  }

  // --- A valid token --------------------------------------------------------------------------
  await check('valid token: initialize answers 200 and a tools/call succeeds', async () => {
    const session = new McpSession(sendPlain(() => present(tokens.full)));
    await session.initialize();
    await session.callATool();
  });
  await check('valid token signed through the IdP admin endpoint is accepted (control for the checks below)', async () => {
    const res = await postInitialize(present(tokens.adminValid));
    expectStatus(res, 200);
  });

  // --- Invalid tokens: 401 invalid_token ------------------------------------------------------
  const invalid = [
    ['token for another audience', tokens.otherAudience],
    ['token without an audience', tokens.noAudience],
    ['expired token', tokens.expired],
    ['token not yet valid (nbf in the future)', tokens.notYetValid],
    ['token signed by an untrusted key (with the kid of a trusted key)', tokens.untrustedTrustedKid],
    ['token signed by an untrusted key (unknown kid)', tokens.untrustedUnknownKid],
    ['token from another issuer (signed by a trusted key)', tokens.wrongIssuer],
    ['unsigned token (alg none)', tokens.unsigned],
    ['malformed token', tokens.malformed],
  ];
  for (const [name, token] of invalid) {
    await check(`${name}: 401 invalid_token with resource_metadata`, async () => {
      expectInvalidToken(await postInitialize(present(token)));
    });
  }

  await check('token in the query string instead of the header: refused (401, resource_metadata)', async () => {
    const url = new URL(SERVER);
    url.searchParams.set('access_token', tokens.full);
    const res = await postInitialize({}, url.href);
    expectStatus(res, [401, 400]);
    const challenges = challengesOfAnswer(res);
    const c = primaryChallenge(challenges, res);
    if (res.status === 400) {
      expectError(c, 'invalid_request', res);
    } else {
      // RFC 6750 §3: no credential in a supported place → no error code (or invalid_token).
      expectError(c, [undefined, 'invalid_token'], res);
      expectMetadataParam(c, res);
    }
  });

  await check('credential in an unsupported scheme (Basic): 401 with resource_metadata', async () => {
    const res = await postInitialize({ authorization: `Basic ${Buffer.from('client:secret').toString('base64')}` });
    expectStatus(res, 401);
    const c = primaryChallenge(challengesOfAnswer(res), res);
    expectError(c, [undefined, 'invalid_token'], res);
    expectMetadataParam(c, res);
  });

  // --- Missing scope: 403 insufficient_scope ------------------------------------------------
  if (SCOPES.length) {
    await check('token lacking a required scope: 403 insufficient_scope with every required scope and resource_metadata', async () => {
      const res = await postInitialize(present(tokens.lackingScope));
      expectStatus(res, 403);
      const c = primaryChallenge(challengesOfAnswer(res), res);
      expectError(c, 'insufficient_scope', res);
      expectScopeParam(c, res);
      expectMetadataParam(c, res);
    });
  } else {
    skip('token lacking a required scope: 403 insufficient_scope', 'the server requires no scope (--scopes "")');
  }

  // --- DPoP (RFC 9449) ------------------------------------------------------------------------
  if (DPOP_MODE === 'off') {
    console.log('# DPoP checks skipped (--dpop off)');
  } else {
    await dpopChecks(tokens);
  }

  console.log(`1..${counter}`);
  console.log(failures ? `# ${failures} of ${counter} checks failed` : `# all ${counter} checks passed`);
  process.exit(failures ? 1 : 0);
}

async function dpopChecks(tokens) {
  const token = tokens.bound;
  await check('DPoP: the IdP binds the token to the client key (cnf.jkt = RFC 7638 thumbprint)', async () => {
    const jkt = decodeJwt(token).cnf?.jkt;
    if (jkt !== dpop.jkt) throw new Fail(`expected cnf.jkt ${dpop.jkt}, got ${JSON.stringify(jkt)} (IdP set-up)`);
  });
  await check('DPoP: bound token with proofs made by oauth4webapi: initialize 200 and a tools/call succeeds', async () => {
    const session = new McpSession(sendWithOauth4webapi(token));
    await session.initialize();
    await session.callATool();
  });

  /** One initialize request with the bound token and `proof` (a string, an array, or none). */
  const send = (proof, authorization = `DPoP ${token}`) => postInitialize({ authorization, dpop: proof });

  let replayable;
  const control = await check('DPoP: a valid hand-made proof is accepted (control for the checks below)', async () => {
    let res;
    for (let attempt = 0; attempt < 2; attempt++) {
      replayable = makeProof(token);
      res = await send(replayable);
      const nonceAsked = res.status === 401 && /use_dpop_nonce/.test(shownChallenge(res)) && dpop.nonce;
      if (!nonceAsked) break;
    }
    expectStatus(res, 200);
  });
  await check('DPoP: a replayed proof (same jti) is refused: 401 invalid_dpop_proof', async () => {
    if (!control) throw new Fail('expected the control proof to be accepted (a refusal here would prove nothing), it was not');
    expectDpopRefusal(await send(replayable));
  });

  const bad = [
    ['proof for another URL (htu)', () => makeProof(token, { claims: { htu: `${new URL(SERVER).origin}/jwtgate-conformance/elsewhere` } })],
    ['proof for another method (htm GET)', () => makeProof(token, { claims: { htm: 'GET' } })],
    ['proof issued 10 minutes ago (stale iat)', () => makeProof(token, { claims: { iat: now() - 600 } })],
    ['proof issued 10 minutes in the future (iat)', () => makeProof(token, { claims: { iat: now() + 600 } })],
    ['proof for another access token (ath)', () => makeProof(token, { claims: { ath: accessTokenHash(`${token}x`) } })],
    ['proof without ath', () => makeProof(token, { claims: { ath: undefined } })],
    ['proof without jti', () => makeProof(token, { claims: { jti: undefined } })],
    ['proof whose header jwk holds the private key (d)', () =>
      makeProof(token, { header: { jwk: { ...dpop.publicJwk, d: dpop.privateKey.export({ format: 'jwk' }).d } } })],
    ['proof with typ JWT instead of dpop+jwt', () => makeProof(token, { header: { typ: 'JWT' } })],
    ['proof with a symmetric algorithm (HS256)', () =>
      makeProof(token, { alg: 'HS256', sign: (data) => createHmac('sha256', 'a-shared-secret-of-32-bytes-long').update(data).digest() })],
    ['proof with alg none', () => makeProof(token, { alg: 'none', sign: () => Buffer.alloc(0) })],
    ['proof with a signature that does not verify', () => {
      const proof = makeProof(token);
      const [h, p, s] = proof.split('.');
      const sig = Buffer.from(s, 'base64url');
      sig[0] ^= 0x01;
      return `${h}.${p}.${b64u(sig)}`;
    }],
  ];
  for (const [name, makeBad] of bad) {
    await check(`DPoP: ${name}: 401 invalid_dpop_proof`, async () => {
      expectDpopRefusal(await send(makeBad()));
    });
  }
  // RFC 9449 §4.3 item 12 (ath, key binding) and its §7.1 example (invalid_token for a key
  // binding failure): either error code is right there.
  await check('DPoP: proof signed by a key other than cnf.jkt: 401 (invalid_token or invalid_dpop_proof)', async () => {
    const res = await send(makeProof(token, { key: dpop.otherPrivateKey, jwk: dpop.otherJwk }));
    expectDpopRefusal(res, ['invalid_token', 'invalid_dpop_proof']);
  });
  await check('DPoP: DPoP scheme without a DPoP header: 401 (invalid_dpop_proof or invalid_request)', async () => {
    expectDpopRefusal(await send(undefined), ['invalid_dpop_proof', 'invalid_request']);
  });
  await check('DPoP: two DPoP header fields: 401 (invalid_dpop_proof or invalid_request)', async () => {
    expectDpopRefusal(await send([makeProof(token), makeProof(token)]), ['invalid_dpop_proof', 'invalid_request']);
  });
  // No proof was sent in the two cases below: RFC 6750 §3.1 `invalid_token` ("invalid for other
  // reasons") or RFC 9449's `invalid_dpop_proof` (registered for resource access error responses)
  // both tell the client what went wrong; no error code at all would not.
  const NO_PROOF_ERRORS = ['invalid_token', 'invalid_dpop_proof'];
  await check('DPoP: bound token sent as a Bearer token: 401 with an error code (RFC 9449 §7.2)', async () => {
    const res = await send(undefined, `Bearer ${token}`);
    expectStatus(res, 401);
    const challenges = challengesOfAnswer(res);
    const c = primaryChallenge(challenges, res);
    expectMetadataParam(c, res);
    if (!challenges.some((x) => NO_PROOF_ERRORS.includes(x.params.error))) {
      throw new Fail(`expected error="invalid_token" (or "invalid_dpop_proof") in a challenge, got ${shownChallenge(res)}`);
    }
    expectDpopChallenge(challenges, res, null);
  });
  if (DPOP_MODE === 'required') {
    await check('DPoP required: an unbound Bearer token is refused: 401 with a DPoP challenge', async () => {
      const res = await postInitialize({ authorization: `Bearer ${tokens.unbound}` });
      expectStatus(res, 401);
      const challenges = challengesOfAnswer(res);
      expectMetadataParam(primaryChallenge(challenges, res), res);
      expectDpopChallenge(challenges, res, [undefined, 'invalid_request', ...NO_PROOF_ERRORS]);
    });
  }
}

await main();

// A real OpenID Provider (panva/oidc-provider 9) for jwtgate's integration tests.
//
// It issues RFC 9068 JWT access tokens (`typ: at+jwt`) through the client_credentials grant, one
// client per signing algorithm, with keys generated in-process on every start.
//
// Configuration (environment variables, or `--name=value` arguments, e.g. `--port=0`):
//   PORT         port on 127.0.0.1 (0 = random; default 0)
//   ISSUER_PATH  path suffix of the issuer, e.g. `/realms/test` (default: none)
//   KEYS         comma list of algorithms to publish and sign with (default RS256,PS256,ES256,EdDSA;
//                also RS384, RS512, PS384, PS512, ES384)
//   RESOURCE     the default resource indicator (when a token request names none); it becomes the
//                tokens' `aud` (default https://mcp.test/). A request may also name, with
//                `resource=` (RFC 8707), any http(s) URL on a loopback host (127.0.0.1, localhost,
//                [::1]), e.g. the URL of an MCP server under test: its token's `aud` is that URL,
//                exactly as requested. Any other resource is `invalid_target`.
//   SCOPES       the scopes the resource server knows (default "tools:call read"); a token gets the
//                requested ones among them (`scope=`; unknown ones are dropped silently, none
//                requested: no `scope` claim)
//   TTL          access token lifetime in seconds (default 300)
//   EXIT_ON_STDIN_EOF=1  exit when stdin closes (used by the Rust test harness)
//
// Clients: `client-<alg>` with secret `secret-<alg>` (alg lower-cased, e.g. client-es256 /
// secret-es256), client_secret_basic or client_secret_post; their tokens are signed with <alg>.
//
// DPoP (RFC 9449, oidc-provider's `features.dPoP`): a token request carrying a `DPoP` proof header
// gets a DPoP-bound token (`token_type: DPoP`, claim `cnf.jkt` = the RFC 7638 thumbprint of the
// proof's key); proofs signed with ES256, ES384, EdDSA/Ed25519, PS256 or RS256; no server nonce;
// a replayed proof `jti` is refused. Without a proof, tokens are plain Bearer tokens as before.
//
// Once listening it prints one line of JSON to stdout:
//   {"issuer": "...", "port": N, "kids": {"RS256": "...", ...}, "published": ["kid", ...]}
//
// Admin endpoints (same port, outside the issuer's path):
//   POST /__admin/rotate        {"keys": ["ES256"], "keep": ["<old kid>"]} -> a new Provider with
//                               fresh keys for `keys` (used for signing) plus the kept old keys
//                               (published only), swapped in on the same port; answers
//                               {"kids": {...}, "published": [...]}
//   GET  /__admin/requests      {"<path>": count, ...}: requests per path (query stripped) since
//                               start or the last reset, admin requests excluded
//   POST /__admin/reset-counts  clears those counts
//   GET  /__admin/state         {"issuer", "kids", "published"}
//   POST /__admin/sign          {"alg": "ES256", "claims": {...}, "header": {...}} -> {"token": "..."}:
//                               a compact JWS of exactly `claims`, signed with the IdP's current
//                               signing key of `alg` (a TRUSTED key: the one its JWKS publishes).
//                               Header: {"alg", "typ": "at+jwt", "kid": <that key's kid>} overlaid
//                               with `header` (a member set to null is left out). For negative
//                               tokens (expired, wrong issuer, wrong audience) that only fail
//                               for their claims.

import { constants, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

function option(name, fallback) {
  const flag = `--${name.toLowerCase().replaceAll('_', '-')}=`;
  const arg = process.argv.slice(2).find((a) => a.startsWith(flag));
  if (arg !== undefined) return arg.slice(flag.length);
  const env = process.env[name];
  return env === undefined || env === '' ? fallback : env;
}

const PORT = Number(option('PORT', '0'));
let ISSUER_PATH = option('ISSUER_PATH', '');
if (ISSUER_PATH && !ISSUER_PATH.startsWith('/')) ISSUER_PATH = `/${ISSUER_PATH}`;
ISSUER_PATH = ISSUER_PATH.replace(/\/+$/, '');
const KEYS = option('KEYS', 'RS256,PS256,ES256,EdDSA')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const RESOURCE = option('RESOURCE', 'https://mcp.test/');
const SCOPES = option('SCOPES', 'tools:call read');
const TTL = Number(option('TTL', '300'));

const KEY_PARAMS = {
  RS256: ['rsa', { modulusLength: 2048 }],
  RS384: ['rsa', { modulusLength: 2048 }],
  RS512: ['rsa', { modulusLength: 2048 }],
  PS256: ['rsa', { modulusLength: 2048 }],
  PS384: ['rsa', { modulusLength: 2048 }],
  PS512: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  ES384: ['ec', { namedCurve: 'P-384' }],
  EdDSA: ['ed25519', {}],
};
const ALL_ALGS = Object.keys(KEY_PARAMS);

for (const alg of KEYS) {
  if (!KEY_PARAMS[alg]) {
    console.error(`unsupported alg in KEYS: ${alg} (supported: ${ALL_ALGS.join(', ')})`);
    process.exit(2);
  }
}

// Every private JWK generated since start, by kid, so that rotation can keep old ones.
const generated = new Map();
let serial = 0;

function generateKey(alg) {
  const [type, params] = KEY_PARAMS[alg];
  const { privateKey } = generateKeyPairSync(type, params);
  serial += 1;
  const kid = `${alg.toLowerCase()}-${serial}-${randomBytes(4).toString('hex')}`;
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg };
  generated.set(kid, jwk);
  return jwk;
}

// The algorithms a DPoP proof at the token endpoint may use.
const DPOP_ALGS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];

/** An http(s) URL on a loopback host, without fragment (RFC 8707 §2): a local resource server. */
function isLoopbackResource(value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) &&
    !value.includes('#')
  );
}

const clientId = (alg) => `client-${alg.toLowerCase()}`;
const clientSecret = (alg) => `secret-${alg.toLowerCase()}`;

let server;
let issuer;
let current; // { provider, handler, kids: {alg: kid}, published: [kid] }

function buildProvider(signingAlgs, keepKids) {
  const kids = {};
  const signing = signingAlgs.map((alg) => {
    const jwk = generateKey(alg);
    kids[alg] = jwk.kid;
    return jwk;
  });
  const kept = keepKids.map((kid) => generated.get(kid));
  // New keys first, then the kept ones (published for overlap; signing names the kid anyway).
  const keys = [...signing, ...kept.filter((k) => !signing.includes(k))];
  const algs = [...new Set(keys.map((k) => k.alg))];
  const signAlgByClient = new Map(signingAlgs.map((alg) => [clientId(alg), alg]));

  const provider = new Provider(issuer, {
    jwks: { keys },
    clients: signingAlgs.map((alg) => ({
      client_id: clientId(alg),
      client_secret: clientSecret(alg),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
    })),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    enabledJWA: {
      idTokenSigningAlgValues: [...new Set(['RS256', ...algs])],
      dPoPSigningAlgValues: DPOP_ALGS,
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 9449: a proof at the token endpoint binds the token (cnf.jkt); no server nonce.
      dPoP: { enabled: true, allowReplay: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator, client) => {
          if (resourceIndicator !== RESOURCE && !isLoopbackResource(resourceIndicator)) {
            throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          }
          const alg = signAlgByClient.get(client.clientId);
          return {
            scope: SCOPES,
            audience: resourceIndicator,
            accessTokenTTL: TTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg, kid: kids[alg] } },
          };
        },
      },
    },
    ttl: { ClientCredentials: TTL },
  });
  // Surface server errors (e.g. signing failures) on stderr instead of a bare 500.
  provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

  return {
    provider,
    handler: provider.callback(),
    kids,
    published: keys.map((k) => k.kid),
  };
}

// How each algorithm signs with node:crypto (JWA, RFC 7518 §3; EdDSA: RFC 8037).
const SIGNERS = {
  RS256: ['sha256', {}],
  RS384: ['sha384', {}],
  RS512: ['sha512', {}],
  PS256: ['sha256', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
  PS384: ['sha384', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }],
  PS512: ['sha512', { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }],
  ES256: ['sha256', { dsaEncoding: 'ieee-p1363' }],
  ES384: ['sha384', { dsaEncoding: 'ieee-p1363' }],
  EdDSA: [null, {}],
};

const b64url = (value) => Buffer.from(value).toString('base64url');

/** A compact JWS of `claims` with `header`, signed with the private JWK `jwk`. */
function signJws(jwk, header, claims) {
  const [hash, options] = SIGNERS[jwk.alg];
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  return `${input}.${b64url(sign(hash, Buffer.from(input), { key, ...options }))}`;
}

const counts = new Map();

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

async function admin(req, res, path) {
  if (req.method === 'GET' && path === '/__admin/requests') {
    return sendJson(res, 200, Object.fromEntries(counts));
  }
  if (req.method === 'POST' && path === '/__admin/reset-counts') {
    counts.clear();
    return sendJson(res, 200, {});
  }
  if (req.method === 'GET' && path === '/__admin/state') {
    return sendJson(res, 200, { issuer, kids: current.kids, published: current.published });
  }
  if (req.method === 'POST' && path === '/__admin/rotate') {
    let body;
    try {
      body = await readJson(req);
    } catch (e) {
      return sendJson(res, 400, { error: `bad JSON: ${e.message}` });
    }
    const keys = body.keys ?? [];
    const keep = body.keep ?? [];
    const bad = keys.filter((alg) => !KEY_PARAMS[alg]);
    if (bad.length) return sendJson(res, 400, { error: `unsupported algs: ${bad.join(', ')}` });
    const unknown = keep.filter((kid) => !generated.has(kid));
    if (unknown.length) return sendJson(res, 400, { error: `unknown kids: ${unknown.join(', ')}` });
    try {
      current = buildProvider(keys, keep);
    } catch (e) {
      return sendJson(res, 500, { error: String(e?.stack ?? e) });
    }
    return sendJson(res, 200, { kids: current.kids, published: current.published });
  }
  if (req.method === 'POST' && path === '/__admin/sign') {
    let body;
    try {
      body = await readJson(req);
    } catch (e) {
      return sendJson(res, 400, { error: `bad JSON: ${e.message}` });
    }
    const { alg, claims, header = {} } = body;
    const kid = typeof alg === 'string' && Object.hasOwn(current.kids, alg) ? current.kids[alg] : undefined;
    if (!kid) {
      return sendJson(res, 400, {
        error: `no current signing key for alg ${JSON.stringify(alg)} (have: ${Object.keys(current.kids).join(', ')})`,
      });
    }
    const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObject(claims) || !isObject(header)) {
      return sendJson(res, 400, { error: '`claims` must be an object, and `header` one when given' });
    }
    const merged = Object.fromEntries(
      Object.entries({ alg, typ: 'at+jwt', kid, ...header }).filter(([, v]) => v !== null),
    );
    return sendJson(res, 200, { token: signJws(generated.get(kid), merged, claims), kid });
  }
  return sendJson(res, 404, { error: `no admin route ${req.method} ${path}` });
}

function route(req, res) {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);

  if (path.startsWith('/__admin/')) {
    admin(req, res, path).catch((e) => sendJson(res, 500, { error: String(e?.stack ?? e) }));
    return;
  }
  counts.set(path, (counts.get(path) ?? 0) + 1);

  if (ISSUER_PATH) {
    // RFC 8414 path-inserted metadata location: /.well-known/oauth-authorization-server/<path>
    const wellKnown = '/.well-known/oauth-authorization-server';
    if (path === `${wellKnown}${ISSUER_PATH}`) {
      req.originalUrl = `${ISSUER_PATH}${wellKnown}${query}`;
      req.url = `${wellKnown}${query}`;
    } else if (path === ISSUER_PATH || path.startsWith(`${ISSUER_PATH}/`)) {
      // Mounted the way express/koa-mount do it: oidc-provider derives the mount path from
      // originalUrl vs url.
      req.originalUrl = url;
      req.url = url.slice(ISSUER_PATH.length) || '/';
    } else {
      sendJson(res, 404, { error: 'not_found', error_description: `outside issuer path ${ISSUER_PATH}` });
      return;
    }
  }
  current.handler(req, res);
}

server = http.createServer(route);
server.listen(PORT, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}${ISSUER_PATH}`;
  try {
    current = buildProvider(KEYS, []);
  } catch (e) {
    console.error(e);
    process.exit(1);
  }
  process.stdout.write(
    `${JSON.stringify({ issuer, port, kids: current.kids, published: current.published })}\n`,
  );
});

// With EXIT_ON_STDIN_EOF=1, stop when the parent closes our stdin, so that a test process that
// dies without running destructors does not leave us behind (the Rust side sets it and pipes stdin).
if (process.env.EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));

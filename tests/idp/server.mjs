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
//   RESOURCE     the resource indicator, which becomes the tokens' `aud` (default https://mcp.test/)
//   SCOPES       the scopes the resource server knows (default "tools:call read")
//   TTL          access token lifetime in seconds (default 300)
//   EXIT_ON_STDIN_EOF=1  exit when stdin closes (used by the Rust test harness)
//
// Clients: `client-<alg>` with secret `secret-<alg>` (alg lower-cased, e.g. client-es256 /
// secret-es256), client_secret_basic or client_secret_post; their tokens are signed with <alg>.
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

import { generateKeyPairSync, randomBytes } from 'node:crypto';
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
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator, client) => {
          if (resourceIndicator !== RESOURCE) {
            throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          }
          const alg = signAlgByClient.get(client.clientId);
          return {
            scope: SCOPES,
            audience: RESOURCE,
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

// A real OpenID Provider (panva/oidc-provider 9) for jwtgate's integration tests.
//
// It issues RFC 9068 JWT access tokens (`typ: at+jwt`) through the client_credentials grant, one
// client per signing algorithm, with keys generated in-process on every start; opaque access
// tokens, with an RFC 7662 introspection endpoint and an RFC 7009 revocation endpoint; and OpenID
// Connect id_tokens, from a real authorization-code flow driven without a browser or straight from
// the provider's IdToken model.
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
//   TTL          access token and id_token lifetime in seconds (default 300)
//   ACCESS_TOKEN_FORMAT  `jwt` (default): only client-opaque's access tokens are opaque;
//                `opaque`: every client's are (a provider issuing opaque tokens only)
//   EXIT_ON_STDIN_EOF=1  exit when stdin closes (used by the Rust test harness)
//
// Clients, all confidential; each authenticates with client_secret_basic or client_secret_post
// (RFC 6749 §2.3.1) at the token, introspection and revocation endpoints:
//   client-<alg> / secret-<alg>  (alg lower-cased, e.g. client-es256 / secret-es256), one per
//       signing algorithm: client_credentials; JWT access tokens and id_tokens signed with <alg>.
//   client-opaque / secret-opaque  client_credentials, authorization_code, refresh_token; OPAQUE
//       access tokens (random strings, not JWTs), same resources, scopes and TTL:
//         POST <issuer>/token   Authorization: Basic base64(client-opaque:secret-opaque)
//         grant_type=client_credentials&scope=tools:call read[&resource=<loopback URL>]
//         -> {"access_token": "<43 chars>", "token_type": "Bearer", "expires_in": TTL,
//             "scope": "tools:call read"}
//       (with a DPoP proof header: a DPoP-bound opaque token, token_type DPoP).
//   client-app / secret-app  an OpenID Connect relying party: authorization_code, refresh_token,
//       redirect URI http://127.0.0.1/callback (never contacted); JWT access tokens.
//   resource-server / secret-resource-server  a resource server: no grant; may introspect and
//       revoke every client's tokens (the other clients only their own).
//   client-opaque, client-app and resource-server sign id_tokens (and client-app its access
//   tokens) with the first current signing algorithm: KEYS' first (RS256 by default).
//
// Introspection (RFC 7662): discovery's `introspection_endpoint`, <issuer>/token/introspection.
//   POST <issuer>/token/introspection
//     Authorization: Basic base64(resource-server:secret-resource-server)
//     token=<opaque token>[&token_type_hint=access_token]
//   or client_secret_post: token=...&client_id=resource-server&client_secret=secret-resource-server
//   -> {"active": true, "client_id", "exp", "iat", "iss", "aud", "scope",
//       "token_type": "Bearer" | "DPoP", "cnf": {"jkt"} when DPoP-bound, "sub" for a user's token};
//   unknown, expired or revoked tokens, and another client's token asked by a client other than
//   resource-server: {"active": false}; bad client credentials: 401 invalid_client. JWT access
//   tokens cannot be introspected: oidc-provider answers 400 unsupported_token_type.
// Revocation (RFC 7009): discovery's `revocation_endpoint`, <issuer>/token/revocation.
//   POST <issuer>/token/revocation (same client authentication) token=<opaque token>
//   -> 200, empty body; introspection answers {"active": false} from then on. The token's own
//   client or resource-server may revoke it; another client gets 400 invalid_request.
// Discovery has no introspection_/revocation_endpoint_auth_methods_supported (RFC 8414 §2: then
// known "by other means"): the methods are token_endpoint_auth_methods_supported's.
// Opaque tokens, grants and sessions live in memory for the life of the process (one store shared
// by every Provider /__admin/rotate builds: they survive rotation).
//
// DPoP (RFC 9449, oidc-provider's `features.dPoP`): a token request carrying a `DPoP` proof header
// gets a DPoP-bound token (`token_type: DPoP`, claim `cnf.jkt` = the RFC 7638 thumbprint of the
// proof's key; for an opaque token, introspection's `cnf.jkt`); proofs signed with ES256, ES384,
// EdDSA/Ed25519, PS256 or RS256; no server nonce; a replayed proof `jti` is refused. Without a
// proof, tokens are plain Bearer tokens as before.
//
// Once listening it prints one line of JSON to stdout:
//   {"issuer": "...", "port": N, "kids": {"RS256": "...", ...}, "published": ["kid", ...]}
//
// Admin endpoints (same port, outside the issuer's path):
//   POST /__admin/rotate        {"keys": ["ES256"], "keep": ["<old kid>"]} -> a new Provider with
//                               fresh keys for `keys` (used for signing) plus the kept old keys
//                               (published only), swapped in on the same port; answers
//                               {"kids": {...}, "published": [...]}. client-<alg> remains for the
//                               rotated algorithms only; the other clients stay. Keys are per
//                               process: two instances started separately rotate independently
//                               (a kid has random bytes, never shared).
//   GET  /__admin/requests      {"<path>": count, ...}: requests per path (query stripped) since
//                               start or the last reset; admin requests, and the requests
//                               /__admin/authorization-code makes to the provider, excluded
//   POST /__admin/reset-counts  clears those counts
//   GET  /__admin/state         {"issuer", "kids", "published"}
//   POST /__admin/sign          {"alg": "ES256", "claims": {...}, "header": {...}} -> {"token": "..."}:
//                               a compact JWS of exactly `claims`, signed with the IdP's current
//                               signing key of `alg` (a TRUSTED key: the one its JWKS publishes).
//                               Header: {"alg", "typ": "at+jwt", "kid": <that key's kid>} overlaid
//                               with `header` (a member set to null is left out). For negative
//                               tokens (expired, wrong issuer, wrong audience) that only fail
//                               for their claims.
//   POST /__admin/id-token      {"client_id": "client-app", "sub": "alice", "nonce"?: "...",
//                               "claims"?: {...}, "exp"?: <NumericDate>, "aud"?: "x" | ["x", ...],
//                               "azp"?: "..." | null}
//                               -> {"id_token": "...", "kid": "...", "resigned": false}:
//                               an OpenID Connect id_token (OIDC Core 2) for any registered
//                               client, from oidc-provider's own IdToken model
//                               (`issue({ use: 'idtoken' })`), signed with the client's
//                               id_token_signed_response_alg and the key the JWKS publishes.
//                               Header {"alg", "kid"} (the provider sets no `typ`); claims iss,
//                               sub, aud = client_id, iat, exp = iat + TTL (or `exp`: past for an
//                               expired token), nonce when given, and `claims` (e.g. email, iat;
//                               iss, sub, aud, exp, azp refused there). The provider only issues
//                               aud = client_id without azp: `aud` (several values: azp defaults
//                               to client_id, OIDC Core 2 and 3.1.3.7) or `azp` (null: left out)
//                               change its payload, then re-signed with the same header and key
//                               ("resigned": true). Unknown client or bad field: 400 {"error"}.
//   POST /__admin/authorization-code
//                               {"client_id": "client-app" | "client-opaque", "sub": "bob",
//                               "scope"?: "openid tools:call", "nonce"?: "...", "resource"?: "..."}
//                               -> the provider's token response {"access_token", "id_token",
//                               "token_type", "expires_in", "scope", "refresh_token" with
//                               offline_access}: the OpenID Connect authorization-code flow (OIDC
//                               Core 3.1; PKCE S256, RFC 7636) driven by the server itself: GET
//                               <issuer>/auth with login_hint = sub, the login and consent
//                               interactions answered at /__admin/interaction/<uid> (user `sub`,
//                               every requested scope granted), the code exchanged at /token. The
//                               id_token is the provider's: iss, sub, aud = client_id, iat, exp
//                               (TTL), nonce when given; no typ, azp or at_hash. The access token
//                               (JWT for client-app, opaque for client-opaque) has `sub` = the
//                               user, `aud` = the resource (default RESOURCE). `scope` defaults to
//                               "openid" plus SCOPES. Errors: 400 {"error"}. The interaction
//                               endpoint answers any flow naming login_hint: a test may also drive
//                               GET <issuer>/auth itself, keeping the cookies.

import {
  constants,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
} from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';
// The provider's own in-memory adapter (the one it uses when given none), made once so that every
// Provider built by /__admin/rotate shares one store: tokens, grants and sessions survive rotation.
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

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
const ACCESS_TOKEN_FORMAT = option('ACCESS_TOKEN_FORMAT', 'jwt');

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
if (!['jwt', 'opaque'].includes(ACCESS_TOKEN_FORMAT)) {
  console.error(`ACCESS_TOKEN_FORMAT must be jwt or opaque, not ${ACCESS_TOKEN_FORMAT}`);
  process.exit(2);
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

// The clients that exist whatever the keys (see the header).
const OPAQUE_CLIENT = 'client-opaque';
const APP_CLIENT = 'client-app';
const RESOURCE_SERVER = 'resource-server';
const REDIRECT_URI = 'http://127.0.0.1/callback';
const FIXED_SECRETS = {
  [OPAQUE_CLIENT]: 'secret-opaque',
  [APP_CLIENT]: 'secret-app',
  [RESOURCE_SERVER]: 'secret-resource-server',
};

// Requests the server makes to itself (/__admin/authorization-code) carry this header; they are
// not counted in /__admin/requests.
const INTERNAL_HEADER = 'x-jwtgate-idp-internal';
const internalToken = randomBytes(16).toString('hex');

let server;
let issuer;
let origin;
// oidc-provider's default clockTolerance (15 s), as its own default adapter would get.
const adapter = createMemoryAdapter(15);
let current; // { provider, handler, kids: {alg: kid}, published: [kid], secrets: {client_id: secret} }

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
  // The algorithm of a client's JWT access tokens and id_tokens: its own for client-<alg>, else
  // the first current signing algorithm (none when rotated to no signing key).
  const signAlgByClient = new Map(signingAlgs.map((alg) => [clientId(alg), alg]));
  const defaultAlg = signingAlgs[0];
  const withAlg = (client) =>
    defaultAlg === undefined ? client : { ...client, id_token_signed_response_alg: defaultAlg };

  const clients = [
    ...signingAlgs.map((alg) => ({
      client_id: clientId(alg),
      client_secret: clientSecret(alg),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
    })),
    withAlg({
      client_id: OPAQUE_CLIENT,
      client_secret: FIXED_SECRETS[OPAQUE_CLIENT],
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
    ...(defaultAlg === undefined
      ? []
      : [
          withAlg({
            client_id: APP_CLIENT,
            client_secret: FIXED_SECRETS[APP_CLIENT],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            redirect_uris: [REDIRECT_URI],
            token_endpoint_auth_method: 'client_secret_basic',
          }),
        ]),
    withAlg({
      client_id: RESOURCE_SERVER,
      client_secret: FIXED_SECRETS[RESOURCE_SERVER],
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  ];
  const secrets = Object.fromEntries(clients.map((c) => [c.client_id, c.client_secret]));

  const provider = new Provider(issuer, {
    adapter,
    jwks: { keys },
    clients,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    enabledJWA: {
      idTokenSigningAlgValues: [...new Set(['RS256', ...algs])],
      dPoPSigningAlgValues: DPOP_ALGS,
    },
    // Users of the authorization-code flow: any `sub`, with no claims but `sub`.
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    // The login and consent steps answered by the server itself (see /__admin/interaction).
    interactions: { url: (ctx, interaction) => `${origin}/__admin/interaction/${interaction.uid}` },
    // Errors at the authorization endpoint as JSON (OAuth error members), not an HTML page.
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
    features: {
      devInteractions: { enabled: false },
      // RFC 9449: a proof at the token endpoint binds the token (cnf.jkt); no server nonce.
      dPoP: { enabled: true, allowReplay: false },
      clientCredentials: { enabled: true },
      // RFC 7662 §2.1: the protected resource authenticates; resource-server may introspect any
      // token, another client only its own (others get {"active": false}, §2.2).
      introspection: {
        enabled: true,
        allowedPolicy: (ctx, client, token) =>
          client.clientId === RESOURCE_SERVER || client.clientId === token.clientId,
      },
      // RFC 7009 §2.1: a client revokes its own tokens; resource-server any (a test convenience).
      revocation: {
        enabled: true,
        allowedPolicy: (ctx, client, token) => {
          if (client.clientId === RESOURCE_SERVER || client.clientId === token.clientId) return true;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator, client) => {
          if (resourceIndicator !== RESOURCE && !isLoopbackResource(resourceIndicator)) {
            throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          }
          const info = { scope: SCOPES, audience: resourceIndicator, accessTokenTTL: TTL };
          if (ACCESS_TOKEN_FORMAT === 'opaque' || client.clientId === OPAQUE_CLIENT) {
            return { ...info, accessTokenFormat: 'opaque' };
          }
          const alg = signAlgByClient.get(client.clientId) ?? defaultAlg;
          return { ...info, accessTokenFormat: 'jwt', jwt: { sign: { alg, kid: kids[alg] } } };
        },
      },
    },
    ttl: {
      AccessToken: TTL,
      ClientCredentials: TTL,
      IdToken: TTL,
      AuthorizationCode: 60,
      RefreshToken: 24 * 60 * 60,
      Interaction: 10 * 60,
      Session: 60 * 60,
      Grant: 60 * 60,
    },
  });
  // Surface server errors (e.g. signing failures) on stderr instead of a bare 500.
  provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

  return {
    provider,
    handler: provider.callback(),
    kids,
    published: keys.map((k) => k.kid),
    secrets,
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
const fromB64urlJson = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

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

class BadRequest extends Error {}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? JSON.parse(text) : {};
  } catch (e) {
    throw new BadRequest(`bad JSON: ${e.message}`);
  }
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonEmptyString = (v) => typeof v === 'string' && v !== '';

/**
 * POST /__admin/id-token: an id_token from oidc-provider's IdToken model, as its token endpoint
 * builds one (lib/helpers/grant_common.js issueIdToken): scope `openid` (claim `sub`), `nonce` and
 * the extra claims set on the token, then `issue({ use: 'idtoken' })`.
 */
async function issueIdToken(body) {
  const { client_id: id, sub, claims = {}, nonce, exp } = body;
  if (!isNonEmptyString(id)) throw new BadRequest('`client_id` (a string) is required');
  if (!isNonEmptyString(sub)) throw new BadRequest('`sub` (a string) is required');
  if (!isObject(claims)) throw new BadRequest('`claims` must be an object');
  const reserved = ['iss', 'sub', 'aud', 'exp', 'azp'].filter((name) => Object.hasOwn(claims, name));
  if (reserved.length) {
    throw new BadRequest(`set ${reserved.join(', ')} with the request's own fields, not in \`claims\` (iss cannot be changed: use /__admin/sign)`);
  }
  if (nonce !== undefined && !isNonEmptyString(nonce)) throw new BadRequest('`nonce` must be a string');
  if (exp !== undefined && !Number.isInteger(exp)) throw new BadRequest('`exp` must be an integer NumericDate');
  const hasAud = Object.hasOwn(body, 'aud');
  const { aud } = body;
  if (hasAud && !isNonEmptyString(aud) && !(Array.isArray(aud) && aud.length && aud.every(isNonEmptyString))) {
    throw new BadRequest('`aud` must be a string or a non-empty array of strings');
  }
  const hasAzp = Object.hasOwn(body, 'azp');
  if (hasAzp && body.azp !== null && !isNonEmptyString(body.azp)) {
    throw new BadRequest('`azp` must be a string, or null to leave it out');
  }

  const { provider } = current;
  const client = await provider.Client.find(id);
  if (!client) throw new BadRequest(`unknown client ${JSON.stringify(id)} (have: ${Object.keys(current.secrets).join(', ')})`);
  if (!client.idTokenSignedResponseAlg || !current.kids[client.idTokenSignedResponseAlg]) {
    throw new BadRequest(`no current signing key for ${id}'s id_token algorithm ${client.idTokenSignedResponseAlg}`);
  }

  const token = new provider.IdToken({ sub }, { client });
  token.scope = 'openid';
  for (const [name, value] of Object.entries(claims)) token.set(name, value);
  if (nonce !== undefined) token.set('nonce', nonce);
  // issue() signs with exp = now + (expiresAt - now) when that is not 0, else now + TTL.
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = exp !== undefined && exp !== now ? exp : undefined;
  const issued = await token.issue({ use: 'idtoken', ...(expiresAt === undefined ? {} : { expiresAt }) });

  const [h, p] = issued.split('.');
  const header = fromB64urlJson(h);
  const payload = fromB64urlJson(p);
  const wanted = { ...payload };
  if (exp !== undefined) wanted.exp = exp;
  if (hasAud) wanted.aud = aud;
  // OIDC Core 2: azp is the party the token was issued to; with several audiences it names the
  // client (3.1.3.7 steps 4-5), so it defaults to client_id then.
  if (hasAzp) {
    if (body.azp === null) delete wanted.azp;
    else wanted.azp = body.azp;
  } else if (Array.isArray(wanted.aud) && wanted.aud.length > 1) {
    wanted.azp = id;
  }
  if (JSON.stringify(wanted) === JSON.stringify(payload)) {
    return { id_token: issued, kid: header.kid, resigned: false };
  }
  const jwk = generated.get(header.kid);
  return { id_token: signJws(jwk, header, wanted), kid: header.kid, resigned: true };
}

/** A minimal cookie jar for the server's own requests: name -> value from Set-Cookie. */
function storeCookies(jar, response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

/**
 * POST /__admin/authorization-code: the OpenID Connect authorization-code flow (OIDC Core 3.1)
 * with PKCE (RFC 7636), driven by this server through its own HTTP interface.
 */
async function authorizationCodeFlow(body) {
  const { client_id: id, sub, nonce, resource } = body;
  const scope = body.scope ?? ['openid', ...SCOPES.split(' ').filter(Boolean)].join(' ');
  if (!isNonEmptyString(id)) throw new BadRequest('`client_id` (a string) is required');
  if (!isNonEmptyString(sub)) throw new BadRequest('`sub` (a string) is required');
  if (!isNonEmptyString(scope)) throw new BadRequest('`scope` must be a string');
  if (nonce !== undefined && !isNonEmptyString(nonce)) throw new BadRequest('`nonce` must be a string');
  if (resource !== undefined && !isNonEmptyString(resource)) throw new BadRequest('`resource` must be a string');
  const secret = current.secrets[id];
  if (![APP_CLIENT, OPAQUE_CLIENT].includes(id) || !secret) {
    throw new BadRequest(`the authorization-code flow is for ${APP_CLIENT} and ${OPAQUE_CLIENT}, not ${JSON.stringify(id)}`);
  }

  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const authorize = new URL(`${issuer}/auth`);
  const params = {
    client_id: id,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    login_hint: sub,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(nonce === undefined ? {} : { nonce }),
    ...(resource === undefined ? {} : { resource }),
    // offline_access (a refresh token) needs prompt=consent (OIDC Core 11).
    ...(scope.split(' ').includes('offline_access') ? { prompt: 'consent' } : {}),
  };
  for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);

  const jar = new Map();
  let url = authorize.href;
  let code;
  for (let hop = 0; hop < 10 && code === undefined; hop += 1) {
    const response = await fetch(url, {
      redirect: 'manual',
      headers: {
        [INTERNAL_HEADER]: internalToken,
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    storeCookies(jar, response);
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(`authorization flow stopped at ${url}: ${response.status} ${await response.text()}`);
    }
    const next = new URL(location, url);
    if (next.href.startsWith(`${REDIRECT_URI}?`)) {
      const error = next.searchParams.get('error');
      if (error) {
        throw new BadRequest(`authorization error: ${error}: ${next.searchParams.get('error_description') ?? ''}`);
      }
      if (next.searchParams.get('state') !== state) throw new Error(`state mismatch in ${next.href}`);
      code = next.searchParams.get('code');
    }
    url = next.href;
  }
  if (!code) throw new Error(`no authorization code after 10 redirects (last: ${url})`);

  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      [INTERNAL_HEADER]: internalToken,
      authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }),
  });
  const tokens = await response.json();
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${JSON.stringify(tokens)}`);
  return tokens;
}

/**
 * GET /__admin/interaction/<uid>: oidc-provider's interaction (login, then consent) answered
 * without a user: the account is the request's login_hint, every requested scope is granted.
 */
async function interaction(req, res) {
  const { provider } = current;
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    if (!isNonEmptyString(params.login_hint)) throw new BadRequest('the authorization request needs login_hint (the user)');
    result = { login: { accountId: params.login_hint } };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    throw new Error(`unexpected interaction prompt ${prompt.name}`);
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
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
    const body = await readJson(req);
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
    const body = await readJson(req);
    const { alg, claims, header = {} } = body;
    const kid = typeof alg === 'string' && Object.hasOwn(current.kids, alg) ? current.kids[alg] : undefined;
    if (!kid) {
      return sendJson(res, 400, {
        error: `no current signing key for alg ${JSON.stringify(alg)} (have: ${Object.keys(current.kids).join(', ')})`,
      });
    }
    if (!isObject(claims) || !isObject(header)) {
      return sendJson(res, 400, { error: '`claims` must be an object, and `header` one when given' });
    }
    const merged = Object.fromEntries(
      Object.entries({ alg, typ: 'at+jwt', kid, ...header }).filter(([, v]) => v !== null),
    );
    return sendJson(res, 200, { token: signJws(generated.get(kid), merged, claims), kid });
  }
  if (req.method === 'POST' && path === '/__admin/id-token') {
    return sendJson(res, 200, await issueIdToken(await readJson(req)));
  }
  if (req.method === 'POST' && path === '/__admin/authorization-code') {
    return sendJson(res, 200, await authorizationCodeFlow(await readJson(req)));
  }
  if (req.method === 'GET' && path.startsWith('/__admin/interaction/')) {
    return interaction(req, res);
  }
  return sendJson(res, 404, { error: `no admin route ${req.method} ${path}` });
}

function route(req, res) {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);

  if (path.startsWith('/__admin/')) {
    admin(req, res, path).catch((e) => {
      if (e instanceof BadRequest) sendJson(res, 400, { error: e.message });
      else sendJson(res, 500, { error: String(e?.stack ?? e) });
    });
    return;
  }
  if (req.headers[INTERNAL_HEADER] !== internalToken) counts.set(path, (counts.get(path) ?? 0) + 1);

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
  origin = `http://127.0.0.1:${port}`;
  issuer = `${origin}${ISSUER_PATH}`;
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

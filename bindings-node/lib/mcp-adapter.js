'use strict';
// jwtgate/mcp, shared by the CommonJS (mcp.js) and ESM (mcp.mjs) entries. Translation only:
// every decision about a credential, every status and every challenge is the core's.
//
// Two ways to guard an MCP endpoint:
//   - createTokenVerifier: an `OAuthTokenVerifier` for the TypeScript SDK's own bearer-auth
//     helpers (v1 `requireBearerAuth`; v2 `requireBearerAuth` of @modelcontextprotocol/express,
//     and `requireBearerAuth` / `verifyBearerToken` of @modelcontextprotocol/server). Rejections
//     become the SDK's OAuth errors, loaded from the SDK the application has (lib/sdk.js). Those
//     helpers hand the verifier the token string alone: Bearer only (a DPoP-bound token is
//     refused, as the core refuses it without its proof; with dpop 'required', every credential).
//   - requireAuth / requireAuthRequest: jwtgate's own middleware (Express, and web-standard
//     `Request` → `AuthInfo | Response`), which hands the core the whole request (method, URL —
//     the configured resource's origin + the target's path and query —, Authorization, every
//     DPoP header, X-API-Key: `verifyRequest`) and answers with the verifier's own challenges
//     (ProtectedResource), which the SDK helpers cannot send: a request without a credential gets
//     a challenge without `error=` (RFC 6750 §3.1), DPoP challenges and nonces (RFC 9449), every
//     challenge names the needed scopes, and a server-side problem is the core's 5xx.
//   - protectedResourceMetadata / protectedResourceMetadataResponse serve the core's RFC 9728
//     document at its path-aware well-known URL.

const { JwtGateError, ProtectedResource, Verifier, errorCodes } = require('../index.js');

/**
 * Static tokens carry no expiry, but the SDK's middleware rejects an AuthInfo without
 * `expiresAt`: such credentials are reported as valid for this many seconds from now.
 */
const STATIC_TOKEN_EXPIRES_IN = 3600;

/** For a code the core's table does not know (cannot happen with a matching addon). */
const FALLBACK_DESCRIPTION = 'The access token is invalid';

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, and the SDK writes it into the
// header as is. The core's sentences are; a sentence that were not would give way to the fallback.
const ERROR_DESCRIPTION = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * What an unauthenticated client is told: the core's one fixed sentence per code
 * (`ErrorCode::client_description`), e.g. `token_expired` → "The access token expired". Never the
 * core's message, which names URLs, the expected issuer and audience, and echoes token values.
 */
const CLIENT_DESCRIPTIONS = new Map(
  errorCodes().map(({ code, clientDescription }) => [
    code,
    ERROR_DESCRIPTION.test(clientDescription) ? clientDescription : FALLBACK_DESCRIPTION,
  ]),
);

function clientDescription(code) {
  return CLIENT_DESCRIPTIONS.get(code) ?? FALLBACK_DESCRIPTION;
}

function configError(message) {
  return new JwtGateError(message, 'config_invalid');
}

/**
 * The verifier of an MCP adapter: the one given, or one built from options with
 * `audienceMatch: 'canonical'` unless the options say otherwise. MCP clients name the server by
 * its canonical URI (RFC 8707 resource indicator) and differ in host case, default port and
 * trailing slash; a plain Verifier keeps exact comparison.
 */
function mcpVerifier(options) {
  if (options instanceof Verifier) return options;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError('verifier options must be an object, e.g. { issuer, audience }, or a Verifier');
  }
  return new Verifier({ audienceMatch: 'canonical', ...options });
}

function loggerOf(logger, where) {
  if (logger === undefined) return console;
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    throw configError(`${where}: logger must have a warn(message) method, e.g. console`);
  }
  return logger;
}

function checkKeys(object, known, where) {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) {
      throw configError(`${where}: unknown option ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    }
  }
}

// Whether each matched audience is a URL, asked once per distinct value (a verifier matches a
// handful of audiences; bounded all the same): every AuthInfo then costs one URL parse, not two.
const AUDIENCE_IS_URL = new Map();
const AUDIENCE_IS_URL_MAX = 64;

// The SDK's AuthInfo.resource is a URL: the core's matched audience (`audienceMatched`), when it
// is one. A new URL object for each AuthInfo (URL objects are mutable).
function resourceOf(audienceMatched) {
  if (audienceMatched === undefined) return undefined;
  let isUrl = AUDIENCE_IS_URL.get(audienceMatched);
  if (isUrl === undefined) {
    isUrl = URL.canParse(audienceMatched);
    if (AUDIENCE_IS_URL.size >= AUDIENCE_IS_URL_MAX) AUDIENCE_IS_URL.clear();
    AUDIENCE_IS_URL.set(audienceMatched, isUrl);
  }
  return isUrl ? new URL(audienceMatched) : undefined;
}

/**
 * The SDK's AuthInfo for a verified credential. `scopes` are the scopes it grants — its own and
 * those they imply in the verifier's scope hierarchy (`Claims.grantedScopes`) — plus the
 * verifier's required scopes it grants (a credential whose scope implies `*` grants them all), so
 * that the SDK's own scope checks (`requiredScopes`, v2 `requireScopes`) agree with the core's.
 */
function authInfoOf(token, claims, requiredScopes, resourceMetadataUrl) {
  const scopes = [...claims.grantedScopes];
  for (const scope of requiredScopes) {
    if (!scopes.includes(scope) && claims.hasScope(scope)) scopes.push(scope);
  }
  const info = {
    token,
    // The core's client id; `''` only because the SDK's type is a string (a JWT with none of
    // client_id, azp and sub has none).
    clientId: claims.clientId ?? '',
    scopes,
    expiresAt: claims.exp ?? Math.floor(Date.now() / 1000) + STATIC_TOKEN_EXPIRES_IN,
    resource: resourceOf(claims.audienceMatched),
    extra: { claims: claims.payload, verified: claims },
  };
  if (resourceMetadataUrl !== undefined) info.resourceMetadataUrl = resourceMetadataUrl;
  return info;
}

function logRejection(logger, error) {
  // The detail, for the operator: once per rejection, with the stable code.
  logger.warn(`jwtgate/mcp: bearer token rejected (${error.code}): ${error.message}`);
}

/**
 * The SDK error for a rejection with the core's HTTP `status`: 403 → insufficient_scope, 5xx →
 * server_error (the core's "cannot verify right now": no challenge, the token is not at fault),
 * anything else → invalid_token. v2's OAuthError where @modelcontextprotocol/server is installed;
 * v1's classes otherwise. With both installed the error is v2's OAuthError (recognised by v2's
 * brand check) whose prototype is the v1 class (recognised by v1's `instanceof`), so either
 * SDK's middleware answers it correctly.
 */
function sdkError({ v1, v2 }, status, description) {
  const v1Class = v1 && (status === 403 ? v1.InsufficientScopeError : status >= 500 ? v1.ServerError : v1.InvalidTokenError);
  if (v2) {
    const { OAuthErrorCode } = v2;
    const code = status === 403 ? OAuthErrorCode.InsufficientScope : status >= 500 ? OAuthErrorCode.ServerError : OAuthErrorCode.InvalidToken;
    const error = new v2.OAuthError(code, description);
    if (v1Class) Object.setPrototypeOf(error, v1Class.prototype);
    return error;
  }
  return new v1Class(description);
}

function createTokenVerifierWith(sdks, options, adapterOptions = {}) {
  if (!sdks.v1 && !sdks.v2) throw sdks.missing();
  if (typeof adapterOptions !== 'object' || adapterOptions === null || Array.isArray(adapterOptions)) {
    throw configError('createTokenVerifier: the second argument must be an object, e.g. { logger }');
  }
  checkKeys(adapterOptions, ['logger'], 'createTokenVerifier');
  const logger = loggerOf(adapterOptions.logger, 'createTokenVerifier');
  const verifier = mcpVerifier(options);
  const requiredScopes = Object.freeze(verifier.requiredScopes);

  function toSdkError(error) {
    if (!(error instanceof JwtGateError)) return error;
    logRejection(logger, error);
    const sdkErr = sdkError(sdks, error.status, clientDescription(error.code));
    sdkErr.cause = error;
    return sdkErr;
  }

  return {
    verifier,
    requiredScopes,
    sdk: sdks.v2 ? 2 : 1,
    // One reaction on verify()'s Promise (already settled when the keys are in hand), rather
    // than an async function's own Promise and await.
    verifyAccessToken(token) {
      return verifier.verify(token).then(
        (claims) => authInfoOf(token, claims, requiredScopes),
        (error) => {
          throw toSdkError(error);
        },
      );
    },
  };
}

// ---- jwtgate's own middleware ------------------------------------------------------------------

const AUTH_OPTION_NAMES = ['verifier', 'resource', 'authorizationServers', 'scopesSupported', 'logger'];

/**
 * The pieces of requireAuth / requireAuthRequest: the verifier, the protected resource whose
 * challenges answer refused requests (always the verifier's own: `Verifier.protectedResource`,
 * which carries its DPoP settings and makes its server nonces), the scopes every request needs
 * (the verifier's required scopes, which the core enforces and every challenge names), the
 * resource's origin, the logger.
 */
function authSetup(options, where) {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError(`${where}: options must be an object, e.g. { verifier, resource }`);
  }
  checkKeys(options, AUTH_OPTION_NAMES, where);
  if (options.verifier === undefined) throw configError(`${where}: verifier is required (a Verifier or its options)`);
  const verifier = mcpVerifier(options.verifier);
  const requiredScopes = Object.freeze(verifier.requiredScopes);
  let resource = options.resource;
  if (typeof resource === 'string') {
    const resourceOptions = {};
    if (options.authorizationServers !== undefined) resourceOptions.authorizationServers = options.authorizationServers;
    if (options.scopesSupported !== undefined) resourceOptions.scopesSupported = options.scopesSupported;
    resource = verifier.protectedResource(resource, resourceOptions);
  } else if (!(resource instanceof ProtectedResource)) {
    throw configError(`${where}: resource is required: the resource URL, or a ProtectedResource`);
  } else if (options.authorizationServers !== undefined || options.scopesSupported !== undefined) {
    throw configError(`${where}: authorizationServers and scopesSupported belong to the ProtectedResource given as resource`);
  } else {
    resource = ownResource(verifier, resource, where);
  }
  // The URL of a request, for the DPoP proof's `htu` (RFC 9449 §4.3): the resource's own origin
  // with the request's path and query. Clients address the resource by that URL, and a proof
  // must name it; the Host header and the scheme a proxy saw are not consulted.
  const origin = new URL(resource.resource).origin;
  return { verifier, resource, requiredScopes, origin, logger: loggerOf(options.logger, where) };
}

/**
 * The verifier's own ProtectedResource for a given one: the same resource, authorization servers
 * and scopes, with the verifier's DPoP settings. Challenges must be the refusing verifier's: its
 * `DPoP algs=` and its server nonces (RFC 9449 §8), which another verifier's resource cannot make
 * (a nonce made with another key is refused, and the client never gets one that works), and a
 * resource built without a verifier makes none. A given resource whose document contradicts the
 * verifier's DPoP settings (RFC 9449 §5.1: other proof algorithms, or
 * `dpop_bound_access_tokens_required` other than the verifier's mode) describes another server:
 * config_invalid, naming the fix. A document without `dpop_signing_alg_values_supported` (an
 * optional member) contradicts nothing; the challenges still name the algorithms.
 */
function ownResource(verifier, given, where) {
  const document = given.metadata();
  const own = verifier.protectedResource(given.resource, {
    authorizationServers: document.authorization_servers ?? [],
    scopesSupported: document.scopes_supported ?? [],
  });
  const ownDocument = own.metadata();
  const contradicts = (member) =>
    (member in document || member === 'dpop_bound_access_tokens_required') &&
    JSON.stringify(document[member]) !== JSON.stringify(ownDocument[member]);
  for (const member of ['dpop_signing_alg_values_supported', 'dpop_bound_access_tokens_required']) {
    if (contradicts(member)) {
      throw configError(
        `${where}: the ProtectedResource contradicts this verifier's DPoP settings (${member}: ` +
          `${JSON.stringify(document[member] ?? null)}, the verifier's: ${JSON.stringify(ownDocument[member] ?? null)}); ` +
          'build it with verifier.protectedResource(url, { authorizationServers, scopesSupported }), or pass the resource URL',
      );
    }
  }
  return own;
}

/**
 * The access token of an `Authorization` value, read as the core reads it (RFC 9110 §11.4,
 * `DpopPolicy::presented`): spaces and tabs around the value dropped, the scheme up to the first
 * space or tab, the token after any run of them. AuthInfo.token is then the very string the core
 * verified.
 */
function tokenOf(authorization) {
  const value = authorization.replace(/^[ \t]+|[ \t]+$/g, '');
  const gap = value.search(/[ \t]/);
  return gap === -1 ? '' : value.slice(gap).replace(/^[ \t]+/, '');
}

/**
 * The API key of an `X-API-Key` value, read as the core reads it (`DpopPolicy::presented`:
 * spaces and tabs around it dropped). The core takes it only when the request has no
 * Authorization header, and only as a static token.
 */
function apiKeyOf(value) {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

// An absolute-form request target's scheme and authority (RFC 9112 §3.2.2, RFC 3986 §3).
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The path and query of a request target as received (RFC 9112 §3.2), for the resource's URL:
 * an origin-form target as it is — `//a.example/mcp` included, which is a path here, not a
 * reference to another host —, the path and query of an absolute-form one (its scheme and
 * authority are not this server's to trust: the origin is the configured resource's). Undefined
 * for other forms (asterisk, authority), which name no resource.
 */
function pathAndQueryOf(target) {
  if (typeof target !== 'string') return undefined;
  if (target.startsWith('/')) return target;
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute === null) return undefined;
  const rest = target.slice(absolute[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** The answer to a request whose target names no resource (RFC 9112 §3.2: 400). */
const BAD_TARGET = Object.freeze({ status: 400, headers: Object.freeze({}), body: undefined });

/**
 * One request through the core's `verify_request` (the Authorization scheme, the DPoP proof,
 * the token; without Authorization, the X-API-Key value as a static token): `{ auth }` for an accepted credential, or `{ answer }` — the status, headers and
 * body to send — for a refused one. `target` is the request target as received; the URL handed
 * to the core is the resource's origin followed by its path and query, joined as text: never
 * resolved as a URL reference, which would let the target replace the origin.
 */
async function authenticate(setup, method, target, authorization, dpop, apiKey) {
  const { verifier, resource, requiredScopes, origin, logger } = setup;
  const pathAndQuery = pathAndQueryOf(target);
  if (pathAndQuery === undefined) return { answer: BAD_TARGET };
  const url = `${origin}${pathAndQuery}`;
  try {
    const claims = await verifier.verifyRequest({ method, url, authorization, dpop, apiKey });
    const token = authorization === undefined ? apiKeyOf(apiKey) : tokenOf(authorization);
    return { auth: authInfoOf(token, claims, requiredScopes, resource.metadataUrl) };
  } catch (error) {
    if (!(error instanceof JwtGateError)) throw error;
    // No credential is the normal first request of a client: nothing to report.
    if (error.code !== 'credential_missing') logRejection(logger, error);
    return { answer: answerOf(resource.challenge(error, requiredScopes), error) };
  }
}

// The error code of a challenge (its first `error` parameter): the core chose it.
const CHALLENGE_ERROR = /(?:^|[\s,])error="([^"\\]*)"/;

/**
 * The HTTP answer to a refused request: the core's status, `WWW-Authenticate` (verbatim) and
 * `DPoP-Nonce`, and an OAuth error body (RFC 6750 §3) with the challenge's error code and the
 * code's client description; `server_error` for the core's 5xx. A request without a credential
 * gets no error (RFC 6750 §3.1) and no body.
 */
function answerOf(challenge, error) {
  const headers = {};
  if (challenge.wwwAuthenticate !== undefined) headers['www-authenticate'] = challenge.wwwAuthenticate;
  if (challenge.dpopNonce !== undefined) headers['dpop-nonce'] = challenge.dpopNonce;
  const oauthError = challenge.status >= 500 ? 'server_error' : CHALLENGE_ERROR.exec(challenge.wwwAuthenticate ?? '')?.[1];
  let body;
  if (oauthError !== undefined) {
    body = JSON.stringify({ error: oauthError, error_description: clientDescription(error.code) });
    headers['content-type'] = 'application/json';
  }
  return { status: challenge.status, headers, body };
}

/**
 * Express (or Connect / node:http with `next`) middleware: verifies the request — method, URL,
 * Authorization, every DPoP header and X-API-Key — with the core and sets `req.auth` to the SDK's AuthInfo
 * shape (read by v1's StreamableHTTPServerTransport and v2's `toNodeHandler`); refuses with the
 * core's challenge.
 */
function requireAuth(options) {
  const setup = authSetup(options, 'requireAuth');
  return function jwtgateRequireAuth(req, res, next) {
    const dpop = req.headersDistinct?.dpop ?? req.headers.dpop;
    // Node joins repeated X-API-Key fields with ", " (as Fetch does): such a value matches no key.
    const apiKey = req.headers['x-api-key'];
    authenticate(setup, req.method, req.originalUrl ?? req.url, req.headers.authorization, dpop, apiKey).then(({ auth, answer }) => {
      if (auth !== undefined) {
        req.auth = auth;
        next();
        return;
      }
      res.statusCode = answer.status;
      for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
      res.end(answer.body);
    }, next);
  };
}

/**
 * The web-standard form (Fetch API `Request`, as v2's `requireBearerAuth` of
 * @modelcontextprotocol/server): resolves to the AuthInfo, or to the `Response` to return.
 */
function requireAuthRequest(options) {
  const setup = authSetup(options, 'requireAuthRequest');
  return async function jwtgateRequireAuthRequest(request) {
    // The host built request.url (WHATWG-parsed): its path and query, never its origin.
    const url = new URL(request.url);
    // Fetch joins repeated header fields with ", "; a DPoP proof (a compact JWS) has no comma, so
    // splitting gives back every field, and the core refuses more than one (RFC 9449 §4.3).
    const dpop = request.headers.get('dpop')?.split(',').map((value) => value.trim());
    const { auth, answer } = await authenticate(
      setup,
      request.method,
      `${url.pathname}${url.search}`,
      request.headers.get('authorization') ?? undefined,
      dpop,
      request.headers.get('x-api-key') ?? undefined,
    );
    if (auth !== undefined) return auth;
    return new Response(answer.body ?? null, { status: answer.status, headers: answer.headers });
  };
}

// ---- RFC 9728 metadata -------------------------------------------------------------------------

function checkResource(resource, where) {
  if (!(resource instanceof ProtectedResource)) {
    throw configError(`${where}: resource must be a ProtectedResource`);
  }
}

// The document is public and read by browser-based clients too: any origin may read it.
const METADATA_HEADERS = Object.freeze({
  'content-type': 'application/json',
  'access-control-allow-origin': '*',
  'cache-control': 'max-age=3600',
});
const PREFLIGHT_HEADERS = Object.freeze({
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': '*',
});

/** The answer for a request to the metadata path: GET/HEAD the document, OPTIONS a preflight, 405 else. */
function metadataAnswer(method, resource) {
  if (method === 'GET' || method === 'HEAD') {
    return { status: 200, headers: METADATA_HEADERS, body: method === 'GET' ? resource.metadataJson() : undefined };
  }
  if (method === 'OPTIONS') return { status: 204, headers: PREFLIGHT_HEADERS, body: undefined };
  return { status: 405, headers: { allow: 'GET, HEAD, OPTIONS' }, body: undefined };
}

/** The path of a request target (see pathAndQueryOf; never resolved against another URL). */
function pathOf(target) {
  return pathAndQueryOf(target)?.replace(/[?#][^]*$/, '');
}

/**
 * Express / Connect middleware serving the core's RFC 9728 document at the resource's
 * path-aware well-known path (`resource.metadataPath`); mount it at the application's root.
 * Other requests pass through.
 */
function protectedResourceMetadata(resource) {
  checkResource(resource, 'protectedResourceMetadata');
  const metadataPath = resource.metadataPath;
  return function jwtgateProtectedResourceMetadata(req, res, next) {
    if (pathOf(req.originalUrl ?? req.url) !== metadataPath) {
      next();
      return;
    }
    const answer = metadataAnswer(req.method, resource);
    res.statusCode = answer.status;
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    res.end(answer.body);
  };
}

/**
 * The web-standard form: the `Response` for a request to the metadata path, undefined for any
 * other request (route it on).
 */
function protectedResourceMetadataResponse(request, resource) {
  checkResource(resource, 'protectedResourceMetadataResponse');
  if (pathOf(request.url) !== resource.metadataPath) return undefined;
  const answer = metadataAnswer(request.method, resource);
  return new Response(answer.body ?? null, { status: answer.status, headers: answer.headers });
}

module.exports = {
  createTokenVerifierWith,
  requireAuth,
  requireAuthRequest,
  protectedResourceMetadata,
  protectedResourceMetadataResponse,
  ProtectedResource,
  STATIC_TOKEN_EXPIRES_IN,
};

'use strict';
// The MCP adapter, parameterised by the SDK's error classes: mcp.mjs passes the ESM classes and
// mcp.js the CommonJS ones, so each matches the `instanceof` checks of the `requireBearerAuth`
// middleware loaded the same way. Translation only: JwtGateError → InvalidTokenError (401) or
// InsufficientScopeError (403), Claims → AuthInfo. Every fact comes from the core: the client
// id, the scopes, the matched audience (resource), the client descriptions.

const { JwtGateError, Verifier } = require('../index.js');
const native = require('../binding.js');

/**
 * Static tokens carry no expiry, but the SDK's middleware rejects an AuthInfo without
 * `expiresAt`: such credentials are reported as valid for this many seconds from now.
 */
const STATIC_TOKEN_EXPIRES_IN = 3600;

/**
 * What an unauthenticated client is told: the core's one fixed sentence per code
 * (`ErrorCode::client_description`, the same in every language), e.g. `token_expired` → "The
 * access token expired", `jwks_unavailable` / `discovery_failed` → "The server cannot verify
 * access tokens right now". The SDK puts it into the RFC 6750 `error_description` of
 * `WWW-Authenticate` and into the 401/403 body. The core's messages stay on the server: they name
 * the JWKS and discovery URLs, connection errors, the expected issuer and audience, and echo
 * values from the token.
 */
/** For a code the core's table does not know (cannot happen with a matching addon). */
const FALLBACK_DESCRIPTION = 'The access token is invalid';

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, and the SDK writes it into the
// header as is. The core's sentences are; a sentence that were not would give way to the fallback.
const ERROR_DESCRIPTION = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

const CLIENT_DESCRIPTIONS = Object.freeze(
  Object.fromEntries(
    Object.entries(native.clientDescriptions()).map(([code, description]) => [
      code,
      ERROR_DESCRIPTION.test(description) ? description : FALLBACK_DESCRIPTION,
    ]),
  ),
);

function clientDescription(code) {
  return Object.hasOwn(CLIENT_DESCRIPTIONS, code) ? CLIENT_DESCRIPTIONS[code] : FALLBACK_DESCRIPTION;
}

// The SDK's AuthInfo.resource is a URL: the core's matched audience (`audienceMatched`), when it
// is one.
function resourceOf(audienceMatched) {
  return audienceMatched !== undefined && URL.canParse(audienceMatched) ? new URL(audienceMatched) : undefined;
}

function loggerOf(adapterOptions) {
  if (adapterOptions === undefined) return console;
  if (typeof adapterOptions !== 'object' || adapterOptions === null || Array.isArray(adapterOptions)) {
    throw new JwtGateError('createTokenVerifier: the second argument must be an object, e.g. { logger }', 'config_invalid');
  }
  for (const key of Object.keys(adapterOptions)) {
    if (key !== 'logger') {
      throw new JwtGateError(`createTokenVerifier: unknown option ${JSON.stringify(key)} (known: logger)`, 'config_invalid');
    }
  }
  const { logger = console } = adapterOptions;
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    throw new JwtGateError('createTokenVerifier: logger must have a warn(message) method, e.g. console', 'config_invalid');
  }
  return logger;
}

function createTokenVerifierWith({ InvalidTokenError, InsufficientScopeError }, options, adapterOptions) {
  const logger = loggerOf(adapterOptions);
  const verifier = options instanceof Verifier ? options : new Verifier(options);

  function toSdkError(error) {
    if (!(error instanceof JwtGateError)) return error;
    // The detail, for the operator: once per rejection, with the stable code.
    logger.warn(`jwtgate/mcp: bearer token rejected (${error.code}): ${error.message}`);
    const description = clientDescription(error.code);
    // The core's HTTP status for the code: 403 (insufficient_scope) is the SDK's
    // InsufficientScopeError; every other rejection is its 401 InvalidTokenError, with the RFC 6750
    // challenge (the SDK has no class for the core's 503 and 500).
    const sdkError = error.status === 403 ? new InsufficientScopeError(description) : new InvalidTokenError(description);
    sdkError.cause = error;
    return sdkError;
  }

  return {
    verifier,
    async verifyAccessToken(token) {
      let claims;
      try {
        claims = await verifier.verify(token);
      } catch (error) {
        throw toSdkError(error);
      }
      return {
        token,
        // The core's client id; `''` only because the SDK's type is a string (a JWT with none of
        // client_id, azp and sub has none).
        clientId: claims.clientId ?? '',
        scopes: [...claims.scopes],
        expiresAt: claims.exp ?? Math.floor(Date.now() / 1000) + STATIC_TOKEN_EXPIRES_IN,
        resource: resourceOf(claims.audienceMatched),
        extra: { claims: claims.payload, verified: claims },
      };
    },
  };
}

module.exports = { createTokenVerifierWith, STATIC_TOKEN_EXPIRES_IN };

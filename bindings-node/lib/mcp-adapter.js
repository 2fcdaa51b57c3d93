'use strict';
// The MCP adapter, parameterised by the SDK's error classes: mcp.mjs passes the ESM classes and
// mcp.js the CommonJS ones, so each matches the `instanceof` checks of the `requireBearerAuth`
// middleware loaded the same way. Translation only: JwtGateError → InvalidTokenError (401) or
// InsufficientScopeError (403), Claims → AuthInfo.

const { JwtGateError, Verifier } = require('../index.js');

/**
 * Static tokens carry no expiry, but the SDK's middleware rejects an AuthInfo without
 * `expiresAt`: such credentials are reported as valid for this many seconds from now.
 */
const STATIC_TOKEN_EXPIRES_IN = 3600;

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E. The SDK writes the message
// into WWW-Authenticate unescaped (and a non-Latin-1 character would make Express throw).
function describe(message) {
  return message
    .replaceAll('…', '...')
    .replace(/["\\]/g, "'")
    .replace(/[^\x20-\x7e]/g, '?');
}

function asList(value) {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function resourceOf(aud, audiences) {
  const chosen = aud.find((a) => audiences.includes(a)) ?? aud[0];
  return chosen !== undefined && URL.canParse(chosen) ? new URL(chosen) : undefined;
}

function createTokenVerifierWith({ InvalidTokenError, InsufficientScopeError }, options) {
  const verifier = options instanceof Verifier ? options : new Verifier(options);
  const audiences = options instanceof Verifier ? [] : asList(options.audience);

  function toSdkError(error) {
    if (!(error instanceof JwtGateError)) return error;
    const sdkError =
      error.code === 'insufficient_scope'
        ? new InsufficientScopeError(describe(error.message))
        : new InvalidTokenError(describe(error.message));
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
        clientId: claims.clientId ?? claims.sub ?? '',
        scopes: [...claims.scopes],
        expiresAt: claims.exp ?? Math.floor(Date.now() / 1000) + STATIC_TOKEN_EXPIRES_IN,
        resource: resourceOf(claims.aud, audiences),
        extra: { claims: claims.payload, verified: claims },
      };
    },
  };
}

module.exports = { createTokenVerifierWith, STATIC_TOKEN_EXPIRES_IN };

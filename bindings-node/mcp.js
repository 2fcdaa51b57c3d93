'use strict';
// jwtgate/mcp (CommonJS): an OAuthTokenVerifier for @modelcontextprotocol/sdk's requireBearerAuth.
const adapter = require('./lib/mcp-adapter.js');
const sdk = require('./lib/sdk.js');

// The CommonJS error classes of the application's SDK (see lib/sdk.js).
function loadErrors() {
  try {
    return require(sdk.applicationRequirePath() ?? `${sdk.SDK}/${sdk.ERRORS}`);
  } catch (error) {
    throw sdk.missing(error);
  }
}
const { InsufficientScopeError, InvalidTokenError } = loadErrors();

/**
 * An `OAuthTokenVerifier` backed by a jwtgate `Verifier` (given, or built from `options`).
 * `adapterOptions.logger` (default `console`) receives each rejection's code and detail.
 */
function createTokenVerifier(options, adapterOptions) {
  return adapter.createTokenVerifierWith({ InvalidTokenError, InsufficientScopeError }, options, adapterOptions);
}

module.exports = { createTokenVerifier, STATIC_TOKEN_EXPIRES_IN: adapter.STATIC_TOKEN_EXPIRES_IN };

'use strict';
// jwtgate/mcp (CommonJS). See lib/mcp-adapter.js; the SDK's error classes are the CommonJS ones
// of the SDK the application has (lib/sdk.js), loaded when createTokenVerifier is first called.
const adapter = require('./lib/mcp-adapter.js');
const sdk = require('./lib/sdk.js');

let sdks;
function loaded() {
  sdks ??= { ...sdk.loadRequire(), missing: sdk.missing };
  return sdks;
}

/**
 * An `OAuthTokenVerifier` for the MCP TypeScript SDK's bearer-auth helpers (v2 or v1, whichever
 * the application has), backed by a jwtgate `Verifier` (given, or built from `options`).
 * `adapterOptions.logger` (default `console`) receives each rejection's code and detail.
 */
function createTokenVerifier(options, adapterOptions) {
  return adapter.createTokenVerifierWith(loaded(), options, adapterOptions);
}

module.exports = {
  createTokenVerifier,
  requireAuth: adapter.requireAuth,
  requireAuthRequest: adapter.requireAuthRequest,
  protectedResourceMetadata: adapter.protectedResourceMetadata,
  protectedResourceMetadataResponse: adapter.protectedResourceMetadataResponse,
  ProtectedResource: adapter.ProtectedResource,
  STATIC_TOKEN_EXPIRES_IN: adapter.STATIC_TOKEN_EXPIRES_IN,
};

// jwtgate/mcp (ESM). See lib/mcp-adapter.js; the SDK's error classes are the ESM ones of the SDK
// the application has (lib/sdk.js). Importing never fails for want of an SDK: jwtgate's own
// middleware needs none, and createTokenVerifier says what to install.
import adapter from './lib/mcp-adapter.js';
import sdk from './lib/sdk.js';

const sdks = { ...(await sdk.loadImport()), missing: sdk.missing };

/**
 * An `OAuthTokenVerifier` for the MCP TypeScript SDK's bearer-auth helpers (v2 or v1, whichever
 * the application has), backed by a jwtgate `Verifier` (given, or built from `options`).
 * @param {import('./index.mjs').VerifierOptions | import('./index.mjs').Verifier} options
 * @param {{ logger?: { warn(message: string): void } }} [adapterOptions] `logger` (default
 *   `console`) receives each rejection's code and detail.
 */
export function createTokenVerifier(options, adapterOptions) {
  return adapter.createTokenVerifierWith(sdks, options, adapterOptions);
}

export const {
  requireAuth,
  requireAuthRequest,
  protectedResourceMetadata,
  protectedResourceMetadataResponse,
  ProtectedResource,
  STATIC_TOKEN_EXPIRES_IN,
} = adapter;

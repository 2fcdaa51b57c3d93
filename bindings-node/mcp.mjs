// jwtgate/mcp (ESM): an OAuthTokenVerifier for @modelcontextprotocol/sdk's requireBearerAuth.
import { pathToFileURL } from 'node:url';

import adapter from './lib/mcp-adapter.js';
import sdk from './lib/sdk.js';

// The ESM error classes of the application's SDK (see lib/sdk.js), which its ESM middleware
// checks with `instanceof`.
async function loadErrors() {
  const found = sdk.applicationImportPath();
  try {
    return await import(found !== null ? pathToFileURL(found).href : `${sdk.SDK}/${sdk.ERRORS}`);
  } catch (error) {
    throw sdk.missing(error);
  }
}
const { InsufficientScopeError, InvalidTokenError } = await loadErrors();

/**
 * An `OAuthTokenVerifier` backed by a jwtgate `Verifier` (given, or built from `options`).
 * @param {import('./index.mjs').VerifierOptions | import('./index.mjs').Verifier} options
 * @param {{ logger?: { warn(message: string): void } }} [adapterOptions] `logger` (default
 *   `console`) receives each rejection's code and detail.
 */
export function createTokenVerifier(options, adapterOptions) {
  return adapter.createTokenVerifierWith({ InvalidTokenError, InsufficientScopeError }, options, adapterOptions);
}

export const { STATIC_TOKEN_EXPIRES_IN } = adapter;

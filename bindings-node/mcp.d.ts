// Type declarations of `jwtgate/mcp` (CommonJS entry; mcp.d.mts re-exports them for ESM).
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

import type { Claims, Verifier, VerifierOptions } from './index.js';

/** The AuthInfo jwtgate produces: every field the SDK reads is set. */
export interface JwtGateAuthInfo extends AuthInfo {
  /**
   * The core's client id (`Claims.clientId`: `client_id`, else `azp`, else `sub`; the configured
   * identity for static tokens); `''` for a JWT with none of them, as the SDK's type is a string.
   */
  clientId: string;
  scopes: string[];
  /**
   * `exp` in seconds since the epoch. Static tokens have none, but the SDK rejects an AuthInfo
   * without it: they report {@link STATIC_TOKEN_EXPIRES_IN} seconds from now.
   */
  expiresAt: number;
  /**
   * The configured audience the credential matched (the core's `Claims.audienceMatched`; a
   * static token's `audience`), when it is a URL (RFC 8707 resource). Absent when no audience
   * is checked.
   */
  resource?: URL;
  extra: {
    /** The token's claims set as signed (`{}` for static tokens). */
    claims: Readonly<Record<string, unknown>>;
    /** jwtgate's verified view: typed registered claims, scopes, alg, kid, kind. */
    verified: Claims;
  };
}

/** An `OAuthTokenVerifier` for `requireBearerAuth({ verifier })`. */
export interface JwtGateTokenVerifier extends OAuthTokenVerifier {
  /** The jwtgate verifier behind it (for `waitReady()`, `keysStatus()`). */
  readonly verifier: Verifier;
  /**
   * Verifies `token`. Rejects with the SDK's `InsufficientScopeError` (HTTP 403) for the code
   * the core gives status 403 (`insufficient_scope`) and `InvalidTokenError` (HTTP 401) for every
   * other rejection. Their
   * message — what the client sees in `WWW-Authenticate` and the body — is the core's one fixed
   * sentence per error code (e.g. `token_expired`: "The access token expired"; `jwks_unavailable`
   * and `discovery_failed`: "The server cannot verify access tokens right now"), never the core's message,
   * which names URLs, connection errors and the expected issuer and audience. That detail goes
   * to the logger and stays on the error: the `JwtGateError` is its `cause`.
   */
  verifyAccessToken(token: string): Promise<JwtGateAuthInfo>;
}

/** Where the adapter reports rejections: anything with `warn(message)`, such as `console`. */
export interface JwtGateLogger {
  warn(message: string): void;
}

/** Options of the adapter itself (the verifier's options are the first argument). */
export interface TokenVerifierAdapterOptions {
  /**
   * Receives one line per rejection with the error code and the core's detailed message
   * (`jwtgate/mcp: bearer token rejected (audience_mismatch): audience mismatch: expected …`).
   * Default: `console`.
   */
  logger?: JwtGateLogger;
}

/**
 * An `OAuthTokenVerifier` backed by jwtgate, for `requireBearerAuth` of
 * `@modelcontextprotocol/sdk` (1.x). Pass verifier options, or a `Verifier` to share one.
 *
 * @example
 * app.post('/mcp', requireBearerAuth({ verifier: createTokenVerifier({ issuer, audience }) }), handler);
 * @throws {import('./index.js').JwtGateError} `config_invalid` for bad options.
 */
export declare function createTokenVerifier(
  options: VerifierOptions | Verifier,
  adapterOptions?: TokenVerifierAdapterOptions,
): JwtGateTokenVerifier;

/** Seconds from now that static tokens report as `expiresAt` (3600). */
export declare const STATIC_TOKEN_EXPIRES_IN: number;

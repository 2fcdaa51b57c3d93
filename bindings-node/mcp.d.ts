// Type declarations of `jwtgate/mcp` (CommonJS entry; mcp.d.mts re-exports them for ESM).
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

import type { Claims, Verifier, VerifierOptions } from './index.js';

/** The AuthInfo jwtgate produces: every field the SDK reads is set. */
export interface JwtGateAuthInfo extends AuthInfo {
  /** `client_id`, else `azp`, else `sub` (the configured identity for static tokens). */
  clientId: string;
  scopes: string[];
  /**
   * `exp` in seconds since the epoch. Static tokens have none, but the SDK rejects an AuthInfo
   * without it: they report {@link STATIC_TOKEN_EXPIRES_IN} seconds from now.
   */
  expiresAt: number;
  /** The `aud` value that is one of the configured audiences (else the first), when it is a URL. */
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
   * Verifies `token`. Rejects with the SDK's `InsufficientScopeError` (HTTP 403) for
   * `insufficient_scope` and `InvalidTokenError` (HTTP 401) for every other rejection; the
   * `JwtGateError` is the error's `cause`.
   */
  verifyAccessToken(token: string): Promise<JwtGateAuthInfo>;
}

/**
 * An `OAuthTokenVerifier` backed by jwtgate, for `requireBearerAuth` of
 * `@modelcontextprotocol/sdk` (1.x). Pass verifier options, or a `Verifier` to share one.
 *
 * @example
 * app.post('/mcp', requireBearerAuth({ verifier: createTokenVerifier({ issuer, audience }) }), handler);
 * @throws {import('./index.js').JwtGateError} `config_invalid` for bad options.
 */
export declare function createTokenVerifier(options: VerifierOptions | Verifier): JwtGateTokenVerifier;

/** Seconds from now that static tokens report as `expiresAt` (3600). */
export declare const STATIC_TOKEN_EXPIRES_IN: number;

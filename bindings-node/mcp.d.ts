// Type declarations of `jwtgate/mcp` (CommonJS entry; mcp.d.mts re-exports them for ESM).
//
// They import nothing from the MCP SDK, so they type-check with SDK v1, v2 or neither: the types
// below are structurally the SDKs' own (`AuthInfo`, `OAuthTokenVerifier` of
// @modelcontextprotocol/sdk 1.x and of @modelcontextprotocol/server 2.x), so a
// `JwtGateTokenVerifier` is accepted wherever either SDK wants its verifier.
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Claims, ProtectedResource, Verifier, VerifierOptions } from './index.js';

export { ProtectedResource } from './index.js';

/** The AuthInfo jwtgate produces (the SDKs' `AuthInfo`, with every field the SDKs read set). */
export interface JwtGateAuthInfo {
  /**
   * The access token the core verified: the `Authorization` value after its scheme and the
   * spaces or tabs that follow it (RFC 9110 §11.4); for an API key taken from `X-API-Key`
   * ({@link requireAuth}), that value without surrounding spaces and tabs; with the SDKs'
   * middleware, the token they passed.
   */
  token: string;
  /**
   * The core's client id (`Claims.clientId`: `client_id`, else `azp`, else `sub`; the configured
   * identity for static tokens); `''` for a JWT with none of them, as the SDKs' type is a string.
   */
  clientId: string;
  /**
   * The scopes the credential grants: its own and those they imply in the verifier's scope
   * hierarchy (`Claims.grantedScopes`), plus the verifier's required scopes it grants — so the
   * SDKs' own scope checks agree with the core's.
   */
  scopes: string[];
  /**
   * `exp` in seconds since the epoch (for an introspected token, the provider's answer's).
   * Static tokens have none (nor has an introspection answer without `exp`), but the SDKs reject
   * an AuthInfo without it: they report {@link STATIC_TOKEN_EXPIRES_IN} seconds from now.
   */
  expiresAt: number;
  /**
   * The configured audience the credential matched (the core's `Claims.audienceMatched`; a
   * static token's `audience`), when it is a URL (RFC 8707 resource). Absent when no audience
   * is checked.
   */
  resource?: URL;
  /** The RFC 9728 metadata URL of the resource that accepted the credential (set by {@link requireAuth}). */
  resourceMetadataUrl?: string;
  extra: {
    /**
     * The token's claims set as signed (`{}` for static tokens; for an introspected token, the
     * provider's RFC 7662 answer).
     */
    claims: Readonly<Record<string, unknown>>;
    /** jwtgate's verified view: typed registered claims, scopes, alg, kid, kind (`'introspected'`, …). */
    verified: Claims;
  };
}

/**
 * An `OAuthTokenVerifier` for the SDKs' bearer-auth helpers: v1 `requireBearerAuth`
 * (@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js), v2 `requireBearerAuth`
 * (@modelcontextprotocol/express), v2 `requireBearerAuth` / `verifyBearerToken`
 * (@modelcontextprotocol/server). Those helpers pass the token alone: Bearer tokens only (no
 * DPoP; with `dpop: 'required'` every credential is refused, `dpop_proof_missing`), and they
 * write their own challenges — {@link requireAuth} sends the core's.
 */
export interface JwtGateTokenVerifier {
  /** The jwtgate verifier behind it (for `waitReady()`, `keysStatus()`). */
  readonly verifier: Verifier;
  /**
   * The verifier's required scopes: pass them as the SDK middleware's `requiredScopes`, so that
   * its challenges name them (`scope=`).
   */
  readonly requiredScopes: readonly string[];
  /** The SDK major version whose error classes it throws (2 when v2 is installed, else 1). */
  readonly sdk: 1 | 2;
  /**
   * Verifies `token`. Rejects with the SDK's OAuth error for the core's HTTP status of the code:
   * 403 (`insufficient_scope`) → insufficient_scope (v1 `InsufficientScopeError`, v2
   * `OAuthError(OAuthErrorCode.InsufficientScope)`); 5xx (keys unavailable, introspection
   * failed) → server_error (`ServerError`, `OAuthErrorCode.ServerError`: HTTP 500 without a
   * challenge); anything else → invalid_token (`InvalidTokenError`, `OAuthErrorCode.InvalidToken`: 401 with the challenge).
   * Their message — what the client sees — is the core's fixed sentence for the code (e.g.
   * `token_expired`: "The access token expired"), never the core's message, which goes to the
   * logger and stays on the error as its `cause` (the `JwtGateError`).
   */
  verifyAccessToken(token: string): Promise<JwtGateAuthInfo>;
}

/** Where the adapters report rejections: anything with `warn(message)`, such as `console`. */
export interface JwtGateLogger {
  warn(message: string): void;
}

/** Options of {@link createTokenVerifier} itself (the verifier's options are the first argument). */
export interface TokenVerifierAdapterOptions {
  /**
   * Receives one line per rejection with the error code and the core's detailed message
   * (`jwtgate/mcp: bearer token rejected (audience_mismatch): audience mismatch: expected …`).
   * Default: `console`.
   */
  logger?: JwtGateLogger;
}

/**
 * An `OAuthTokenVerifier` backed by jwtgate, for the MCP TypeScript SDK's bearer-auth helpers —
 * v2 (@modelcontextprotocol/server 2.x) or v1 (@modelcontextprotocol/sdk 1.x), detected from the
 * application's installed packages (with both installed, its errors satisfy both). Pass verifier
 * options (`audienceMatch` defaults to `'canonical'` here), or a `Verifier` to share one.
 *
 * @example
 * const tokenVerifier = createTokenVerifier({ issuer, audience: 'https://mcp.example.com/mcp', requiredScopes: ['tools:call'] });
 * app.all('/mcp', requireBearerAuth({ verifier: tokenVerifier, requiredScopes: [...tokenVerifier.requiredScopes],
 *   resourceMetadataUrl: resource.metadataUrl }), handler);
 * @throws {import('./index.js').JwtGateError} `config_invalid` for bad options.
 * @throws {Error} when neither SDK is installed.
 */
export declare function createTokenVerifier(
  options: VerifierOptions | Verifier,
  adapterOptions?: TokenVerifierAdapterOptions,
): JwtGateTokenVerifier;

/**
 * Options of {@link requireAuth} and {@link requireAuthRequest}. The scopes every request needs
 * are the verifier's required scopes: the core enforces them, and every challenge names them.
 */
export interface RequireAuthOptions {
  /** The verifier, or its options (`audienceMatch` defaults to `'canonical'` here). */
  verifier: Verifier | VerifierOptions;
  /**
   * The protected resource (its origin and metadata URL; best `verifier.protectedResource(url)`,
   * which carries the verifier's DPoP settings), or its resource URL — then built that way, with
   * {@link authorizationServers} (default: the verifier's issuers) and {@link scopesSupported}.
   * Challenges and DPoP nonces always come from the verifier (a nonce must be one it accepts);
   * a ProtectedResource whose document contradicts the verifier's DPoP settings (other
   * `dpop_signing_alg_values_supported`, or `dpop_bound_access_tokens_required` other than its
   * mode) is `config_invalid`.
   */
  resource: ProtectedResource | string;
  /** With a resource URL: the authorization servers' issuer identifiers (default: the verifier's issuers). */
  authorizationServers?: readonly string[];
  /** With a resource URL: the scopes it understands (default: the verifier's required scopes). */
  scopesSupported?: readonly string[];
  /** Receives one line per rejection (default `console`). */
  logger?: JwtGateLogger;
}

/**
 * A request {@link requireAuth} let through, for servers on plain `node:http`: it set `auth`.
 * (With Express, the SDKs declare `req.auth` themselves.)
 */
export interface AuthenticatedRequest extends IncomingMessage {
  /** The accepted credential: the SDKs read it (`extra.authInfo`, `ctx.http.authInfo`). */
  auth?: JwtGateAuthInfo;
}

/**
 * Express / Connect middleware guarding an MCP endpoint with jwtgate's core: the request's
 * method, URL (the resource's origin followed by the request target's raw path and query: the
 * URL a DPoP proof must name; an absolute-form target keeps only its path and query, and neither
 * the target, `Host` nor `X-Forwarded-*` can change the origin; an asterisk- or authority-form
 * target is 400), `Authorization`, every `DPoP` header and `X-API-Key` go to
 * {@link Verifier.verifyRequest}. `X-API-Key` counts only without `Authorization` (which wins when
 * both are sent) and only as a configured static token (a JWT there is refused); repeated
 * `X-API-Key` fields arrive joined with ", " and match no key. An accepted credential sets
 * `req.auth` (the SDKs' AuthInfo); a refused one gets the core's challenge, verbatim — 401 without
 * `error=` when no credential was sent, 401 `invalid_token` / `invalid_dpop_proof` /
 * `use_dpop_nonce` or 403 `insufficient_scope`, with `resource_metadata`, `scope` and, with DPoP
 * on, a `DPoP algs=…` challenge; the core's 503 `server_error` without a challenge when keys are
 * unavailable or the introspection endpoint gives no usable answer (`introspection_failed`) —
 * with `DPoP-Nonce` when the core issues one, and an OAuth error body. Opaque tokens under
 * {@link VerifierOptions.introspection} are introspected on the libuv thread pool. Works with SDK v1 and v2
 * alike (and without either).
 */
export declare function requireAuth(
  options: RequireAuthOptions,
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * {@link requireAuth} for web-standard hosts (Fetch API `Request`; v2's `createMcpHandler`):
 * resolves to the AuthInfo, or to the `Response` to return.
 */
export declare function requireAuthRequest(options: RequireAuthOptions): (request: Request) => Promise<JwtGateAuthInfo | Response>;

/**
 * Express / Connect middleware serving the core's RFC 9728 document at `resource.metadataPath`
 * (GET/HEAD; OPTIONS preflight; 405 for other methods; any origin may read it). Mount it at the
 * application's root; other requests pass through.
 */
export declare function protectedResourceMetadata(
  resource: ProtectedResource,
): (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The web-standard form of {@link protectedResourceMetadata}: the `Response` for a request to the
 * metadata path, undefined for any other request.
 */
export declare function protectedResourceMetadataResponse(request: Request, resource: ProtectedResource): Response | undefined;

/** Seconds from now that static tokens report as `expiresAt` (3600). */
export declare const STATIC_TOKEN_EXPIRES_IN: number;

// Type declarations of the package `jwtgate` (CommonJS entry; index.d.mts re-exports them for
// ESM). The native layer's generated declarations are in binding.d.ts (internal).

/**
 * The JWS algorithms jwtgate verifies (RFC 7518 names; `EdDSA` from RFC 8037 and `Ed25519`, its
 * RFC 9864 name, are one algorithm on Ed25519 keys). `ES512` (ECDSA on P-521) needs the default
 * aws-lc-rs backend. `none` does not exist.
 */
export type Algorithm =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519'
  | 'HS256'
  | 'HS384'
  | 'HS512';

/**
 * The stable reason of a rejection: the same strings as the Rust core (`ErrorCode::as_str`)
 * and the Python package. Each code's HTTP status, client description and operator hint are in
 * {@link errorCodes}.
 */
export type ErrorCode =
  | 'token_malformed'
  | 'token_too_large'
  | 'alg_not_allowed'
  | 'header_unsupported'
  | 'key_not_found'
  | 'key_unusable'
  | 'signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'claim_missing'
  | 'claim_invalid'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'typ_mismatch'
  | 'insufficient_scope'
  | 'token_unknown'
  | 'jwks_unavailable'
  | 'discovery_failed'
  | 'config_invalid'
  | 'credential_missing'
  | 'dpop_proof_missing'
  | 'dpop_proof_invalid'
  | 'dpop_proof_replayed'
  | 'dpop_key_mismatch'
  | 'dpop_nonce_required'
  | 'token_inactive'
  | 'introspection_failed'
  | 'dpop_replay_cache_full';

/** Every error code, in the core's stable order. */
export declare const ERROR_CODES: readonly ErrorCode[];

/** One row of the core's error-code table. */
export interface ErrorCodeInfo {
  /** The code (`ErrorCode::as_str`). */
  readonly code: ErrorCode;
  /**
   * The HTTP status a resource server answers with (`ErrorCode::http_status`): 401 for a
   * missing, malformed or invalid credential (RFC 6750 §3.1 `invalid_token`) or DPoP proof,
   * 403 for `insufficient_scope`, 503 when keys are unavailable (`jwks_unavailable`,
   * `discovery_failed`), the introspection endpoint gave no usable answer
   * (`introspection_failed`) or the DPoP replay cache is full (`dpop_replay_cache_full`), 500 for
   * `config_invalid`. `token_inactive` (the provider's introspection answer `active: false`:
   * revoked, expired or unknown there) is 401.
   */
  readonly status: number;
  /**
   * A fixed sentence safe to send to an unauthenticated client, e.g. in a `WWW-Authenticate`
   * `error_description` (`ErrorCode::client_description`): no URL, no configured value, no echo
   * of the credential.
   */
  readonly clientDescription: string;
  /** What an operator can do about it, in one line (`ErrorCode::hint`). */
  readonly hint: string;
}

/**
 * The core's error-code table: every code in its stable order with its HTTP status, client
 * description and operator hint (the same table in Rust, Python and Node). Frozen.
 */
export declare function errorCodes(): readonly ErrorCodeInfo[];

/**
 * Structured facts about a rejection (the core's `ErrorDetail`), for programs: the message says
 * the same for people. Only the facts the error has are present.
 */
export interface ErrorDetail {
  /** What the verifier expected: the configured issuers, audiences or `typ`. */
  readonly expected?: readonly string[];
  /** What the credential had: its `iss`, its `aud` values or its `typ` (each cut to 80 characters). */
  readonly found?: readonly string[];
  /** Required scopes the credential lacks (`insufficient_scope`). */
  readonly missingScopes?: readonly string[];
  /**
   * For time claims: whole seconds `exp` lies in the past, or `nbf` / `iat` in the future,
   * beyond the clock tolerance.
   */
  readonly skewSeconds?: number;
  /** The token's `kid`, for key errors (cut to 80 characters). */
  readonly kid?: string;
}

/** The crypto backend compiled into the native addon (`"aws-lc-rs"`). */
export declare const CRYPTO_BACKEND: string;

/**
 * Every rejection and every configuration error. Match on `code`; show `message` to operators
 * (it names what to fix and never contains the token).
 */
export declare class JwtGateError extends Error {
  constructor(message: string, code: ErrorCode, claim?: string | null, detail?: ErrorDetail | null);
  readonly name: 'JwtGateError';
  /** Why: one of {@link ERROR_CODES}. */
  readonly code: ErrorCode;
  /** The HTTP status for the code, from the core's table ({@link ErrorCodeInfo.status}). */
  readonly status: number;
  /** What an operator can do about it, from the core's table ({@link ErrorCodeInfo.hint}). */
  readonly hint: string;
  /** The claim concerned, for claim errors (`exp`, `iss`, `aud`, `scope`, a required claim, …). */
  readonly claim?: string;
  /** Structured facts (expected and found values, missing scopes, skew, kid), where the error has them. */
  readonly detail?: ErrorDetail;
  /**
   * For `insufficient_scope`: the credential, which verified in every other respect (who asked,
   * with which scopes), for a 403 that still knows the caller.
   */
  readonly claims?: Claims;
}

/** A static bearer token / API key ("multi-auth") and the identity it grants. */
export interface StaticTokenOptions {
  /** The secret as sent in `Authorization: Bearer <token>`; kept only as a SHA-256 digest. */
  token: string;
  /** The identity the token grants (`clientId` and `sub` of the result). */
  clientId: string;
  /** The scopes the token grants (default: none). */
  scopes?: readonly string[];
  /**
   * The resource (audience) the token is for: reported as `aud` and `audienceMatched`, so that
   * frameworks checking a credential's resource (RFC 8707; the MCP SDK's `AuthInfo.resource`)
   * accept it as they accept JWTs.
   */
  audience?: string;
}

/**
 * Token introspection (RFC 7662), {@link VerifierOptions.introspection}: this server's client
 * credentials at the provider and how answers are reused. Every bad value (a missing or
 * non-string `clientId` / `clientSecret`, an unknown member or `clientAuth`, a number out of
 * range) is `config_invalid`.
 */
export interface IntrospectionOptions {
  /** The client id the provider knows this server by (a resource server allowed to introspect). */
  clientId: string;
  /** Its client secret (not empty). */
  clientSecret: string;
  /**
   * The introspection endpoint (`https`, or `http` on loopback). Default: the issuer's metadata
   * `introspection_endpoint`, discovered once (the verifier then needs exactly one issuer).
   */
  endpoint?: string;
  /**
   * How this server authenticates there (RFC 6749 §2.3.1): `'basic'` (`client_secret_basic`,
   * default) or `'post'` (`client_secret_post`, the credentials in the form body).
   */
  clientAuth?: 'basic' | 'post';
  /**
   * Also ask about JWTs that verified locally, so that a revoked JWT is refused (within
   * {@link cacheTtl}); costs one provider call per token and cache period. Default false: only
   * credentials that are not JWTs are introspected.
   */
  jwts?: boolean;
  /**
   * How long an active answer is reused, in seconds (default 60, at most 3600; never past the
   * token's `exp`; 0 asks the provider on every verification). This is the longest a token
   * revoked at the provider is still accepted. Refusals are reused for 5 s, failures to ask never.
   */
  cacheTtl?: number;
  /** How many answers are cached (default 4096, at most 65,536; 0 disables the cache). */
  cacheSize?: number;
  /**
   * How many calls to the provider may run at once (default 16, 1 to 1024); a verification
   * needing one more is refused with `introspection_failed` (503) rather than queued.
   */
  maxConcurrent?: number;
}

/** A JSON Web Key Set, as published at an issuer's `jwks_uri`. */
export interface JsonWebKeySet {
  keys: ReadonlyArray<Record<string, unknown>>;
}

/**
 * Verifier options. The names are the project's Node names (DESIGN.md "Option names"); unknown
 * names are rejected with `config_invalid`. Keys come from exactly one source: `jwks`,
 * `publicKey`, `jwksUri`, or — when none is given — discovery from the `issuer`
 * (`/.well-known/openid-configuration`, then RFC 8414).
 *
 * A value of the wrong type, a number out of range (negative, NaN, infinite, too large, a
 * fraction for a size) and a string that is not valid Unicode (a lone surrogate) are
 * `config_invalid`.
 */
export interface VerifierOptions {
  /** Accepted issuer(s): `iss` must equal one exactly, without normalisation (trailing slashes matter). */
  issuer?: string | readonly string[];
  /**
   * Accepted audience(s) (your resource identifier): one `aud` value must equal one of them.
   * Required with JWTs unless {@link insecureSkipAudienceCheck}.
   */
  audience?: string | readonly string[];
  /** The JWKS URL (kept fresh in the background); skips discovery. */
  jwksUri?: string;
  /** A static JWKS: the document or its JSON text. Unusable keys are skipped and reported. */
  jwks?: JsonWebKeySet | string;
  /** One or more public keys: PEM text (SPKI or PKCS#1 RSA) or `KeyObject`s. */
  publicKey?: string | import('node:crypto').KeyObject | ReadonlyArray<string | import('node:crypto').KeyObject>;
  /**
   * A shared HMAC secret (bytes, or a string taken as its UTF-8 bytes; at least the hash length:
   * 32 bytes for HS256), used for every HS* algorithm named in {@link algorithms}, which must
   * name at least one. Cannot be combined with public keys.
   */
  hmacSecret?: Uint8Array | string;
  /**
   * Accepted algorithms. Default: every asymmetric algorithm (each key is bound to its own
   * family, so the token's `alg` never chooses how a key verifies).
   */
  algorithms?: readonly Algorithm[];
  /**
   * Scopes that must all be present (`scope` or `scp`, or implied through
   * {@link scopeImplies}); a missing one is `insufficient_scope`.
   */
  requiredScopes?: readonly string[];
  /**
   * The scope hierarchy (MCP authorization: "a broader scope implies narrower ones"): each scope
   * → the scope(s) it implies, e.g. `{ 'files:write': ['files:read'], admin: ['*'] }` (`'*'`:
   * every scope). Every scope check counts implied scopes, transitively. None by default.
   */
  scopeImplies?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * How a token's `aud` compares with {@link audience}: `'exact'` (default; RFC 7519 string
   * equality) or `'canonical'` — URL-shaped audiences compare as canonical resource URIs
   * (scheme and host case-insensitive, default port dropped, one trailing slash ignored; path
   * and query stay case-sensitive), as the MCP authorization rules for RFC 8707 resources ask.
   * jwtgate/mcp's adapters default to `'canonical'`.
   */
  audienceMatch?: 'exact' | 'canonical';
  /**
   * DPoP (RFC 9449), checked by {@link Verifier.verifyRequest}: `'allowed'` (default: Bearer
   * tokens work; DPoP-bound tokens — `cnf.jkt` — only with a valid proof), `'required'` (only
   * DPoP-bound tokens with proofs: the token-only entry points — `verify`, `verifySync`,
   * `verifyAt`, and jwtgate/mcp's `createTokenVerifier` for the SDK's middleware — then refuse
   * every credential, static tokens included, with `dpop_proof_missing`) or `'off'` (the DPoP
   * scheme is refused, and so are bound tokens). A bound token is never accepted as a Bearer
   * token, by any entry point.
   */
  dpop?: 'off' | 'allowed' | 'required';
  /** Algorithms accepted for DPoP proofs (default: every asymmetric algorithm; no HS*). */
  dpopAlgorithms?: readonly Algorithm[];
  /**
   * How far a proof's `iat` may lie from now, either way, in seconds (default 300, at most
   * 3600); proofs' `jti`s are remembered this long to refuse replays.
   */
  dpopIatWindow?: number;
  /**
   * Require server-issued nonces in proofs (RFC 9449 §8): a proof without a current one is
   * `dpop_nonce_required`, and the challenge carries a fresh nonce ({@link Challenge.dpopNonce})
   * for the `DPoP-Nonce` header. Default false.
   */
  dpopNonce?: boolean;
  /**
   * Capacity of the DPoP replay cache, in proofs (default 1,048,576). When a client key's share
   * of it is full of proofs still inside the window, new proofs are refused with
   * `dpop_replay_cache_full` (503). The cache lives in this process: a proof replayed to another
   * process (worker, replica) is not detected there.
   */
  dpopReplayCacheSize?: number;
  /**
   * The secret server nonces are made with — bytes, or a string taken as its UTF-8 bytes; at
   * least 32 bytes — for several processes behind one name: each accepts the others' nonces.
   * Turns {@link dpopNonce} on (`dpopNonce: false` next to it is `config_invalid`). Without it,
   * every verifier draws its own key.
   */
  dpopNonceSecret?: Uint8Array | string;
  /**
   * Where scopes come from, in order: claim names or paths through nested objects joined by
   * `.` (a top-level name containing dots wins), e.g. `'permissions'` (Auth0), `'roles'` (Entra
   * app roles), `'realm_access.roles'` / `'resource_access.<client>.roles'` (Keycloak),
   * `'cognito:groups'` (Cognito). A string claim is split on spaces, an array gives one scope per
   * element. Replaces the default (`scope`, then `scp`): list `'scope'` to keep it. 1 to 16 paths.
   */
  scopeClaims?: string | readonly string[];
  /**
   * Where the client id comes from: the first of these claims (names or dotted paths) holding a
   * non-empty string, e.g. `['cid']` (Okta), `['appid', 'azp']` (Entra). Replaces the default
   * (`client_id`, `azp`, `sub`).
   */
  clientIdClaims?: string | readonly string[];
  /**
   * id_token mode: the credential is an OIDC id_token issued to this client id (for providers
   * whose access tokens are opaque). `aud` must contain it, `azp` must equal it when present (and
   * be present when `aud` has several values; OIDC Core §3.1.3.7), `typ` must be `JWT` or absent;
   * `kind` is `'id_token'`. An id_token carries no scopes: {@link audience},
   * {@link requiredScopes} and {@link typ} are `config_invalid` with it. Never a fallback; logged
   * as a warning when built — id_tokens prove who logged in to a client, they are not meant as
   * access tokens for other services.
   */
  idToken?: string;
  /**
   * Several identity providers in one verifier: one option set per provider, each with exactly
   * one `issuer` and its own key source, audience, algorithms, `typ`, claim dialect
   * ({@link scopeClaims}, {@link clientIdClaims}), {@link idToken} and cache. The token's `iss`
   * — read before the signature only to choose — selects the provider, which verifies it in
   * full; an unknown `iss` is `issuer_mismatch` without network traffic. The verifier holding the
   * providers keeps {@link staticTokens}, {@link requiredScopes}, {@link scopeImplies} and the
   * DPoP options; a per-provider option (`issuer`, `audience`, a key source, `algorithms`, `typ`,
   * `requiredClaims`, the dialect, `idToken`, `cacheSize`) next to `providers` is
   * `config_invalid`. At most 64.
   */
  providers?: readonly VerifierOptions[];
  /**
   * Token introspection (RFC 7662) for opaque access tokens: a credential that is not a JWT (and
   * no static token) is sent to the provider's introspection endpoint with this server's client
   * credentials, and its answer is checked like a JWT's claims — `active` (`false` is
   * `token_inactive`, 401), `iss`, `aud`, `exp`/`nbf`, `token_type`, then the claim dialect and
   * the scope rules; `kind` is `'introspected'`, `payload` the provider's answer. A provider that
   * gives no usable answer (down, refusing this server's credentials, too busy) is
   * `introspection_failed` (503, no challenge). JWTs are still verified locally (unless
   * {@link IntrospectionOptions.jwts}). Answers are cached: a token revoked at the provider is
   * accepted for at most {@link IntrospectionOptions.cacheTtl} (60 s by default).
   *
   * {@link Verifier.verify} and {@link Verifier.verifyRequest} make the call on the libuv thread
   * pool (a cached answer is given at once); {@link Verifier.verifySync} and
   * {@link Verifier.verifyRequestSync} make it on the calling thread (at most `fetchTimeout`).
   */
  introspection?: IntrospectionOptions;
  /** Clock-skew tolerance for `exp`, `nbf` and `iat`, in seconds (default 0, at most 600). */
  clockTolerance?: number;
  /**
   * Expected header `typ`, e.g. `'at+jwt'` for RFC 9068 access tokens; compared
   * case-insensitively with the `application/` prefix optional. Tokens without `typ` then fail.
   */
  typ?: string;
  /** Claims that must be present (any value). */
  requiredClaims?: readonly string[];
  /** Static bearer tokens / API keys accepted next to (or instead of) JWTs. */
  staticTokens?: readonly StaticTokenOptions[];
  /**
   * Capacity of the verified-token cache (default 1024 tokens; 0 disables it; at most
   * 65,536). A hit skips the signature check after re-checking `exp`/`nbf` and that the key
   * is still published.
   */
  cacheSize?: number;
  /**
   * Accept any audience. Only for providers that set none: tokens the same issuer minted for
   * any other service are then accepted too. Logged as a warning.
   */
  insecureSkipAudienceCheck?: boolean;
  /** Accept tokens without `exp` (they never expire). Off by default. */
  insecureAllowMissingExp?: boolean;
  /** Allow plain-http discovery / JWKS URLs on non-loopback hosts (loopback is always allowed). */
  allowInsecureHttp?: boolean;
  /** Deadline of each key fetch, in seconds (default 5, at most 60). */
  fetchTimeout?: number;
  /** Least time between two fetches caused by unknown `kid`s, in seconds (default 30; from 0.1 to 86400). */
  refreshCooldown?: number;
  /** Largest accepted token, in bytes (default 16384, at most 1 MiB). */
  maxTokenBytes?: number;
  /**
   * How long the last good remotely fetched keys keep verifying after fetches start failing,
   * in seconds from their fetch (default 86400 = 24 h, at most 30 days). Past it, verifications
   * reject with `jwks_unavailable` until a fetch succeeds.
   */
  maxStale?: number;
}

/**
 * A verified credential. The object is frozen — with its arrays and `payload` — and a
 * verification of the same credential by the same verifier returns the same object again
 * (while its cache is on).
 */
export interface Claims {
  /**
   * `'jwt'`, `'static_token'` for a configured static token, `'id_token'` for an OIDC id_token
   * accepted in {@link VerifierOptions.idToken} mode, or `'introspected'` for an opaque token the
   * provider called active ({@link VerifierOptions.introspection}; the registered claims and
   * `payload` are its answer's, and `alg`, `kid`, `typ` are absent).
   */
  readonly kind: 'jwt' | 'static_token' | 'id_token' | 'introspected';
  /** The header's `alg` (JWTs). */
  readonly alg?: Algorithm;
  /** The header's `kid`. */
  readonly kid?: string;
  /** The header's `typ`. */
  readonly typ?: string;
  /** `iss`. */
  readonly iss?: string;
  /** `sub` (for static tokens: the configured client id). */
  readonly sub?: string;
  /** `aud` as a list (a string `aud` is one element). */
  readonly aud: readonly string[];
  /** `exp` in whole seconds since the epoch (the exact value is in `payload`). */
  readonly exp?: number;
  /** `nbf` in whole seconds since the epoch. */
  readonly nbf?: number;
  /** `iat` in whole seconds since the epoch. */
  readonly iat?: number;
  /** `jti`. */
  readonly jti?: string;
  /**
   * The client: `client_id` (RFC 9068), else `azp`, else `sub` — or the first of
   * {@link VerifierOptions.clientIdClaims}.
   */
  readonly clientId?: string;
  /** Scopes from `scope` (space-separated) and `scp`, or from {@link VerifierOptions.scopeClaims}. */
  readonly scopes: readonly string[];
  /**
   * The scopes the credential grants: its own ({@link scopes}), then those they imply in the
   * verifier's {@link VerifierOptions.scopeImplies} hierarchy (a scope implying `'*'` is not
   * expanded: {@link hasScope} answers for it).
   */
  readonly grantedScopes: readonly string[];
  /**
   * Whether the credential grants `scope`: it carries it or implies it in the verifier's scope
   * hierarchy (the core's `Verified::has_scope`). Not enumerable: the object stays plain data.
   */
  hasScope(scope: string): boolean;
  /**
   * The configured audience the credential's `aud` matched: the resource it was issued for, as
   * this server names it (for a static token, its configured `audience`). Absent when no
   * audience is checked.
   */
  readonly audienceMatched?: string;
  /**
   * Who the credential speaks for, `[iss, sub]`: the pair that identifies a user across tokens
   * (a static token has no issuer, and its client id as subject).
   */
  readonly principal: readonly [iss: string | undefined, sub: string | undefined];
  /**
   * The core's `token_id`: equal for two verifications of the same credential text in this
   * process, different for different credentials (a keyed 64-bit hash, random per process).
   * The unsigned 64-bit number as decimal text (`BigInt(claims.tokenId)` gives the number); a
   * string keeps the claims JSON-serialisable. Not a secret, not stable across processes.
   */
  readonly tokenId: string;
  /**
   * The RFC 7638 thumbprint the token is bound to (`cnf.jkt`, RFC 9449 §6.1): set for a
   * DPoP-bound token, which only {@link Verifier.verifyRequest} with a valid proof accepts.
   */
  readonly confirmationJkt?: string;
  /** The whole claims set as signed (`{}` for static tokens), for custom claims. */
  readonly payload: Readonly<Record<string, unknown>>;
}

/** A key that was left out of a key set, and why. */
export interface SkippedKey {
  kid?: string;
  /** Its position in the JWKS `keys` array. */
  index: number;
  reason: string;
}

/** The state of a verifier's keys, for health endpoints and diagnostics. */
export interface KeysStatus {
  /** `'static'`, or the JWKS URL once known. */
  source: string;
  /** Whether keys are available (false once the last good keys outlived `maxStale`). */
  ready: boolean;
  /**
   * Whether the last fetch failed and the last good keys are in use meanwhile (stale-if-error,
   * for at most `maxStale` after their fetch).
   */
  stale: boolean;
  /** The key set's generation, bumped on every swap. */
  generation: number;
  /** The `kid`s of the usable keys. */
  kids: string[];
  /** Number of usable keys. */
  keyCount: number;
  /** Keys of the last fetched document that were skipped, with reasons. */
  skipped: SkippedKey[];
  /** Seconds since the current set was fetched (remote keys). */
  ageSeconds?: number;
  /** Seconds the current set stays fresh (`Cache-Control` max-age clamped to [60, 86400]). */
  maxAgeSeconds?: number;
  /** Seconds the last good keys keep verifying while fetches fail (remote keys; `maxStale`). */
  maxStaleSeconds?: number;
  /** The last failed fetch, cleared by a success. */
  lastError?: { code: ErrorCode; message: string };
  /** HTTP requests made (discovery and JWKS). */
  fetches: number;
  /** Fetch attempts that failed. */
  failures: number;
}

/** One identity provider's keys ({@link Verifier.providerKeysStatus}). */
export interface ProviderKeysStatus {
  /** The provider's issuer. */
  issuer: string;
  /** The state of its keys. */
  status: KeysStatus;
}

/** What a verifier has done since it was built, and the state of its cache and keys (the core's `Stats`). */
export interface Stats {
  /** Credentials accepted: `cacheHits` + `verified` + `staticTokens` − `refusedAfterVerification`. */
  accepted: number;
  /**
   * Credentials that verified (counted in `cacheHits` or `verified`) and were then refused: their
   * DPoP binding failed (RFC 9449), or, with {@link VerifierOptions.providers}, the verifier's own
   * required scopes were missing. They count as rejected.
   */
  refusedAfterVerification: number;
  /** Accepted from the verified-token cache, without crypto. */
  cacheHits: number;
  /** Accepted by a full verification (signature and claims). */
  verified: number;
  /** Accepted as configured static tokens. */
  staticTokens: number;
  /** Rejections, in total. */
  rejected: number;
  /** Rejections by error code: the codes that occurred, in the core's order. */
  rejectedByCode: Partial<Record<ErrorCode, number>>;
  /** Cache lookups that found nothing usable (the credential then went through full verification). */
  cacheMisses: number;
  /** Results stored in the cache. */
  cacheInserts: number;
  /** Live entries pushed out of the cache to make room. */
  cacheEvictions: number;
  /** Entries in the cache now. */
  cacheEntries: number;
  /** The cache's capacity (0 when disabled). */
  cacheCapacity: number;
  /** Discovery documents fetched (attempts, failed ones included). */
  discoveryFetches: number;
  /** Discovery attempts that failed. */
  discoveryFailures: number;
  /** JWKS documents fetched (attempts, failed ones included). */
  jwksFetches: number;
  /** JWKS fetches that failed. */
  jwksFailures: number;
  /** Refreshes asked for by tokens with an unknown `kid`. */
  kidRefreshes: number;
  /** The current key set's generation. */
  keyGeneration: number;
  /** Seconds since the current remote key set was fetched (remote keys, once fetched). */
  keyAgeSeconds?: number;
  /** Whether the last good remote keys are in use because refreshes fail. */
  keysStale: boolean;
  /**
   * Calls made to the introspection endpoint ({@link VerifierOptions.introspection}; answers
   * taken from its cache are not calls).
   */
  introspections: number;
  /** Introspection calls that failed: no answer, or one that is not RFC 7662's (`introspection_failed`). */
  introspectionFailures: number;
}

/**
 * Verifies bearer credentials — JWT access tokens against keys and a claims policy, and static
 * tokens. Build one per process and share it; verification never blocks on the network except
 * where documented.
 *
 * @example
 * const verifier = new Verifier({ issuer: 'https://auth.example.com', audience: 'https://mcp.example.com/' });
 * const claims = await verifier.verify(token); // JwtGateError on rejection
 */
export declare class Verifier {
  /** @throws {JwtGateError} `config_invalid` for unknown, contradictory or incomplete options. */
  constructor(options: VerifierOptions);

  /**
   * A verifier configured from the environment: `{prefix}OAUTH_ISSUER` (or `OAUTH_ISSUER_URL`,
   * or `OIDC_CONFIG_URL`), `{prefix}OAUTH_JWKS_URI`, `{prefix}OIDC_AUDIENCE` (or
   * `OAUTH_AUDIENCE`; comma-separated), `{prefix}OIDC_REQUIRED_SCOPES` (comma-separated),
   * `{prefix}BEARER_TOKEN` / `{prefix}API_KEY` (static tokens `bearer-token` / `api-key`),
   * and the seed-style variables (the core's `from_env`): `{prefix}OIDC_AUDIENCE_CHECK=off` (no
   * audience check, for a provider that sets none; logged as a warning — the only way to leave
   * the audience unset), `{prefix}OIDC_VERIFY_ACCESS_TOKEN=false` with `{prefix}OIDC_CLIENT_ID`
   * (id_token mode for that client), `{prefix}OAUTH_CLIENT_ID` + `{prefix}OAUTH_CLIENT_SECRET`
   * (token introspection as that client; `{prefix}OAUTH_INTROSPECTION_URL`, else discovered),
   * `{prefix}AUTH_MODE` (or `AUTH`) `oauth` (tokens only), `api_key` (static tokens only: the
   * OIDC variables are not used) or `both` (`none` is refused: serve without a verifier instead).
   * Blank values count as unset.
   * @param prefix default `'MCP_'`. It must not be empty: without one, generic variables such as
   *   `API_KEY` or `BEARER_TOKEN` would become accepted credentials.
   * @throws {JwtGateError} `config_invalid` for an empty prefix, or naming the missing variable
   *   of a half-configured setup.
   */
  static fromEnv(prefix?: string): Verifier;

  /**
   * Verifies on the calling thread. A cached token costs well under a microsecond; a new one
   * costs one signature check. A string that is not valid Unicode (a lone surrogate) is
   * `token_malformed`; a non-string a `TypeError`.
   *
   * Never waits on the network — except when the token needs a key fetch (remote keys not
   * fetched yet, or an unknown `kid` outside the refresh cooldown) or an introspection call (an
   * opaque token under {@link VerifierOptions.introspection} whose answer is not cached): then it
   * waits for that call, at most `fetchTimeout` (5 s by default), blocking the event loop
   * meanwhile. Call {@link waitReady} at start-up, or use {@link verify}, to avoid that.
   * @throws {JwtGateError} the rejection.
   */
  verifySync(token: string): Claims;

  /**
   * Verifies without blocking the event loop on the network. When the keys are in hand (no key
   * fetch, no introspection call needed), the token is verified on the calling thread, as
   * {@link verifySync} does — a cached token in well under a microsecond, a new one in one
   * signature check (tens of microseconds, less than a trip to the libuv thread pool and back) —
   * and the returned Promise is already settled. Only when the core must wait — remote keys not
   * fetched yet, an unknown `kid` outside the refresh cooldown, an opaque token under
   * {@link VerifierOptions.introspection} whose answer is not cached — does the verification
   * wait on the libuv thread pool (at most `fetchTimeout`). Never throws: a wrong argument and
   * every rejection arrive as a rejected Promise. Signature checks thus share the event loop's
   * core; to spread them over several cores, give each worker thread a Verifier of its own.
   * @returns the claims; rejects with {@link JwtGateError} (the error {@link verifySync} would
   *   throw for the same token), or a `TypeError` for a non-string.
   */
  verify(token: string): Promise<Claims>;

  /**
   * {@link verifySync} as if the current time were `epochSeconds` after the Unix epoch (the
   * core's `verify_at`): for tests, replays and diagnostics.
   * @param epochSeconds seconds since 1970-01-01T00:00:00Z, fractions allowed; `config_invalid`
   *   when negative, NaN, infinite or too large, `TypeError` when not a number.
   * @throws {JwtGateError} the rejection.
   */
  verifyAtSync(token: string, epochSeconds: number): Claims;

  /** {@link verifyAtSync} on the libuv thread pool. Rejects with {@link JwtGateError}. */
  verifyAt(token: string, epochSeconds: number): Promise<Claims>;

  /**
   * Verifies an HTTP request's credential on the calling thread (the core's `verify_request`):
   * `Authorization: Bearer <token>`, or `Authorization: DPoP <token>` with its `DPoP` proof
   * (RFC 9449: `typ`, asymmetric `alg`, public `jwk`, signature, `htm`, `htu`, `iat` window,
   * `jti` replay, `ath`, nonce, `cnf.jkt`), under the verifier's {@link VerifierOptions.dpop}
   * mode. Without an `Authorization` header, an `X-API-Key` value ({@link AuthRequest.apiKey})
   * is checked against the static tokens only (a JWT there is `token_unknown`). MCP adapters call
   * this rather than {@link verifySync}. Waits for key fetches and introspection calls as
   * {@link verifySync} does: on a server, use {@link verifyRequest}.
   * @throws {JwtGateError} `credential_missing` without a usable credential (no header, another
   *   scheme), the DPoP codes, or any code of {@link verifySync}.
   * @throws {TypeError} for a request of the wrong shape.
   */
  verifyRequestSync(request: AuthRequest): Claims;

  /**
   * {@link verifyRequestSync} without blocking the event loop on the network, as {@link verify}:
   * when the keys are in hand, the credential — a DPoP proof's signature and the token's included
   * — is checked on the calling thread and the returned Promise is already settled; only when the
   * core must wait (a key fetch, an introspection call) does the verification wait on the libuv
   * thread pool (at most `fetchTimeout`). Never throws: rejects with {@link JwtGateError} (the
   * error {@link verifyRequestSync} would throw), or a `TypeError` for a request of the wrong
   * shape.
   */
  verifyRequest(request: AuthRequest): Promise<Claims>;

  /** {@link verifyRequestSync} as if the current time were `epochSeconds` after the Unix epoch. */
  verifyRequestAtSync(request: AuthRequest, epochSeconds: number): Claims;

  /** {@link verifyRequestAtSync} on the libuv thread pool. */
  verifyRequestAt(request: AuthRequest, epochSeconds: number): Promise<Claims>;

  /**
   * The resource this verifier protects (the core's `Verifier::protected_resource`): its RFC 9728
   * document and its challenges, carrying the verifier's DPoP settings (metadata
   * `dpop_signing_alg_values_supported`, `dpop_bound_access_tokens_required` in `required` mode;
   * challenges `DPoP algs="…"`; `dpopNonce` when nonces are on).
   * @param options `authorizationServers` (default: the verifier's issuers) and
   *   `scopesSupported` (default: its required scopes).
   * @throws {JwtGateError} `config_invalid`, as {@link ProtectedResource}'s constructor.
   */
  protectedResource(resource: string, options?: ProtectedResourceOptions): ProtectedResource;

  /**
   * Resolves once keys are available (immediately for static keys). Servers that prefer to
   * fail fast call it at start-up.
   * @param timeoutSeconds how long to wait (default 10); `config_invalid` when negative, NaN,
   *   infinite or too large, `TypeError` when not a number.
   * @returns rejects with the descriptive `discovery_failed` / `jwks_unavailable` error.
   */
  waitReady(timeoutSeconds?: number): Promise<void>;

  /** The state of the verifier's keys (with {@link VerifierOptions.providers}: the first provider's). */
  keysStatus(): KeysStatus;

  /**
   * With {@link VerifierOptions.providers}: each provider's issuer and the state of its keys, in
   * configuration order; empty otherwise.
   */
  providerKeysStatus(): ProviderKeysStatus[];

  /**
   * What the verifier has done — outcomes, rejections by code, cache use, key fetches — and
   * the state of its cache and keys. Counters only grow: take two snapshots and subtract for
   * rates. Numbers are exact up to 2^53.
   */
  stats(): Stats;

  /** The algorithms this verifier accepts. */
  readonly algorithms: Algorithm[];

  /**
   * The scopes every credential must carry: {@link VerifierOptions.requiredScopes}, or those
   * `fromEnv` read (the core's `required_scopes`).
   */
  readonly requiredScopes: string[];
}

/**
 * An HTTP request's credentials as the server received them, for {@link Verifier.verifyRequest}.
 */
export interface AuthRequest {
  /** The request method, e.g. `'POST'` (the proof's `htm`). */
  method: string;
  /**
   * The full URL the request was sent to — scheme, host, port, path (query and fragment are
   * ignored) — as the client named it (the proof's `htu`).
   */
  url: string;
  /** The `Authorization` header value, if any. */
  authorization?: string | null | undefined;
  /** Every `DPoP` header value (several are refused, RFC 9449 §4.3), or the one. */
  dpop?: string | readonly string[] | null | undefined;
  /**
   * The `X-API-Key` header value, if any: taken only when there is no {@link authorization}
   * (Authorization wins when both are sent), and checked against the configured static tokens
   * only — never as a JWT, never introspected. Spaces and tabs around it are ignored. Refused
   * with `dpop_proof_missing` under `dpop: 'required'`.
   */
  apiKey?: string | null | undefined;
}

/** Options of {@link ProtectedResource}. */
export interface ProtectedResourceOptions {
  /** Issuer identifiers of the authorization servers (RFC 9728 `authorization_servers`). */
  authorizationServers?: readonly string[];
  /** The scopes the resource understands (`scopes_supported`; `offline_access` is left out). */
  scopesSupported?: readonly string[];
}

/** What to answer a refused request (the core's `Challenge`). */
export interface Challenge {
  /** 401, 403, or the core's status of a server-side problem (503, 500). */
  readonly status: number;
  /**
   * The `WWW-Authenticate` value, to send verbatim; absent for 5xx answers. 401 without
   * `error=` when no credential was sent (RFC 6750 §3.1), `error="invalid_token"` or 403
   * `error="insufficient_scope"` otherwise; `resource_metadata` and `scope` (every scope the
   * operation needs) in each.
   */
  readonly wwwAuthenticate?: string;
  /** A server-issued DPoP nonce to send as the `DPoP-Nonce` header (RFC 9449 §8), when set. */
  readonly dpopNonce?: string;
}

/** The RFC 9728 §2 protected-resource metadata document, as the core builds it. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  /** With DPoP on ({@link Verifier.protectedResource}): the proof algorithms accepted. */
  dpop_signing_alg_values_supported?: string[];
  /** In `required` mode: `true`. */
  dpop_bound_access_tokens_required?: boolean;
  [member: string]: unknown;
}

/**
 * An OAuth protected resource as MCP authorization describes it (RFC 9728 metadata, RFC 6750 and
 * RFC 9449 challenges), built by the core: serve {@link metadataJson} at {@link metadataPath} and
 * answer refused requests with {@link challenge}. {@link Verifier.protectedResource} builds one
 * that carries the verifier's issuers, scopes and DPoP settings; the constructor builds one
 * without DPoP.
 *
 * @example
 * const resource = verifier.protectedResource('https://mcp.example.com/mcp');
 * resource.metadataUrl; // 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
 */
export declare class ProtectedResource {
  /**
   * @param resource the resource identifier: an https URL (plain http on loopback) without query
   *   or fragment — an MCP server's canonical URI.
   * @throws {JwtGateError} `config_invalid` for a resource that is no such URL, an authorization
   *   server that is no URL, or a scope that is not an RFC 6749 scope token.
   */
  constructor(resource: string, options?: ProtectedResourceOptions);
  /** The resource identifier. */
  readonly resource: string;
  /** Where the metadata document is served (path-aware, RFC 9728 §3.1): every challenge's `resource_metadata`. */
  readonly metadataUrl: string;
  /** The path of {@link metadataUrl}, for routing. */
  readonly metadataPath: string;
  /** The metadata document as JSON text, to serve as is. */
  metadataJson(): string;
  /** The metadata document. */
  metadata(): ProtectedResourceMetadata;
  /**
   * What to answer a refused request.
   * @param error the verifier's rejection, or undefined/null when the request carried no
   *   credential.
   * @param requiredScopes every scope the operation needs (sent together in `scope=`).
   * @throws {TypeError} for an error that is not a rejection from a jwtgate verifier.
   */
  challenge(error?: JwtGateError | null, requiredScopes?: readonly string[]): Challenge;
}

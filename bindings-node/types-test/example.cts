// The CommonJS view of the declarations (`require('jwtgate')`), type-checked only.
import jwtgate = require('jwtgate');
import mcp = require('jwtgate/mcp');

const verifier = new jwtgate.Verifier({ staticTokens: [{ token: 'k', clientId: 'bot' }] });
export async function check(token: string): Promise<string | undefined> {
  try {
    return (await verifier.verify(token)).clientId;
  } catch (e) {
    if (e instanceof jwtgate.JwtGateError && jwtgate.ERROR_CODES.includes(e.code)) return undefined;
    throw e;
  }
}
export const statusOf = (code: jwtgate.ErrorCode): number | undefined => jwtgate.errorCodes().find((row) => row.code === code)?.status;
export const stats: jwtgate.Stats = verifier.stats();
export const tokenVerifier: mcp.JwtGateTokenVerifier = mcp.createTokenVerifier(verifier);
export const resource: jwtgate.ProtectedResource = new mcp.ProtectedResource('https://mcp.example.com/mcp', { authorizationServers: ['https://auth.example.com'] });
export const guard = mcp.requireAuth({ verifier, resource });
export const gate = mcp.requireAuthRequest({ verifier, resource });
export const metadata = mcp.protectedResourceMetadata(resource);
export const challenge: jwtgate.Challenge = resource.challenge(undefined, verifier.requiredScopes);
export const backend: string = jwtgate.CRYPTO_BACKEND + mcp.STATIC_TOKEN_EXPIRES_IN;
export const providers: jwtgate.ProviderKeysStatus[] = new jwtgate.Verifier({
  providers: [{ issuer: 'https://a.example', audience: 'api', jwksUri: 'https://a.example/jwks' }],
}).providerKeysStatus();

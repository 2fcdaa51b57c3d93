// ESM entry: the same objects as the CommonJS entry (one module instance, so `instanceof`
// JwtGateError holds whichever way the package is loaded).
import cjs from './index.js';

export const { Verifier, ProtectedResource, JwtGateError, ERROR_CODES, errorCodes, CRYPTO_BACKEND } = cjs;
export default cjs;

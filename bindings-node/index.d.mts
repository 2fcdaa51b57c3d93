// Type declarations of the package `jwtgate` (ESM entry): the same API as index.d.ts.
export * from './index.js';
import * as jwtgate from './index.js';
export default jwtgate;

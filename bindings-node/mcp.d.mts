// Type declarations of `jwtgate/mcp` (ESM entry): the same API as mcp.d.ts.
export * from './mcp.js';

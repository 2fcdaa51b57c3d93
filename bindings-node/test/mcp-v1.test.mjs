// TypeScript SDK v1: the server of test/servers/ts-v1-server.mjs (@modelcontextprotocol/sdk 1.x,
// Express), guarded by jwtgate's requireAuth and by the SDK's requireBearerAuth with
// createTokenVerifier, called by the real v1 client with tokens from the repository's IdP.
// (test/mcp.test.mjs covers the SDK middleware path in depth; the conformance suite both.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { startIdp } from './helpers/idp.mjs';
import { MODES, start } from './servers/ts-v1-server.mjs';

let idp;
const servers = new Map();
const logger = { warn: () => {} };

before(async () => {
  idp = await startIdp({ scopes: 'tools:call read admin' });
  for (const mode of MODES) {
    servers.set(mode, await start({ issuer: idp.issuer, scopes: ['tools:call'], mode, scopeImplies: { admin: ['*'] }, logger }));
  }
});

after(async () => {
  for (const server of servers.values()) await server.close();
  idp?.stop();
});

async function whoami(url, token) {
  const client = new Client({ name: 'jwtgate-test-v1-client', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: token ? { Authorization: `Bearer ${token}` } : {} } }),
  );
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return JSON.parse(result.content[0].text);
  } finally {
    await client.close();
  }
}

for (const mode of MODES) {
  describe(`SDK v1 server, ${mode}`, () => {
    test('the v1 client calls the tool; AuthInfo is jwtgate’s', async () => {
      const { url, resource } = servers.get(mode).info;
      const token = await idp.token({ scope: 'tools:call', resource, alg: 'EdDSA' });
      const auth = await whoami(url, token);
      assert.equal(auth.clientId, 'client-eddsa');
      assert.deepEqual(auth.scopes, ['tools:call']);
      assert.equal(auth.resource, resource);
      assert.equal(auth.extra.verified.alg, 'EdDSA');
    });

    test('canonical resource and scope hierarchy', async () => {
      const { url, resource } = servers.get(mode).info;
      const auth = await whoami(url, await idp.token({ scope: 'admin', resource: `${resource}/` }));
      assert.deepEqual(auth.scopes, ['admin', 'tools:call']);
    });

    test('no token, a token lacking the scope, a token for another resource: the client is refused', async () => {
      const { url, resource } = servers.get(mode).info;
      await assert.rejects(whoami(url));
      await assert.rejects(whoami(url, await idp.token({ scope: 'read', resource })));
      await assert.rejects(whoami(url, await idp.token({ scope: 'tools:call' })));
      const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${await idp.token({ scope: 'read', resource })}` } });
      assert.equal(response.status, 403);
      assert.match(response.headers.get('www-authenticate'), /error="insufficient_scope"/);
    });
  });
}

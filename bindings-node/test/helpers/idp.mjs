// The real identity provider of the repository (tests/idp/server.mjs: panva's oidc-provider),
// started on a random loopback port for a test file. Tokens are RFC 9068 JWT access tokens from
// the client_credentials grant: client `client-<alg>` / `secret-<alg>`, signed with <alg>; and
// opaque tokens of `client-opaque`, which `resource-server` / `secret-resource-server` may
// introspect (RFC 7662) and revoke (RFC 7009).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const IDP_DIR = fileURLToPath(new URL('../../../tests/idp/', import.meta.url));
export const DEFAULT_RESOURCE = 'https://mcp.test/';

/**
 * Starts the IdP; resolves once it listens. Options map to server.mjs' variables:
 * keys (algorithms), resource, scopes, ttl, issuerPath, port (default 0: a free one).
 */
export async function startIdp({ keys, resource = DEFAULT_RESOURCE, scopes, ttl, issuerPath, port = 0 } = {}) {
  if (!existsSync(`${IDP_DIR}node_modules`)) {
    throw new Error('the test IdP is not installed: run `npm ci --prefix tests/idp` at the repository root');
  }
  const env = { ...process.env, PORT: String(port), EXIT_ON_STDIN_EOF: '1', RESOURCE: resource };
  if (keys) env.KEYS = keys.join(',');
  if (scopes) env.SCOPES = scopes;
  if (ttl) env.TTL = String(ttl);
  if (issuerPath) env.ISSUER_PATH = issuerPath;
  const child = spawn(process.execPath, ['server.mjs'], { cwd: IDP_DIR, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk;
  });
  const info = await new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error('the IdP did not start within 20 s')), 20_000);
    function fail(error) {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${error.message}\nIdP stderr:\n${stderr}`));
    }
    child.on('error', fail);
    child.on('exit', (code) => fail(new Error(`the IdP exited with ${code}`)));
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline !== -1) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(JSON.parse(stdout.slice(0, newline)));
      }
    });
  });
  // Do not keep the test process alive for the IdP's sake.
  child.unref();
  child.stdin.unref?.();
  child.stdout.unref?.();
  child.stderr.unref?.();

  return {
    issuer: info.issuer,
    port: info.port,
    kids: info.kids,
    resource,
    /** A token response for client-<alg>; `scope` and `resource` as in RFC 6749 / RFC 8707. */
    async tokenResponse({ alg = 'RS256', scope, resource: res = resource } = {}) {
      const a = alg.toLowerCase();
      const form = new URLSearchParams({ grant_type: 'client_credentials', resource: res });
      if (scope !== undefined) form.set('scope', scope);
      const response = await fetch(`${info.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`client-${a}:secret-${a}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form,
      });
      const body = await response.json();
      if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
      return body;
    },
    /** An access token for client-<alg>. */
    async token(options) {
      return (await this.tokenResponse(options)).access_token;
    },
    /**
     * An OPAQUE access token (not a JWT) for client-opaque, through client_credentials with the
     * resource indicator (RFC 8707): only the introspection endpoint (RFC 7662) knows what it is.
     */
    async opaqueToken({ scope, resource: res = resource } = {}) {
      const form = new URLSearchParams({ grant_type: 'client_credentials', resource: res });
      if (scope !== undefined) form.set('scope', scope);
      const response = await fetch(`${info.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('client-opaque:secret-opaque').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form,
      });
      const body = await response.json();
      if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
      if (body.access_token.includes('.')) throw new Error(`expected an opaque token, got ${body.access_token}`);
      return body.access_token;
    },
    /** Revokes `token` at the RFC 7009 revocation endpoint, as the resource server. */
    async revoke(token) {
      const response = await fetch(`${info.issuer}/token/revocation`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('resource-server:secret-resource-server').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token }),
      });
      if (response.status !== 200) throw new Error(`revocation failed: ${response.status} ${await response.text()}`);
    },
    /** POSTs `body` to an admin endpoint of server.mjs (`/__admin/<name>`); resolves with its JSON answer. */
    async admin(name, body = {}) {
      const response = await fetch(`http://127.0.0.1:${info.port}/__admin/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (response.status !== 200) throw new Error(`/__admin/${name} failed: ${response.status} ${JSON.stringify(answer)}`);
      return answer;
    },
    /** Requests per path since start (admin requests excluded). */
    async requestCounts() {
      return (await fetch(`http://127.0.0.1:${info.port}/__admin/requests`)).json();
    },
    stop() {
      child.stdin.end();
      child.kill();
    },
  };
}

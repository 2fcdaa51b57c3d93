// Shared option parsing of the test servers: `--name=value` arguments, then environment variables
// (`NAME`), then defaults. Every server prints one line of JSON once it listens.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export function option(name, fallback) {
  const flag = `--${name.toLowerCase().replaceAll('_', '-')}=`;
  const arg = process.argv.slice(2).find((a) => a.startsWith(flag));
  if (arg !== undefined) return arg.slice(flag.length);
  const env = process.env[name];
  return env === undefined || env === '' ? fallback : env;
}

/** The options every server takes, from the command line and the environment. */
export function serverOptions() {
  const issuer = option('ISSUER', undefined);
  if (!issuer) {
    console.error('--issuer=<URL> (or ISSUER) is required');
    process.exit(2);
  }
  const implies = option('SCOPE_IMPLIES', undefined);
  return {
    issuer,
    scopes: option('SCOPES', 'tools:call')
      .split(/\s+/)
      .filter(Boolean),
    port: Number(option('PORT', '0')),
    resource: option('RESOURCE', undefined),
    mode: option('MODE', undefined),
    scopeImplies: implies === undefined ? undefined : JSON.parse(implies),
    dpop: option('DPOP', undefined),
    dpopNonce: option('DPOP_NONCE', '0') === '1',
  };
}

/** Runs `start` when the file is the process's entry script; stops on SIGINT/SIGTERM or stdin EOF. */
export async function main(url, start) {
  if (process.argv[1] === undefined || pathToFileURL(resolve(process.argv[1])).href !== url) return;
  const server = await start(serverOptions());
  process.stdout.write(`${JSON.stringify(server.info)}\n`);
  const stop = () => server.close().finally(() => process.exit(0));
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, stop);
  if (process.env.EXIT_ON_STDIN_EOF === '1') {
    process.stdin.on('end', stop);
    process.stdin.resume();
  }
}

/** Listens on 127.0.0.1:`port` (0 = a free port); resolves with the node:http server. */
export function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Closes a node:http server and its idle keep-alive connections. */
export function closer(server) {
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
}

'use strict';
// npm `install` hook of the package: keep a native addon that loads — the prebuilt one of the
// platform package npm picked from optionalDependencies (jwtgate-linux-x64-gnu, ...), or one built
// before —; otherwise build one from source with Rust (cargo) and the napi-rs CLI:
//   - from the published tarball: native/ (written by scripts/pack-native.js when packing) holds
//     the binding and the core crate with a standalone manifest and lock file; the build goes to
//     native/target (or $CARGO_TARGET_DIR), which is removed afterwards;
//   - from a clone (`npm install <clone>/bindings-node`, linked): the workspace's Cargo.toml.
// JWTGATE_SKIP_BUILD=1 skips it (CI builds explicitly).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// The napi-rs CLI, fetched by npx (as in package.json's `build` script).
const NAPI_CLI = '@napi-rs/cli@3.10.12';

function log(message) {
  process.stderr.write(`jwtgate: ${message}\n`);
}

// In a child process: a loaded addon cannot be unloaded (or, on Windows, overwritten).
function addonLoads() {
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(root, 'binding.js'))})`], {
    stdio: 'ignore',
  });
  return probe.status === 0;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) throw result.error;
  return result.status === 0;
}

function main() {
  if (process.env.JWTGATE_SKIP_BUILD === '1') return;
  if (addonLoads()) return;

  const cargo = spawnSync('cargo', ['--version'], { stdio: 'ignore', shell: process.platform === 'win32' });
  if (cargo.status !== 0) {
    log('no prebuilt native addon matches this platform, and building one needs Rust (cargo): https://rustup.rs');
    process.exit(1);
  }
  // The clone's workspace member, or else the packed sources (a tarball, or a copy of the clone's
  // folder packed by `npm install --install-links`, whose `prepare` wrote native/).
  const packed = !fs.existsSync(path.join(root, 'Cargo.toml'));
  const manifest = packed ? path.join(root, 'native', 'Cargo.toml') : path.join(root, 'Cargo.toml');
  // A tarball's build gets a target folder of its own inside the package, removed once the addon
  // is out (it holds hundreds of megabytes of objects), unless the user chose one.
  const ownTarget = packed && !process.env.CARGO_TARGET_DIR;
  const targetDir = ownTarget ? path.join(root, 'native', 'target') : null;
  log(`no prebuilt addon loads here: building it from source (${path.relative(root, manifest)}; cargo build --release, a few minutes)`);

  // Build into a scratch folder: only the .node file is taken. The JS loader (binding.js) and
  // its declarations are part of the package.
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-build-'));
  const buildArgs = [
    'build', '--platform', '--release', '--strip',
    '--manifest-path', manifest,
    '--package-json-path', path.join(root, 'package.json'),
    '--output-dir', out, '--no-js', '--dts', 'binding.d.ts',
    ...(targetDir ? ['--target-dir', targetDir] : []),
  ];
  const built = run('npx', ['--yes', '-p', NAPI_CLI, 'napi', ...buildArgs]);
  if (targetDir) fs.rmSync(targetDir, { recursive: true, force: true });
  if (!built) {
    log('the native build failed (see the cargo output above)');
    process.exit(1);
  }
  const addons = fs.readdirSync(out).filter((f) => f.endsWith('.node'));
  if (addons.length === 0) {
    log(`the build produced no .node file in ${out}`);
    process.exit(1);
  }
  for (const file of addons) fs.copyFileSync(path.join(out, file), path.join(root, file));
  fs.rmSync(out, { recursive: true, force: true });
  if (!addonLoads()) {
    log('the freshly built addon does not load');
    process.exit(1);
  }
  log(`built ${addons.join(', ')}`);
}

main();

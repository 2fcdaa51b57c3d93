'use strict';
// Packs the npm packages as they are published, the napi-rs way:
//
//   jwtgate-<platform>-<version>.tgz   one per folder of npm/ whose addon was built: the prebuilt
//                                      `.node` file alone (npm/<platform>/package.json picks the
//                                      platform through os / cpu / libc);
//   jwtgate-<version>.tgz              the main package: `npm pack` of this folder (its prepack,
//                                      scripts/pack-native.js, adds native/, the Rust sources of
//                                      the source build), with a packed manifest that lists every
//                                      platform package above in optionalDependencies (npm installs
//                                      the one matching the machine; scripts/install.js builds from
//                                      native/ when none does) and keeps only the `install` script.
//
// optionalDependencies exist only in the packed manifest: in package.json they would name packages
// the registry does not have yet, and `npm ci` in this folder could not install its lock file.
//
// Usage: node scripts/pack.js --out <dir> [--addon-dir <dir>]
//   --addon-dir   where the built addons (jwtgate.<platform>.node) are; this folder by default
//                 (where `npm run build` writes them)
// Prints the tarballs' paths, one a line (platform packages first, as they must be published).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  if (at === -1) {
    if (fallback === undefined) throw new Error(`missing ${name}`);
    return fallback;
  }
  return path.resolve(process.argv[at + 1]);
}

const npm = (args, cwd) =>
  execFileSync('npm', [...args, '--json'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

function main() {
  const out = option('--out');
  const addonDir = option('--addon-dir', root);
  fs.mkdirSync(out, { recursive: true });
  const main = readJson(path.join(root, 'package.json'));
  const tarballs = [];

  const platforms = {};
  for (const dir of fs.readdirSync(path.join(root, 'npm')).sort()) {
    const folder = path.join(root, 'npm', dir);
    const pkg = readJson(path.join(folder, 'package.json'));
    if (pkg.version !== main.version) {
      throw new Error(`${pkg.name} is at ${pkg.version}, jwtgate at ${main.version}: run scripts/version`);
    }
    const addon = path.join(addonDir, pkg.main);
    if (!fs.existsSync(addon)) {
      process.stderr.write(`pack: no ${pkg.main} in ${addonDir}: ${pkg.name} is not packed\n`);
      continue;
    }
    fs.copyFileSync(addon, path.join(folder, pkg.main));
    const [packed] = JSON.parse(npm(['pack', '--pack-destination', out], folder));
    tarballs.push(path.join(out, packed.filename));
    platforms[pkg.name] = pkg.version;
  }
  if (Object.keys(platforms).length === 0) throw new Error(`no built addon in ${addonDir}: run \`npm run build\``);

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'jwtgate-pack-'));
  try {
    const [packed] = JSON.parse(npm(['pack', '--pack-destination', scratch], root));
    execFileSync('tar', ['-xzf', path.join(scratch, packed.filename), '-C', scratch]);
    const stage = path.join(scratch, 'package');
    const manifest = readJson(path.join(stage, 'package.json'));
    manifest.optionalDependencies = platforms;
    manifest.scripts = { install: main.scripts.install };
    delete manifest.devDependencies;
    writeJson(path.join(stage, 'package.json'), manifest);
    const [final] = JSON.parse(npm(['pack', '--ignore-scripts', '--pack-destination', out], stage));
    tarballs.push(path.join(out, final.filename));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(`${tarballs.join('\n')}\n`);
}

main();

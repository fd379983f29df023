/**
 * What installing the SDK brings into an app: the packed tarball (`npm pack`) installed for
 * production (`--omit=dev --engine-strict`, as a user's CI would) into an empty app in a temporary
 * directory, then every package under its node_modules counted (the SDK's own included) and their
 * size on disk summed. Frameworks are optional peer dependencies: npm installs none of them.
 *
 *   npm run bench:deps        # builds dist/ first; needs the npm registry for the dependencies
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');

/** Bytes of every file under `dir` (apparent sizes). */
function size(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += size(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** `name@version` of every package installed under `modules`, nested ones included. */
function packages(modules: string): Array<{ id: string; bytes: number }> {
  const found: Array<{ id: string; bytes: number }> = [];
  for (const entry of readdirSync(modules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(join(modules, entry.name)).map((n) => join(modules, entry.name, n))
      : [join(modules, entry.name)];
    for (const dir of dirs) {
      const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
      found.push({ id: `${name}@${version}`, bytes: size(dir) });
      try {
        found.push(...packages(join(dir, 'node_modules')));
      } catch {
        // no nested node_modules
      }
    }
  }
  return found;
}

const dir = mkdtempSync(join(tmpdir(), 'apitoolkit-deps-'));
try {
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!;
  execFileSync('npm', ['init', '-y'], { cwd: dir, stdio: 'ignore' });
  execFileSync('npm', ['install', '--omit=dev', '--engine-strict', '--no-audit', '--no-fund', '--no-package-lock', join(dir, tarball)], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const installed = packages(join(dir, 'node_modules')).sort((a, b) => b.bytes - a.bytes);
  const total = installed.reduce((sum, p) => sum + p.bytes, 0);
  const mb = (bytes: number) => (bytes / 1_000_000).toFixed(2);
  console.log(
    `Production install of ${tarball} (npm install --omit=dev --engine-strict, Node ${process.version}): ` +
      `${installed.length} packages, ${mb(total)} MB on disk\n`,
  );
  console.log('| package | MB |\n|---|---:|');
  for (const p of installed) console.log(`| ${p.id} | ${mb(p.bytes)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

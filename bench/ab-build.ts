/**
 * Builds a copy of the package's sources, as `npm run build` bundles them (ESM, node20, packages
 * external, no keepNames), into `bench/.variants/NAME/dist`, for A/B runs of `bench/insitu.ts`
 * (`'name=sdk;BENCH_SDK_DIST=bench/.variants/NAME/dist'`). The sources are `--src DIR` (a copy with
 * one mechanism taken out), or `--commit REV`'s src/ (the code before a change), or the working tree's.
 *
 *   node --import tsx bench/ab-build.ts base --commit 23a0745
 *   node --import tsx bench/ab-build.ts no-als --src /tmp/no-als/src
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const ENTRIES: Record<string, string> = {
  index: 'index.ts',
  'express/index': 'adapters/express/index.ts',
  'fastify/index': 'adapters/fastify/index.ts',
  'koa/index': 'adapters/koa/index.ts',
  'hono/index': 'adapters/hono/index.ts',
  'nest/index': 'adapters/nest/index.ts',
  'next/index': 'adapters/next/index.ts',
  'http/index': 'adapters/http/index.ts',
};

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { src: { type: 'string' }, commit: { type: 'string' } } });
  const name = positionals[0];
  if (name === undefined || !/^[\w.-]+$/.test(name)) throw new Error('usage: bench/ab-build.ts NAME [--src DIR | --commit REV]');
  const dir = resolve(ROOT, 'bench/.variants', name);
  let src = values.src === undefined ? resolve(ROOT, 'src') : resolve(values.src);
  if (values.commit !== undefined) {
    src = resolve(dir, 'src');
    rmSync(src, { recursive: true, force: true });
    mkdirSync(src, { recursive: true });
    // git archive REV src | tar -x: the tree as committed, nothing of the working tree.
    const tar = execFileSync('git', ['-C', ROOT, 'archive', values.commit, 'src'], { maxBuffer: 1 << 28 });
    execFileSync('tar', ['-x', '--strip-components=1', '-C', src], { input: tar });
  } else if (values.src !== undefined && !src.startsWith(dir)) {
    // Keep a copy beside the build: what was measured stays readable.
    rmSync(resolve(dir, 'src'), { recursive: true, force: true });
    cpSync(src, resolve(dir, 'src'), { recursive: true });
    src = resolve(dir, 'src');
  }
  if (!existsSync(resolve(src, 'index.ts'))) throw new Error(`${src}/index.ts not found`);
  const out = resolve(dir, 'dist');
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [k, resolve(src, v)])),
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  process.stdout.write(`${out}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

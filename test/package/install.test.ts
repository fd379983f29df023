/**
 * The package as a user installs it: built, packed, and unpacked into an app of its own outside
 * this repository, so nothing resolves through the repository's node_modules by accident.
 * - `engines` is true: our `engines.node` lies within every production dependency's, so
 *   `npm install --engine-strict` and Yarn 1 accept it on every Node we promise.
 * - TypeScript finds every subpath under the classic `"module": "commonjs"` resolution (node10,
 *   NestJS's CLI default), and the README's `apiKey: process.env.APITOOLKIT_KEY` compiles with
 *   `exactOptionalPropertyTypes`.
 * - `next build` (Turbopack and webpack) succeeds in an app that has none of the optional peers:
 *   no entry point may make a bundler resolve axios; an edge route handler (`edge-light`: the Web
 *   build) builds, and served by `next start` on Next's edge runtime delivers its record.
 * Dependencies are linked from this repository's node_modules (the test never reaches the network).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import semver from 'semver';
import { startCollector } from '../../src/collector/index.js';
import { freePort } from '../helpers/runtimes.js';

const exec = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const modules = join(repo, 'node_modules');

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  exports: Record<string, unknown>;
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** Where node would find `name` required from the package in `from` (this repository's tree). */
function locate(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} not found from ${from}`);
  }
}

let app: string;
let installed: string;

before(async () => {
  await exec(join(modules, '.bin/tsup'), ['--silent'], { cwd: repo, timeout: 180_000 });
  app = mkdtempSync(join(tmpdir(), 'apitoolkit-install-'));
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', app, repo], { cwd: app, timeout: 120_000 });
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  installed = join(app, 'node_modules/apitoolkit-node');
  mkdirSync(installed, { recursive: true });
  await exec('tar', ['-xzf', join(app, filename), '-C', installed, '--strip-components=1']);
  // The production dependencies, as npm would place them; nothing else of this repository's.
  for (const name of Object.keys(manifest(installed).dependencies ?? {})) {
    mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
    symlinkSync(locate(name, repo), join(app, 'node_modules', name), 'dir');
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'install-check', private: true, type: 'module' }));
});

after(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('the packed package, installed in an app of its own', () => {
  test('engines is true: every production dependency accepts every Node version we accept', () => {
    const ours = manifest(installed).engines?.node;
    assert.ok(ours, 'engines.node is set');
    const seen = new Map<string, string>();
    const visit = (dir: string): void => {
      const m = manifest(dir);
      const key = `${m.name}@${m.version}`;
      if (seen.has(key)) return;
      seen.set(key, m.engines?.node ?? '*');
      for (const name of Object.keys(m.dependencies ?? {})) visit(locate(name, dir));
    };
    for (const name of Object.keys(manifest(installed).dependencies ?? {})) visit(locate(name, repo));
    const refusing = [...seen].filter(([, range]) => !semver.subset(ours, range)).map(([key, range]) => `${key} (node ${range})`);
    assert.deepEqual(refusing, [], `npm install --engine-strict would refuse these on some Node ${ours}`);
  });

  test('TypeScript resolves every subpath under "module": "commonjs", and the README options compile under exactOptionalPropertyTypes', async () => {
    const subpaths = Object.keys(manifest(installed).exports)
      .filter((key) => key !== './package.json')
      .map((key) => key.replace(/^\.\/?/, ''));
    const imports = subpaths.map(
      (sub, i) => `import * as m${i} from 'apitoolkit-node${sub === '' ? '' : `/${sub}`}';\nexport const k${i} = Object.keys(m${i});`,
    );
    const usage = [
      "import { APIToolkit } from 'apitoolkit-node';",
      "export const client = new APIToolkit({ apiKey: process.env.APITOOLKIT_KEY, rootURL: process.env.APITOOLKIT_ROOT_URL, redactHeaders: ['x-api-key'] as const });",
    ];
    const configs = {
      'tsconfig.commonjs.json': { module: 'commonjs', target: 'es2022', strict: true },
      'tsconfig.nodenext.json': {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        exactOptionalPropertyTypes: true,
      },
    };
    writeFileSync(join(app, 'check.ts'), [...imports, ...usage].join('\n'));
    for (const [file, compilerOptions] of Object.entries(configs)) {
      writeFileSync(
        join(app, file),
        JSON.stringify({
          compilerOptions: { ...compilerOptions, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(modules, '@types')] },
          files: ['check.ts'],
        }),
      );
      const result = await exec(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', file], { cwd: app }).catch(
        (error: { stdout: string }) => error,
      );
      assert.equal('stdout' in result ? result.stdout.trim() : '', '', `${file}: tsc reported errors`);
    }
  });

  /** `next start`, one request to the edge route, its record at a local collector: the Web build on Next's edge runtime. */
  async function serveEdgeRoute(env: NodeJS.ProcessEnv): Promise<void> {
    const collector = await startCollector({ inspector: false });
    const port = await freePort();
    const child = spawn(process.execPath, [join(app, 'node_modules/next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: app,
      env: { ...env, APITOOLKIT_ROOT_URL: collector.rootURL, APITOOLKIT_PUBSUB_ENDPOINT: collector.pubsubEndpoint },
      stdio: 'ignore',
    });
    try {
      let response: Response | undefined;
      for (let i = 0; i < 200 && response === undefined; i++) {
        response = await fetch(`http://127.0.0.1:${port}/api/edge/42?q=1`).catch(() => undefined);
        if (response === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(await response!.json(), { id: '42', token: 'secret-token', edge: true });
      const [record] = await collector.waitForRecords(1, 10_000);
      assert.equal(record!.sdk_type, 'JsFetch');
      assert.equal(record!.url_path, '/api/edge/[id]');
      assert.deepEqual(JSON.parse(Buffer.from(record!.response_body, 'base64').toString()), {
        id: '42',
        token: '[CLIENT_REDACTED]',
        edge: true,
      });
    } finally {
      child.kill('SIGKILL');
      await collector.close();
    }
  }

  for (const bundler of ['turbopack', 'webpack'] as const) {
    test(`next build (${bundler}) of an app without axios or any other optional peer`, { timeout: 300_000 }, async () => {
      for (const name of ['next', 'react', 'react-dom']) {
        if (!existsSync(join(app, 'node_modules', name))) symlinkSync(locate(name, repo), join(app, 'node_modules', name), 'dir');
      }
      assert.ok(!existsSync(join(app, 'node_modules/axios')));
      mkdirSync(join(app, 'app/api/hello'), { recursive: true });
      writeFileSync(join(app, 'app/layout.js'), 'export default function RootLayout({ children }) { return children; }\n');
      writeFileSync(
        join(app, 'app/api/hello/route.js'),
        [
          "import { APIToolkit } from 'apitoolkit-node';",
          "import { nextRouteHandler } from 'apitoolkit-node/next';",
          "const apitoolkit = new APIToolkit({ apiKey: 'k', enabled: false });",
          'export const GET = nextRouteHandler(apitoolkit, async () => Response.json({ ok: true }));',
        ].join('\n'),
      );
      // The edge runtime: `edge-light` resolves the Web build; Next refuses a node: import there.
      // Turbopack only: Next 16.4.6's webpack build fails on any edge route handler, one without the
      // SDK too (ENOENT .next/server/app/.../route_client-reference-manifest.js).
      rmSync(join(app, 'app/api/edge'), { recursive: true, force: true });
      if (bundler === 'turbopack') mkdirSync(join(app, 'app/api/edge/[id]'), { recursive: true });
      if (bundler === 'turbopack')
        writeFileSync(
          join(app, 'app/api/edge/[id]/route.js'),
          [
            "import { APIToolkit } from 'apitoolkit-node';",
            "import { fetchHandler } from 'apitoolkit-node/fetch';",
            "export const runtime = 'edge';",
            'const rootURL = process.env.APITOOLKIT_ROOT_URL;',
            "const apitoolkit = new APIToolkit({ apiKey: 'k', enabled: Boolean(rootURL), rootURL, pubsubEndpoint: process.env.APITOOLKIT_PUBSUB_ENDPOINT, redactResponseBody: ['$.token'], flushIntervalMs: 0 });",
            "const route = (request) => ({ template: '/api/edge/[id]', params: { id: new URL(request.url).pathname.split('/').pop() } });",
            "export const GET = fetchHandler(apitoolkit, async (request, { params }) => Response.json({ id: (await params).id, token: 'secret-token', edge: typeof EdgeRuntime === 'string' }), { route });",
          ].join('\n'),
        );
      // next, react and react-dom are links into this repository: let the bundlers read there.
      writeFileSync(join(app, 'next.config.mjs'), "export default { turbopack: { root: '/' }, outputFileTracingRoot: '/' };\n");
      const args = [join(app, 'node_modules/next/dist/bin/next'), 'build', ...(bundler === 'webpack' ? ['--webpack'] : [])];
      const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production', NODE_OPTIONS: '' };
      const result = await exec(process.execPath, args, { cwd: app, env, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 }).catch(
        (error: { stdout: string; stderr: string; code: number }) => error,
      );
      const output = `${result.stdout}\n${result.stderr}`;
      assert.ok(!('code' in result) || result.code === 0, `next build failed:\n${output.slice(-3000)}`);
      assert.doesNotMatch(output, /axios/i);
      assert.match(output, /\/api\/hello/);
      if (bundler === 'turbopack') {
        assert.match(output, /\/api\/edge/);
        await serveEdgeRoute(env);
      }
      rmSync(join(app, '.next'), { recursive: true, force: true });
    });
  }
});

// Checks the built package as a user gets it: every subpath through the `exports` map in ESM and
// CommonJS, the bin, and then `attw` (types match each format) and `publint` (package.json sanity).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const self = 'apitoolkit-node';

const esm = await import(self);
const cjs = require(self);
for (const mod of [esm, cjs]) {
  assert.equal(typeof mod.APIToolkit, 'function');
  assert.equal(typeof mod.MemoryTransport, 'function');
  assert.equal(mod.REDACTED, '[CLIENT_REDACTED]');
}
// The leak finder, bundled into both builds with its pattern sets.
for (const mod of [esm, cjs]) {
  const record = {
    method: 'POST',
    url_path: '/pay',
    request_headers: { 'content-type': ['application/json'] },
    response_headers: {},
    query_params: {},
    path_params: {},
    errors: [],
    request_body: Buffer.from('{"card":"4111111111111111","token":"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"}').toString('base64'),
    response_body: '',
  };
  assert.deepEqual(
    mod
      .scanRecords([record])
      .open.map((g) => g.detectors.map((d) => d.detector).join())
      .sort(),
    ['credential-field,secretlint/github', 'payment-card'],
  );
  assert.throws(() => mod.assertNoLeaks([record]), mod.LeakFoundError);
}
// Errors from the two copies still recognise each other.
assert.ok(new cjs.OptionsInvalidError('x', 'y') instanceof esm.APIToolkitError);

for (const sub of ['express', 'collector']) {
  const a = await import(`${self}/${sub}`);
  const b = require(`${self}/${sub}`);
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), sub);
}
assert.equal(typeof (await import(`${self}/express`)).expressMiddleware, 'function');
assert.equal(typeof require(`${self}/collector`).startCollector, 'function');

// Dual-package hazard: the client from `import`, the adapter from `require`, one request.
{
  const { expressMiddleware } = require(`${self}/express`);
  const transport = new esm.MemoryTransport();
  const client = new esm.APIToolkit({ transport, flushIntervalMs: 0 });
  const app = require('express')();
  app.use(expressMiddleware(client));
  app.get('/mixed/:id', (_req, res) => res.send('ok'));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  assert.equal(await (await fetch(`http://127.0.0.1:${server.address().port}/mixed/1`)).text(), 'ok');
  const [record] = await transport.waitForRecords(1);
  assert.equal(record.url_path, '/mixed/:id');
  server.close();
  await client.shutdown();
}

// Both builds deliver through the REST transport to the collector (the CommonJS one's).
const collector = await require(`${self}/collector`).startCollector({ inspector: false });
for (const [format, mod, http] of [
  ['esm', esm, await import(`${self}/http`)],
  ['cjs', cjs, require(`${self}/http`)],
]) {
  const lines = [];
  const client = new mod.APIToolkit({
    apiKey: 'k',
    rootURL: collector.rootURL,
    pubsubEndpoint: collector.pubsubEndpoint,
    debug: true,
    logger: (l) => lines.push(l),
  });
  await client.ready();
  const server = require('node:http').createServer(http.httpHandler(client, (_req, res) => res.end('ok')));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  assert.equal(await (await fetch(`http://127.0.0.1:${server.address().port}/delivered`)).text(), 'ok');
  server.close();
  assert.equal(await client.flush(), true, format);
  assert.equal(client.stats().published, 1, format);
  assert.ok(
    lines.some((l) => /over node:https/.test(l)),
    `${format}: ${lines.join('\n')}`,
  );
  await client.shutdown();
}
await collector.close();

// The inspector's page files ship in dist/inspector/ and are served by both builds.
for (const mod of [await import(`${self}/collector`), require(`${self}/collector`)]) {
  const collector = await mod.startCollector({});
  const script = await (await fetch(`${collector.inspectorURL}inspector.js`)).text();
  assert.match(script, /^\/\/ @ts-check/);
  assert.match(await (await fetch(collector.inspectorURL)).text(), /<script src="\/inspector.js" defer>/);
  await collector.close();
}

// Zero-code start resolves in both formats (no key here: it warns and lets the program run).
for (const flag of ['--import', '--require']) {
  const env = { ...process.env, APITOOLKIT_KEY: '' };
  const out = execFileSync(process.execPath, [flag, `${self}/register`, '-e', 'console.log("program ran")'], {
    encoding: 'utf8',
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.match(out, /program ran/, flag);
}

const help = execFileSync(process.execPath, ['dist/cli.js', '--help'], { encoding: 'utf8' });
assert.match(help, /collector/);

// The Web build: under the workerd, edge-light and deno conditions every subpath it serves resolves
// into dist/web, whose whole import graph names no `node:` module (nor a bare node builtin), and
// loads on Node all the same.
{
  const { readFileSync } = await import('node:fs');
  const { builtinModules } = await import('node:module');
  const { dirname, join, resolve } = await import('node:path');
  const exportsMap = JSON.parse(readFileSync('package.json', 'utf8')).exports;
  const builtins = new Set(builtinModules);
  for (const sub of ['.', './fetch', './hono', './next']) {
    for (const condition of ['workerd', 'edge-light', 'deno']) {
      const target = exportsMap[sub][condition]?.default;
      assert.ok(target?.startsWith('./dist/web/'), `${sub} under ${condition} resolves the Web build, not ${target}`);
      const seen = new Set();
      const visit = (file) => {
        if (seen.has(file)) return;
        seen.add(file);
        const code = readFileSync(file, 'utf8');
        const imports =
          /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g;
        for (const match of code.matchAll(imports)) {
          const spec = match[1] ?? match[2] ?? match[3];
          assert.ok(!spec.startsWith('node:') && !builtins.has(spec), `${file} imports ${spec}`);
          if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
        }
      };
      visit(resolve(target));
      assert.ok(seen.size > 0);
    }
    const web = await import(join(process.cwd(), exportsMap[sub].workerd.default));
    const node = await import(sub === '.' ? self : `${self}/${sub.slice(2)}`);
    assert.deepEqual(Object.keys(web).sort(), Object.keys(node).sort(), `${sub}: the Web build exports what the Node build does`);
  }
}

execFileSync('npx', ['--no-install', 'attw', '--pack', '.'], { stdio: 'inherit' });
execFileSync('npx', ['--no-install', 'publint', '--strict'], { stdio: 'inherit' });
console.log('package check: ok');

/**
 * The README's code is a tested artifact: every TypeScript block is type-checked against the built
 * package as a user's project would see it, under three tsconfigs (strict + exactOptionalPropertyTypes
 * with NodeNext, the classic `"module": "commonjs"` one, and NestJS's for blocks that use Nest), and
 * every block marked `run` is started in a child process against a local collector, sent the
 * request its marker names, and must deliver a record with the route template it names.
 *
 * Markers are HTML comments on the line just before a block (invisible on GitHub and npm):
 * - `<!-- readme-test: partial (why) -->`: a fragment, neither checked nor run;
 * - `<!-- readme-test: run GET /users/42 -> /users/:id -->`: type-checked, then run (it must listen
 *   on port 3000, read its configuration from APITOOLKIT_* variables, and flush on SIGTERM).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startCollector } from '../../src/collector/index.js';
import { until } from '../helpers/wait.js';

const exec = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const modules = join(repo, 'node_modules');
const RUN_PORT = 3000;

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  marker: string | undefined;
}

/** The fenced code blocks of a Markdown text, each with the marker comment on the line before it. */
export function codeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(\w+)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end !== -1, `README line ${i + 1}: unclosed code block`);
    const marker = /^<!-- readme-test: (.*?) -->$/.exec(lines[i - 1] ?? '')?.[1];
    blocks.push({ line: i + 1, lang: open[1]!, code: lines.slice(i + 1, end).join('\n'), marker });
    i = end;
  }
  return blocks;
}

const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const blocks = codeBlocks(readme);
const typescript = blocks.filter((b) => (b.lang === 'ts' || b.lang === 'typescript') && !b.marker?.startsWith('partial'));
const runnable = typescript.filter((b) => b.marker?.startsWith('run '));
const usesNest = (b: Block) => /from '@nestjs\//.test(b.code);

/** compilerOptions of the three kinds of project the README's TypeScript must compile in. */
const CONFIGS = {
  // What `tsc --init` of current TypeScript and a modern ESM project use.
  nodenext: {
    type: 'module',
    options: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'esnext',
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      moduleDetection: 'force',
    },
  },
  // The classic CommonJS project (no moduleResolution: node10), common in Express apps.
  commonjs: { type: 'commonjs', options: { module: 'commonjs', target: 'es2022', strict: true, esModuleInterop: true } },
  // The NestJS CLI's project.
  nest: {
    type: 'commonjs',
    options: {
      module: 'commonjs',
      target: 'es2021',
      declaration: true,
      removeComments: true,
      emitDecoratorMetadata: true,
      experimentalDecorators: true,
      allowSyntheticDefaultImports: true,
      strictNullChecks: true,
      noImplicitAny: false,
      strictBindCallApply: false,
      esModuleInterop: true,
    },
  },
} as const;

let work: string;

/** A project directory whose node_modules holds this repository's packages and the package itself. */
function project(name: string, type: 'module' | 'commonjs'): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    symlinkSync(join(modules, entry), join(dir, 'node_modules', entry), 'dir');
  }
  symlinkSync(repo, join(dir, 'node_modules', 'apitoolkit-node'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `readme-${name}`, private: true, type }));
  return dir;
}

/** Each block as a module of its own (so that blocks may reuse names), named after its line. */
function writeBlocks(dir: string, chosen: Block[]): string[] {
  return chosen.map((block) => {
    const file = `readme-line-${block.line}.ts`;
    const isModule = /^\s*(import|export)\s/m.test(block.code);
    writeFileSync(join(dir, file), `${block.code}\n${isModule ? '' : 'export {};\n'}`);
    return file;
  });
}

before(async () => {
  // The blocks import the package as users do: through its exports, i.e. the built types.
  await exec(join(modules, '.bin/tsup'), ['--silent'], { cwd: repo, timeout: 180_000 });
  work = mkdtempSync(join(tmpdir(), 'apitoolkit-readme-'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the README's code", () => {
  test('has TypeScript blocks to check, and every marker is one the test knows', () => {
    assert.ok(typescript.length >= 8, `found ${typescript.length} TypeScript blocks`);
    for (const block of blocks) {
      if (block.marker === undefined) continue;
      assert.match(block.marker, /^(partial \(.+\)|run [A-Z]+ \S+ -> \S+)$/, `README line ${block.line}: unknown marker "${block.marker}"`);
    }
  });

  for (const [name, config] of Object.entries(CONFIGS)) {
    test(`every TypeScript block compiles under the ${name} tsconfig`, async () => {
      const chosen = typescript.filter((b) => (name === 'nest') === usesNest(b));
      assert.ok(chosen.length > 0);
      const dir = project(name, config.type);
      const files = writeBlocks(dir, chosen);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { ...config.options, noEmit: true, skipLibCheck: true, types: ['node'] },
          files,
        }),
      );
      const result = await exec(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', 'tsconfig.json'], {
        cwd: dir,
        maxBuffer: 8 * 1024 * 1024,
      }).then(
        () => '',
        (error: { stdout?: string }) => error.stdout ?? String(error),
      );
      assert.equal(result.trim(), '', `tsc (${name}) reported errors, by README line:\n${result}`);
    });
  }

  for (const block of runnable) {
    const [, method, path, template] = /^run ([A-Z]+) (\S+) -> (\S+)$/.exec(block.marker!)!;
    test(`README line ${block.line} runs as pasted: ${method} ${path} is recorded as ${template}`, { timeout: 60_000 }, async (t) => {
      const collector = await startCollector({ inspector: false });
      t.after(() => collector.close());
      const dir = existsSync(join(work, 'run')) ? join(work, 'run') : project('run', 'module');
      const [file] = writeBlocks(dir, [block]);
      const child = spawn(process.execPath, ['--import', 'tsx', file!], {
        cwd: dir,
        env: {
          ...process.env,
          APITOOLKIT_KEY: 'readme-key',
          APITOOLKIT_ROOT_URL: collector.rootURL,
          APITOOLKIT_PUBSUB_ENDPOINT: collector.pubsubEndpoint,
          NODE_OPTIONS: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      t.after(() => child.kill('SIGKILL'));
      const port = probe(RUN_PORT);
      await until(() => port.open, `the block to listen on ${RUN_PORT}`, 30_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${output}`);
      });
      const res = await fetch(`http://127.0.0.1:${RUN_PORT}${path}`, { method });
      await res.arrayBuffer();
      // The block flushes on SIGTERM (shutdownOnSignals), then ends.
      child.kill('SIGTERM');
      await once(child, 'exit');
      const records = collector.records();
      assert.equal(records.length, 1, `one record (output:\n${output})`);
      assert.equal(records[0]!.url_path, template);
      assert.equal(records[0]!.method, method);
    });
  }
});

/** Whether something accepts connections on `port`: tried again every 100 ms until it does. */
function probe(port: number): { open: boolean } {
  const state = { open: false };
  const attempt = (): void => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      state.open = true;
      socket.destroy();
    });
    socket.once('error', () => {
      socket.destroy();
      setTimeout(attempt, 100).unref();
    });
  };
  attempt();
  return state;
}

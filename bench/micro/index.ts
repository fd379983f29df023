/**
 * The per-record cost of each pipeline stage, with tinybench: capture, redact, leaks
 * (detectLeaks), encode, enqueue, publish; and the SDK's start-up (fresh processes, see startup.ts). `bench/run.ts` runs it in a child process (pinned to the app core) over IPC; run by
 * hand it starts its own collector and prints the table:
 *
 *   node --import tsx bench/micro/index.ts [--time MS] [stage ...]
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { announce, fatal, serveIpc } from '../ipc-child.js';
import { spawnNode } from '../proc.js';
import { captureBench } from './capture.js';
import { encodeBench } from './encode.js';
import { leaksBench } from './leaks.js';
import { enqueueBench } from './enqueue.js';
import type { MicroRow } from './fixtures.js';
import { publishBench } from './publish.js';
import { microTable } from './table.js';
import { redactBench } from './redact.js';
import { startupBench } from './startup.js';

export const STAGES = ['capture', 'redact', 'leaks', 'encode', 'enqueue', 'publish', 'startup'] as const;
export type Stage = (typeof STAGES)[number];

export interface MicroRunOptions {
  timeMs: number;
  stages: readonly Stage[];
  /** The collector `publish` sends to. */
  rootURL: string;
  pubsubEndpoint: string;
}

/** Runs the stages in order; a stage that fails is reported as one row saying why. */
export async function runMicro(options: MicroRunOptions): Promise<MicroRow[]> {
  const rows: MicroRow[] = [];
  for (const stage of options.stages) {
    try {
      switch (stage) {
        case 'capture':
          rows.push(...(await captureBench(options)));
          break;
        case 'redact':
          rows.push(...(await redactBench(options)));
          break;
        case 'leaks':
          rows.push(...(await leaksBench(options)));
          break;
        case 'encode':
          rows.push(...(await encodeBench(options)));
          break;
        case 'enqueue':
          rows.push(...(await enqueueBench(options)));
          break;
        case 'publish':
          rows.push(...(await publishBench(options)));
          break;
        case 'startup':
          rows.push(...(await startupBench(options)));
          break;
      }
    } catch (error) {
      rows.push({
        stage,
        case: `FAILED: ${(error as Error).message}`,
        medianUs: Number.NaN,
        meanUs: Number.NaN,
        p99Us: Number.NaN,
        samples: 0,
      });
    }
  }
  return rows;
}

function parseStages(names: string[]): Stage[] {
  const unknown = names.filter((n) => !(STAGES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown stage(s) ${unknown.join(', ')}; stages: ${STAGES.join(', ')}`);
  return names.length === 0 ? [...STAGES] : (names as Stage[]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.send !== undefined) {
    // Child of bench/run.ts: the collector is the harness's.
    serveIpc({
      run: async (message) => ({ rows: await runMicro(message as unknown as MicroRunOptions) }),
    });
    announce({});
  } else {
    try {
      const { values, positionals } = parseArgs({ allowPositionals: true, options: { time: { type: 'string', default: '500' } } });
      const stages = parseStages(positionals);
      const collector = stages.includes('publish') || stages.includes('startup') ? await spawnNode('collector', 'collector.ts', []) : null;
      try {
        const { rootURL = '', pubsubEndpoint = '' } = (collector?.ready ?? {}) as { rootURL?: string; pubsubEndpoint?: string };
        const rows = await runMicro({ timeMs: Number(values.time), stages, rootURL, pubsubEndpoint });
        console.log(`\nNode ${process.version}, tinybench, ${values.time} ms per case\n\n${microTable(rows)}\n`);
      } finally {
        await collector?.stop();
      }
    } catch (error) {
      fatal(error);
    }
  }
}

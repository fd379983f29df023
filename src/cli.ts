#!/usr/bin/env node
/**
 * The `apitoolkit-node` command. `apitoolkit-node collector` runs the local collector (a stand-in
 * for APIToolkit) in the foreground, printing every record the SDK sends.
 */

import { parseArgs } from 'node:util';
import { COLLECTOR_DEFAULTS, startCollector, type Collector } from './collector/index.js';

const DEFAULT_HTTP_PORT = 8788;
const DEFAULT_GRPC_PORT = 8789;
const DEFAULT_JSONL = './apitoolkit-records.jsonl';
const CLI_KEPT_RECORDS = 1_000;
/** If something still holds the event loop after close(), exit anyway after this long. */
const EXIT_GRACE_MS = 3_000; // 3 s

const USAGE = `Usage: apitoolkit-node <command> [options]

Commands:
  collector    Run a local stand-in for APIToolkit: serves client metadata over HTTP and the
               Pub/Sub Publish API over gRPC, and prints every record the SDK sends.

Options for collector:
  --host HOST             interface to bind (default ${COLLECTOR_DEFAULTS.host})
  --http-port PORT        client-metadata HTTP port, 0 = any free port (default ${DEFAULT_HTTP_PORT})
  --grpc-port PORT        Pub/Sub gRPC port, 0 = any free port (default ${DEFAULT_GRPC_PORT})
  --jsonl FILE            append each record as a JSON line to FILE (default ${DEFAULT_JSONL})
  --no-jsonl              write no JSONL file
  --no-print              do not print records
  --project-id ID         project_id to hand out (default ${COLLECTOR_DEFAULTS.projectId})
  --reject-key KEY        answer this API key with 401 (repeatable)

  -h, --help              show this help
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        host: { type: 'string' },
        'http-port': { type: 'string' },
        'grpc-port': { type: 'string' },
        jsonl: { type: 'string' },
        'no-jsonl': { type: 'boolean' },
        'no-print': { type: 'boolean' },
        'project-id': { type: 'string' },
        'reject-key': { type: 'string', multiple: true },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help === true || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === undefined) return usageError('missing command');
  if (command !== 'collector') return usageError(`unknown command: ${command}`);
  if (extra.length > 0) return usageError(`unexpected argument: ${extra[0]}`);

  let collector: Collector;
  try {
    if (values['no-jsonl'] === true && values.jsonl !== undefined) throw new UsageError('--jsonl and --no-jsonl conflict');
    collector = await startCollector({
      host: values.host ?? COLLECTOR_DEFAULTS.host,
      httpPort: port(values['http-port'], '--http-port', DEFAULT_HTTP_PORT),
      grpcPort: port(values['grpc-port'], '--grpc-port', DEFAULT_GRPC_PORT),
      projectId: values['project-id'] ?? COLLECTOR_DEFAULTS.projectId,
      jsonlPath: values['no-jsonl'] === true ? null : (values.jsonl ?? DEFAULT_JSONL),
      print: values['no-print'] !== true,
      rejectKeys: values['reject-key'] ?? [],
      // Records are printed and written to the file; memory only needs the recent ones.
      maxKeptRecords: CLI_KEPT_RECORDS,
    });
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    process.stderr.write(`apitoolkit-node: cannot start the collector: ${(error as Error).message}\n`);
    return 1;
  }

  // `collector | head` closes stdout early: stop quietly instead of dying on EPIPE.
  let stdoutClosed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' || stdoutClosed) return;
    stdoutClosed = true;
    process.kill(process.pid, 'SIGTERM');
  });
  process.stdout.write(banner(collector));
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  // The handlers above were `once`: a second Ctrl-C while closing kills the process the default way.
  const { messages } = collector.stats();
  if (!stdoutClosed) process.stdout.write(`\n${signal}: stopping; received ${collector.records().length} records in ${messages} messages.\n`);
  await collector.close();
  return 0;
}

function banner(collector: Collector): string {
  const endpoint = collector.pubsubEndpoint;
  return `apitoolkit-node collector: a local stand-in for APIToolkit

  client metadata  ${collector.rootURL}/api/client_metadata
  Pub/Sub (gRPC)   ${endpoint}  (plaintext)
  records          ${collector.jsonlPath === null ? 'not written to a file' : `appended to ${collector.jsonlPath}`}

Point the SDK at it (any API key works):
  rootURL:        '${collector.rootURL}'
  pubsubEndpoint: '${endpoint}'    (or PUBSUB_EMULATOR_HOST=${endpoint})

Waiting for records. Press Ctrl-C to stop.

`;
}

function port(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new UsageError(`${flag} expects a port number 0-65535, got ${JSON.stringify(value)}`);
  return n;
}

function usageError(message: string): number {
  process.stderr.write(`apitoolkit-node: ${message}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  },
  (error: unknown) => {
    process.stderr.write(`apitoolkit-node: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

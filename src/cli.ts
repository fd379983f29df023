#!/usr/bin/env node
/**
 * The `apitoolkit-node` command. `apitoolkit-node collector` runs the local collector (a stand-in
 * for APIToolkit) and its web inspector in the foreground, printing every record the SDK sends;
 * `apitoolkit-node doctor` checks a real set-up (key, project, topic, publish permission, redaction
 * rules, versions) and exits 0 or 1.
 */

import { parseArgs } from 'node:util';
import { COLLECTOR_DEFAULTS, startCollector, type Collector, type CollectorOptions } from './collector/index.js';
import { formatDoctorReport, runDoctor } from './doctor/index.js';
import { scanRecordsFile } from './collector/scan.js';
import { shouldColor } from './collector/print.js';
import { packageVersion } from './version.js';
import { DEFAULT_ROOT_URL } from './core/options.js';

const DEFAULT_HTTP_PORT = 8788;
const DEFAULT_PUBSUB_PORT = 8789;
const DEFAULT_INSPECTOR_PORT = 8790;
const DEFAULT_JSONL = './apitoolkit-records.jsonl';
const CLI_KEPT_RECORDS = 1_000;
/** If something still holds the event loop after close(), exit anyway after this long. */
const EXIT_GRACE_MS = 3_000; // 3 s

const USAGE = `Usage: apitoolkit-node <command> [options]

Commands:
  collector    Run a local stand-in for APIToolkit: serves client metadata over HTTP and
               Pub/Sub's REST API (publish), prints every record the SDK sends, and shows them
               live in a web inspector.
  doctor       Check a real set-up: the API key, the project and topic it maps to, whether a
               publish would be authorised (no record is sent), the redaction rules, and the
               package, Node and framework versions. Exits 0 when every check passes, else 1.

Options for collector:
  --host HOST             interface to bind (default ${COLLECTOR_DEFAULTS.host})
  --http-port PORT        client-metadata HTTP port, 0 = any free port (default ${DEFAULT_HTTP_PORT})
  --pubsub-port PORT      Pub/Sub REST port, 0 = any free port (default ${DEFAULT_PUBSUB_PORT});
                          --grpc-port, its former name, still works
  --inspector-port PORT   web inspector port, 0 = any free port (default ${DEFAULT_INSPECTOR_PORT},
                          or any free port when that one is taken)
  --inspector-host HOST   interface the inspector binds (default 127.0.0.1)
  --no-inspector          do not serve the web inspector
  --jsonl FILE            append each record as a JSON line to FILE and reload it on start
                          (default ${DEFAULT_JSONL})
  --no-jsonl              write no JSONL file
  --max-stored N          records kept for the inspector and in the JSONL file (default 10000)
  --no-print              do not print records
  --project-id ID         project_id to hand out (default ${COLLECTOR_DEFAULTS.projectId})
  --reject-key KEY        answer this API key with 401 (repeatable)

Options for doctor:
  --api-key KEY           the API key (default: $APITOOLKIT_KEY)
  --root-url URL          APIToolkit's URL (default ${DEFAULT_ROOT_URL})
  --pubsub-endpoint H:P   a plaintext Pub/Sub endpoint, e.g. the local collector's
                          (default: $PUBSUB_EMULATOR_HOST; unset means Google)
  --redact-header NAME    a header your app redacts (repeatable)
  --redact-request-body PATH    a JSONPath your app redacts in request bodies (repeatable)
  --redact-response-body PATH   a JSONPath your app redacts in response bodies (repeatable)
  --timeout MS            time allowed for each network check (default 10000)
  --scan FILE             instead of the checks above: run the leak finder over a JSONL records
                          file (the collector's --jsonl file, or one your tests wrote) and print
                          each field your rules miss with the rule to add. Exits 1 when a finding
                          is open, 0 when none is
  --dismissed FILE        findings dismissed as false positives (default: FILE.dismissed.json, the
                          one the inspector writes next to the records file)
  --fail-on LEVEL         lowest confidence that fails the scan: high, medium (default) or low

  -h, --help              show this help
  -v, --version           print the version
`;

const COMMAND_OPTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  collector: new Set([
    'host',
    'http-port',
    'pubsub-port',
    'grpc-port',
    'inspector-port',
    'inspector-host',
    'no-inspector',
    'jsonl',
    'no-jsonl',
    'max-stored',
    'no-print',
    'project-id',
    'reject-key',
  ]),
  doctor: new Set([
    'api-key',
    'root-url',
    'pubsub-endpoint',
    'redact-header',
    'redact-request-body',
    'redact-response-body',
    'timeout',
    'scan',
    'dismissed',
    'fail-on',
  ]),
};

class UsageError extends Error {}

/** The command line, parsed strictly: an unknown option throws (ERR_PARSE_ARGS_UNKNOWN_OPTION). */
function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      host: { type: 'string' },
      'http-port': { type: 'string' },
      'pubsub-port': { type: 'string' },
      'grpc-port': { type: 'string' },
      'inspector-port': { type: 'string' },
      'inspector-host': { type: 'string' },
      'no-inspector': { type: 'boolean' },
      jsonl: { type: 'string' },
      'no-jsonl': { type: 'boolean' },
      'max-stored': { type: 'string' },
      'no-print': { type: 'boolean' },
      'project-id': { type: 'string' },
      'reject-key': { type: 'string', multiple: true },
      'api-key': { type: 'string' },
      'root-url': { type: 'string' },
      'pubsub-endpoint': { type: 'string' },
      'redact-header': { type: 'string', multiple: true },
      'redact-request-body': { type: 'string', multiple: true },
      'redact-response-body': { type: 'string', multiple: true },
      timeout: { type: 'string' },
      scan: { type: 'string' },
      dismissed: { type: 'string' },
      'fail-on': { type: 'string' },
    },
  });
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    const unknown =
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(-[^']*)'/.exec((error as Error).message)?.[1] : undefined;
    if (unknown === undefined) return usageError((error as Error).message.split('. ')[0]!);
    const known = [...new Set(Object.values(COMMAND_OPTIONS).flatMap((options) => [...options]))].map((name) => `--${name}`);
    return usageError(`unknown option ${unknown}${didYouMean(unknown.replace(/=.*$/, ''), known)}`);
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (values.help === true || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (command === undefined) return usageError('missing command (collector or doctor)');
  const allowed = COMMAND_OPTIONS[command];
  if (allowed === undefined) return usageError(`unknown command ${command}${didYouMean(command, Object.keys(COMMAND_OPTIONS))}`);
  if (extra.length > 0) return usageError(`unexpected argument: ${extra[0]}`);
  const foreign = Object.keys(values).find((name) => name !== 'help' && name !== 'version' && !allowed.has(name));
  if (foreign !== undefined) return usageError(`--${foreign} is not an option of ${command}`);
  return command === 'doctor' ? doctor(values) : collector(values);
}

type Values = Record<string, string | boolean | string[] | undefined>;

async function scan(values: Values): Promise<number> {
  const failOn = values['fail-on'] as string | undefined;
  if (failOn !== undefined && failOn !== 'high' && failOn !== 'medium' && failOn !== 'low') {
    return usageError(`--fail-on expects high, medium or low, got ${JSON.stringify(failOn)}`);
  }
  const network = ['api-key', 'root-url', 'pubsub-endpoint', 'timeout'].find((name) => values[name] !== undefined);
  if (network !== undefined) return usageError(`--${network} does not apply to --scan (it reads a file, no network)`);
  try {
    const { report, text } = await scanRecordsFile(values.scan as string, {
      ...(values.dismissed === undefined ? {} : { dismissedPath: values.dismissed as string }),
      ...(failOn === undefined ? {} : { failOn: failOn as 'high' | 'medium' | 'low' }),
    });
    process.stdout.write(text);
    return report.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`apitoolkit-node: cannot scan ${values.scan as string}: ${(error as Error).message}\n`);
    return 2;
  }
}

async function doctor(values: Values): Promise<number> {
  if (values.scan !== undefined) return scan(values);
  if (values.dismissed !== undefined || values['fail-on'] !== undefined) return usageError('--dismissed and --fail-on go with --scan');
  let timeoutMs: number | undefined;
  try {
    timeoutMs = values.timeout === undefined ? undefined : positiveInt(values.timeout as string, '--timeout');
  } catch (error) {
    return usageError((error as Error).message);
  }
  const report = await runDoctor({
    apiKey: values['api-key'] as string | undefined,
    rootURL: values['root-url'] as string | undefined,
    pubsubEndpoint: values['pubsub-endpoint'] as string | undefined,
    redactHeaders: values['redact-header'] as string[] | undefined,
    redactRequestBody: values['redact-request-body'] as string[] | undefined,
    redactResponseBody: values['redact-response-body'] as string[] | undefined,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  process.stdout.write(formatDoctorReport(report, { color: shouldColor(process.stdout) }));
  return report.ok ? 0 : 1;
}

async function collector(values: Values): Promise<number> {
  let running: Collector;
  try {
    if (values['no-jsonl'] === true && values.jsonl !== undefined) throw new UsageError('--jsonl and --no-jsonl conflict');
    if (values['no-inspector'] === true && (values['inspector-port'] !== undefined || values['inspector-host'] !== undefined)) {
      throw new UsageError('--no-inspector conflicts with --inspector-port / --inspector-host');
    }
    const inspectorPort = port(values['inspector-port'] as string | undefined, '--inspector-port', DEFAULT_INSPECTOR_PORT);
    const options: CollectorOptions = {
      host: (values.host as string | undefined) ?? COLLECTOR_DEFAULTS.host,
      httpPort: port(values['http-port'] as string | undefined, '--http-port', DEFAULT_HTTP_PORT),
      pubsubPort:
        values['pubsub-port'] === undefined && values['grpc-port'] !== undefined
          ? port(values['grpc-port'] as string, '--grpc-port', DEFAULT_PUBSUB_PORT)
          : port(values['pubsub-port'] as string | undefined, '--pubsub-port', DEFAULT_PUBSUB_PORT),
      projectId: (values['project-id'] as string | undefined) ?? COLLECTOR_DEFAULTS.projectId,
      jsonlPath: values['no-jsonl'] === true ? null : ((values.jsonl as string | undefined) ?? DEFAULT_JSONL),
      print: values['no-print'] !== true,
      rejectKeys: (values['reject-key'] as string[] | undefined) ?? [],
      // Records are printed and written to the file; memory only needs the recent ones.
      maxKeptRecords: CLI_KEPT_RECORDS,
      ...(values['max-stored'] === undefined ? {} : { maxStoredRecords: positiveInt(values['max-stored'] as string, '--max-stored') }),
      inspector:
        values['no-inspector'] === true
          ? false
          : { port: inspectorPort, host: (values['inspector-host'] as string | undefined) ?? '127.0.0.1', announce: false },
    };
    try {
      running = await startCollector(options);
    } catch (error) {
      // The default inspector port is a convenience, not a requirement: a second collector (or
      // anything else on 8790) must not stop this one from starting.
      const taken =
        (error as NodeJS.ErrnoException & { port?: number }).code === 'EADDRINUSE' &&
        (error as { port?: number }).port === DEFAULT_INSPECTOR_PORT;
      if (!taken || values['inspector-port'] !== undefined || options.inspector === false) throw error;
      running = await startCollector({ ...options, inspector: { ...(options.inspector as object), port: 0 } });
    }
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
  // Listening before the banner says "Press Ctrl-C": a signal sent as soon as it is read (a test, a
  // supervisor) would otherwise find no handler and kill the process the default way.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stdout.write(banner(running));
  const signal = await stopped;
  // The handlers above were `once`: a second Ctrl-C while closing kills the process the default way.
  const { messages } = running.stats();
  if (!stdoutClosed) process.stdout.write(`\n${signal}: stopping; received ${running.records().length} records in ${messages} messages.\n`);
  await running.close();
  return 0;
}

function banner(collector: Collector): string {
  const endpoint = collector.pubsubEndpoint;
  const stored = collector.storedRecords().length;
  const records =
    collector.jsonlPath === null
      ? 'not written to a file'
      : `appended to ${collector.jsonlPath}${stored > 0 ? ` (${stored} reloaded)` : ''}`;
  return `apitoolkit-node collector: a local stand-in for APIToolkit

  client metadata  ${collector.rootURL}/api/client_metadata
  Pub/Sub (REST)   http://${endpoint}  (plaintext)
  records          ${records}
  inspector        ${collector.inspectorURL === null ? 'off' : `${collector.inspectorURL}  (open it in a browser)`}

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

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || !Number.isSafeInteger(n))
    throw new UsageError(`${flag} expects a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

/** One line and a hint, as git and npm do: the full help is one flag away. */
function usageError(message: string): number {
  process.stderr.write(`apitoolkit-node: ${message}\nRun 'apitoolkit-node --help' for usage.\n`);
  return 2;
}

/** `; did you mean X?` for the closest of `candidates` within two edits of `input`, else ''. */
function didYouMean(input: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(input, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? '' : `; did you mean ${best}?`;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
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

/**
 * `apitoolkit-node doctor`: checks a real set-up from the terminal, in the order a record travels.
 * The key against the metadata endpoint, the project and topic it maps to, whether a publish would
 * be authorised (asked with TestIamPermissions, so no record is sent), the redaction rules compiled
 * exactly as `new APIToolkit()` compiles them, and the versions of what is installed.
 */

import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ApiKeyRefusedError } from '../core/errors.js';
import { DEFAULT_ROOT_URL, resolveOptions } from '../core/options.js';
import { ALWAYS_REDACTED_HEADERS, compileRedactor } from '../core/redact/index.js';
import { errorCodes, type HttpClient } from '../transport/http.js';
import { nodeHttpClient } from '../transport/http-node.js';
import { serviceAccountOf } from '../transport/google-token.js';
import { fetchClientMetadata, type ClientMetadata } from '../transport/metadata.js';
import { canPublish, PUBLISH_PERMISSION } from '../transport/pubsub.js';
import { packageVersion } from '../version.js';

/** How one check went. `warn` and `skip` do not fail the run. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of the report. */
export interface DoctorCheck {
  /** Stable identifier: `runtime`, `frameworks`, `redaction`, `api-key`, `project`, `topic`, `publish`. */
  id: string;
  /** Short label printed in the left column. */
  label: string;
  status: CheckStatus;
  /** What was found (never contains the API key or the service-account key). */
  detail: string;
  /** What to do about a failure or warning. */
  hint?: string;
}

/** The result of {@link runDoctor}. */
export interface DoctorReport {
  /** `true` when no check failed. */
  ok: boolean;
  checks: DoctorCheck[];
}

/** Options of {@link runDoctor}; every field is optional. */
export interface DoctorOptions {
  /** The API key. Default `env.APITOOLKIT_KEY`. */
  apiKey?: string;
  /** Default `https://app.apitoolkit.io`. */
  rootURL?: string;
  /** A plaintext Pub/Sub endpoint (emulator or local collector). Default `env.PUBSUB_EMULATOR_HOST`. */
  pubsubEndpoint?: string;
  redactHeaders?: string[];
  redactRequestBody?: string[];
  redactResponseBody?: string[];
  /** Where to look for `node_modules`. Default `process.cwd()`. */
  cwd?: string;
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Time allowed for each network check. Default 10 000 ms. */
  timeoutMs?: number;
}

/** Frameworks whose version the doctor reports, as found from `cwd` up. */
export const DOCTOR_FRAMEWORKS = ['express', 'fastify', 'koa', 'hono', '@nestjs/core', 'next'] as const;

const DEFAULT_TIMEOUT_MS = 10_000; // 10 s

/**
 * Runs every check and resolves with the report; never rejects for a failed check.
 *
 * @example
 * const report = await runDoctor({ apiKey: process.env.APITOOLKIT_KEY, redactRequestBody: ['$.password'] });
 * process.stdout.write(formatDoctorReport(report));
 * process.exitCode = report.ok ? 0 : 1;
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const apiKey = options.apiKey ?? (env.APITOOLKIT_KEY || undefined);
  const rootURL = options.rootURL ?? DEFAULT_ROOT_URL;
  const endpoint = options.pubsubEndpoint ?? (env.PUBSUB_EMULATOR_HOST || undefined);
  const checks: DoctorCheck[] = [];

  checks.push(runtimeCheck());
  checks.push(await frameworksCheck(cwd));

  // The SDK's own validation: what fails here would make `new APIToolkit()` throw.
  let configOk = true;
  try {
    resolveOptions({
      ...(apiKey === undefined ? { enabled: false } : { apiKey }),
      rootURL,
      ...(endpoint === undefined ? {} : { pubsubEndpoint: endpoint }),
      redactHeaders: options.redactHeaders ?? [],
      redactRequestBody: options.redactRequestBody ?? [],
      redactResponseBody: options.redactResponseBody ?? [],
    });
    compileRedactor({
      redactHeaders: options.redactHeaders,
      redactRequestBody: options.redactRequestBody,
      redactResponseBody: options.redactResponseBody,
    });
    checks.push({ id: 'redaction', label: 'redaction', status: 'ok', detail: describeRules(options) });
  } catch (error) {
    configOk = false;
    checks.push({
      id: 'redaction',
      label: 'options',
      status: 'fail',
      detail: message(error),
      hint: 'new APIToolkit() would throw this at start-up; fix the option named above',
    });
  }

  const skip = (id: string, label: string, why: string): void => {
    checks.push({ id, label, status: 'skip', detail: `not checked: ${why}` });
  };

  if (apiKey === undefined) {
    checks.push({
      id: 'api-key',
      label: 'API key',
      status: 'fail',
      detail: 'no API key given',
      hint: 'pass --api-key KEY or set APITOOLKIT_KEY',
    });
    for (const [id, label] of [
      ['project', 'project'],
      ['topic', 'topic'],
      ['publish', 'publish'],
    ] as const)
      skip(id, label, 'no API key');
    return report(checks);
  }
  if (!configOk) {
    for (const [id, label] of [
      ['api-key', 'API key'],
      ['project', 'project'],
      ['topic', 'topic'],
      ['publish', 'publish'],
    ] as const)
      skip(id, label, 'invalid options');
    return report(checks);
  }

  // One pool for the metadata request and the publish check, with the proxy settings of `env`.
  const http = nodeHttpClient({ env });
  try {
    return await networkChecks(checks, { rootURL, apiKey, endpoint, timeoutMs, http });
  } finally {
    http.close();
  }
}

/** The checks that need the network: the key, the project and topic it maps to, the publish permission. */
async function networkChecks(
  checks: DoctorCheck[],
  {
    rootURL,
    apiKey,
    endpoint,
    timeoutMs,
    http,
  }: { rootURL: string; apiKey: string; endpoint: string | undefined; timeoutMs: number; http: HttpClient },
): Promise<DoctorReport> {
  const skip = (id: string, label: string, why: string): void => {
    checks.push({ id, label, status: 'skip', detail: `not checked: ${why}` });
  };
  let metadata: ClientMetadata;
  const started = performance.now();
  try {
    metadata = await fetchClientMetadata(rootURL, apiKey, { timeoutMs, http });
  } catch (error) {
    checks.push(metadataFailure(error, rootURL, apiKey));
    for (const [id, label] of [
      ['project', 'project'],
      ['topic', 'topic'],
      ['publish', 'publish'],
    ] as const)
      skip(id, label, 'no client metadata');
    return report(checks);
  }
  const ms = Math.round(performance.now() - started);
  checks.push({
    id: 'api-key',
    label: 'API key',
    status: 'ok',
    detail: `key …${apiKey.slice(-4)} accepted by ${rootURL} (GET /api/client_metadata: 200 in ${ms} ms)`,
  });
  checks.push({ id: 'project', label: 'project', status: 'ok', detail: `APIToolkit project ${metadata.project_id}` });

  const topicName = `projects/${metadata.pubsub_project_id}/topics/${metadata.topic_id}`;
  const account = metadata.pubsub_push_service_account;
  const as = typeof account.client_email === 'string' ? account.client_email : 'the service account';
  const via =
    endpoint === undefined
      ? `as ${as} on Google Pub/Sub`
      : endpoint.startsWith('https://')
        ? `as ${as} at ${endpoint}`
        : `via the plaintext endpoint ${endpoint} (emulator mode, no credentials)`;
  if (/[\s/]/.test(metadata.pubsub_project_id) || /[\s/]/.test(metadata.topic_id)) {
    checks.push({
      id: 'topic',
      label: 'topic',
      status: 'fail',
      detail: `malformed topic ${JSON.stringify(topicName)}`,
      hint: 'the metadata endpoint answered ids the SDK cannot publish to',
    });
    skip('publish', 'publish', 'malformed topic');
    return report(checks);
  }
  checks.push({ id: 'topic', label: 'topic', status: 'ok', detail: `${topicName} ${via}` });
  checks.push(await publishCheck(metadata, topicName, endpoint, timeoutMs, http));
  return report(checks);
}

function report(checks: DoctorCheck[]): DoctorReport {
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}

function runtimeCheck(): DoctorCheck {
  const major = Number(process.versions.node.split('.')[0]);
  const detail = `apitoolkit-node ${packageVersion()} · Node ${process.version} · ${process.platform} ${process.arch}`;
  if (major < 20) return { id: 'runtime', label: 'runtime', status: 'fail', detail, hint: 'apitoolkit-node needs Node 20 or later' };
  return { id: 'runtime', label: 'runtime', status: 'ok', detail };
}

async function frameworksCheck(cwd: string): Promise<DoctorCheck> {
  const found = await findFrameworks(cwd);
  if (found.length === 0) {
    return {
      id: 'frameworks',
      label: 'frameworks',
      status: 'warn',
      detail: `none of ${DOCTOR_FRAMEWORKS.join(', ')} found in node_modules from ${cwd} up`,
      hint: "run the doctor from your app's directory",
    };
  }
  const express = found.find((f) => f.name === 'express');
  const major = express === undefined ? undefined : Number(express.version.split('.')[0]);
  const detail = found.map((f) => `${f.name} ${f.version}`).join(' · ');
  if (major !== undefined && (major < 4 || major > 5)) {
    return {
      id: 'frameworks',
      label: 'frameworks',
      status: 'warn',
      detail,
      hint: `apitoolkit-node/express supports Express 4 and 5, found ${express!.version}`,
    };
  }
  return { id: 'frameworks', label: 'frameworks', status: 'ok', detail };
}

/**
 * The frameworks installed for the app in `cwd`: each looked up in `node_modules` from `cwd` up to
 * the root, as Node resolves packages (reading package.json directly: some `exports` maps hide it).
 *
 * @example
 * await findFrameworks(process.cwd()); // [{ name: 'express', version: '5.1.0', path: '/app/node_modules/express' }]
 */
export async function findFrameworks(cwd: string): Promise<{ name: string; version: string; path: string }[]> {
  const out: { name: string; version: string; path: string }[] = [];
  for (const name of DOCTOR_FRAMEWORKS) {
    for (let dir = resolve(cwd); ; dir = dirname(dir)) {
      const path = join(dir, 'node_modules', name);
      try {
        const pkg = JSON.parse(await readFile(join(path, 'package.json'), 'utf8')) as { version?: unknown };
        out.push({ name, version: typeof pkg.version === 'string' ? pkg.version : 'unknown', path });
        break;
      } catch {
        // not here: one level up
      }
      if (dirname(dir) === dir) break;
    }
  }
  return out;
}

function describeRules(options: DoctorOptions): string {
  const headers = options.redactHeaders ?? [];
  const request = options.redactRequestBody ?? [];
  const response = options.redactResponseBody ?? [];
  const list = (items: readonly string[]): string => (items.length === 0 ? 'none' : items.join(', '));
  return (
    `headers: ${list(ALWAYS_REDACTED_HEADERS)} (always)${headers.length > 0 ? ` + ${list(headers.map((h) => h.toLowerCase()))}` : ''}; ` +
    `request body: ${list(request)}; response body: ${list(response)}`
  );
}

const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_(GET|VERIFY|DECRYPT)|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|ERR_CERT)/;
const NETWORK_HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: nothing is listening there',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'DNS lookup failed temporarily',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/**
 * Turns a failed metadata request into a check with a cause a person can act on: a refused key,
 * a TLS failure, a network failure, a timeout, or an unexpected answer.
 *
 * @example
 * metadataFailure(new ApiKeyRefusedError('https://app.apitoolkit.io'), 'https://app.apitoolkit.io', key).detail;
 * // 'key …abcd refused by https://app.apitoolkit.io (HTTP 401)'
 */
export function metadataFailure(error: unknown, rootURL: string, apiKey: string): DoctorCheck {
  const base = { id: 'api-key', label: 'API key', status: 'fail' as const };
  if (error instanceof ApiKeyRefusedError) {
    return {
      ...base,
      detail: `key …${apiKey.slice(-4)} refused by ${rootURL} (HTTP 401)`,
      hint: 'copy the key again from your APIToolkit project settings (API keys); a revoked key stays refused',
    };
  }
  const codes = errorCodes(error);
  const text = message(error);
  // node:https reports a handshake that failed while the request was being written as EPROTO,
  // with OpenSSL's reason (`…:ssl3_get_record:wrong version number:…`) in the message.
  const reason = /SSL routines:[^:]*:([a-z0-9 ]+)/i.exec(text)?.[1];
  const tls = codes.find((code) => TLS_CODE.test(code)) ?? (reason === undefined ? undefined : `EPROTO: ${reason}`);
  if (tls !== undefined || /SSL routines|certificate|TLS/i.test(text.replace(/apitoolkit-node: /, ''))) {
    return {
      ...base,
      detail: `TLS failure talking to ${rootURL}${tls === undefined ? '' : ` (${tls})`}: ${text.replace(/ [0-9A-F]{8,}:error:[^\n]*/, '')}`,
      hint: "check that the URL's scheme matches the server (https vs http), the system clock, and, behind a TLS-inspecting proxy, NODE_EXTRA_CA_CERTS",
    };
  }
  const network = codes.find((code) => code in NETWORK_HINTS);
  if (network !== undefined) {
    return {
      ...base,
      detail: `cannot reach ${rootURL}: ${NETWORK_HINTS[network]} (${network})`,
      hint: 'check the URL (--root-url), your network, proxy and firewall',
    };
  }
  if (/timed out/.test(text))
    return {
      ...base,
      detail: `no answer from ${rootURL}: ${text}`,
      hint: 'the server or the network is slow or blocked; try again, or raise --timeout',
    };
  return { ...base, detail: text, hint: `is ${rootURL} the APIToolkit URL? (--root-url)` };
}

async function publishCheck(
  metadata: ClientMetadata,
  topicName: string,
  endpoint: string | undefined,
  timeoutMs: number,
  http: HttpClient,
): Promise<DoctorCheck> {
  const base = { id: 'publish', label: 'publish' };
  try {
    if (endpoint === undefined || endpoint.startsWith('https://')) {
      try {
        serviceAccountOf(metadata.pubsub_push_service_account);
      } catch (error) {
        return {
          ...base,
          status: 'fail',
          detail: `the client metadata has no usable service-account key: ${message(error)}`,
          hint: "contact APIToolkit support: the project's publisher credentials are missing",
        };
      }
    }
    const allowed = await canPublish(metadata, { pubsubEndpoint: endpoint, http, timeoutMs });
    if (allowed) {
      return {
        ...base,
        status: 'ok',
        detail: `authorised: ${PUBLISH_PERMISSION} granted on ${topicName} (asked with testIamPermissions; no record sent)`,
      };
    }
    return {
      ...base,
      status: 'fail',
      detail: `not authorised: ${PUBLISH_PERMISSION} is not granted on ${topicName}`,
      hint: 'records would be refused with PERMISSION_DENIED; contact APIToolkit support with the project id above',
    };
  } catch (error) {
    const tls = errorCodes(error).find((c) => TLS_CODE.test(c));
    return {
      ...base,
      status: 'fail',
      detail: `could not ask ${endpoint ?? 'Google Pub/Sub'}: ${tls === undefined ? '' : `TLS failure (${tls}): `}${message(error)}`,
      hint:
        endpoint !== undefined && !endpoint.startsWith('https://')
          ? `is the collector or emulator running at ${endpoint}? (--pubsub-endpoint / PUBSUB_EMULATOR_HOST)`
          : 'check access to pubsub.googleapis.com:443 and oauth2.googleapis.com:443 from this machine (proxy: HTTPS_PROXY / NO_PROXY; firewall)',
    };
  }
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^apitoolkit-node: /, '');
}

/** Options of {@link formatDoctorReport}. */
export interface DoctorFormatOptions {
  /** ANSI colours. Default `false`. */
  color?: boolean;
}

/**
 * The report as the terminal shows it: one line per check (✓ ok, ! warning, ✗ failure, - skipped),
 * hints under failures, and a closing verdict.
 *
 * @example
 * process.stdout.write(formatDoctorReport(await runDoctor(), { color: process.stdout.isTTY }));
 */
export function formatDoctorReport(report: DoctorReport, options: DoctorFormatOptions = {}): string {
  const paint = (code: string, text: string): string => (options.color === true ? `\x1b[${code}m${text}\x1b[0m` : text);
  const symbol: Record<CheckStatus, string> = {
    ok: paint('32', '✓'),
    warn: paint('33', '!'),
    fail: paint('31', '✗'),
    skip: paint('2', '-'),
  };
  const width = Math.max(...report.checks.map((check) => check.label.length));
  const lines = ['apitoolkit-node doctor', ''];
  for (const check of report.checks) {
    lines.push(
      `  ${symbol[check.status]} ${check.label.padEnd(width)}  ${check.status === 'skip' ? paint('2', check.detail) : check.detail}`,
    );
    if (check.hint !== undefined && check.status !== 'ok') lines.push(`    ${' '.repeat(width)}  ${paint('2', `→ ${check.hint}`)}`);
  }
  const failed = report.checks.filter((check) => check.status === 'fail').length;
  const warned = report.checks.filter((check) => check.status === 'warn').length;
  lines.push('');
  if (failed === 0) lines.push(paint('32', `All checks passed${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}.`));
  else lines.push(paint('31', `${failed} check${failed === 1 ? '' : 's'} failed.`));
  return `${lines.join('\n')}\n`;
}

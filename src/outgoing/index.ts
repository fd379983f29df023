/**
 * Outgoing calls: installs what `captureOutgoing` asks for (fetch, node:http, axios) and marks the
 * SDK's own I/O so that none of it is ever recorded. Nothing here runs, subscribes or wraps
 * anything unless `captureOutgoing` turns a client on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { OptionsInvalidError, RedactPathInvalidError } from '../core/errors.js';
import type { ResolvedOptions } from '../core/options.js';
import { compileRedactor, type Redactor } from '../core/redact/index.js';
import { installAxios } from './axios.js';
import type { OutgoingClient, OutgoingEnv, OutgoingScope } from './call.js';
import { installFetch } from './fetch.js';
import { installHttp } from './http.js';
import { compileUrlTemplates, type UrlTemplater } from './template.js';

export type { OutgoingClient } from './call.js';
export { compileUrlTemplates, defaultTemplate, isIdSegment, type UrlTemplater } from './template.js';

/** What the client keeps of an installed outgoing capture. */
export interface OutgoingCapture {
  /** Runs the SDK's own I/O (metadata, publishing, credentials) so that none of it is recorded. */
  ownIo<T>(fn: () => T): T;
  /**
   * Unsubscribes every channel, ejects every interceptor and disables the async-context scope
   * (an enabled AsyncLocalStorage slows every async operation of the process). Safe to call twice.
   */
  uninstall(): void;
}

/** The outgoing rules, compiled and validated once (whether or not capture is on). */
export interface OutgoingRules {
  readonly redactor: Redactor;
  readonly templates: UrlTemplater;
}

const OUTGOING_NAMES: Readonly<Record<string, string>> = {
  redactHeaders: 'redactOutgoingHeaders',
  redactRequestBody: 'redactOutgoingRequestBody',
  redactResponseBody: 'redactOutgoingResponseBody',
};

// compileRedactor names the incoming options in its errors; ours must name the outgoing ones.
function renamed(option: string): string {
  return option.replace(/^(redactHeaders|redactRequestBody|redactResponseBody)/, (name) => OUTGOING_NAMES[name] ?? name);
}

/**
 * Compiles `redactOutgoing*` (credential headers always included) and `outgoingUrlPatterns`.
 * Throws `RedactPathInvalidError` / `OptionsInvalidError` naming the outgoing option at fault.
 */
export function compileOutgoingRules(options: ResolvedOptions): OutgoingRules {
  let redactor: Redactor;
  try {
    redactor = compileRedactor({
      redactHeaders: options.redactOutgoingHeaders,
      redactRequestBody: options.redactOutgoingRequestBody,
      redactResponseBody: options.redactOutgoingResponseBody,
      // One list for both directions: a parameter that carries a secret does so in any URL.
      redactQueryParams: options.redactQueryParams,
    });
  } catch (error) {
    if (error instanceof RedactPathInvalidError) {
      const marker = `${JSON.stringify(error.path)} (`;
      const at = error.message.indexOf(marker);
      const reason = at === -1 ? error.message : error.message.slice(at + marker.length, -1);
      throw new RedactPathInvalidError(renamed(error.option), error.path, reason, { cause: error.cause ?? error });
    }
    if (error instanceof OptionsInvalidError) {
      const marker = `\`${error.option}\`: `;
      const at = error.message.indexOf(marker);
      throw new OptionsInvalidError(renamed(error.option), at === -1 ? error.message : error.message.slice(at + marker.length), {
        cause: error,
      });
    }
    throw error;
  }
  return Object.freeze({ redactor, templates: compileUrlTemplates(options.outgoingUrlPatterns) });
}

const OWN_IO: OutgoingScope = Object.freeze({ ownIo: true as const });

/**
 * Subscribes to the channels and adds the interceptors `options.captureOutgoing` asks for; each
 * finished call goes to `client[kSubmit]` with `parent_id` set from `client[kCurrentRequest]()`.
 * Returns `undefined` (and does nothing at all) when `captureOutgoing` is off. Throws
 * `OptionsInvalidError` when `axios: true` is asked and axios cannot be loaded; nothing stays
 * installed then.
 */
export function installOutgoing(
  client: OutgoingClient,
  options: ResolvedOptions,
  rules: OutgoingRules,
  fault: (error: unknown) => void,
): OutgoingCapture | undefined {
  const setting = options.captureOutgoing;
  if (setting === undefined) return undefined;
  const scope = new AsyncLocalStorage<OutgoingScope>();
  const env: OutgoingEnv = { client, scope, limits: options, templates: rules.templates, fault };
  const uninstallers: (() => void)[] = [];
  try {
    if (setting.axios !== false) uninstallers.push(installAxios(env, setting.axios));
    const axios = setting.axios !== false;
    // axios sends through node:http (or fetch): those layers lend it the wire-level details, and
    // record calls of their own only when asked to.
    if (setting.fetch || axios) uninstallers.push(installFetch(env, setting.fetch));
    if (setting.http || axios) uninstallers.push(installHttp(env, setting.http));
  } catch (error) {
    for (const uninstall of uninstallers) uninstall();
    throw error;
  }
  let installed = true;
  return {
    // Once uninstalled nothing is recorded, so the SDK's own I/O needs no marking (and must not
    // enable the scope again).
    ownIo: <T>(fn: () => T): T => (installed ? scope.run(OWN_IO, fn) : fn()),
    uninstall(): void {
      if (!installed) return;
      installed = false;
      scope.disable();
      for (const uninstall of uninstallers) {
        try {
          uninstall();
        } catch (error) {
          fault(error);
        }
      }
    },
  };
}

/**
 * `node:zlib` for the Web build, as redaction uses it (core/redact/index.ts: a body of unknown type
 * that starts like gzip is gunzipped before its rules apply). The bundler (tsup.config.ts) points
 * that import here. The runtime's own zlib where it lends one without an import (Deno, Bun, Workers
 * with `nodejs_compat`); elsewhere it throws, and redaction withholds the body, as it does for any
 * body it cannot read.
 */
type Gunzip = (body: Uint8Array, options?: { maxOutputLength?: number }) => Buffer;

export function gunzipSync(body: Uint8Array, options?: { maxOutputLength?: number }): Buffer {
  let zlib: { gunzipSync?: Gunzip } | undefined;
  try {
    zlib = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
      'node:zlib',
    ) as typeof zlib;
  } catch {
    // Next's edge sandbox answers every process method with one that throws.
  }
  if (typeof zlib?.gunzipSync !== 'function') throw new Error('no zlib on this runtime');
  return zlib.gunzipSync(body, options);
}

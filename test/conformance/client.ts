/** A raw HTTP client for the conformance suite: exact bytes, no decompression, optional abort. */
import { request as httpRequest } from 'node:http';
import type { RequestSpec } from './spec.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function encodeBody(spec: RequestSpec): Promise<{ body: Buffer | undefined; contentType: string | undefined }> {
  if (spec.body === undefined) return { body: undefined, contentType: undefined };
  if (typeof spec.body === 'string' || spec.body instanceof Uint8Array) return { body: Buffer.from(spec.body), contentType: undefined };
  // Let the Fetch API serialise forms (it picks the multipart boundary).
  const request = new Request('http://127.0.0.1/', { method: 'POST', body: spec.body });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type') ?? undefined };
}

/** Sends `spec` to `base`; with `abortAfterBytes`, destroys the socket once that much arrived. */
export async function send(base: string, spec: RequestSpec): Promise<RawResponse | 'aborted'> {
  const { body, contentType } = await encodeBody(spec);
  const headers: Record<string, string> = { ...spec.headers };
  if (contentType !== undefined && headers['content-type'] === undefined) headers['content-type'] = contentType;
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${spec.path}`, { method: spec.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (spec.abortAfterBytes !== undefined && received >= spec.abortAfterBytes) {
          req.destroy();
          resolve('aborted');
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => (spec.abortAfterBytes === undefined ? reject(error) : undefined));
    });
    req.on('error', (error) => (spec.abortAfterBytes === undefined ? reject(error) : undefined));
    req.end(body);
  });
}

/** Headers that legitimately differ between two runs of the same app. */
const VOLATILE = new Set(['date', 'keep-alive', 'connection']);

export function stableHeaders(headers: RawResponse['headers']): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [key, value] of Object.entries(headers)) if (!VOLATILE.has(key)) out[key] = value;
  return out;
}

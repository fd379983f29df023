/**
 * The local sink of the peer SDKs the benchmark compares with (bench/peers/): one loopback HTTP
 * server that answers each peer's ingestion API as its hosted service would (2xx, and the little
 * configuration they ask for) and counts the records that arrive, per peer:
 *
 * - `/apitally/...`: apitally's hub (`APITALLY_HUB_BASE_URL`); `POST .../log` carries a gzipped
 *   file of request logs, one JSON object a line: a record is a line;
 * - `/moesif/...`: moesif's collector (`baseUri`); `POST /v1/events/batch` carries a JSON array of
 *   events (gzipped, `content-encoding: gzip`): a record is an event;
 * - `/otel/v1/traces`: an OTLP/HTTP JSON trace receiver: a record is a span of kind SERVER (one per
 *   request; the Express instrumentation's middleware and handler spans are not counted).
 *
 * Runs in the collector's process (bench/collector.ts), on the load generator's core.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** The peers the sink knows, by the first segment of the path. */
export const PEER_SINK_NAMES = ['apitally', 'moesif', 'otel'] as const;
export type PeerSinkName = (typeof PEER_SINK_NAMES)[number];

export interface PeerSink {
  /** `http://127.0.0.1:PORT`; a peer's base URL is `${url}/${name}`. */
  url: string;
  /** Records received so far, per peer, and requests the sink could not read. */
  counts(): Record<PeerSinkName, number> & { unreadable: number };
  close(): Promise<void>;
}

const OTLP_SERVER_KIND = 2;

/** Records in one request body of `peer` at `path`; null when the request carries none (config, sync). */
export function countRecords(peer: PeerSinkName, path: string, body: Buffer): number | null {
  switch (peer) {
    case 'apitally': {
      if (!/\/log$/.test(path)) return null;
      const text = (isGzip(body) ? gunzipSync(body) : body).toString('utf8');
      return text.split('\n').filter((line) => line.trim() !== '').length;
    }
    case 'moesif': {
      if (!path.endsWith('/v1/events/batch')) return null;
      const events = JSON.parse((isGzip(body) ? gunzipSync(body) : body).toString('utf8')) as unknown;
      return Array.isArray(events) ? events.length : 0;
    }
    case 'otel': {
      if (!path.endsWith('/v1/traces')) return null;
      const traces = JSON.parse((isGzip(body) ? gunzipSync(body) : body).toString('utf8')) as {
        resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<{ kind?: number | string }> }> }>;
      };
      let n = 0;
      for (const r of traces.resourceSpans ?? [])
        for (const s of r.scopeSpans ?? [])
          for (const span of s.spans ?? []) if (span.kind === OTLP_SERVER_KIND || span.kind === 'SPAN_KIND_SERVER') n += 1;
      return n;
    }
  }
}

function isGzip(body: Buffer): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** What each peer expects back besides a bare 2xx. */
function answer(peer: PeerSinkName, path: string): { status: number; body: string } {
  if (peer === 'moesif' && path.endsWith('/v1/config')) return { status: 200, body: '{"sample_rate":100}' };
  if (peer === 'moesif' && path.endsWith('/v1/rules')) return { status: 200, body: '[]' };
  return { status: peer === 'apitally' ? 202 : 200, body: '{}' };
}

/** Starts the sink on an ephemeral loopback port. */
export async function startPeerSink(): Promise<PeerSink> {
  const counts = { apitally: 0, moesif: 0, otel: 0, unreadable: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const peer = path.split('/')[1] as PeerSinkName;
      if (!(PEER_SINK_NAMES as readonly string[]).includes(peer)) {
        res.writeHead(404).end();
        return;
      }
      try {
        counts[peer] += countRecords(peer, path, Buffer.concat(chunks)) ?? 0;
      } catch {
        counts.unreadable += 1;
      }
      const { status, body } = answer(peer, path);
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The local collector in a process of its own, for the benchmarks: the client metadata over HTTP
 * and Pub/Sub's REST API, on ephemeral loopback ports, plus a gRPC bridge for the published
 * apitoolkit-express@2.4.6 (bench/legacy-grpc.ts), and the sink of the peer SDKs (bench/peer-sink.ts).
 * Keeps only the last records (a long run would otherwise hold them all) and answers the harness
 * over IPC:
 *
 * - `count`: messages and Publish calls received so far, and the peers' records at their sink;
 * - `check`: whether the last messages kept are valid records, and their `service_version`s.
 */
import { startCollector } from '../src/collector/index.js';
import { announce, fatal, serveIpc } from './ipc-child.js';
import { startLegacyBridge } from './legacy-grpc.js';
import { startPeerSink } from './peer-sink.js';

const KEPT = 256;

/** The two fields that say which app a record came from. */
interface Stamp {
  sdk_type?: unknown;
  service_version?: unknown;
}

try {
  const collector = await startCollector({ maxKeptRecords: KEPT });
  const legacy = await startLegacyBridge(collector.pubsubEndpoint);
  const peers = await startPeerSink();
  serveIpc({
    count: () => {
      const { messages, publishRequests } = collector.stats();
      return { messages, publishRequests, peers: peers.counts() };
    },
    check: () => {
      const messages = collector.messages();
      const versions: Record<string, number> = {};
      let valid = 0;
      for (const message of messages) {
        let record: Stamp | null = null;
        try {
          record = JSON.parse(message.data.toString('utf8')) as Stamp | null;
        } catch {
          // counted as invalid below
        }
        if (record === null || typeof record !== 'object' || Array.isArray(record)) continue;
        valid += 1;
        const key = `${String(record.sdk_type)}/${String(record.service_version)}`;
        versions[key] = (versions[key] ?? 0) + 1;
      }
      return { kept: messages.length, valid, versions };
    },
  });
  process.on('SIGTERM', () => {
    legacy.close();
    void Promise.all([collector.close(), peers.close()]).finally(() => process.exit(0));
  });
  announce({
    rootURL: collector.rootURL,
    pubsubEndpoint: collector.pubsubEndpoint,
    legacyEndpoint: legacy.endpoint,
    peerSinkURL: peers.url,
  });
} catch (error) {
  fatal(error);
}

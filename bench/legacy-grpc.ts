/**
 * A gRPC Pub/Sub Publisher in front of the collector, for the one app that still speaks gRPC: the
 * published `apitoolkit-express@2.4.6`, whose official client (4.x) publishes over gRPC. Each Publish
 * is forwarded to the collector's REST publish, so its records are counted like ours. Built from
 * apitoolkit-express's own copies of grpc-js, proto-loader and the Pub/Sub protos: this package no
 * longer depends on any of them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface GrpcModule {
  Server: new (
    options?: object,
  ) => {
    addService(service: unknown, implementation: object): void;
    bindAsync(address: string, credentials: unknown, callback: (error: Error | null, port: number) => void): void;
    forceShutdown(): void;
  };
  ServerCredentials: { createInsecure(): unknown };
}

type Callback = (error: { code: number; details: string } | null, value?: unknown) => void;
interface PublishCall {
  request: { topic: string; messages: Array<{ data: Buffer; attributes: Record<string, string> }> };
}

/**
 * Starts the bridge on a loopback port; publishes go to the collector at `pubsubEndpoint` (REST).
 *
 * @example
 * const bridge = await startLegacyBridge(collector.pubsubEndpoint); // PUBSUB_EMULATOR_HOST=bridge.endpoint
 */
export async function startLegacyBridge(pubsubEndpoint: string): Promise<{ endpoint: string; close(): void }> {
  const fromLegacy = createRequire(createRequire(import.meta.url).resolve('apitoolkit-express'));
  const fromPubSub = createRequire(fromLegacy.resolve('@google-cloud/pubsub'));
  const fromGax = createRequire(fromPubSub.resolve('google-gax'));
  const grpc = fromGax('@grpc/grpc-js') as GrpcModule;
  const protoLoader = fromGax('@grpc/proto-loader') as { fromJSON(json: object, options: object): Record<string, unknown> };
  const protos = JSON.parse(
    readFileSync(join(dirname(fromLegacy.resolve('@google-cloud/pubsub/package.json')), 'build', 'protos', 'protos.json'), 'utf8'),
  ) as object;
  const definition = protoLoader.fromJSON(protos, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });

  const server = new grpc.Server({ 'grpc.max_receive_message_length': 32 * 1024 * 1024 });
  server.addService(definition['google.pubsub.v1.Publisher'], {
    Publish(call: PublishCall, callback: Callback) {
      const messages = call.request.messages.map((m) => ({
        data: m.data.toString('base64'),
        ...(Object.keys(m.attributes).length > 0 ? { attributes: m.attributes } : {}),
      }));
      fetch(`http://${pubsubEndpoint}/v1/${call.request.topic}:publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages }),
      }).then(
        async (response) => {
          const body = (await response.json()) as { messageIds?: string[]; error?: { message: string } };
          if (response.ok) callback(null, { messageIds: body.messageIds });
          else callback({ code: 14, details: body.error?.message ?? `HTTP ${response.status}` });
        },
        (error: Error) => callback({ code: 14, details: error.message }),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    );
  });
  return { endpoint: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

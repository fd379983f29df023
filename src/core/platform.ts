/**
 * What the client takes from the runtime it runs on. The Node build (apitoolkit.ts) and the Web
 * build (web/index.ts) each make one; the client (client.ts) imports neither, so that the Web
 * build's module graph holds no `node:` import.
 */
import type { IncomingMessage } from 'node:http';
import type { Decompress } from './capture-web.js';
import type { ContextStore } from './context.js';
import type { createNodeCapture, nodeRecordInput } from './capture.js';
import type { ResolvedOptions } from './options.js';
import type { HttpClient } from '../transport/http.js';
import type { OutgoingCapture, OutgoingClient, OutgoingRules } from '../outgoing/index.js';

export interface Platform {
  /** How the client names it in messages: 'Node build', 'Web build'. */
  readonly name: string;
  /** The HTTP client delivery uses (metadata, tokens, publishing). */
  http(): HttpClient;
  /** The async-context store that carries the request being served. */
  context<T>(): ContextStore<T>;
  /** Decompresses a body a Web handler compressed itself. */
  readonly decompress: Decompress;
  /**
   * Start delivery on first use rather than in the constructor: Cloudflare Workers refuse I/O,
   * timers and random values outside a request, where a module makes its client.
   */
  readonly lazyStart: boolean;
  /** node:http capture (Node and Bun); absent where there is no node:http. */
  readonly node?: {
    createNodeCapture: typeof createNodeCapture;
    nodeRecordInput: typeof nodeRecordInput;
    receivedUrl(req: IncomingMessage): string;
  };
  /** Outgoing-call capture (`captureOutgoing`); absent where it is not supported. */
  readonly outgoing?: {
    compile(options: ResolvedOptions): OutgoingRules;
    install(
      client: OutgoingClient,
      options: ResolvedOptions,
      rules: OutgoingRules,
      fault: (error: unknown) => void,
    ): OutgoingCapture | undefined;
  };
}

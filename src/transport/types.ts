/**
 * The Transport interface: where encoded records go. The batcher (core/batcher.ts) owns queueing,
 * batching and retries; a transport only delivers one batch at a time and says how it went.
 */

/** What a transport learnt at start-up that the SDK stamps on every record. */
export interface TransportInfo {
  /** APIToolkit project id, copied into each record's `project_id`. */
  projectId: string;
}

/** Outcome of one `send()`: never thrown, always returned. */
export type SendResult = { ok: true } | { ok: false; retryable: boolean; error: Error };

/** Delivers batches of encoded records (each one the UTF-8 JSON of one wire-format record). */
export interface Transport {
  /**
   * Prepares the transport (for Pub/Sub: fetches client metadata). Resolves with what the SDK
   * needs to stamp records; rejects with `ApiKeyRefusedError` when the key is refused. Called once.
   * A transport may retry internally for as long as it likes; the SDK keeps records meanwhile.
   */
  start(signal: AbortSignal): Promise<TransportInfo>;
  /**
   * Sends one batch. Must settle within `timeoutMs` (the batcher also enforces it). When `signal`
   * aborts (shutdown's time is up) it should settle at once; the batch then counts as dropped.
   */
  send(messages: Buffer[], timeoutMs: number, signal?: AbortSignal): Promise<SendResult>;
  /** Releases connections. Called once, after the last `send()` settled. */
  shutdown(): Promise<void>;
}

/** MemoryTransport: keeps every record in memory, for your tests and ours. */
import type { ApiRecord } from '../core/record.js';
import type { SendResult, Transport, TransportInfo } from './types.js';

/** Project id MemoryTransport stamps on records unless told otherwise. */
export const MEMORY_PROJECT_ID = '00000000-0000-4000-8000-000000000000';

/**
 * A `Transport` that decodes each published message and keeps it, so tests can assert on exactly
 * what would have been sent (after redaction).
 *
 * @example
 * import { APIToolkit, MemoryTransport } from 'apitoolkit-node';
 * const transport = new MemoryTransport();
 * const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0 });
 * // ... make a request to your app ...
 * const [record] = await transport.waitForRecords(1);
 * assert.equal(record.url_path, '/users/:id');
 */
export class MemoryTransport implements Transport {
  readonly #projectId: string;
  readonly #records: ApiRecord[] = [];
  readonly #waiters = new Set<() => void>();

  /** @param options.projectId the `project_id` stamped on records (default an all-zero uuid). */
  constructor(options: { projectId?: string } = {}) {
    this.#projectId = options.projectId ?? MEMORY_PROJECT_ID;
  }

  async start(): Promise<TransportInfo> {
    return { projectId: this.#projectId };
  }

  async send(messages: Buffer[]): Promise<SendResult> {
    for (const message of messages) this.#records.push(JSON.parse(message.toString('utf8')) as ApiRecord);
    for (const wake of this.#waiters) wake();
    return { ok: true };
  }

  async shutdown(): Promise<void> {}

  /** Every record received so far, oldest first (a copy). */
  records(): ApiRecord[] {
    return [...this.#records];
  }

  /** Forgets the records received so far. */
  clear(): void {
    this.#records.length = 0;
  }

  /** Resolves with all records once at least `count` have arrived; rejects after `timeoutMs` (default 5 s). */
  waitForRecords(count: number, timeoutMs = 5_000): Promise<ApiRecord[]> {
    if (this.#records.length >= count) return Promise.resolve(this.records());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`MemoryTransport: expected ${count} records, got ${this.#records.length} after ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = () => {
        if (this.#records.length < count) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(this.records());
      };
      this.#waiters.add(wake);
    });
  }
}

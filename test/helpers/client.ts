/**
 * The client most tests use: an `APIToolkit` delivering to a `MemoryTransport` at once
 * (`flushIntervalMs: 0`), shut down when the test ends; and the one record a request left.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { APIToolkit, MemoryTransport, type APIToolkitOptions, type ApiRecord } from '../../src/index.js';

/** The project id the test transport stamps on records. */
export const TEST_PROJECT_ID = '11111111-2222-4333-8444-555555555555';

export function memoryClient(t: TestContext, options: APIToolkitOptions = {}): { transport: MemoryTransport; apitoolkit: APIToolkit } {
  const transport = new MemoryTransport({ projectId: TEST_PROJECT_ID });
  const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, ...options });
  t.after(() => apitoolkit.shutdown(1_000));
  return { transport, apitoolkit };
}

/** The record the request just made, once it arrived; fails if more than one did. */
export async function onlyRecord(transport: MemoryTransport): Promise<ApiRecord> {
  const [record] = await transport.waitForRecords(1);
  assert.ok(record);
  assert.equal(transport.records().length, 1, 'one record per request');
  return record;
}

/** Exactly one record arrives for the request just made (checked again after a flush). */
export async function oneRecord(apitoolkit: APIToolkit, transport: MemoryTransport): Promise<ApiRecord> {
  const record = await onlyRecord(transport);
  assert.equal(await apitoolkit.flush(1_000), true);
  assert.equal(transport.records().length, 1, 'one record per request');
  return record;
}

/**
 * The conformance suite's runner: every scenario of scenarios.ts against one target. The target
 * serves the standard app twice, with the SDK and with no SDK at all; the response bytes must be
 * equal and the record must hold what the scenario expects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { APIToolkit, MemoryTransport } from '../../src/index.js';
import type { ApiRecord } from '../../src/core/record.js';
import { send, stableHeaders } from './client.js';
import { scenarios } from './scenarios.js';
import { CONFORMANCE_OPTIONS, type Expectation, type RecordSource, type Target } from './spec.js';

const decode = (b64: string) => Buffer.from(b64, 'base64');

function checkRecord(record: ApiRecord, expected: Partial<Expectation>, target: Target): void {
  assert.equal(record.sdk_type, target.sdkType);
  if (expected.method !== undefined) assert.equal(record.method, expected.method);
  if (expected.template !== undefined) {
    const template = typeof expected.template === 'function' ? expected.template(target) : expected.template;
    assert.equal(record.url_path, template === '' ? '' : target.template(template), 'url_path');
  }
  if (expected.params !== undefined) assert.deepEqual(record.path_params, expected.params, 'path_params');
  if (expected.query !== undefined) assert.deepEqual(record.query_params, expected.query, 'query_params');
  if (expected.status !== undefined) assert.equal(record.status_code, expected.status, 'status_code');
  if (expected.requestJson !== undefined)
    assert.deepEqual(JSON.parse(decode(record.request_body).toString()), expected.requestJson, 'request_body');
  if (expected.requestBytes !== undefined)
    assert.deepEqual(decode(record.request_body), Buffer.from(expected.requestBytes), 'request_body bytes');
  if (expected.responseJson !== undefined)
    assert.deepEqual(JSON.parse(decode(record.response_body).toString()), expected.responseJson, 'response_body');
  if (expected.responseBytes !== undefined)
    assert.deepEqual(decode(record.response_body).toString(), Buffer.from(expected.responseBytes).toString(), 'response_body bytes');
  expected.check?.(record, target);
}

/** Registers the suite of `target` (a `describe` of one test per scenario). */
export function conformance(target: Target, options: { timeout?: number } = {}): void {
  describe(`conformance: ${target.name}`, { timeout: options.timeout }, () => {
    const transport = new MemoryTransport({ projectId: '11111111-2222-4333-8444-555555555555' });
    const apitoolkit = new APIToolkit({ ...CONFORMANCE_OPTIONS, transport });
    let withSdk: { url: string; close(): Promise<void> };
    let bare: { url: string; close(): Promise<void> };
    let source: RecordSource;
    before(async () => {
      const started = await target.start(apitoolkit);
      withSdk = started;
      source = started.records ?? {
        clear: () => transport.clear(),
        records: () => transport.records(),
        waitForRecords: (count) => transport.waitForRecords(count),
        flush: (timeoutMs) => apitoolkit.flush(timeoutMs),
      };
      bare = await target.start(undefined);
    });
    after(async () => {
      await withSdk?.close();
      await bare?.close();
      await apitoolkit.shutdown(1_000);
    });

    for (const scenario of scenarios) {
      test(scenario.name, async () => {
        source.clear();
        const response = await send(withSdk.url, scenario.request);
        if (scenario.compareResponse !== false) {
          const baseline = await send(bare.url, scenario.request);
          assert.ok(response !== 'aborted' && baseline !== 'aborted');
          assert.equal(response.status, baseline.status, 'status unchanged');
          assert.deepEqual(stableHeaders(response.headers), stableHeaders(baseline.headers), 'headers unchanged');
          assert.ok(response.body.equals(baseline.body), 'body bytes unchanged');
        }
        const exception = target.exceptions?.[scenario.name];
        if (exception?.recorded === false) {
          assert.equal(await source.flush(1_000), true);
          assert.equal(source.records().length, 0, `no record (${exception.why})`);
          return;
        }
        const [record] = await source.waitForRecords(1);
        assert.ok(record);
        assert.equal(await source.flush(1_000), true);
        assert.equal(source.records().length, 1, 'exactly one record per request');
        checkRecord(record, { ...scenario.expect, ...exception }, target);
        assert.equal(record.raw_url, scenario.request.path);
        assert.equal(record.method, scenario.expect.method ?? scenario.request.method);
      });
    }
  });
}

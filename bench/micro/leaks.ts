/**
 * The leak finder's cost per record (`detectLeaks`): `scanRecord` over the record the SDK queues in
 * the other stages (1 KB bodies with an unredacted card number in them, so there is something to
 * find), the same record with nothing to find, 64 KB bodies, and `redactFindings` ('redact' mode).
 */
import { redactFindings, scanRecord } from '../../src/leaks/index.js';
import {
  REQUEST_1K,
  REQUEST_64K,
  RESPONSE_1K,
  RESPONSE_64K,
  newBench,
  rowOf,
  sampleRecord,
  type MicroOptions,
  type MicroRow,
} from './fixtures.js';

export async function leaksBench(options: MicroOptions): Promise<MicroRow[]> {
  const withCard = sampleRecord(REQUEST_1K, RESPONSE_1K);
  const clean = sampleRecord(
    Buffer.from(REQUEST_1K.toString().replace('4111111111111111', 'xxxx').replace('"hunter2"', '"[CLIENT_REDACTED]"')),
    RESPONSE_1K,
  );
  const big = sampleRecord(REQUEST_64K, RESPONSE_64K);
  const options2 = { minConfidence: 'medium' } as const;
  const findings = scanRecord(withCard, options2);
  // The harness must measure a record with findings and one without, or the figures mean nothing.
  if (findings.length === 0) throw new Error('leaks harness: expected findings in the sample record');
  if (scanRecord(clean, options2).some((f) => f.detector === 'payment-card')) throw new Error('leaks harness: the clean record has a card');
  const bench = newBench(options);
  bench.add('scan, 1 KB bodies with findings', () => scanRecord(withCard, options2));
  bench.add('scan, 1 KB bodies, no card', () => scanRecord(clean, options2));
  bench.add('scan, 64 KB bodies', () => scanRecord(big, options2));
  bench.add('scan + redact, 1 KB bodies', () => redactFindings(withCard, scanRecord(withCard, options2)));
  await bench.run();
  return bench.tasks.map((t) =>
    rowOf(t, 'leaks', t.name, 1, t.name.startsWith('scan, 1 KB bodies with') ? `${findings.length} findings` : undefined),
  );
}

/** Encoding: `encodeRecord()` of a whole record (JSON, UTF-8), with 1 KB and 64 KB bodies. */
import { encodeRecord } from '../../src/core/encode.js';
import { REQUEST_1K, REQUEST_64K, RESPONSE_1K, RESPONSE_64K, kb, newBench, rowOf, sampleRecord, type MicroOptions, type MicroRow } from './fixtures.js';

export async function encodeBench(options: MicroOptions): Promise<MicroRow[]> {
  const bench = newBench(options);
  for (const [request, response] of [[REQUEST_1K, RESPONSE_1K], [REQUEST_64K, RESPONSE_64K]] as const) {
    const record = sampleRecord(request, response);
    const encoded = encodeRecord(record);
    if (!encoded.ok) throw encoded.error;
    bench.add(`record with ${kb(request)} + ${kb(response)} bodies (${kb(encoded.message)} encoded)`, () => encodeRecord(record));
  }
  await bench.run();
  return bench.tasks.map((t) => rowOf(t, 'encode', t.name));
}

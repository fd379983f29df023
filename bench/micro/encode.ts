/**
 * Encoding: `encodeRecord()` of a whole record (JSON, UTF-8), with 1 KB and 64 KB bodies: as the SDK
 * encodes its own records (base64 bodies copied as they are), and as it encodes what a beforeSend
 * hook returned (JSON.stringify of the whole record).
 */
import { encodeRecord, type EncodeOptions } from '../../src/core/encode.js';
import {
  REQUEST_1K,
  REQUEST_64K,
  RESPONSE_1K,
  RESPONSE_64K,
  kb,
  newBench,
  rowOf,
  sampleRecord,
  type MicroOptions,
  type MicroRow,
} from './fixtures.js';

// What APIToolkit passes when no beforeSend hook is set.
const SDK_BUILT: EncodeOptions = { bodiesAreBase64: true };

export async function encodeBench(options: MicroOptions): Promise<MicroRow[]> {
  const bench = newBench(options);
  for (const [request, response] of [
    [REQUEST_1K, RESPONSE_1K],
    [REQUEST_64K, RESPONSE_64K],
  ] as const) {
    const record = sampleRecord(request, response);
    const encoded = encodeRecord(record, SDK_BUILT);
    if (!encoded.ok) throw encoded.error;
    // The two ways must write the same bytes, or the figures compare nothing.
    if (!encoded.message.equals(Buffer.from(JSON.stringify(record))))
      throw new Error('encode harness: the direct encoding differs from JSON.stringify');
    const name = `record with ${kb(request)} + ${kb(response)} bodies (${kb(encoded.message)} encoded)`;
    bench.add(name, () => encodeRecord(record, SDK_BUILT));
    bench.add(`${name}, beforeSend set`, () => encodeRecord(record));
  }
  await bench.run();
  return bench.tasks.map((t) => rowOf(t, 'encode', t.name));
}

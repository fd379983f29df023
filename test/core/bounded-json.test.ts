/**
 * A body parser's value is serialised no further than maxBodyBytes: a large upload does not cost
 * its whole size in JSON.stringify to keep its first MiB. boundedJson is JSON.stringify below the
 * limit (a property test compares them); the record of a large parsed body reads only about
 * maxBodyBytes of it (counted through a Proxy), with the SDK before and after the parser.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import type { RequestHandler } from 'express';
import { APIToolkit, MemoryTransport, REDACTED, type APIToolkitOptions } from '../../src/index.js';
import { expressMiddleware } from '../../src/adapters/express/index.js';
import { boundedJson } from '../../src/core/bounded-json.js';
import { expressVersions } from '../helpers/express.js';
import { serve, unb64 } from '../helpers/http.js';

const RUNS = Number(process.env.BOUNDED_JSON_RUNS ?? 2_000);

describe('boundedJson', () => {
  const valueArb = fc.oneof(
    fc.jsonValue(),
    fc.anything({
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withSparseArray: true,
      withTypedArray: true,
      withObjectString: true,
    }),
    fc.record({
      toJSON: fc.constant(function (this: unknown, key: string) {
        return { key };
      }),
      x: fc.integer(),
    }),
    fc.array(
      fc.oneof(
        fc.constant(undefined),
        fc.constant(() => 1),
        fc.constant(Symbol('s')),
        fc.double(),
        fc.string(),
      ),
    ),
  );

  it(`${RUNS} values: exactly JSON.stringify when it fits; a prefix of it, cut, when it does not`, () => {
    fc.assert(
      fc.property(valueArb, fc.integer({ min: 0, max: 400 }), (value, max) => {
        let want: string | undefined;
        try {
          want = JSON.stringify(value);
        } catch {
          assert.equal(boundedJson(value, Number.MAX_SAFE_INTEGER), undefined);
          return;
        }
        const whole = boundedJson(value, Number.MAX_SAFE_INTEGER);
        if (want === undefined) {
          assert.equal(whole, undefined);
          return;
        }
        assert.deepEqual(whole, { text: want, cut: false });
        const bounded = boundedJson(value, max)!;
        if (want.length <= max) {
          assert.deepEqual(bounded, { text: want, cut: false });
        } else {
          assert.equal(bounded.cut, true);
          assert.ok(want.startsWith(bounded.text), 'a prefix of the whole text');
          assert.ok(bounded.text.length > max, 'at least as long as asked for');
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('cycles and BigInts are refused as JSON.stringify refuses them; nesting past 1000 is cut', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.equal(boundedJson(cyclic, 1e6), undefined);
    assert.equal(boundedJson({ n: 10n }, 1e6), undefined);
    let deep: unknown = 1;
    for (let i = 0; i < 5_000; i += 1) deep = [deep];
    assert.equal(boundedJson(deep, 1e6)!.cut, true);
  });
});

describe('a large body the parser already read is not serialised whole', () => {
  const ITEMS = 60_000;
  const MAX = 16 * 1024;
  for (const { name, express } of expressVersions) {
    for (const sdkFirst of [true, false]) {
      for (const rules of [true, false]) {
        it(`${name}, SDK ${sdkFirst ? 'before' : 'after'} the parser, ${rules ? 'with' : 'without'} rules: about maxBodyBytes of it is read`, async (t: TestContext) => {
          const options: APIToolkitOptions = { maxBodyBytes: MAX, ...(rules ? { redactRequestBody: ['$..token'] } : {}) };
          const transport = new MemoryTransport({ projectId: '11111111-2222-4333-8444-555555555555' });
          const apitoolkit = new APIToolkit({ transport, flushIntervalMs: 0, ...options });
          t.after(() => apitoolkit.shutdown(1_000));
          let reads = 0;
          const app = express();
          const sdk = expressMiddleware(apitoolkit) as RequestHandler;
          const parse = express.json({ limit: '50mb' });
          // The parsed array behind a Proxy that counts the elements read: what serialising it costs.
          const count: RequestHandler = (req, _res, next) => {
            const items = (req.body as { items: unknown[] }).items;
            (req.body as { items: unknown[] }).items = new Proxy(items, {
              get(target, key, receiver) {
                if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
                return Reflect.get(target, key, receiver);
              },
            });
            next();
          };
          if (sdkFirst) app.use(sdk, parse, count);
          else app.use(parse, count, sdk);
          app.post('/in', (_req, res) => res.json({ ok: true }));
          const url = await serve(t, app);
          const body = JSON.stringify({ items: Array.from({ length: ITEMS }, (_, i) => ({ id: i, token: `secret-${i}` })) });
          const res = await fetch(`${url}/in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          assert.equal(res.status, 200);
          const [record] = await transport.waitForRecords(1);
          // ~35 bytes an element: about MAX / 35 of them, not all 60 000.
          assert.ok(reads < 2_000, `${reads} of ${ITEMS} elements read to record ${MAX} bytes`);
          const recorded = unb64(record!.request_body);
          // Under rules a cut body is withheld; without, its first maxBodyBytes are recorded.
          if (rules) assert.equal(recorded, JSON.stringify(REDACTED));
          else assert.equal(recorded.length, MAX);
          assert.equal(apitoolkit.stats().truncatedBodies, 1);
        });
      }
    }
  }
});

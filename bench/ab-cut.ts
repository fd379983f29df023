/**
 * Makes the `cut` A/B build of bench/results/INSITU.md: a copy of src/ whose record path stops at one
 * point per process, chosen by `AB_CUT` (read once at start-up): `capture` (the exchange only),
 * `input` (+ the record input), `redact` (+ redaction and the record), `build` (+ leak detection),
 * `encode` (+ the JSON, into a scratch buffer), `als` (everything, the request run outside the
 * AsyncLocalStorage context); unset, the whole path. Then `bench/ab-build.ts cut --src` builds it.
 *
 *   node --import tsx bench/ab-cut.ts && node --import tsx bench/ab-build.ts cut --src bench/.variants/cut-src
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = resolve(ROOT, 'bench/.variants/cut-src');
rmSync(OUT, { recursive: true, force: true });
cpSync(resolve(ROOT, 'src'), OUT, { recursive: true });
const file = resolve(OUT, 'client.ts');
let text = readFileSync(file, 'utf8');

/** Replaces the one occurrence of `from` (the build must not silently miss a switch). */
function edit(from: string, to: string): void {
  const at = text.indexOf(from);
  if (at === -1 || text.indexOf(from, at + 1) !== -1) throw new Error(`src/client.ts: expected exactly one ${JSON.stringify(from)}`);
  text = text.slice(0, at) + to + text.slice(at + from.length);
}

edit(
  'const RULE_CHECK_EVERY = 100;',
  "const RULE_CHECK_EVERY = 100;\nconst CUT = process.env.AB_CUT ?? '';\nconst SCRATCH = Buffer.allocUnsafe(8 << 20);",
);
edit(
  'if (exchange !== undefined) return this.#context.run(exchange, next);',
  "if (exchange !== undefined) return CUT === 'als' ? next() : this.#context.run(exchange, next);",
);
edit(
  '  #completeNode(exchange: Exchange, aborted: boolean): void {\n',
  "  #completeNode(exchange: Exchange, aborted: boolean): void {\n    if (CUT === 'capture') return;\n",
);
edit(
  '    this.#complete(input);\n  }\n\n  #complete(input: RecordInput): void {\n',
  "    if (CUT === 'input') return;\n    this.#complete(input);\n  }\n\n  #complete(input: RecordInput): void {\n",
);
edit(
  '    if (o.detectLeaks !== false) record = this.#detectLeaks(record);',
  "    if (CUT === 'redact') return undefined;\n    if (o.detectLeaks !== false) record = this.#detectLeaks(record);",
);
edit(
  "      if (this.#state === 'ready') this.#enqueue(record);",
  "      if (CUT === 'build') return;\n      if (this.#state === 'ready') this.#enqueue(record);",
);
edit(
  '    if (this.#options.beforeSend === undefined && !this.#options.debug) {',
  "    if (CUT === 'encode') {\n      const d = prepareDirect(record);\n      if (d !== undefined) writeDirect(d, SCRATCH, 0);\n      return;\n    }\n    if (this.#options.beforeSend === undefined && !this.#options.debug) {",
);
writeFileSync(file, text);
process.stdout.write(`${OUT}\n`);

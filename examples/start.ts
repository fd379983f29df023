/**
 * `npm start [-- <framework>]`: runs the instrumented example API for one framework (default
 * express) with the embedded local collector. No account, no network.
 *
 *   npm start                 # Express
 *   npm start -- fastify      # any folder of examples/ with a server.ts
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(here, entry.name, 'server.ts')))
  .map((entry) => entry.name);
const framework = process.argv[2] ?? 'express';
if (!available.includes(framework)) {
  console.error(`Unknown example "${framework}". Available: ${available.join(', ')}.\nUsage: npm start -- <${available.join('|')}>`);
  process.exit(2);
}
await import(pathToFileURL(join(here, framework, 'server.ts')).href);

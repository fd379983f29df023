import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The Express majors we support, each loaded from its npm alias (express4, express5). */
export const expressVersions = [
  { name: 'express 4', version: require('express4/package.json').version as string, express: require('express4') as typeof import('express') },
  { name: 'express 5', version: require('express5/package.json').version as string, express: require('express5') as typeof import('express') },
];

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The Express majors we support: 4 from its npm alias `express4`, 5 as `express` itself. */
export const expressVersions = [
  {
    name: 'express 4',
    version: require('express4/package.json').version as string,
    express: require('express4') as typeof import('express'),
  },
  {
    name: 'express 5',
    version: require('express/package.json').version as string,
    express: require('express') as typeof import('express'),
  },
];

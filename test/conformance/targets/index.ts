/** Every adapter x supported framework major the conformance suite runs. */
import type { Target } from '../spec.js';
import { expressTargets } from './express.js';
import { koaTargets } from './koa.js';
import { honoTargets } from './hono.js';

export const targets: Target[] = [
  ...expressTargets,
  ...koaTargets,
  ...honoTargets,
];

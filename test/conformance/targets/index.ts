/** Every adapter x supported framework major the conformance suite runs. */
import type { Target } from '../spec.js';
import { expressTargets } from './express.js';
import { koaTargets } from './koa.js';
import { honoTargets } from './hono.js';
import { fastifyTargets } from './fastify.js';
import { fetchTargets } from './fetch.js';
import { httpTargets } from './http.js';
import { nestTargets } from './nest.js';
import { nextTargets } from './next.js';

export const targets: Target[] = [
  ...expressTargets,
  ...koaTargets,
  ...honoTargets,
  ...fastifyTargets,
  ...httpTargets,
  ...fetchTargets,
  ...nestTargets,
  ...nextTargets,
];

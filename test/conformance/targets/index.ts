/** Every adapter x supported framework major the conformance suite runs. */
import type { Target } from '../spec.js';
import { expressTargets } from './express.js';

export const targets: Target[] = [
  ...expressTargets,
];

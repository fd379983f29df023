/**
 * The conformance suite: every scenario of scenarios.ts against every target (adapter x framework
 * major) on Node; test/runtimes/ runs it on Bun, Deno and workerd.
 */
import { conformance } from './run.js';
import { targets } from './targets/index.js';

for (const target of targets) conformance(target);

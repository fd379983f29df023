/**
 * What the Node adapters (Express, Fastify, Koa, Nest, `/http`) check of the client they are given,
 * and the node:http capture they bring along: a client of the Web build (what `apitoolkit-node`
 * resolves to under Deno, where Express runs on Deno's node:http) has none of its own.
 */
import type { APIToolkit } from '../apitoolkit.js';
import { createNodeCapture, nodeRecordInput, receivedUrl } from '../core/capture.js';
import type { Platform } from '../core/platform.js';
import { kUseNode } from '../core/symbols.js';
import { assertClient } from './assert-client.js';

/** node:http capture, as a platform carries it. */
export const NODE_CAPTURE: NonNullable<Platform['node']> = Object.freeze({ createNodeCapture, nodeRecordInput, receivedUrl });

/** Fails at start-up unless `client` is an APIToolkit; hands it node:http capture. */
export function assertNodeClient(client: unknown, name: string): asserts client is APIToolkit {
  assertClient(client, name);
  (client as { [kUseNode]?: (node: NonNullable<Platform['node']>) => void })[kUseNode]?.(NODE_CAPTURE);
}

/**
 * Loads the `google.pubsub.v1.Publisher` service definition from the protos that
 * `@google-cloud/pubsub` ships, so the collector speaks exactly the wire protocol of the client
 * the SDK uses. Resolved from this module's location, so it works when apitoolkit-node is installed
 * as a dependency.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';

/** Proto-loader options: camelCase fields, bytes as Buffer, absent fields filled with defaults. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Loads the Publisher service from `@google-cloud/pubsub/build/protos/protos.json`. */
export function loadPublisherService(): ServiceDefinition {
  const require = createRequire(import.meta.url);
  // protos.json is self-contained (google.api + google.protobuf included), so no include paths
  // into google-gax are needed; google-gax's `exports` map would hide its build/protos anyway.
  const pkgDir = dirname(require.resolve('@google-cloud/pubsub/package.json'));
  const json = JSON.parse(readFileSync(join(pkgDir, 'build', 'protos', 'protos.json'), 'utf8')) as object;
  const definition = protoLoader.fromJSON(json, LOADER_OPTIONS);
  const service = definition['google.pubsub.v1.Publisher'];
  if (service === undefined || !('Publish' in service)) {
    throw new Error('apitoolkit-node collector: google.pubsub.v1.Publisher not found in @google-cloud/pubsub protos');
  }
  return service as ServiceDefinition;
}

/**
 * The one `google.iam.v1.IAMPolicy` method a publisher needs: `TestIamPermissions`, which the
 * official client calls for `topic.iam.testPermissions()` on the same endpoint as Publish. Written
 * out here (field numbers from google/iam/v1/iam_policy.proto) because the Pub/Sub protos do not
 * include it and google-gax's copy is hidden behind its `exports` map.
 */
const IAM_POLICY_JSON = {
  nested: {
    google: {
      nested: {
        iam: {
          nested: {
            v1: {
              nested: {
                IAMPolicy: {
                  methods: {
                    TestIamPermissions: { requestType: 'TestIamPermissionsRequest', responseType: 'TestIamPermissionsResponse' },
                  },
                },
                TestIamPermissionsRequest: {
                  fields: { resource: { type: 'string', id: 1 }, permissions: { rule: 'repeated', type: 'string', id: 2 } },
                },
                TestIamPermissionsResponse: {
                  fields: { permissions: { rule: 'repeated', type: 'string', id: 1 } },
                },
              },
            },
          },
        },
      },
    },
  },
};

/**
 * Loads the `google.iam.v1.IAMPolicy` service (TestIamPermissions only).
 *
 * @example
 * grpcServer.addService(loadIamPolicyService(), { TestIamPermissions(call, callback) { callback(null, { permissions: call.request.permissions }); } });
 */
export function loadIamPolicyService(): ServiceDefinition {
  const definition = protoLoader.fromJSON(IAM_POLICY_JSON as unknown as Parameters<typeof protoLoader.fromJSON>[0], LOADER_OPTIONS);
  return definition['google.iam.v1.IAMPolicy'] as ServiceDefinition;
}

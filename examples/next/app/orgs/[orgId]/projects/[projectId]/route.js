import { nextRouteHandler } from '../../../../../../../src/adapters/next/index.js';
import { apitoolkit } from '../../../../../lib/apitoolkit.js';

export const GET = nextRouteHandler(apitoolkit, async (_request, { params }) => {
  const { orgId, projectId } = await params;
  return Response.json({ org: orgId, project: projectId });
});

import { nextRouteHandler } from '../../../../../src/adapters/next/index.js';
import { apitoolkit } from '../../../lib/apitoolkit.js';

export const GET = nextRouteHandler(apitoolkit, async (_request, { params }) => {
  const { id } = await params;
  return Response.json({ id, name: 'Ada Lovelace' });
});

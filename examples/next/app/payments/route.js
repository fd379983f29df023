import { nextRouteHandler } from '../../../../src/adapters/next/index.js';
import { apitoolkit } from '../../lib/apitoolkit.js';

export const POST = nextRouteHandler(apitoolkit, async (request) => {
  const body = await request.json().catch(() => ({}));
  return Response.json({ amount: body.amount ?? 0, status: 'accepted' }, { status: 201 });
});

import { nextRouteHandler } from '../../../../src/adapters/next/index.js';
import { apitoolkit } from '../../lib/apitoolkit.js';

export const POST = nextRouteHandler(apitoolkit, async (request) => {
  const body = await request.json().catch(() => ({}));
  return Response.json({ user: body.username ?? null, token: 'eyJhbGciOiJIUzI1NiJ9.secret' });
});

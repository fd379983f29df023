import { nextApiHandler } from '../../../../src/adapters/next/index.js';
import { apitoolkit } from '../../lib/apitoolkit.js';

// A Pages Router API route: the same client, its own wrapper.
export default nextApiHandler(apitoolkit, (req, res) => {
  res.status(200).json({ hello: req.query.name ?? 'world' });
});

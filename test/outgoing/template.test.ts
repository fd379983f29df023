import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OptionsInvalidError } from '../../src/index.js';
import { compileUrlTemplates, defaultTemplate, isIdSegment } from '../../src/outgoing/index.js';

describe('the default id rule', () => {
  const cases: [string, string, Record<string, string>][] = [
    ['/users/42', '/users/:id', { id: '42' }],
    ['/orgs/7/users/42', '/orgs/:id/users/:id2', { id: '7', id2: '42' }],
    ['/things/3f2b1c9e-1234-4abc-8def-0123456789AB', '/things/:id', { id: '3f2b1c9e-1234-4abc-8def-0123456789AB' }],
    ['/objects/507f1f77bcf86cd799439011/raw', '/objects/:id/raw', { id: '507f1f77bcf86cd799439011' }],
    ['/v1/users', '/v1/users', {}],
    ['/users/me', '/users/me', {}],
    // Short hex words stay: 15 hex digits are not an id, 16 are.
    ['/colors/deadbeefcafe123', '/colors/deadbeefcafe123', {}],
    ['/colors/deadbeefcafe1234', '/colors/:id', { id: 'deadbeefcafe1234' }],
    ['/users/42/', '/users/:id/', { id: '42' }],
    ['/', '/', {}],
    ['/a//1', '/a//:id', { id: '1' }],
  ];
  for (const [path, template, params] of cases) {
    test(`${path} -> ${template}`, () => {
      assert.deepEqual(defaultTemplate(path), { template, params });
    });
  }

  test('isIdSegment', () => {
    assert.equal(isIdSegment('0'), true);
    assert.equal(isIdSegment('v2'), false);
    assert.equal(isIdSegment('12ab'), false);
    assert.equal(isIdSegment(''), false);
  });
});

describe('outgoingUrlPatterns', () => {
  const t = compileUrlTemplates(['api.github.com/repos/:owner/:repo', '/orgs/:org/users/:user', 'localhost:8080/health/:check']);

  test('a path pattern matches any host; params are decoded', () => {
    assert.deepEqual(t.match('example.com', '/orgs/acme%20inc/users/ada'), {
      template: '/orgs/:org/users/:user',
      params: { org: 'acme inc', user: 'ada' },
    });
  });

  test('a host pattern matches that host only (with or without the port)', () => {
    assert.deepEqual(t.match('API.github.com', '/repos/nodejs/node'), {
      template: '/repos/:owner/:repo',
      params: { owner: 'nodejs', repo: 'node' },
    });
    assert.deepEqual(t.match('api.github.com:443', '/repos/nodejs/node').template, '/repos/:owner/:repo');
    assert.deepEqual(t.match('example.com', '/repos/nodejs/node'), { template: '/repos/nodejs/node', params: {} });
    assert.equal(t.match('localhost:8080', '/health/db').template, '/health/:check');
    assert.equal(t.match('localhost:9090', '/health/db').template, '/health/db');
  });

  test('segment counts must agree; a trailing slash does not matter; no match falls back to the id rule', () => {
    assert.equal(t.match('x.com', '/orgs/acme/users/ada/').template, '/orgs/:org/users/:user');
    assert.deepEqual(t.match('x.com', '/orgs/acme/users/ada/books/9'), { template: '/orgs/acme/users/ada/books/:id', params: { id: '9' } });
    assert.equal(t.match('x.com', '/orgs//users/ada').template, '/orgs//users/ada');
  });

  test('patterns are tried in order, the first match wins', () => {
    const ordered = compileUrlTemplates(['/users/me', '/users/:name']);
    assert.deepEqual(ordered.match('x.com', '/users/me'), { template: '/users/me', params: {} });
    assert.deepEqual(ordered.match('x.com', '/users/ada'), { template: '/users/:name', params: { name: 'ada' } });
  });

  const bad: [string, RegExp][] = [
    ['users/:id', /path starting with "\/"/],
    ['/a/:', /invalid parameter name/],
    ['/a/:1x', /invalid parameter name/],
    ['/a/:id/b/:id', /appears twice/],
    ['/a?b=1', /without query/],
    ['', /expected a path/],
  ];
  for (const [pattern, message] of bad) {
    test(`rejects ${JSON.stringify(pattern)}`, () => {
      assert.throws(
        () => compileUrlTemplates(['/ok', pattern]),
        (error: unknown) => {
          assert.ok(error instanceof OptionsInvalidError);
          assert.equal(error.option, 'outgoingUrlPatterns[1]');
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});

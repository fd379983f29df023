/**
 * The SDK's HTTP on Node (src/transport/http-node.ts) against real servers on loopback: its
 * keep-alive pool, which it tears down after a timeout and never trusts once idle too long, and
 * proxies from the environment (CONNECT tunnels for https, absolute-form for http, NO_PROXY, Basic
 * credentials) through a real proxy of our own. And the `fetch` client's own limits.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fetchHttpClient, ResponseTooLargeError } from '../../src/transport/http.js';
import { nodeHttpClient } from '../../src/transport/http-node.js';
import { makePki, type Pki } from '../helpers/google.js';
import { until } from '../helpers/wait.js';

let pki: Pki;
before(() => {
  pki = makePki();
});
after(() => pki.cleanup());

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** A server answering every request with its path, counting connections (and which are still open). */
async function target(t: TestContext, secure: boolean, keepAliveTimeout = 30_000) {
  const sockets: Socket[] = [];
  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    req.resume();
    res.end(`served ${req.url}`);
  };
  const server: Server = secure ? createHttpsServer({ key: pki.server.key, cert: pki.server.cert }, handler) : createHttpServer(handler);
  server.keepAliveTimeout = keepAliveTimeout;
  server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => close(server));
  return { url: `${secure ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

/** A forward proxy: CONNECT tunnels and absolute-form requests, recording what it was asked. */
async function proxy(t: TestContext, { refuse }: { refuse?: number } = {}) {
  const connects: Array<{ target: string; authorization: string | undefined }> = [];
  const forwarded: Array<{ url: string; host: string | undefined; authorization: string | undefined }> = [];
  const server = createHttpServer((req, res) => {
    forwarded.push({ url: req.url!, host: req.headers.host, authorization: req.headers['proxy-authorization'] });
    const url = new URL(req.url!);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  const tunnels = new Set<Socket>();
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.add(client);
    connects.push({ target: req.url!, authorization: req.headers['proxy-authorization'] });
    if (refuse !== undefined) {
      client.end(`HTTP/1.1 ${refuse} Refused\r\nconnection: close\r\n\r\n`);
      return;
    }
    const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')), Number(req.url!.slice(req.url!.lastIndexOf(':') + 1))];
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    tunnels.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // A tunnel is no longer the HTTP server's connection: closeAllConnections() leaves it open.
  t.after(() => {
    for (const socket of tunnels) socket.destroy();
    return close(server);
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connects, forwarded };
}

const get = (url: string) => ({ method: 'GET' as const, url, headers: {}, maxResponseBytes: 65_536 });

describe('node:https client: its connections', () => {
  test('keep-alive: requests reuse one connection; reset() makes the next dial afresh and closes the old one', async (t) => {
    const server = await target(t, true);
    const http = nodeHttpClient({ ca: pki.caCert });
    t.after(() => http.close());
    for (let i = 0; i < 3; i++) assert.equal((await http.request(get(`${server.url}/a${i}`))).body, `served /a${i}`);
    assert.equal(server.sockets.length, 1);
    http.reset();
    await until(() => server.sockets[0]!.destroyed, 'the pooled connection closed');
    assert.equal((await http.request(get(`${server.url}/b`))).body, 'served /b');
    assert.equal(server.sockets.length, 2);
  });

  test('an aborted request destroys its connection; the next request dials a new one', async (t) => {
    const sockets: Socket[] = [];
    const server = createHttpServer((req) => req.resume()); // never answers
    server.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => close(server));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const http = nodeHttpClient();
    t.after(() => http.close());
    for (let i = 1; i <= 2; i++) {
      await assert.rejects(http.request({ ...get(url), signal: AbortSignal.timeout(100) }), { name: 'TimeoutError' });
      await until(() => sockets[i - 1]!.destroyed, `connection ${i} closed`);
      assert.equal(sockets.length, i);
    }
  });

  test('an idle connection is not kept past idleSocketMs: the next request after it dials afresh', async (t) => {
    // The server keeps connections for 30 s: only the client's own limit can close this one.
    const server = await target(t, false);
    const http = nodeHttpClient({ idleSocketMs: 300 });
    t.after(() => http.close());
    await http.request(get(`${server.url}/1`));
    await http.request(get(`${server.url}/2`));
    assert.equal(server.sockets.length, 1, 'reused while fresh');
    await until(() => server.sockets[0]!.destroyed, 'the idle connection closed by the client', 3_000);
    await http.request(get(`${server.url}/3`));
    assert.equal(server.sockets.length, 2);
  });

  test('answers longer than maxResponseBytes fail, and their connection is not reused', async (t) => {
    const sockets: Socket[] = [];
    const server = createHttpServer((req, res) => {
      req.resume();
      res.end('x'.repeat(100_000));
    });
    server.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => close(server));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    for (const http of [nodeHttpClient(), fetchHttpClient()]) {
      await assert.rejects(
        http.request({ ...get(url), maxResponseBytes: 1_000 }),
        (e) => e instanceof ResponseTooLargeError && /over 1000 bytes/.test(e.message),
      );
      assert.equal((await http.request({ ...get(url), maxResponseBytes: 200_000 })).body.length, 100_000);
      http.close();
    }
  });
});

describe('node:https client: proxies from the environment', () => {
  test('https through HTTPS_PROXY: a CONNECT tunnel with Basic credentials, kept alive; the proxy sees no request', async (t) => {
    const server = await target(t, true);
    const p = await proxy(t);
    const proxyURL = new URL(p.url);
    proxyURL.username = 'ann';
    proxyURL.password = 's3cr3t:pw';
    const http = nodeHttpClient({ ca: pki.caCert, env: { HTTPS_PROXY: proxyURL.href } });
    t.after(() => http.close());
    assert.equal(http.description, `node:https through https proxy ${p.url}`);
    for (let i = 0; i < 2; i++) assert.equal((await http.request(get(`${server.url}/tunnelled`))).body, 'served /tunnelled');
    assert.deepEqual(p.connects, [
      { target: `127.0.0.1:${new URL(server.url).port}`, authorization: `Basic ${Buffer.from('ann:s3cr3t:pw').toString('base64')}` },
    ]);
    assert.deepEqual(p.forwarded, []);
  });

  test('http through HTTP_PROXY: absolute-form requests; lower case wins over upper case, as curl and undici read them', async (t) => {
    const server = await target(t, false);
    const p = await proxy(t);
    const http = nodeHttpClient({ env: { http_proxy: p.url, HTTP_PROXY: 'http://127.0.0.1:9' } });
    t.after(() => http.close());
    assert.equal((await http.request(get(`${server.url}/plain?x=1`))).body, 'served /plain?x=1');
    assert.deepEqual(p.forwarded, [{ url: `${server.url}/plain?x=1`, host: new URL(server.url).host, authorization: undefined }]);
  });

  test('NO_PROXY: *, a host or a parent domain, with or without a port, bypass the proxy; nothing else does', async (t) => {
    const server = await target(t, true);
    const port = new URL(server.url).port;
    const p = await proxy(t);
    const cases: Array<[string, string, boolean]> = [
      ['*', '127.0.0.1', false],
      ['127.0.0.1', '127.0.0.1', false],
      [`example.com, 127.0.0.1:${port}`, '127.0.0.1', false],
      ['127.0.0.1:9', '127.0.0.1', true],
      ['localhost', 'localhost', false],
      ['.localhost', 'localhost', false], // a leading dot matches the domain itself too, as in curl
      ['localhost', '127.0.0.1', true],
      ['', '127.0.0.1', true],
    ];
    for (const [noProxy, host, proxied] of cases) {
      const before = p.connects.length;
      const http = nodeHttpClient({ ca: pki.caCert, env: { https_proxy: p.url, no_proxy: noProxy } });
      assert.equal((await http.request(get(`https://${host}:${port}/x`))).body, 'served /x', `NO_PROXY=${noProxy}`);
      assert.equal(p.connects.length - before, proxied ? 1 : 0, `NO_PROXY=${JSON.stringify(noProxy)} for ${host}`);
      http.close();
    }
  });

  test('a proxy that refuses the tunnel: the error names the proxy and its answer, never its credentials', async (t) => {
    const server = await target(t, true);
    const p = await proxy(t, { refuse: 407 });
    const http = nodeHttpClient({ ca: pki.caCert, env: { HTTPS_PROXY: p.url.replace('http://', 'http://bob:hunter2@') } });
    t.after(() => http.close());
    const error = await http.request(get(`${server.url}/`)).then(
      () => assert.fail('resolved'),
      (e: Error) => e,
    );
    assert.match(error.message, new RegExp(`the proxy ${p.url} answered CONNECT 127\\.0\\.0\\.1:\\d+ with HTTP 407`));
    assert.ok(!error.message.includes('hunter2') && !error.message.includes('bob'));
    assert.ok(!http.description.includes('hunter2'));
    const unreachable = nodeHttpClient({ ca: pki.caCert, env: { HTTPS_PROXY: 'http://127.0.0.1:9' } });
    await assert.rejects(unreachable.request(get(`${server.url}/`)), /cannot reach the proxy http:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/);
    unreachable.close();
  });
});

describe('fetch client', () => {
  test('hands redirects back instead of following them (the caller decides where the key goes)', async (t) => {
    const server = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(302, { location: '/elsewhere' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => close(server));
    const answer = await fetchHttpClient().request(get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`));
    assert.equal(answer.status, 302);
    assert.equal(answer.location, '/elsewhere');
  });
});

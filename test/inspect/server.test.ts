import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { basic, login, openStream, parseMetrics, post, request } from '../helpers/inspect.js';
import { parseInspectBind, urlHost } from '../../src/inspect/actor.js';
import { ConfigError } from '../../src/config/load.js';
import type { Hello, Snapshot } from '../../src/inspect/snapshot.js';

/** A regtest node with the inspector on 127.0.0.1:0, sampling every 200 ms. */
async function inspected(over: Parameters<typeof testNode>[0] = {}) {
  const node = await testNode({ inspect: '127.0.0.1:0', inspectIntervalMs: 200, rpcAuthFailDelayMs: 10, ...over });
  const addr = await node.inspectAddress();
  assert.ok(addr, 'the inspector runs');
  return { node, addr, base: addr.url };
}

test('--inspect values: a port alone is loopback; HOST:PORT and [v6]:PORT as given; junk refused', async () => {
  assert.deepEqual(parseInspectBind('8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseInspectBind('0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseInspectBind('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseInspectBind('[::1]:9000'), { host: '::1', port: 9000 });
  assert.deepEqual(parseInspectBind('localhost:1'), { host: 'localhost', port: 1 });
  for (const bad of ['', 'x', '1.2.3.4', '70000', '1.2.3.4:', ':80', '[::1]']) assert.throws(() => parseInspectBind(bad), Error, bad);
  assert.equal(urlHost('0.0.0.0'), '127.0.0.1');
  assert.equal(urlHost('::'), '[::1]');
  assert.equal(urlHost('::1'), '[::1]');
  await assert.rejects(testNode({ inspect: 'nope' }), (err: unknown) => err instanceof ConfigError && /inspect/.test(err.message));
  const off = await testNode();
  try {
    assert.equal(await off.inspectAddress(), null, 'off by default');
    assert.equal(off.actors('/root/inspector').length, 0);
  } finally {
    await off.cleanup();
  }
});

test('inspector auth: 401 without credentials; the token works once and sets an HttpOnly cookie; Basic with rpcuser/rpcpassword works', async () => {
  const { node, addr, base } = await inspected({ rpcuser: 'alice', rpcpassword: 'secret' });
  try {
    assert.equal(addr.host, '127.0.0.1');
    assert.match(addr.tokenUrl, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{20,}$/);
    for (const path of ['', 'events', 'metrics', 'app.js', 'api/snapshot']) {
      const r = await request(base + path);
      assert.equal(r.status, 401, path);
      assert.match(String(r.headers['www-authenticate']), /^Basic /);
    }
    assert.equal((await request(base, { headers: basic('alice:wrong') })).status, 401);
    assert.equal((await request(`${base}?token=not-the-token`)).status, 401);
    assert.equal((await post(base, 'ping', [], {})).status, 401);

    const first = await request(addr.tokenUrl);
    assert.equal(first.status, 303);
    assert.equal(first.headers.location, '/', 'the token leaves the address bar');
    const set = first.headers['set-cookie']![0]!;
    assert.match(set, /HttpOnly/);
    assert.match(set, /SameSite=Strict/);
    assert.match(set, /Max-Age=43200/, 'a session lasts 12 h');
    const cookie = set.split(';')[0]!;
    assert.equal(cookie.split('=')[0], `peerd_inspect_${addr.port}`, 'the cookie is named for this inspector\'s port');
    const page = await request(base, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /peerd inspector/);
    const js = await request(`${base}app.js`, { headers: { Cookie: cookie } });
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.equal((await request(`${base}../package.json`, { headers: { Cookie: cookie } })).status, 404, 'only the page files are served');

    assert.equal((await request(addr.tokenUrl)).status, 401, 'the token works once');
    assert.equal((await request(addr.tokenUrl, { headers: { Cookie: cookie } })).status, 303, 'with the session, the link just opens the page');
    assert.equal((await request(base, { headers: { Cookie: `peerd_inspect_${addr.port}=forged` } })).status, 401);
    // A session is honoured only under the Host it was opened for (a rebinding name pointing at
    // 127.0.0.1 gets nothing from it), and only under this port's name.
    assert.equal((await request(base, { headers: { Cookie: cookie, Host: `rebind.example:${addr.port}` } })).status, 401);
    assert.equal((await request(base, { headers: { Cookie: cookie.replace(`_${addr.port}=`, `_${addr.port + 1}=`) } })).status, 401);

    const withBasic = await request(`${base}api/snapshot`, { headers: basic('alice:secret') });
    assert.equal(withBasic.status, 200);
    assert.equal((JSON.parse(withBasic.body) as Hello).node.network, 'regtest');
  } finally {
    await node.cleanup();
  }
});

test('inspector auth with the RPC cookie (RPC server on), even after the RPC server restarts with a new cookie', async () => {
  const { node, base } = await inspected({ server: true, rpcport: 0 });
  try {
    const cookieFile = join(node.settings.datadir, 'regtest', '.cookie');
    const before = readFileSync(cookieFile, 'utf8');
    assert.equal((await request(base, { headers: basic(before) })).status, 200);
    assert.ok(node.kill('/root/control', 'kill'));
    await until('a new cookie', () => {
      try {
        return readFileSync(cookieFile, 'utf8') !== before;
      } catch {
        return false;
      }
    });
    const after = readFileSync(cookieFile, 'utf8');
    assert.equal((await request(base, { headers: basic(after) })).status, 200);
    assert.equal((await request(base, { headers: basic(before) })).status, 401, 'the old cookie no longer opens it');
  } finally {
    await node.cleanup();
  }
});

test('without the RPC server and without rpcpassword, only the token opens the inspector (no stale cookie accepted)', async () => {
  const { node, base, addr } = await inspected();
  try {
    assert.equal((await request(base, { headers: basic('__cookie__:' + '0'.repeat(64)) })).status, 401);
    const cookie = await login(addr.tokenUrl);
    assert.equal((await request(base, { headers: { Cookie: cookie } })).status, 200);
  } finally {
    await node.cleanup();
  }
});

test('the stream sends a hello with the tree and peers, then ticks; actions go through the RPC method table', async () => {
  const { node, addr, base } = await inspected();
  const peers: RawPeer[] = [];
  try {
    const cookie = await login(addr.tokenUrl);
    const auth = { Cookie: cookie };
    for (let i = 0; i < 2; i++) {
      const p = await RawPeer.connect(node.port);
      await p.handshake();
      peers.push(p);
    }
    await until('two active peers', async () => (await node.peers()).filter((p) => p.phase === 'active').length === 2);
    const stream = await openStream(`${base}events`, auth);
    try {
      assert.equal(stream.status, 200);
      const hello = JSON.parse((await stream.next('hello')).data) as Hello;
      assert.equal(hello.tree[0]!.path, '/root');
      const paths = (function walk(rows: Hello['tree']): string[] {
        return rows.flatMap((r) => [r.path, ...walk(r.children)]);
      })(hello.tree);
      for (const p of ['/root/peers', '/root/connman', '/root/inspector']) assert.ok(paths.includes(p), p);
      assert.ok(Array.isArray(hello.history.bandwidth));
      const peersSup = hello.tree[0]!.children.find((c) => c.path === '/root/peers')!;
      assert.equal(peersSup.supervisor?.strategy, 'simple_one_for_one');
      let tick = JSON.parse((await stream.next('tick')).data) as Snapshot;
      await until('the tick shows both peers', async () => {
        tick = JSON.parse((await stream.next('tick')).data) as Snapshot;
        return tick.peers.length === 2;
      });
      assert.ok(tick.peers.every((p) => p.direction === 'inbound' && p.userAgent === '/raw-peer:0.1/'));
      assert.deepEqual(tick.sync, { chain: 'regtest', headers: 0, blocks: 0, percent: 100, rate: 0 }, 'the sync panel reads getblockchaininfo from the block actor');
      assert.ok(tick.bandwidth !== null);

      // Actions: validation first.
      assert.equal((await post(base, 'ping', '{not json', auth)).status, 400);
      assert.equal(JSON.parse((await post(base, 'ping', '{not json', auth)).body).error.code, -32700);
      assert.equal((await post(base, 'ping', '42', auth)).status, 400, 'params must be an array or object');
      assert.equal((await post(base, 'stop', [], auth)).status, 404, 'stop is not a page action');
      assert.equal((await post(base, 'ping', [], { ...auth, Origin: 'http://evil.example' })).status, 403);
      const plain = await request(`${base}api/ping`, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: '[]' });
      assert.equal(plain.status, 415);
      // The RPC's own errors and checks.
      const unknown = await post(base, 'disconnectnode', { nodeid: 9999 }, auth);
      assert.equal(unknown.status, 400);
      assert.deepEqual(JSON.parse(unknown.body).error, { code: -29, message: 'Node not found in connected nodes' });
      const badType = await post(base, 'setpeerlimit', { peer: '1', recv: 'lots', send: 0 }, auth);
      assert.equal(JSON.parse(badType.body).error.code, -3);
      assert.equal(JSON.parse((await post(base, 'killactor', { path: '/root/nobody' }, auth)).body).error.code, -8);
      // And real ones.
      const [a, b] = tick.peers;
      const throttled = await post(base, 'setpeerlimit', { peer: String(a!.id), recv: 50_000, send: 60_000 }, auth);
      assert.equal(throttled.status, 200, throttled.body);
      assert.deepEqual(JSON.parse(throttled.body), { result: null });
      await until('the throttle shows', async () => {
        const t = JSON.parse((await stream.next('tick')).data) as Snapshot;
        const p = t.peers.find((x) => x.id === a!.id);
        return p?.recvLimit === 50_000 && p.sendLimit === 60_000;
      });
      assert.equal((await post(base, 'killactor', { path: a!.path, mode: 'kill' }, auth)).status, 200);
      assert.equal((await post(base, 'disconnectnode', { nodeid: b!.id }, auth)).status, 200);
      await Promise.all(peers.map((p) => p.waitClosed()));
      await until('exits and disconnects reach the page', async () => {
        const t = JSON.parse((await stream.next('tick')).data) as Snapshot;
        return t.peers.length === 0 && t.exits.some((e) => e.path === a!.path && e.reason === 'killed') && t.disconnects.some((d) => d.id === b!.id);
      });
    } finally {
      stream.close();
    }
  } finally {
    for (const p of peers) await p.destroy();
    await node.cleanup();
  }
});

test('/metrics: Prometheus text that follows the node (a peer connects → peers 1; bytes stay counted after it leaves)', async () => {
  const { node, addr, base } = await inspected();
  try {
    const cookie = await login(addr.tokenUrl);
    const scrape = async () => {
      const r = await request(`${base}metrics`, { headers: { Cookie: cookie } });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      return parseMetrics(r.body);
    };
    let v = await scrape();
    assert.equal(v.get('peerd_peers{direction="inbound",conn_type="inbound"}') ?? 0, 0);
    assert.ok((v.get('peerd_actors{actor="connman"}') ?? 0) === 1);
    const p = await RawPeer.connect(node.port);
    await p.handshake();
    await until('peers gauge 1', async () => (await scrape()).get('peerd_peers{direction="inbound",conn_type="inbound"}') === 1);
    await until('version bytes counted', async () => ((await scrape()).get('peerd_peer_bytes_total{direction="recv",msg="version"}') ?? 0) > 0);
    v = await scrape();
    const versionBytes = v.get('peerd_peer_bytes_total{direction="recv",msg="version"}')!;
    await p.destroy();
    await until('peers gauge back to 0', async () => (await scrape()).get('peerd_peers{direction="inbound",conn_type="inbound"}') === undefined);
    v = await scrape();
    assert.equal(v.get('peerd_peer_bytes_total{direction="recv",msg="version"}'), versionBytes, 'monotonic across the disconnect');
    assert.ok((v.get('peerd_net_bytes_total{direction="recv"}') ?? 0) >= versionBytes);
    await until('the exit is counted', async () => ((await scrape()).get('peerd_actor_exits_total{actor="peer",reason="shutdown"}') ?? 0) >= 1);
    assert.equal(v.get('peerd_sync_height'), 0);
    assert.ok(v.has('peerd_eventloop_delay_p99_seconds'));
  } finally {
    await node.cleanup();
  }
});

test('the inspector is an actor in the tree: killed, it closes its server and comes back on the same port; sessions survive', async () => {
  const { node, addr, base } = await inspected();
  try {
    const cookie = await login(addr.tokenUrl);
    const stream = await openStream(`${base}events`, { Cookie: cookie });
    await stream.next('hello');
    assert.ok(node.kill('/root/inspector', 'kill'));
    await assert.rejects(stream.next('tick', 5000), /ended/, 'the open stream is closed with the actor');
    stream.close();
    await until('restarted', () => node.actors('/root/inspector')[0]?.incarnation === 2);
    const again = await node.inspectAddress();
    assert.equal(again?.port, addr.port, 'same port');
    assert.equal((await request(base, { headers: { Cookie: cookie } })).status, 200, 'the session still opens the page');
    assert.ok(node.kill('/root/inspector', 'crash'));
    await until('restarted after a crash', () => node.actors('/root/inspector')[0]?.incarnation === 3);
    assert.equal((await request(base, { headers: { Cookie: cookie } })).status, 200);
  } finally {
    await node.cleanup();
  }
  await assert.rejects(request(base), /ECONNREFUSED/, 'closed with the node');
});

test('supervisors show their intensity use in the tree (restarts in the period, the limits)', async () => {
  const { node } = await inspected();
  try {
    assert.ok(node.kill('/root/connman', 'kill'));
    await until('connman back', () => node.actors('/root/connman')[0]?.incarnation === 2);
    const root = node.actors('/root')[0]!.summary as { restartsInPeriod: number; maxRestarts: number; periodMs: number; strategy: string };
    assert.equal(root.strategy, 'one_for_one');
    assert.equal(root.restartsInPeriod, 1);
    assert.equal(root.maxRestarts, 3);
    assert.equal(root.periodMs, 5000);
    const exits = node.runtime.recentExits();
    assert.equal(exits[0]!.path, '/root/connman');
    assert.equal(exits[0]!.reason, 'killed');
  } finally {
    await node.cleanup();
  }
});

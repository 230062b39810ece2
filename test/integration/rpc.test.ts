import { test } from 'node:test';
import { coreBin, missingCore } from '../helpers/core.js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'node:http';
import { execFile } from 'node:child_process';
import Client from 'bitcoin-core';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { rpcCall, RpcCallError } from '../../src/rpc/client.js';

type Node = Awaited<ReturnType<typeof testNode>>;

async function rpcNode(over: Parameters<typeof testNode>[0] = {}): Promise<{ node: Node; port: number; cookie: string; cookieFile: string }> {
  const node = await testNode({ server: true, rpcport: 0, ...over });
  const addr = await node.rpcAddress();
  assert.ok(addr, 'rpc server running');
  const cookieFile = join(node.settings.datadir, 'regtest', '.cookie');
  const cookie = existsSync(cookieFile) ? readFileSync(cookieFile, 'utf8') : '';
  return { node, port: addr.port, cookie, cookieFile };
}

function post(port: number, body: string | Buffer, headers: Record<string, string> = {}, method = 'POST'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/', headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const basic = (userPass: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(userPass).toString('base64')}` });

test('rpc: cookie file (0600, __cookie__:64 hex), every method over HTTP, cookie removed on clean stop', async () => {
  const a = await rpcNode();
  const b = await testNode();
  try {
    assert.match(a.cookie, /^__cookie__:[0-9a-f]{64}$/);
    assert.equal(statSync(a.cookieFile).mode & 0o777, 0o600);
    const opts = { port: a.port, cookieFile: a.cookieFile };
    const call = (m: string, p: unknown[] = []) => rpcCall(opts, m, p as never);

    // addnode add → connected → getaddednodeinfo, getpeerinfo, counts
    assert.equal(await call('addnode', [`127.0.0.1:${b.port}`, 'add']), null);
    await assert.rejects(call('addnode', [`127.0.0.1:${b.port}`, 'add']), { code: -23, message: 'Error: Node already added' });
    await until('peer connected', async () => ((await call('getpeerinfo')) as { version: number }[]).some((p) => p.version > 0));
    const peers = (await call('getpeerinfo')) as Record<string, unknown>[];
    assert.equal(peers[0].addr, `127.0.0.1:${b.port}`);
    assert.equal(peers[0].connection_type, 'manual');
    assert.equal(peers[0].subver, '/peerd:0.1.0/');
    assert.equal(await call('getconnectioncount'), 1);
    const added = (await call('getaddednodeinfo')) as { addednode: string; connected: boolean; addresses: { connected: string }[] }[];
    assert.deepEqual(added.map((x) => [x.addednode, x.connected, x.addresses[0]?.connected]), [[`127.0.0.1:${b.port}`, true, 'outbound']]);
    const net = (await call('getnetworkinfo')) as Record<string, unknown>;
    assert.equal(net.connections, 1);
    assert.equal(net.connections_out, 1);
    assert.equal(net.networkactive, true);
    assert.equal(net.subversion, '/peerd:0.1.0/');
    const totals = (await call('getnettotals')) as Record<string, number>;
    assert.ok(totals.totalbytessent > 0 && totals.totalbytesrecv > 0, JSON.stringify(totals));
    assert.equal(await call('ping'), null);
    assert.ok(((await call('uptime')) as number) >= 0);
    assert.match((await call('help')) as string, /== Network ==[\s\S]*getpeerinfo/);

    // peerd's own
    const tree = (await call('getactortree')) as { path: string; children: { path: string }[] }[];
    assert.equal(tree[0].path, '/root');
    assert.ok(tree[0].children.some((c) => c.path === '/root/control'));
    const actors = (await call('listactors', ['/root/peers/*'])) as { path: string }[];
    assert.equal(actors.length, 1);
    assert.match(actors[0].path, /^\/root\/peers\/peer-\d+$/);

    // disconnect by address and by id; the manual peer is re-dialled
    assert.equal(await call('disconnectnode', [`127.0.0.1:${b.port}`]), null);
    await assert.rejects(call('disconnectnode', ['', 999]), { code: -29, message: 'Node not found in connected nodes' });
    await until('re-dialled', async () => ((await call('getpeerinfo')) as unknown[]).length === 1);
    const id = ((await call('getpeerinfo')) as { id: number }[])[0].id;
    assert.equal(await call('disconnectnode', ['', id]), null);
    const disc = (await call('getdisconnects')) as { reason: string }[];
    assert.ok(disc.some((d) => d.reason === 'disconnected by operator'));

    // killactor by peer address: the same target works again once the connection is replaced (new id).
    const peerPath = async (): Promise<string> => `/root/peers/peer-${((await call('getpeerinfo')) as { id: number }[])[0].id}`;
    await until('re-dialled', async () => ((await call('getpeerinfo')) as unknown[]).length === 1);
    const first = await peerPath();
    assert.deepEqual(await call('killactor', [`peer:127.0.0.1:${b.port}`]), { path: `peer:127.0.0.1:${b.port}`, mode: 'kill', killed: [first] });
    await until('re-dialled after the kill', async () => ((await call('getpeerinfo')) as unknown[]).length === 1 && (await peerPath()) !== first);
    const second = await peerPath();
    assert.deepEqual(((await call('killactor', [`peer:127.0.0.1:${b.port}`])) as { killed: string[] }).killed, [second]);
    await assert.rejects(call('killactor', ['peer:127.0.0.1:1']), { code: -8, message: 'No peer connected at 127.0.0.1:1' });
    // A pattern kills every match.
    await until('re-dialled once more', async () => ((await call('getpeerinfo')) as unknown[]).length === 1);
    const live = ((await call('listactors', ['/root/peers/*'])) as { path: string }[]).map((x) => x.path);
    assert.equal(live.length, 1);
    assert.deepEqual(((await call('killactor', ['/root/peers/*'])) as { killed: string[] }).killed, live);

    assert.equal(await call('addnode', [`127.0.0.1:${b.port}`, 'remove']), null);
    await assert.rejects(call('addnode', [`127.0.0.1:${b.port}`, 'remove']), { code: -24 });

    // killactor: the connection manager restarts
    assert.deepEqual(await call('killactor', ['/root/connman', 'kill']), { path: '/root/connman', mode: 'kill', killed: ['/root/connman'] });
    await until('connman back', () => (a.node.actors('/root/connman')[0]?.incarnation ?? 0) > 1);
    await assert.rejects(call('killactor', ['/root/nothing']), { code: -8 });
    await assert.rejects(call('killactor', ['/root/connman', 'stall', 3_600_000]), { code: -8, message: 'stall ms must be a whole number from 1 to 60000' });
    assert.equal(await call('setnetworkactive', [false]), false);
    assert.equal(((await call('getnetworkinfo')) as { networkactive: boolean }).networkactive, false);
    assert.equal(await call('setnetworkactive', [true]), true);
  } finally {
    await b.cleanup();
    await a.node.stop();
    assert.ok(!existsSync(a.cookieFile), 'cookie removed on clean stop');
    await a.node.cleanup();
  }
});

test('rpc: bans, node addresses and addrman info through the address book', async () => {
  const a = await rpcNode();
  try {
    assert.equal(a.node.actors('/root/addressbook').length, 1, 'the address book actor runs');
    const call = (m: string, p: unknown[] = []) => rpcCall({ port: a.port, cookieFile: a.cookieFile }, m, p as never);
    assert.equal(await call('setban', ['10.1.2.0/24', 'add', 3600]), null);
    await assert.rejects(call('setban', ['10.1.2.0/24', 'add']), { code: -23, message: 'Error: IP/Subnet already banned' });
    const list = (await call('listbanned')) as { address: string; ban_duration: number; time_remaining: number; ban_created: number; banned_until: number }[];
    assert.equal(list.length, 1);
    assert.equal(list[0].address, '10.1.2.0/24');
    assert.ok(Math.abs(list[0].ban_duration - 3600) <= 1);
    assert.equal(await call('setban', ['10.1.2.0/24', 'remove']), null);
    await assert.rejects(call('setban', ['10.1.2.0/24', 'remove']), { code: -30 });
    await assert.rejects(call('setban', ['10.9.9.9', 'add', 1, true]), { code: -8, message: 'Error: Absolute timestamp is in the past' });
    assert.equal(await call('setban', ['10.9.9.9', 'add']), null);
    assert.equal(await call('clearbanned'), null);
    assert.deepEqual(await call('listbanned'), []);
    assert.ok(Array.isArray(await call('getnodeaddresses', [0])));
    const info = (await call('getaddrmaninfo')) as Record<string, { new: number; tried: number; total: number }>;
    assert.ok('all_networks' in info && typeof info.all_networks.total === 'number');
  } finally {
    await a.node.cleanup();
  }
});

test('rpc: auth failures (none, wrong, cookie), 405, 413, parse error, batches, 1.0 vs 2.0 error shapes, slow client', async () => {
  const a = await rpcNode({ rpcMaxBody: 64 * 1024 });
  try {
    const none = await post(a.port, '{"method":"uptime","id":1}');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Basic realm="jsonrpc"');
    const t0 = Date.now();
    const wrong = await post(a.port, '{"method":"uptime","id":1}', basic('__cookie__:' + '0'.repeat(64)));
    assert.equal(wrong.status, 401);
    assert.ok(Date.now() - t0 >= 200, 'bad credentials are answered after a delay');
    await assert.rejects(rpcCall({ port: a.port, credentials: 'x:y' }, 'uptime'), (e: RpcCallError) => /Authorization failed/.test(e.message));
    const auth = basic(a.cookie);
    assert.equal((await post(a.port, '', auth, 'GET')).status, 405);
    const big = await post(a.port, Buffer.alloc(100 * 1024, 0x20), auth);
    assert.equal(big.status, 413);
    const bad = await post(a.port, '{"method": "uptime",', auth);
    assert.equal(bad.status, 500);
    assert.deepEqual(JSON.parse(bad.body), { result: null, error: { code: -32700, message: 'Parse error' }, id: null });
    const nf1 = await post(a.port, '{"method":"nosuch","id":1}', auth);
    assert.equal(nf1.status, 404);
    assert.deepEqual(JSON.parse(nf1.body), { result: null, error: { code: -32601, message: 'Method not found' }, id: 1 });
    const nf2 = await post(a.port, '{"jsonrpc":"2.0","method":"nosuch","id":1}', auth);
    assert.equal(nf2.status, 200);
    assert.deepEqual(JSON.parse(nf2.body), { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 1 });
    const batch = await post(a.port, '[{"method":"getconnectioncount","id":1},{"jsonrpc":"2.0","method":"setban","params":[],"id":2}]', auth);
    assert.equal(batch.status, 200);
    const replies = JSON.parse(batch.body) as { id: number; result?: unknown; error?: { code: number } }[];
    assert.deepEqual(replies[0], { result: 0, error: null, id: 1 });
    assert.equal(replies[1].error?.code, -1);

    // A client that sends half a request and waits does not hold the server.
    const slow = connect(a.port, '127.0.0.1');
    slow.on('error', () => undefined);
    slow.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n');
    const ok = await post(a.port, '{"method":"uptime","id":1}', auth);
    assert.equal(ok.status, 200);
    slow.destroy();
    // The node is still up after all of it.
    assert.equal(await rpcCall({ port: a.port, cookieFile: a.cookieFile }, 'getconnectioncount'), 0);
  } finally {
    await a.node.cleanup();
  }
});

test('rpc: rpcuser/rpcpassword instead of a cookie; stop over RPC stops the node', async () => {
  const a = await rpcNode({ rpcuser: 'alice', rpcpassword: 'secret' });
  try {
    assert.ok(!existsSync(a.cookieFile), 'no cookie with rpcpassword');
    assert.equal(await rpcCall({ port: a.port, credentials: 'alice:secret' }, 'getconnectioncount'), 0);
    await assert.rejects(rpcCall({ port: a.port, credentials: 'alice:wrong' }, 'uptime'));
    assert.equal(await rpcCall({ port: a.port, credentials: 'alice:secret' }, 'stop'), 'peerd stopping');
    const reason = await a.node.exited;
    assert.ok(reason);
  } finally {
    await a.node.cleanup();
  }
});

test('rpc: the npm bitcoin-core client drives the node (getnetworkinfo, addnode, getpeerinfo, disconnectnode)', async () => {
  const a = await rpcNode();
  const b = await testNode();
  try {
    const [user, pass] = [a.cookie.slice(0, a.cookie.indexOf(':')), a.cookie.slice(a.cookie.indexOf(':') + 1)];
    const client = new Client({ host: `http://127.0.0.1:${a.port}`, username: user, password: pass, timeout: 10_000 });
    const info = (await client.command('getnetworkinfo')) as { subversion: string; protocolversion: number };
    assert.equal(info.subversion, '/peerd:0.1.0/');
    assert.equal(info.protocolversion, 70016);
    assert.equal(await client.command('addnode', `127.0.0.1:${b.port}`, 'add'), null);
    await until('peer up', async () => ((await client.command('getpeerinfo')) as unknown[]).length === 1);
    const [peer] = (await client.command('getpeerinfo')) as { id: number; addr: string }[];
    assert.equal(peer.addr, `127.0.0.1:${b.port}`);
    assert.equal(await client.command('disconnectnode', '', peer.id), null);
    await client.command('addnode', `127.0.0.1:${b.port}`, 'remove');
    await assert.rejects(client.command('disconnectnode', '', 4242), (e: { code: number; message: string }) => e.code === -29 && e.message === 'Node not found in connected nodes');
    await assert.rejects(client.command('nosuchmethod'), (e: { code: number }) => e.code === -32601);
    const batch = (await client.command([{ method: 'getconnectioncount' }, { method: 'uptime' }])) as unknown[];
    assert.equal(batch.length, 2);
  } finally {
    await b.cleanup();
    await a.node.cleanup();
  }
});

test('rpc: bitcoin-cli (if installed) works with -rpcport and -rpccookiefile', async (t) => {
  const cli = coreBin('bitcoin-cli');
  if (cli === null) {
    t.skip(missingCore('bitcoin-cli'));
    return;
  }
  const a = await rpcNode();
  // Asynchronously: the node answering is in this process (spawnSync would stall it).
  const runCli = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(cli, ['-regtest', `-rpcport=${a.port}`, `-rpccookiefile=${a.cookieFile}`, ...args], { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });
  try {
    const r = await runCli(['getnetworkinfo']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { subversion: string }).subversion, '/peerd:0.1.0/');
    const e = await runCli(['disconnectnode', '', '99']);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /Node not found in connected nodes/);

    // -netinfo, Core's dashboard (it needs getnetworkinfo.version ≥ 209900): every level, a peer in its table.
    const peer = await RawPeer.connect(a.node.port);
    try {
      await peer.handshake({ version: { userAgent: '/netinfo-peer:1/' } });
      await until('the peer is active', async () => (await a.node.peers()).some((p) => p.phase === 'active'));
      for (const level of ['0', '1', '2', '3', '4']) {
        const n = await runCli(['-netinfo', level]);
        assert.equal(n.code, 0, `-netinfo ${level}: ${n.stderr}`);
        assert.match(n.stdout, /Bitcoin Core client v30\.\d+\.\d+ regtest - server 70016\/peerd:0\.1\.0\//, `-netinfo ${level}`);
        assert.match(n.stdout, /^in +0 +0 +1 +1/m, `-netinfo ${level}: one inbound not publicly routable (loopback) peer`);
      }
      const table = (await runCli(['-netinfo', '4'])).stdout;
      assert.match(table, /^ in +npr .*127\.0\.0\.1:\d+ +70016\/netinfo-peer:1\//m, 'the peer row: direction, network, address, version and user agent');
      assert.match(table, /- services nw2$/m, 'NODE_NETWORK, NODE_WITNESS and NODE_P2P_V2');
      assert.match((await runCli(['-netinfo', '0'])).stdout, /Local services: network, witness, p2p v2/);
    } finally {
      await peer.destroy();
    }
  } finally {
    await a.node.cleanup();
  }
});

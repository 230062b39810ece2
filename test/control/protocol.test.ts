import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { handleBody, MAX_BATCH, RpcError, RPC, type Json, type ParsedRequest } from '../../src/rpc/protocol.js';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkParams, dispatch, helpIndex, METHODS, corePeerInfo } from '../../src/control/methods.js';
import type { ControlContext } from '../../src/contracts/control.js';
import { parseIpSubnet, subnetHas, isLoopback } from '../../src/util/subnet.js';
import { basicAuthChecker, readCookie, writeCookie } from '../../src/rpc/auth.js';
import { convertArgs, formatResult, treeText } from '../../src/commands/rpc.js';
import type { PeerInfo } from '../../src/contracts/peer.js';

const echo = async (r: ParsedRequest): Promise<Json> => {
  if (r.method === 'boom') throw new Error('kaboom');
  if (r.method === 'nope') throw new RpcError(RPC.METHOD_NOT_FOUND, 'Method not found');
  return { method: r.method, params: r.params };
};

const parse = (b: string | null): unknown => (b === null ? null : JSON.parse(b));

test('1.0: success has result, error null and id; errors map to 404/500 with result null', async () => {
  const ok = await handleBody('{"method":"x","params":[1],"id":7}', echo);
  assert.equal(ok.status, 200);
  assert.deepEqual(parse(ok.body), { result: { method: 'x', params: [1] }, error: null, id: 7 });
  const nf = await handleBody('{"jsonrpc":"1.0","method":"nope","id":"a"}', echo);
  assert.equal(nf.status, 404);
  assert.deepEqual(parse(nf.body), { result: null, error: { code: -32601, message: 'Method not found' }, id: 'a' });
  const misc = await handleBody('{"method":"boom","id":1}', echo);
  assert.equal(misc.status, 500);
  assert.deepEqual(parse(misc.body), { result: null, error: { code: -1, message: 'kaboom' }, id: 1 });
});

test('2.0: errors inside HTTP 200 without result; notifications get 204', async () => {
  const e = await handleBody('{"jsonrpc":"2.0","method":"nope","id":3}', echo);
  assert.equal(e.status, 200);
  assert.deepEqual(parse(e.body), { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 3 });
  const ok = await handleBody('{"jsonrpc":"2.0","method":"x","id":4}', echo);
  assert.deepEqual(parse(ok.body), { jsonrpc: '2.0', result: { method: 'x', params: [] }, id: 4 });
  const n = await handleBody('{"jsonrpc":"2.0","method":"x"}', echo);
  assert.equal(n.status, 204);
  assert.equal(n.body, null);
});

test('parse errors, invalid requests and batches as Core', async () => {
  const pe = await handleBody('{"method":', echo);
  assert.equal(pe.status, 500);
  assert.deepEqual(parse(pe.body), { result: null, error: { code: -32700, message: 'Parse error' }, id: null });
  const top = await handleBody('42', echo);
  assert.deepEqual((parse(top.body) as { error: unknown }).error, { code: -32700, message: 'Top-level object parse error' });
  const missing = await handleBody('{"id":1}', echo);
  assert.equal(missing.status, 400);
  assert.deepEqual((parse(missing.body) as { error: unknown }).error, { code: -32600, message: 'Missing method' });
  const badParams = await handleBody('{"id":1,"method":"x","params":3}', echo);
  assert.deepEqual((parse(badParams.body) as { error: unknown }).error, { code: -32600, message: 'Params must be an array or object' });
  const badVersion = await handleBody('{"jsonrpc":"3.0","id":1,"method":"x"}', echo);
  assert.deepEqual((parse(badVersion.body) as { error: unknown }).error, { code: -32600, message: 'JSON-RPC version not supported' });

  const batch = await handleBody('[{"method":"x","id":1},{"jsonrpc":"2.0","method":"nope","id":2},5,{"jsonrpc":"2.0","method":"x"}]', echo);
  assert.equal(batch.status, 200);
  assert.deepEqual(parse(batch.body), [
    { result: { method: 'x', params: [] }, error: null, id: 1 },
    { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 2 },
    { result: null, error: { code: -32600, message: 'Invalid Request object' }, id: null },
  ]);
  assert.deepEqual(parse((await handleBody('[]', echo)).body), []);
  assert.equal((await handleBody('[{"jsonrpc":"2.0","method":"x"}]', echo)).status, 204);
});

test('fuzz: any body gives a well-formed reply and never throws', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.array(fc.record({ method: fc.oneof(fc.string(), fc.jsonValue()), id: fc.jsonValue(), params: fc.jsonValue(), jsonrpc: fc.constantFrom('1.0', '2.0', 2, undefined) })).map((v) => JSON.stringify(v))), async (body) => {
      const r = await handleBody(body, (req) => dispatch(fakeCtx(), req));
      assert.ok([200, 204, 400, 404, 500].includes(r.status), `status ${r.status}`);
      if (r.body !== null) JSON.parse(r.body);
    }),
    { numRuns: 400 },
  );
});

function fakePeer(over: Partial<PeerInfo> = {}): PeerInfo {
  return {
    id: 1, addr: '127.0.0.1:5000', endpoint: { host: '127.0.0.1', port: 5000 }, connType: 'inbound', inbound: true, phase: 'active', connectedAtMs: 0,
    servicesBits: 1033n, version: 70016, subver: '/x/', services: '0000000000000409', startingHeight: 0, relayTxs: false, conntime: 1, lastsend: 2, lastrecv: 3,
    bytessent: 10, bytesrecv: 20, pingtime: 0.001, minping: 0.001, pingwait: null, bytessentPerMsg: { ping: 32 }, bytesrecvPerMsg: {}, ignored: {}, recvPaused: false, sendQueued: 0,
    ...over,
  } as PeerInfo;
}

const limitCalls: [string, number, number][] = [];

const fakeListeners = [{ index: 0, address: '127.0.0.1:18444', services: 1032n, accepted: 3 }];

function fakeCtx(over: Partial<ControlContext> = {}): ControlContext {
  const base = {
    settings: {} as ControlContext['settings'],
    params: {} as ControlContext['params'],
    userAgent: '/peerd:test/',
    services: 1032n,
    startedAt: Date.now() - 5000,
    peers: async () => [fakePeer()],
    disconnects: async () => [],
    addnode: async () => undefined,
    addedNodes: async () => [{ addednode: '127.0.0.1:1', connected: false, address: null, inbound: false }],
    disconnect: async (t: { id: number } | { address: string }) => {
      if ('id' in t && t.id !== 1) throw new Error('Node not found in connected nodes');
    },
    setNetworkActive: async () => undefined,
    networkActive: () => true,
    pingAll: async () => undefined,
    totals: async () => ({ recv: 1, sent: 2, limits: { maxrecvrate: 3, maxsendrate: 4, peermaxrecvrate: 0, peermaxsendrate: 0 } }),
    setNetLimit: async (recv: number, send: number) => {
      if (recv < 0 || send < 0) throw new RangeError('rate must be a whole number of bytes per second ≥ 0');
      limitCalls.push(['net', recv, send]);
    },
    setPeerLimit: async (target: number | string, recv: number, send: number) => {
      if (recv < 0 || send < 0) throw new RangeError('rate must be a whole number of bytes per second ≥ 0');
      if (target !== 1 && target !== 'all' && target !== '1') throw new Error('Node not found in connected nodes');
      limitCalls.push([String(target), recv, send]);
    },
    listeners: async () => [...fakeListeners],
    setListenerServices: async (target: number | string, services: bigint) => {
      const l = fakeListeners.find((x) => x.index === target || x.address === target || String(x.index) === target);
      if (!l) throw new Error(`Listener not found: ${String(target)}`);
      l.services = services;
      return { ...l };
    },
    actors: () => [],
    actorTree: () => [],
    kill: () => false,
    deadLetters: () => ({ total: 0, byType: {} }),
    askAddressBook: () => null,
    askChain: () => null,
    stop: () => undefined,
  } satisfies ControlContext;
  return { ...base, ...over };
}

const call = (ctx: ControlContext, method: string, params: Json[] | Record<string, Json> = []) => dispatch(ctx, { id: 1, version: '1.0', method, params });

test('methods without HTTP: Core fields, errors and codes', async () => {
  const ctx = fakeCtx();
  const [p] = (await call(ctx, 'getpeerinfo')) as Record<string, Json>[];
  for (const f of ['id', 'addr', 'network', 'services', 'servicesnames', 'relaytxes', 'lastsend', 'lastrecv', 'last_transaction', 'last_block', 'bytessent', 'bytesrecv', 'conntime', 'timeoffset', 'pingtime', 'minping', 'version', 'subver', 'inbound', 'bip152_hb_to', 'bip152_hb_from', 'startingheight', 'presynced_headers', 'synced_headers', 'synced_blocks', 'inflight', 'addr_relay_enabled', 'addr_processed', 'addr_rate_limited', 'permissions', 'minfeefilter', 'bytessent_per_msg', 'bytesrecv_per_msg', 'connection_type', 'transport_protocol_type', 'session_id'])
    assert.ok(f in p, `getpeerinfo lacks ${f}`);
  assert.deepEqual(p.servicesnames, ['NETWORK', 'WITNESS', 'NETWORK_LIMITED']);
  assert.equal(p.network, 'not_publicly_routable');
  assert.equal(await call(ctx, 'getconnectioncount'), 1);
  await assert.rejects(call(ctx, 'nosuch'), { code: -32601, message: 'Method not found' });
  await assert.rejects(call(ctx, 'disconnectnode', ['', 9]), { code: -29, message: 'Node not found in connected nodes' });
  await assert.rejects(call(ctx, 'disconnectnode', ['1.2.3.4:5', 9]), { code: -32602, message: 'Only one of address and nodeid should be provided.' });
  await assert.rejects(call(ctx, 'disconnectnode', { nodeid: 'x' }), (e: RpcError) => e.code === -3 && /Position 2 \(nodeid\)/.test(e.message));
  await assert.rejects(call(ctx, 'getconnectioncount', { bogus: 1 }), { code: -8, message: 'Unknown named parameter bogus' });
  await assert.rejects(call(ctx, 'addnode', ['1.2.3.4']), (e: RpcError) => e.code === -1 && e.message.startsWith('addnode "node" "command"'));
  await assert.rejects(call(ctx, 'addnode', ['1.2.3.4', 'sometimes']), { code: -1 });
  await assert.rejects(call(ctx, 'getaddednodeinfo', ['9.9.9.9:1']), { code: -24, message: 'Error: Node has not been added.' });
  await assert.rejects(call(ctx, 'setban', ['1.2.3.4', 'add']), { code: -20, message: 'Error: Ban database not loaded' });
  await assert.rejects(call(ctx, 'setban', ['nonsense', 'add']), { code: -30, message: 'Error: Invalid IP/Subnet' });
  await assert.rejects(call(ctx, 'getnodeaddresses', [-1]), { code: -8, message: 'Address count out of range' });
  await assert.rejects(call(ctx, 'getaddrmaninfo'), { code: -31 });
  await assert.rejects(call(ctx, 'killactor', ['/root/none']), { code: -8, message: 'No actor at /root/none' });
  assert.equal(await call(ctx, 'uptime'), 5);
  assert.equal(await call(ctx, 'help', ['nosuch']), 'help: unknown command: nosuch');
  assert.match(String(await call(ctx, 'help', ['setban'])), /^setban "subnet" "command" \( bantime absolute \)/);
  const idx = helpIndex();
  for (const m of Object.keys(METHODS)) assert.ok(idx.includes(m), m);
  const net = (await call(ctx, 'getnetworkinfo')) as Record<string, Json>;
  for (const f of ['version', 'subversion', 'protocolversion', 'localservices', 'localservicesnames', 'localrelay', 'timeoffset', 'networkactive', 'connections', 'connections_in', 'connections_out', 'networks', 'relayfee', 'incrementalfee', 'localaddresses', 'warnings'])
    assert.ok(f in net, `getnetworkinfo lacks ${f}`);
  assert.equal(net.localservices, '0000000000000408');
  const totals = (await call(ctx, 'getnettotals')) as Record<string, Json>;
  assert.deepEqual(Object.keys(totals), ['totalbytesrecv', 'totalbytessent', 'timemillis', 'limits', 'uploadtarget']);
  assert.deepEqual(totals.limits, { maxrecvrate: 3, maxsendrate: 4, peermaxrecvrate: 0, peermaxsendrate: 0 });
});

test('setnetlimit and setpeerlimit: applied on the fly, bad rates are -8, unknown peers -29', async () => {
  const ctx = fakeCtx();
  limitCalls.length = 0;
  assert.equal(await call(ctx, 'setnetlimit', [1_000_000, 0]), null);
  assert.equal(await call(ctx, 'setpeerlimit', ['1', 500_000, 250_000]), null);
  assert.equal(await call(ctx, 'setpeerlimit', ['all', 0, 0]), null);
  assert.deepEqual(limitCalls, [['net', 1_000_000, 0], ['1', 500_000, 250_000], ['all', 0, 0]]);
  await assert.rejects(call(ctx, 'setnetlimit', [-1, 0]), { code: -8 });
  await assert.rejects(call(ctx, 'setpeerlimit', ['9', 1, 1]), { code: -29, message: 'Node not found in connected nodes' });
});

test('param checking: named and positional, optional nulls', () => {
  assert.deepEqual(checkParams('setban', METHODS.setban, { subnet: '1.2.3.4', command: 'add', absolute: false }), ['1.2.3.4', 'add', undefined, false]);
  assert.deepEqual(checkParams('disconnectnode', METHODS.disconnectnode, [null, 3]), [undefined, 3]);
  assert.ok(corePeerInfo(fakePeer({ pingtime: null, minping: null })).pingtime === undefined);
});

test("getpeerinfo's network is Core's GetNetworkName(GetNetClass()) of the peer's address", () => {
  const network = (host: string): Json | undefined => corePeerInfo(fakePeer({ endpoint: { host, port: 8333 } })).network;
  const cases: [string, string][] = [
    ['1.2.3.4', 'ipv4'],
    ['2001:4860::8888', 'ipv6'],
    ['2002:102:304::1', 'ipv4'], // 6to4 goes through IPv4
    ['2001:0:9999::fefd:fcfb', 'ipv4'], // Teredo
    ['127.0.0.1', 'not_publicly_routable'],
    ['0.0.0.0', 'not_publicly_routable'],
    ['::1', 'not_publicly_routable'],
    ['10.0.0.1', 'not_publicly_routable'],
    ['100.64.0.1', 'not_publicly_routable'],
    ['192.0.2.1', 'not_publicly_routable'],
    ['fd00::1', 'not_publicly_routable'],
    ['2001:db8::1', 'not_publicly_routable'],
  ];
  for (const [host, want] of cases) assert.equal(network(host), want, host);
});

test('subnets, loopback, basic auth', () => {
  assert.equal(parseIpSubnet('10.1.2.3/255.255.0.0')?.text, '10.1.0.0/16');
  assert.equal(parseIpSubnet('10.1.2.3')?.text, '10.1.2.3/32');
  assert.equal(parseIpSubnet('2001:db8::1/32')?.text, '2001:db8::/32');
  assert.equal(parseIpSubnet('10.1.2.3/33'), null);
  assert.equal(parseIpSubnet('10.1.2.3/255.0.255.0'), null);
  assert.ok(subnetHas(parseIpSubnet('10.1.0.0/16')!, '::ffff:10.1.9.9'));
  assert.ok(!subnetHas(parseIpSubnet('10.1.0.0/16')!, '10.2.0.1'));
  assert.ok(isLoopback('::1') && isLoopback('127.0.0.9') && isLoopback('::ffff:127.0.0.1') && !isLoopback('10.0.0.1'));
  const check = basicAuthChecker('__cookie__:abc');
  assert.ok(check(`Basic ${Buffer.from('__cookie__:abc').toString('base64')}`));
  assert.ok(!check(`Basic ${Buffer.from('__cookie__:abd').toString('base64')}`));
  assert.ok(!check(`Basic ${Buffer.from('nocolon').toString('base64')}`));
  assert.ok(!check('Bearer x') && !check(undefined) && !check('Basic !!!'));
});

test('CLI helpers: bitcoin-cli argument conversion, output format, tree text', () => {
  assert.deepEqual(convertArgs('setban', ['1.2.3.4', 'add', '60', 'true']), ['1.2.3.4', 'add', 60, true]);
  assert.deepEqual(convertArgs('disconnectnode', ['', '5']), ['', 5]);
  assert.deepEqual(convertArgs('unknownmethod', ['5', 'x', '{"a":1}']), [5, 'x', { a: 1 }]);
  assert.equal(formatResult(null), null);
  assert.equal(formatResult('text'), 'text');
  assert.equal(formatResult({ a: 1 }), '{\n  "a": 1\n}');
  const t = treeText([{ name: 'root', kind: 'supervisor', mailbox: 0, mailboxHighWater: 1, restarts: 0, handled: 3, status: 'idle', children: [{ name: 'connman', kind: 'worker', mailbox: 0, mailboxHighWater: 2, restarts: 1, handled: 9, status: 'idle', children: [] }] }]);
  assert.match(t, /^root {2}supervisor, mailbox 0 \(max 1\), restarts 0/);
  assert.match(t, /└── connman {2}worker, mailbox 0 \(max 2\), restarts 1/);
});

test('getlisteners and setlistenerservices: index or address, number or 0x hex; bad ones are -8, wrong types -3', async () => {
  const ctx = fakeCtx();
  assert.deepEqual(await call(ctx, 'getlisteners'), [
    { index: 0, address: '127.0.0.1:18444', services: '0000000000000408', servicesnames: ['WITNESS', 'NETWORK_LIMITED'], accepted: 3 },
  ]);
  const r = (await call(ctx, 'setlistenerservices', [0, '0x409'])) as { services: string; servicesnames: string[] };
  assert.equal(r.services, '0000000000000409');
  assert.deepEqual(r.servicesnames, ['NETWORK', 'WITNESS', 'NETWORK_LIMITED']);
  assert.equal(((await call(ctx, 'setlistenerservices', ['127.0.0.1:18444', 1032])) as { services: string }).services, '0000000000000408');
  assert.equal(((await call(ctx, 'setlistenerservices', { listener: '0', services: '1' })) as { services: string }).services, '0000000000000001');
  await assert.rejects(call(ctx, 'setlistenerservices', [5, 1]), { code: -8, message: 'Listener not found: 5' });
  await assert.rejects(call(ctx, 'setlistenerservices', ['10.0.0.1:1', 1]), { code: -8, message: 'Listener not found: 10.0.0.1:1' });
  await assert.rejects(call(ctx, 'setlistenerservices', [0, 'lots']), { code: -8, message: /Invalid services/ });
  await assert.rejects(call(ctx, 'setlistenerservices', [0, '0x10000000000000000']), { code: -8, message: /Invalid services/ });
  await assert.rejects(call(ctx, 'setlistenerservices', [0, -1]), { code: -8, message: /Invalid services/ });
  await assert.rejects(call(ctx, 'setlistenerservices', [0, true]), { code: -3, message: /Expected type number or string for services, got boolean/ });
  await assert.rejects(call(ctx, 'setlistenerservices', [0]), { code: -1, message: /^setlistenerservices/ });
});

test('a batch longer than MAX_BATCH is refused whole, without running any member', async () => {
  let calls = 0;
  const count = async (): Promise<Json> => (calls++, null);
  const ok = await handleBody(JSON.stringify(Array.from({ length: MAX_BATCH }, (_, i) => ({ method: 'x', id: i }))), count);
  assert.equal(ok.status, 200);
  assert.equal(calls, MAX_BATCH);
  calls = 0;
  const big = await handleBody(JSON.stringify(Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({ method: 'x', id: i }))), count);
  assert.equal(calls, 0);
  assert.match(big.body ?? '', new RegExp(`Batch of ${MAX_BATCH + 1} requests: at most ${MAX_BATCH}`));
});

test('the cookie file is created fresh with mode 0600 even when a temporary file with another mode was left behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-cookie-'));
  try {
    const path = join(dir, '.cookie');
    writeFileSync(`${path}.tmp`, 'stale', { mode: 0o666 });
    chmodSync(`${path}.tmp`, 0o666);
    const c = writeCookie(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(readCookie(path), c);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

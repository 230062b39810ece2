/**
 * Outbound BIP324 on real sockets (127.0.0.1, port 0, regtest): peerd dials peerd with v2; a v2
 * dial to a v1-only node (peerd with --v2transport 0, or a raw v1 listener) falls back to v1
 * exactly once and the connection becomes active, with no misbehaviour and no ban on either side;
 * RPC addnode's v2transport argument.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispatch } from '../../src/control/methods.js';
import type { Json } from '../../src/rpc/protocol.js';
import type { NodeHandle } from '../../src/node.js';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';

type CorePeer = { id: number; addr: string; inbound: boolean; transport_protocol_type: string; session_id: string; connection_type: string; version: number };

const rpc = (node: NodeHandle, method: string, params: Json[] = []): Promise<Json> => dispatch(node, { id: null, version: '2.0', method, params });
const peers = async (node: NodeHandle): Promise<CorePeer[]> => (await rpc(node, 'getpeerinfo')) as unknown as CorePeer[];

/** The one peer of `node` with the given direction once its handshake is done (version known). */
async function activePeer(node: NodeHandle, inbound: boolean, what: string): Promise<CorePeer> {
  let p: CorePeer | undefined;
  await until(what, async () => (p = (await peers(node)).find((x) => x.inbound === inbound && x.version > 0)) !== undefined, 15_000);
  return p!;
}

test('peerd ↔ peerd over v2: A --addnode B, both sides report v2 and the same session id, nothing refused', async (t) => {
  const b = await testNode();
  t.after(() => b.cleanup());
  const a = await testNode({ addnode: [`127.0.0.1:${b.port}`] });
  t.after(() => a.cleanup());
  const out = await activePeer(a, false, "A's outbound peer B is active");
  const inn = await activePeer(b, true, "B's inbound peer A is active");
  assert.equal(out.connection_type, 'manual');
  assert.equal(out.transport_protocol_type, 'v2');
  assert.equal(inn.transport_protocol_type, 'v2');
  assert.match(out.session_id, /^[0-9a-f]{64}$/);
  assert.equal(out.session_id, inn.session_id, 'the same session id on both sides');
  assert.deepEqual(await a.disconnects(), [], 'no v1 retry, no failed attempt');
  assert.deepEqual(await b.disconnects(), []);
  // Messages flow over v2 both ways.
  await rpc(a, 'ping');
  await until('a pong over v2', async () => {
    const p = ((await rpc(a, 'getpeerinfo')) as unknown as Array<{ bytesrecv_per_msg: Record<string, number> }>)[0];
    return p?.bytesrecv_per_msg.pong !== undefined;
  });
});

test('a v2 dial to peerd with --v2transport 0 falls back to v1 exactly once; active, no misbehaviour, no ban on either side', async (t) => {
  const b = await testNode({ v2transport: false });
  t.after(() => b.cleanup());
  const a = await testNode({ addnode: [`127.0.0.1:${b.port}`] });
  t.after(() => a.cleanup());
  const out = await activePeer(a, false, "A's outbound peer B is active (over v1)");
  const inn = await activePeer(b, true, "B's inbound peer A is active");
  assert.equal(out.transport_protocol_type, 'v1');
  assert.equal(out.session_id, '');
  assert.equal(inn.transport_protocol_type, 'v1');
  // A: one record, the refused v2 attempt, not misbehaviour. B: the v2 opening it closed, not misbehaviour.
  const da = await a.disconnects();
  assert.equal(da.length, 1, JSON.stringify(da));
  assert.match(da[0].reason, /retrying with v1/);
  assert.equal(da[0].misbehaving, false);
  const db = await b.disconnects();
  assert.equal(db.length, 1, JSON.stringify(db));
  assert.equal(db[0].misbehaving, false);
  assert.deepEqual(await rpc(a, 'listbanned'), []);
  assert.deepEqual(await rpc(b, 'listbanned'), []);
  // It stays up: no second attempt of any kind.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await a.disconnects()).length, 1);
  assert.equal((await peers(a)).filter((p) => !p.inbound).length, 1);
  const added = (await rpc(a, 'getaddednodeinfo')) as Array<{ connected: boolean }>;
  assert.equal(added[0]?.connected, true);
});

test('a v2 dial to a raw v1-only listener: it hangs up on the v2 opening once, then the v1 connection handshakes', async (t) => {
  const listener = await RawPeer.listen();
  t.after(() => listener.close());
  const a = await testNode({ connect: [`127.0.0.1:${listener.port}`] });
  t.after(() => a.cleanup());
  const f = await listener.accept();
  assert.equal(listener.v2Refused, 1, 'one v2 opening, hung up on');
  await f.handshake();
  const out = await activePeer(a, false, 'the node finished the v1 handshake');
  assert.equal(out.transport_protocol_type, 'v1');
  f.send({ command: 'ping', nonce: 99n });
  assert.equal((await f.waitFor('pong')).nonce, 99n);
  assert.equal(listener.v2Refused, 1);
  assert.equal(listener.count, 1);
  const d = await a.disconnects();
  assert.equal(d.length, 1);
  assert.equal(d[0].misbehaving, false);
});

test("RPC addnode's v2transport: false dials v1 though both support v2; true with --v2transport 0 is Core's error", async (t) => {
  const b = await testNode();
  t.after(() => b.cleanup());
  const a = await testNode();
  t.after(() => a.cleanup());
  assert.equal(await rpc(a, 'addnode', [`127.0.0.1:${b.port}`, 'add', false]), null);
  const out = await activePeer(a, false, 'the addnode peer is active');
  assert.equal(out.transport_protocol_type, 'v1');
  assert.deepEqual(await a.disconnects(), [], 'a v1 dial: no v2 attempt, no retry');
  const added = (await rpc(a, 'getaddednodeinfo')) as Array<Record<string, Json>>;
  assert.deepEqual(Object.keys(added[0]).sort(), ['addednode', 'addresses', 'connected']);

  const c = await testNode({ v2transport: false });
  t.after(() => c.cleanup());
  await assert.rejects(rpc(c, 'addnode', [`127.0.0.1:${b.port}`, 'onetry', true]), (e: Error & { code?: number }) => {
    assert.equal(e.message, 'Error: v2transport requested but not enabled (see -v2transport)');
    assert.equal(e.code, -8);
    return true;
  });
  // Absent, it follows -v2transport: v1 here, and v2 by default on A.
  assert.equal(await rpc(c, 'addnode', [`127.0.0.1:${b.port}`, 'onetry']), null);
  assert.equal((await activePeer(c, false, "C's onetry peer is active")).transport_protocol_type, 'v1');
  assert.equal(await rpc(a, 'addnode', [`127.0.0.1:${c.port}`, 'onetry']), null);
  let toC: CorePeer | undefined;
  await until('A reaches C', async () => (toC = (await peers(a)).find((p) => !p.inbound && p.addr.endsWith(`:${c.port}`) && p.version > 0)) !== undefined, 15_000);
  assert.equal(toC!.transport_protocol_type, 'v1', 'C is v1-only: A fell back');
  assert.equal((await a.disconnects()).filter((d) => /retrying with v1/.test(d.reason)).length, 1);
});

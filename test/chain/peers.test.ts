/** The block logic's per-peer state (src/chain/peers.ts): whom we may ask, what a peer has, records made and dropped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkParams } from '../../src/wire/network.js';
import { NODE_NETWORK, NODE_NETWORK_LIMITED, NODE_WITNESS } from '../../src/wire/constants.js';
import type { ConnType } from '../../src/contracts/connection.js';
import { DEFAULT_CHAIN_CONFIG, initChain, type ChainState, type PeerSync } from '../../src/chain/logic.js';
import { Out } from '../../src/chain/state.js';
import { addPeer, canFetchFrom, canServe, preferred, removePeer, updateBestKnown } from '../../src/chain/peers.js';
import { baseOfEntry, mineChain } from './mine-headers.js';

const regtest = networkParams('regtest');
const T0 = 2_000_000_000_000;

function state(): ChainState {
  return initChain(regtest, { ...DEFAULT_CHAIN_CONFIG, minimumChainWork: 0n, pruned: false });
}

function connect(s: ChainState, peer: number, connType: ConnType, services = NODE_NETWORK | NODE_WITNESS, out = new Out()): PeerSync {
  const p = addPeer(s, { type: 'peer-connected', peer, inbound: connType === 'inbound', connType, services, startHeight: 0, preferHeaders: false, now: T0 }, out);
  assert.ok(p);
  return p;
}

test('addPeer makes one record per peer and asks for sendheaders, except of feelers and address fetches', () => {
  const s = state();
  const out = new Out();
  const p = connect(s, 1, 'outbound-full-relay', NODE_NETWORK, out);
  assert.equal(s.peers.get(1), p);
  assert.deepEqual(out.fx, [{ kind: 'send', peer: 1, msg: { command: 'sendheaders' } }]);
  assert.equal(addPeer(s, { type: 'peer-connected', peer: 1, inbound: true, connType: 'inbound', services: 0n, startHeight: 0, preferHeaders: false, now: T0 }, out), undefined, 'known already');
  assert.equal(s.peers.get(1), p);
  const quiet = new Out();
  connect(s, 2, 'feeler', NODE_NETWORK, quiet);
  connect(s, 3, 'addr-fetch', NODE_NETWORK, quiet);
  assert.deepEqual(quiet.fx, []);
});

test('removePeer drops the record and its requests, and says whether the peer was known', () => {
  const s = state();
  const p = connect(s, 1, 'outbound-full-relay');
  const [h] = mineChain(baseOfEntry(s.tree, s.tree.genesis), { params: regtest, count: 1 });
  const e = s.tree.addHeaders([h], T0 / 1000).last;
  assert.ok(e);
  s.inFlight.set(e, { peer: 1, at: T0 });
  p.inFlight.add(e);
  p.syncStarted = true;
  s.syncStarted = 1;
  assert.equal(removePeer(s, 1), true);
  assert.equal(s.peers.size, 0);
  assert.equal(s.inFlight.size, 0);
  assert.equal(s.syncStarted, 0);
  assert.equal(removePeer(s, 1), false, 'already gone (a disconnect forgot it)');
});

test('canServe: NODE_NETWORK or NODE_NETWORK_LIMITED; preferred: outbound peers we chose', () => {
  const s = state();
  assert.equal(canServe(connect(s, 1, 'outbound-full-relay', NODE_NETWORK)), true);
  assert.equal(canServe(connect(s, 2, 'outbound-full-relay', NODE_NETWORK_LIMITED)), true);
  assert.equal(canServe(connect(s, 3, 'outbound-full-relay', NODE_WITNESS)), false);
  assert.equal(preferred(connect(s, 4, 'block-relay-only')), true);
  assert.equal(preferred(connect(s, 5, 'manual')), true);
  assert.equal(preferred(connect(s, 6, 'inbound')), false);
  assert.equal(preferred(connect(s, 7, 'feeler')), false);
  assert.equal(preferred(connect(s, 8, 'addr-fetch')), false);
});

test('canFetchFrom: preferred peers, inbound ones only without a preferred one or with nothing in flight, or directly', () => {
  const s = state();
  const inbound = connect(s, 1, 'inbound');
  const feeler = connect(s, 2, 'feeler');
  const mute = connect(s, 3, 'outbound-full-relay', NODE_WITNESS);
  assert.equal(canFetchFrom(inbound, s), true, 'no preferred peer');
  assert.equal(canFetchFrom(feeler, s, true), false, 'never a feeler');
  assert.equal(canFetchFrom(mute, s, true), false, 'never a peer that serves no blocks');
  const out = connect(s, 4, 'outbound-full-relay');
  assert.equal(canFetchFrom(out, s), true);
  assert.equal(canFetchFrom(inbound, s), true, 'nothing in flight');
  const [h] = mineChain(baseOfEntry(s.tree, s.tree.genesis), { params: regtest, count: 1 });
  const e = s.tree.addHeaders([h], T0 / 1000).last;
  assert.ok(e);
  s.inFlight.set(e, { peer: 4, at: T0 });
  out.inFlight.add(e);
  assert.equal(canFetchFrom(inbound, s), false, 'a preferred peer is downloading');
  assert.equal(canFetchFrom(inbound, s, true), true, 'direct fetch of an announced block');
});

test('updateBestKnown keeps the most-work valid header', () => {
  const s = state();
  const p = connect(s, 1, 'outbound-full-relay');
  const hs = mineChain(baseOfEntry(s.tree, s.tree.genesis), { params: regtest, count: 3 });
  s.tree.addHeaders(hs, T0 / 1000);
  const [a, b, c] = hs.map((h) => s.tree.get(h.hash));
  assert.ok(a && b && c);
  updateBestKnown(p, b);
  assert.equal(p.bestKnown, b);
  updateBestKnown(p, a);
  assert.equal(p.bestKnown, b, 'less work: kept');
  s.tree.invalidate(c);
  updateBestKnown(p, c);
  assert.equal(p.bestKnown, b, 'invalid: ignored');
});

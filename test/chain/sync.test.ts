/** Headers sync (src/chain/sync.ts): a sync peer gone is replaced (restartSync), directly and through stepChain. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkParams } from '../../src/wire/network.js';
import { NODE_NETWORK, NODE_WITNESS } from '../../src/wire/constants.js';
import { DEFAULT_CHAIN_CONFIG, initChain, stepChain, type ChainEffect, type ChainState } from '../../src/chain/logic.js';
import { Out } from '../../src/chain/state.js';
import { restartSync } from '../../src/chain/sync.js';

const regtest = networkParams('regtest');
const T0 = 2_000_000_000_000;

function state(): ChainState {
  return initChain(regtest, { ...DEFAULT_CHAIN_CONFIG, minimumChainWork: 0n, pruned: false });
}

function up(s: ChainState, peer: number): ChainEffect[] {
  return stepChain(s, { type: 'peer-connected', peer, inbound: false, connType: 'outbound-full-relay', services: NODE_NETWORK | NODE_WITNESS, startHeight: 0, preferHeaders: false, now: T0 });
}

const getheadersTo = (fx: readonly ChainEffect[]): number[] => fx.flatMap((e) => (e.kind === 'send' && e.msg.command === 'getheaders' ? [e.peer] : []));

test('a sync peer that disconnects is replaced by the next peer (restartSync through peer-disconnected)', () => {
  const s = state();
  assert.deepEqual(getheadersTo(up(s, 1)), [1]);
  assert.deepEqual(getheadersTo(up(s, 2)), [], 'one sync peer at a time');
  assert.equal(s.syncStarted, 1);
  const fx = stepChain(s, { type: 'peer-disconnected', peer: 1, now: T0 + 1 });
  assert.deepEqual(getheadersTo(fx), [2]);
  assert.equal(s.peers.get(2)?.syncStarted, true);
  assert.deepEqual(stepChain(s, { type: 'peer-disconnected', peer: 1, now: T0 + 2 }), [], 'a peer already gone: nothing');
});

test('restartSync does nothing while a sync peer remains, or once headers are synced', () => {
  const s = state();
  up(s, 1);
  up(s, 2);
  const busy = new Out();
  restartSync(s, T0, busy);
  assert.deepEqual(busy.fx, [], 'peer 1 is syncing');
  const p1 = s.peers.get(1);
  assert.ok(p1);
  p1.syncStarted = false;
  s.syncStarted = 0;
  s.headersSynced = true;
  const synced = new Out();
  restartSync(s, T0, synced);
  assert.deepEqual(synced.fx, []);
  s.headersSynced = false;
  const again = new Out();
  restartSync(s, T0, again);
  assert.deepEqual(getheadersTo(again.fx), [2], 'peer 1 still awaits its headers reply (headersAskedAt), so peer 2 starts');
});

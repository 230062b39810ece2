import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NODE_SLOTS } from '../../src/tree.js';
import { ROOT } from '../../src/contracts/root.js';
import { STORE } from '../../src/contracts/store.js';
import { ADDRESSBOOK } from '../../src/contracts/addressbook.js';
import { CHAIN } from '../../src/contracts/chain.js';
import { PEERS, peerAt, peerChildName, peerIdOf, peerName } from '../../src/contracts/peer.js';
import { CONNMAN } from '../../src/contracts/connman.js';
import { LISTENERS, listenerChildName, listenerName } from '../../src/contracts/listener.js';
import { CONTROL } from '../../src/contracts/control.js';
import { INSPECTOR } from '../../src/contracts/inspector.js';

test('every well-known name is a slot of the root supervisor, one name per slot', () => {
  const names = [STORE, ADDRESSBOOK, CHAIN, PEERS, CONNMAN, LISTENERS, CONTROL, INSPECTOR];
  assert.deepEqual(
    names.map((n) => n.path),
    NODE_SLOTS.map((slot) => `${ROOT.path}/${slot}`),
  );
});

test('peer and listener names: the children the node starts, and back', () => {
  assert.equal(peerName(7).path, `${PEERS.path}/${peerChildName(7)}`);
  assert.equal(peerName(7).path, '/root/peers/peer-7');
  assert.equal(peerIdOf(peerName(7).path), 7);
  assert.equal(peerIdOf(peerAt('/root/peers/peer-12').path), 12);
  assert.equal(peerIdOf('/root/peers/other'), undefined);
  assert.equal(peerIdOf('/root/connman'), undefined);
  assert.equal(peerName(3, { path: '/t/peers' }).path, '/t/peers/peer-3');
  assert.equal(peerIdOf('/t/peers/peer-3', { path: '/t/peers' }), 3);
  assert.equal(listenerName(2).path, `${LISTENERS.path}/${listenerChildName(2)}`);
  assert.equal(listenerName(2).path, '/root/listeners/listener-2');
});

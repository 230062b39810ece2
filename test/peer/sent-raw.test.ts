import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initPeer, stepPeer } from '../../src/peer/protocol.js';
import type { PeerSettings } from '../../src/contracts/peer.js';
import { makeNonceKey, makeVersionNonce } from '../../src/peer/nonce.js';

const settings: PeerSettings = {
  ourServices: 0x409n,
  userAgent: '/peerd:test/',
  handshakeTimeoutMs: 60_000,
  pingIntervalMs: 120_000,
  inactivityTimeoutMs: 1_200_000,
  nonceKey: makeNonceKey(),
};
const addr = { network: 'ipv4' as const, addr: Buffer.from([127, 0, 0, 1]), port: 18444, services: 0n };

test('a message the actor sends of its own (send-raw) counts as sending for the inactivity check', () => {
  const s = initPeer({ id: 1, connType: 'inbound', settings, localNonce: makeVersionNonce(settings.nonceKey), remoteAddress: addr, startHeight: 0, now: 1000 });
  stepPeer(s, { type: 'open', now: 1000 });
  stepPeer(s, { type: 'bytes', now: 2000 });
  assert.deepEqual(stepPeer(s, { type: 'sent-raw', now: 3000 }), []);
  assert.equal(s.lastSend, 3000);
  // Both clocks started: the next check is due when the older one expires, not a "first period" disconnect.
  assert.deepEqual(stepPeer(s, { type: 'inactivity-timer', now: 1_201_000 }), [{ kind: 'timer', key: 'inactivity', ms: 1000 }]);
});

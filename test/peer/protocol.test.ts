import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodes, initPeer, stepPeer, type PeerEffect, type PeerState, sanitizeString } from '../../src/peer/protocol.js';
import type { PeerSettings } from '../../src/contracts/peer.js';
import { makeNonceKey, makeVersionNonce, isOwnNonce } from '../../src/peer/nonce.js';
import type { Message, VersionMessage } from '../../src/wire/messages.js';
import type { ConnType } from '../../src/contracts/connection.js';

const settings: PeerSettings = {
  ourServices: 0x409n,
  userAgent: '/peerd:test/',
  handshakeTimeoutMs: 60_000,
  pingIntervalMs: 120_000,
  inactivityTimeoutMs: 1_200_000,
  nonceKey: makeNonceKey(),
};
const addr = { network: 'ipv4' as const, addr: Buffer.from([127, 0, 0, 1]), port: 18444, services: 0n };

function version(over: Partial<VersionMessage> = {}): VersionMessage {
  return {
    command: 'version',
    version: 70016,
    services: 0x409n,
    timestamp: 1n,
    addrRecv: addr,
    addrFrom: addr,
    nonce: 42n,
    userAgent: '/Satoshi:30.0.0/',
    startHeight: 7,
    relay: true,
    ...over,
  };
}

function peer(connType: ConnType = 'outbound-full-relay'): PeerState {
  return initPeer({ id: 1, connType, settings, localNonce: makeVersionNonce(settings.nonceKey), remoteAddress: addr, startHeight: 0, now: 1000 });
}
const sent = (fx: PeerEffect[]) => fx.flatMap((e) => (e.kind === 'send' ? [e.msg.command] : []));
const msg = (s: PeerState, m: Message, now = 2000) => stepPeer(s, { type: 'message', msg: m, now });
const disconnect = (fx: PeerEffect[]) => fx.find((e): e is Extract<PeerEffect, { kind: 'disconnect' }> => e.kind === 'disconnect');

test('outbound handshake in Core v30 order: version; then wtxidrelay, sendaddrv2, verack, getaddr; then sendcmpct and a ping', () => {
  const s = peer();
  const open = stepPeer(s, { type: 'open', now: 1000 });
  assert.deepEqual(sent(open), ['version']);
  assert.ok(open.some((e) => e.kind === 'timer' && e.key === 'handshake' && e.ms === 60_000));
  const v = msg(s, version());
  assert.deepEqual(sent(v), ['wtxidrelay', 'sendaddrv2', 'verack', 'getaddr']);
  assert.deepEqual(sent(msg(s, { command: 'wtxidrelay' })), []);
  assert.ok(s.wtxidRelay);
  const ack = msg(s, { command: 'verack' });
  assert.deepEqual(sent(ack), ['sendcmpct']);
  assert.ok(ack.some((e) => e.kind === 'ready'));
  assert.ok(ack.some((e) => e.kind === 'cancel-timer' && e.key === 'handshake'));
  assert.ok(ack.some((e) => e.kind === 'timer' && e.key === 'ping' && e.ms === 0), 'first ping right after the handshake');
  const p = stepPeer(s, { type: 'ping-timer', now: 2100, nonce: 99n });
  assert.deepEqual(sent(p), ['ping']);
  assert.equal(s.phase, 'active');
});

test('inbound: answers version with version first; sendaddrv2 only to peers at 70016+; no getaddr; relay=false in our version', () => {
  const s = peer('inbound');
  assert.deepEqual(sent(stepPeer(s, { type: 'open', now: 1000 })), []);
  const fx = msg(s, version({ version: 70015 }));
  assert.deepEqual(sent(fx), ['version', 'verack']);
  const ours = fx.find((e) => e.kind === 'send' && e.msg.command === 'version');
  assert.ok(ours && ours.kind === 'send' && ours.msg.command === 'version' && ours.msg.relay === false);
});

test('messages before version and a second version are ignored and counted', () => {
  const s = peer('inbound');
  stepPeer(s, { type: 'open', now: 1000 });
  assert.deepEqual(msg(s, { command: 'ping', nonce: 5n }), []);
  assert.deepEqual(msg(s, { command: 'verack' }), []);
  assert.equal(s.ignored['message before version'], 2);
  msg(s, version());
  assert.deepEqual(sent(msg(s, version())), []);
  assert.equal(s.ignored['duplicate version'], 1);
  assert.deepEqual(msg(s, { command: 'ping', nonce: 5n }), [], 'non-feature messages before verack are ignored');
});

test('a feature message after verack disconnects, without discouragement (Core: fDisconnect, not Misbehaving)', () => {
  const s = peer();
  stepPeer(s, { type: 'open', now: 1000 });
  msg(s, version());
  msg(s, { command: 'verack' });
  const d = disconnect(msg(s, { command: 'sendaddrv2' }));
  assert.ok(d && !d.misbehaving);
  assert.match(d.reason, /sendaddrv2 after verack/);
  assert.deepEqual(msg(s, { command: 'ping', nonce: 1n }), [], 'a closed peer does nothing more');
});

test('self-connection, old versions and missing services are refused', () => {
  const self = peer('inbound');
  stepPeer(self, { type: 'open', now: 1000 });
  assert.equal(disconnect(msg(self, version({ nonce: makeVersionNonce(settings.nonceKey) })))?.reason, 'connected to self');
  const old = peer();
  assert.match(disconnect(msg(old, version({ version: 60002 })))?.reason ?? '', /below 70001/);
  const pruned = peer('outbound-full-relay');
  assert.match(disconnect(msg(pruned, version({ services: 8n })))?.reason ?? '', /lack NODE_NETWORK/);
  const limited = peer('block-relay-only');
  assert.equal(disconnect(msg(limited, version({ services: 1024n }))), undefined, 'NODE_NETWORK_LIMITED is enough');
  const inbound = peer('inbound');
  assert.equal(disconnect(msg(inbound, version({ services: 0n }))), undefined, 'inbound peers may serve nothing');
  assert.ok(isOwnNonce(settings.nonceKey, makeVersionNonce(settings.nonceKey)));
  assert.ok(!isOwnNonce(settings.nonceKey, 0x1234567890abcdefn));
});

test('ping/pong: matching nonce records RTT; wrong and unsolicited pongs are ignored and counted; ping answered with its nonce', () => {
  const s = peer();
  stepPeer(s, { type: 'open', now: 0 });
  msg(s, version(), 0);
  msg(s, { command: 'verack' }, 0);
  assert.deepEqual(sent(msg(s, { command: 'pong', nonce: 5n }, 10)), []);
  assert.equal(s.ignored['unsolicited pong'], 1);
  stepPeer(s, { type: 'ping-timer', now: 100, nonce: 77n });
  msg(s, { command: 'pong', nonce: 78n }, 120);
  assert.equal(s.ignored['pong nonce mismatch'], 1);
  const ok = msg(s, { command: 'pong', nonce: 77n }, 150);
  assert.deepEqual(ok, [{ kind: 'ping-rtt', ms: 50, minMs: 50 }]);
  const fx = msg(s, { command: 'ping', nonce: 0xdeadbeefn }, 200);
  assert.deepEqual(fx, [{ kind: 'send', msg: { command: 'pong', nonce: 0xdeadbeefn } }]);
  assert.deepEqual(msg(s, { command: 'ping' }, 210), [], 'a nonceless (pre-BIP31) ping gets no pong');
  const again = stepPeer(s, { type: 'ping-timer', now: 200, nonce: 8n });
  assert.deepEqual(sent(again), [], 'not before the interval');
  assert.deepEqual(sent(stepPeer(s, { type: 'ping-timer', now: 100 + 120_000, nonce: 8n })), ['ping']);
});

test('timeouts: handshake, ping, receive, send', () => {
  const h = peer();
  stepPeer(h, { type: 'open', now: 0 });
  msg(h, version(), 10);
  assert.match(disconnect(stepPeer(h, { type: 'handshake-timer', now: 60_000 }))?.reason ?? '', /handshake timeout: no verack/);

  const p = peer();
  stepPeer(p, { type: 'open', now: 0 });
  msg(p, version(), 0);
  msg(p, { command: 'verack' }, 0);
  stepPeer(p, { type: 'ping-timer', now: 0, nonce: 3n });
  // Messages keep arriving but the pong never does.
  msg(p, { command: 'sendheaders' }, 1_000_000);
  assert.match(disconnect(stepPeer(p, { type: 'inactivity-timer', now: 1_200_000 }))?.reason ?? '', /ping timeout/);

  const r = peer();
  stepPeer(r, { type: 'open', now: 0 });
  msg(r, version(), 5);
  const rearm = stepPeer(r, { type: 'inactivity-timer', now: 600_000 });
  assert.ok(rearm.some((e) => e.kind === 'timer' && e.key === 'inactivity'), 'not yet: re-armed');
  assert.match(disconnect(stepPeer(r, { type: 'inactivity-timer', now: 1_200_010 }))?.reason ?? '', /timeout/);
});

test('receive timeout counts bytes, not whole messages (Core: a message arriving slowly keeps the peer)', () => {
  const r = peer();
  stepPeer(r, { type: 'open', now: 0 });
  msg(r, version(), 5);
  msg(r, { command: 'verack' }, 5);
  stepPeer(r, { type: 'ping-timer', now: 5, nonce: 4n });
  msg(r, { command: 'pong', nonce: 4n }, 10);
  // Part of a large message keeps arriving, no message completes; we keep sending (a ping).
  for (let t = 60_000; t <= 1_380_000; t += 60_000) stepPeer(r, { type: 'bytes', now: t });
  assert.deepEqual(sent(stepPeer(r, { type: 'ping-timer', now: 1_300_000, nonce: 5n })), ['ping']);
  const fx = stepPeer(r, { type: 'inactivity-timer', now: 1_400_000 });
  assert.equal(disconnect(fx), undefined, `bytes arrived within the timeout: no receive timeout (${JSON.stringify(disconnect(fx))})`);
  assert.equal(r.lastRecv, 1_380_000);
  // Nothing at all for the whole period after the last byte: dropped.
  assert.match(disconnect(stepPeer(r, { type: 'inactivity-timer', now: 1_380_000 + 1_200_000 }))?.reason ?? '', /timeout/);
});

test('a transaction announcement disconnects without punishment (Core -blocksonly: inv sent in violation of protocol); block announcements go to the block actor; other types are ignored', () => {
  const open = (): ReturnType<typeof peer> => {
    const s = peer();
    stepPeer(s, { type: 'open', now: 0 });
    msg(s, version(), 0);
    msg(s, { command: 'verack' }, 0);
    return s;
  };
  for (const type of [1, 5, 0x40000001]) {
    const d = disconnect(msg(open(), { command: 'inv', items: [{ type: 2, hash: Buffer.alloc(32, 1) }, { type, hash: Buffer.alloc(32) }] }));
    assert.ok(d, `type ${type} disconnects`);
    assert.equal(d.misbehaving, false);
    assert.match(d.reason, /^transaction inv sent in violation of protocol/);
  }
  const s = open();
  const fx = msg(s, { command: 'inv', items: [{ type: 3, hash: Buffer.alloc(32) }, { type: 2, hash: Buffer.alloc(32, 1) }] });
  assert.equal(fx.length, 1);
  assert.ok(fx[0].kind === 'to-chain' && fx[0].msg.command === 'inv' && fx[0].msg.items.length === 1, 'the block item only');
  assert.deepEqual(msg(s, { command: 'inv', items: [{ type: 3, hash: Buffer.alloc(32) }] }), [], 'a filtered-block announcement alone: ignored');
});

test('a tx after the handshake disconnects without punishment: we said relay=false (Core, blocksonly / block-relay-only)', () => {
  const s = peer('inbound');
  stepPeer(s, { type: 'open', now: 0 });
  msg(s, version(), 0);
  msg(s, { command: 'verack' }, 0);
  const d = disconnect(msg(s, { command: 'tx', tx: {} as never }));
  assert.ok(d, 'disconnected');
  assert.equal(d.misbehaving, false);
  assert.match(d.reason, /relay=false/);
});

test('the gate before decode: before version only a version is decoded, before verack only the handshake, after it neither a second version nor a tx', () => {
  const s = peer('inbound');
  stepPeer(s, { type: 'open', now: 0 });
  for (const c of ['tx', 'block', 'headers', 'getdata', 'ping', 'verack', 'whatever']) assert.equal(decodes(s, c), false, `${c} before version`);
  assert.equal(decodes(s, 'version'), true);
  // What is not decoded is ignored and counted, whatever its payload: no disconnect before version.
  assert.deepEqual(stepPeer(s, { type: 'undecoded', command: 'tx', now: 10 }), []);
  assert.deepEqual(stepPeer(s, { type: 'undecoded', command: 'headers', now: 10 }), []);
  assert.equal(s.ignored['message before version'], 2);
  assert.equal(s.lastRecv, 10, 'it still counts as received');
  msg(s, version(), 0);
  for (const c of ['verack', 'wtxidrelay', 'sendaddrv2']) assert.equal(decodes(s, c), true, `${c} before verack`);
  for (const c of ['tx', 'block', 'getdata', 'version', 'ping']) assert.equal(decodes(s, c), false, `${c} before verack`);
  assert.deepEqual(stepPeer(s, { type: 'undecoded', command: 'tx', now: 20 }), []);
  assert.equal(s.ignored['message before verack'], 1);
  msg(s, { command: 'verack' }, 0);
  for (const c of ['block', 'headers', 'getdata', 'ping', 'inv', 'addr']) assert.equal(decodes(s, c), true, `${c} when active`);
  assert.equal(decodes(s, 'version'), false);
  assert.equal(decodes(s, 'tx'), false);
  assert.deepEqual(stepPeer(s, { type: 'undecoded', command: 'version', now: 30 }), []);
  assert.equal(s.ignored['duplicate version'], 1);
  const d = disconnect(stepPeer(s, { type: 'undecoded', command: 'tx', now: 30 }));
  assert.ok(d && !d.misbehaving && /relay=false/.test(d.reason), 'a tx when active: disconnected, not punished');
  assert.equal(decodes(s, 'block'), false, 'nothing is decoded once closed');
});

test('getaddr is answered once, and only for inbound peers; block-relay-only peers never gossip addresses', () => {
  const inbound = peer('inbound');
  stepPeer(inbound, { type: 'open', now: 0 });
  msg(inbound, version(), 0);
  msg(inbound, { command: 'verack' }, 0);
  assert.equal(msg(inbound, { command: 'getaddr' })[0]?.kind, 'to-addressbook');
  assert.deepEqual(msg(inbound, { command: 'getaddr' }), []);
  const out = peer();
  stepPeer(out, { type: 'open', now: 0 });
  msg(out, version(), 0);
  msg(out, { command: 'verack' }, 0);
  assert.deepEqual(msg(out, { command: 'getaddr' }), []);
  const bro = peer('block-relay-only');
  stepPeer(bro, { type: 'open', now: 0 });
  assert.deepEqual(sent(msg(bro, version(), 0)).includes('getaddr'), false);
  msg(bro, { command: 'verack' }, 0);
  assert.deepEqual(msg(bro, { command: 'addr', addresses: [] }), []);
});

test('a feeler disconnects as soon as the version arrives, reporting success', () => {
  const s = peer('feeler');
  stepPeer(s, { type: 'open', now: 0 });
  const fx = msg(s, version(), 0);
  assert.ok(fx.some((e) => e.kind === 'ready'));
  assert.equal(disconnect(fx)?.misbehaving, false);
});

test("a peer's user agent is kept as Core's SanitizeString keeps it: no escape sequence or control character reaches a terminal", () => {
  assert.equal(sanitizeString('/Satoshi:30.0.0/'), '/Satoshi:30.0.0/');
  assert.equal(sanitizeString('\u001b]52;c;ZXZpbA==\u0007/evil:1.0/\u001b[2J\r\n\u00e9'), '52;c;ZXZpbA/evil:1.0/2J');
  assert.equal(sanitizeString('a (b) c,d;e-f_g/h:i?j@k.'), 'a (b) c,d;e-f_g/h:i?j@k.');
  const s = peer();
  msg(s, version({ userAgent: '/x:1/\u001b]0;owned\u0007' }));
  assert.equal(s.remote?.userAgent, '/x:1/0;owned');
});

/** An active peer of this kind (handshake done). */
function activePeer(connType: ConnType = 'outbound-full-relay', noban = false): PeerState {
  const s = initPeer({ id: 1, connType, noban, settings, localNonce: makeVersionNonce(settings.nonceKey), remoteAddress: addr, startHeight: 0, now: 1000 });
  stepPeer(s, { type: 'open', now: 1000 });
  msg(s, version());
  msg(s, { command: 'verack' });
  assert.equal(s.phase, 'active');
  return s;
}
const malformed = (s: PeerState, command: string, code: string, offset: number) =>
  stepPeer(s, { type: 'malformed', what: `${command}: ${code} at ${offset}`, command, code, offset, now: 3000 });

test('punishment table, peer rows: a list over its limit discourages; a locator over 101 disconnects; anything else undecodable is dropped (Core)', () => {
  for (const command of ['inv', 'getdata', 'headers', 'addr', 'addrv2']) {
    const d = disconnect(malformed(activePeer(), command, 'oversize', 0));
    assert.ok(d?.misbehaving, `${command} count over the limit: Misbehaving`);
  }
  for (const command of ['getheaders', 'getblocks']) {
    const d = disconnect(malformed(activePeer(), command, 'oversize', 4));
    assert.ok(d && !d.misbehaving, `${command} locator over 101: disconnect, not discouraged`);
  }
  // An addrv2 address over 512 bytes (oversize deep in the payload), a truncated block, a notfound over 50,000: Core's exception, caught.
  for (const [command, code, offset] of [['addrv2', 'oversize', 9], ['block', 'truncated', 80], ['notfound', 'oversize', 0], ['version', 'truncated', 3]] as const) {
    const s = activePeer();
    assert.equal(disconnect(malformed(s, command, code, offset)), undefined, `${command} ${code}: dropped, peer kept`);
    assert.equal(s.ignored['undecodable'], 1);
    assert.deepEqual(sent(msg(s, { command: 'ping', nonce: 5n })), ['pong'], 'still served');
  }
});

test('punishment table, framing rows: bad checksum and bad message type are dropped, a wrong magic or an oversize header disconnects without penalty', () => {
  for (const offence of ['bad-checksum', 'bad-command'] as const) {
    const s = activePeer();
    assert.equal(Object.getPrototypeOf(s.ignored), null, 'the ignored counts have no prototype');
    assert.deepEqual(stepPeer(s, { type: 'offence', offence, what: offence, now: 3000 }), []);
    assert.equal(s.ignored[offence], 1);
    assert.equal(s.phase, 'active');
  }
  for (const offence of ['bad-magic', 'frame-oversize', 'v2-transport-error'] as const) {
    const d = disconnect(stepPeer(activePeer(), { type: 'offence', offence, what: offence, now: 3000 }));
    assert.ok(d && !d.misbehaving, offence);
  }
});

test('punishment table, exemptions: manual and noban peers are never disconnected for misbehaviour; disconnect rows still apply to them (Core MaybeDiscourageAndDisconnect)', () => {
  for (const [connType, noban] of [['manual', false], ['inbound', true], ['outbound-full-relay', true]] as const) {
    const s = activePeer(connType, noban);
    assert.equal(disconnect(malformed(s, 'inv', 'oversize', 0)), undefined, `${connType}${noban ? ' noban' : ''}: kept`);
    assert.equal(s.ignored['list-too-long'], 1);
    const d = disconnect(msg(s, { command: 'wtxidrelay' }));
    assert.ok(d && !d.misbehaving, 'a protocol violation Core answers with fDisconnect closes even a manual or noban peer');
  }
  const inbound = activePeer('inbound');
  assert.ok(disconnect(malformed(inbound, 'inv', 'oversize', 0))?.misbehaving, 'an ordinary inbound peer is discouraged');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { defaults } from '../../src/config/options.js';
import { addnodeDelta, describeChange, diffSettings } from '../../src/config/reload.js';
import { levelFor, levelledLogger, parseLevelSpec } from '../../src/log.js';

test('diffSettings: nothing changed → nothing to apply, nothing to restart', () => {
  const plan = diffSettings(defaults(), defaults());
  assert.deepEqual(plan, { apply: [], needRestart: [] });
});

test('diffSettings: runtime options are applied, the others need a restart', () => {
  const old = { ...defaults(), addnode: ['10.0.0.1:8333'] };
  const next = {
    ...defaults(),
    'log-level': 'debug',
    maxrecvrate: 123456,
    peermaxsendrate: 1000,
    addnode: ['10.0.0.2:8333'],
    bind: ['127.0.0.1:0'],
    maxconnections: 10,
    network: 'regtest' as const,
    datadir: '/elsewhere',
  };
  const plan = diffSettings(old, next);
  assert.deepEqual(
    plan.apply.map((c) => c.name),
    ['addnode', 'log-level', 'maxrecvrate', 'peermaxsendrate'],
  );
  assert.deepEqual(
    plan.needRestart.map((c) => c.name),
    ['network', 'datadir', 'bind', 'maxconnections'],
  );
  const rate = plan.apply.find((c) => c.name === 'maxrecvrate');
  assert.deepEqual(rate, { name: 'maxrecvrate', from: 0, to: 123456 });
  assert.equal(describeChange(rate!), 'maxrecvrate (0 → 123456)');
  assert.equal(describeChange(plan.apply[0]), 'addnode ([10.0.0.1:8333] → [10.0.0.2:8333])');
});

test('diffSettings: reordered addnode is no change; reordered bind is (listener indexes move)', () => {
  const a = { ...defaults(), addnode: ['1.1.1.1:1', '2.2.2.2:2'], bind: ['127.0.0.1:1', '127.0.0.1:2'] };
  const b = { ...defaults(), addnode: ['2.2.2.2:2', '1.1.1.1:1'], bind: ['127.0.0.1:2', '127.0.0.1:1'] };
  const plan = diffSettings(a, b);
  assert.deepEqual(plan.apply, []);
  assert.deepEqual(
    plan.needRestart.map((c) => c.name),
    ['bind'],
  );
});

test('diffSettings is pure: its inputs are not changed', () => {
  const old = defaults();
  const next = { ...defaults(), maxsendrate: 5, addnode: ['1.2.3.4:5'] };
  const before = JSON.stringify([old, next]);
  diffSettings(old, next);
  assert.equal(JSON.stringify([old, next]), before);
});

test('addnodeDelta: the new ones to add, the dropped ones to remove', () => {
  assert.deepEqual(addnodeDelta(['a:1', 'b:2'], ['b:2', 'c:3']), { add: ['c:3'], remove: ['a:1'] });
  assert.deepEqual(addnodeDelta([], []), { add: [], remove: [] });
});

test('parseLevelSpec / levelFor: overall and per-component levels', () => {
  const s = parseLevelSpec('warn,peer=debug,connman=error');
  assert.equal(s.base, 'warn');
  assert.equal(levelFor(s, '/root/peers/peer-3'), 'debug');
  assert.equal(levelFor(s, '/root/connman'), 'error');
  assert.equal(levelFor(s, '/root/addressbook'), 'warn');
  assert.equal(levelFor(s, undefined), 'warn');
  assert.throws(() => parseLevelSpec('loud'), /unknown level "loud"/);
  assert.throws(() => parseLevelSpec('info,peer=shout'), /unknown level "shout"/);
});

test('levelledLogger: a level change reaches child loggers made before it, component levels included', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const l = levelledLogger(parseLevelSpec('info'), sink);
  const peer = l.logger.child({ actor: '/root/peers/peer-1' });
  const grandchild = peer.child({ sub: 1 });
  const connman = l.logger.child({ actor: '/root/connman' });
  peer.debug('hidden');
  assert.equal(lines.length, 0);
  l.setLevel(parseLevelSpec('warn,peer=debug'));
  assert.equal(l.logger.level, 'warn');
  assert.equal(peer.level, 'debug');
  assert.equal(grandchild.level, 'debug');
  assert.equal(connman.level, 'warn');
  peer.debug('shown');
  connman.info('hidden');
  assert.equal(lines.length, 1);
  assert.match(lines[0], /"msg":"shown"/);
  // Children made after the change get the spec too.
  assert.equal(l.logger.child({ actor: '/root/peers/peer-2' }).level, 'debug');
  l.setLevel(parseLevelSpec('error'));
  assert.equal(peer.level, 'error');
  assert.equal(connman.level, 'error');
});

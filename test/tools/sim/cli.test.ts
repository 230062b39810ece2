import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimReport } from '../../../src/tools/sim/run.js';
import { isLoopbackHost, parseHostPort } from '../../../src/tools/sim/run.js';
import { runPeerd as run } from '../../helpers/cli.js';



test('peerd sim --peers 20 --duration 3: exits 0, JSON report with 20 handshakes, none dropped, RTT figures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-simtest-'));
  try {
    const file = join(dir, 'sim.json');
    const r = await run(['sim', '--peers', '20', '--duration', '3', '--report', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ping RTT p50 \/ p99 \/ max/);
    const rep = JSON.parse(readFileSync(file, 'utf8')) as SimReport;
    assert.equal(rep.ok, true);
    assert.equal(rep.peers.requested, 20);
    assert.equal(rep.peers.handshakes, 20);
    assert.equal(rep.peers.failed, 0);
    assert.equal(rep.peers.dropped, 0);
    assert.ok(rep.rtt.samples > 0, JSON.stringify(rep.rtt));
    assert.equal(typeof rep.rtt.p50Ms, 'number');
    assert.equal(typeof rep.rtt.p99Ms, 'number');
    assert.ok(rep.rtt.p99Ms! >= rep.rtt.p50Ms!);
    assert.ok(rep.messages.pongs > 0 && rep.messages.perSecond > 0);
    assert.equal(typeof rep.node.rssKB, 'number');
    // The node's own loop delay, from getresources over its RPC.
    assert.equal(typeof rep.node.eventLoopDelayP99Ms, 'number');
    assert.ok(rep.node.eventLoopDelayP99Ms! >= 0);
    assert.match(rep.node.eventLoopDelayNote, /getresources/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('peerd sim refuses a non-loopback --connect with exit 2', async () => {
  const r = await run(['sim', '--peers', '5', '--connect', '8.8.8.8:8333']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /only targets loopback/);
  const bad = await run(['sim', '--peers', '5', '--ping-rate', '-1']);
  assert.equal(bad.code, 2);
});

test('loopback host checks', () => {
  for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['8.8.8.8', '10.0.0.1', '0.0.0.0', 'example.com', '::', '::ffff:8.8.8.8', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
  assert.deepEqual(parseHostPort('127.0.0.1:18444'), { host: '127.0.0.1', port: 18444 });
  assert.deepEqual(parseHostPort('[::1]:1'), { host: '::1', port: 1 });
  assert.equal(parseHostPort('127.0.0.1'), null);
  assert.equal(parseHostPort('127.0.0.1:70000'), null);
});

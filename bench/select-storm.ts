/**
 * The soak's select storm, reproduced without chaos: an in-process regtest node (no peers but
 * what it dials) whose address book holds N addresses that can never be dialled — 127.x.y.z:1,
 * one network group, a closed port, so every dial is refused at once — as 50 simulated peers
 * gossiping loopback addresses leave it. Measured over the window: `AddrMan.select` calls per
 * second and the time spent in them (the prototype is wrapped: same process), dials per second
 * (`AddrMan.attempt` calls), the process's CPU and the event-loop delay.
 *
 * By default every address starts as tried and failed a moment ago (the state a few minutes of
 * refused dials leave; `--fresh` skips that). With `--banned`, 127.0.0.0/8 is then banned: no
 * address at all can be offered (every selection round comes back empty).
 *
 *   npm run build && node dist/bench/select-storm.js [--addresses 80] [--seconds 20] [--tick 1000] [--fresh] [--banned]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ask, tell, type Ref } from '../supervisors/index.js';
import { AddrMan } from '../src/addressbook/addrman.js';
import type { AddressBookMsg, BanReply } from '../src/contracts/addressbook.js';
import { silentLogger } from '../src/log.js';
import { startNode } from '../src/node.js';
import type { PeerMsg } from '../src/contracts/peer.js';
import type { TimedNetAddress } from '../src/wire/address.js';

export interface StormResult {
  readonly addresses: number;
  readonly seconds: number;
  readonly selectsPerS: number;
  readonly selectMsPerS: number;
  readonly dialsPerS: number;
  readonly cpuPct: number;
  readonly loopP50Ms: number;
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
}

/** A peer ref that swallows everything (the fed batches are solicited: nothing is relayed to it). */
const nowhere = { path: '/bench/nowhere', name: 'nowhere', deliver: () => undefined } as unknown as Ref<PeerMsg>;

export async function storm(o: { addresses: number; seconds: number; tickMs: number; failed: boolean; banned?: boolean }): Promise<StormResult> {
  const proto = AddrMan.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const origSelect = proto.select as (...a: unknown[]) => unknown;
  const origAttempt = proto.attempt as (...a: unknown[]) => unknown;
  let selects = 0;
  let selectNs = 0n;
  let attempts = 0;
  proto.select = function (this: unknown, ...a: unknown[]) {
    selects++;
    const t = process.hrtime.bigint();
    try {
      return origSelect.apply(this, a);
    } finally {
      selectNs += process.hrtime.bigint() - t;
    }
  };
  proto.attempt = function (this: unknown, ...a: unknown[]) {
    attempts++;
    return origAttempt.apply(this, a);
  };
  const datadir = mkdtempSync(join(tmpdir(), 'peerd-storm-'));
  const node = await startNode({ network: 'regtest', datadir, dnsseed: false, bind: ['127.0.0.1:0'], logger: silentLogger(), tickMs: o.tickMs });
  try {
    const book = node.addressbook();
    const nowSec = Math.floor(Date.now() / 1000);
    let x = 0x12345678;
    const batch: TimedNetAddress[] = [];
    for (let i = 0; i < o.addresses; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const r = x >>> 0;
      batch.push({ network: 'ipv4', addr: Buffer.from([127, (r >>> 16) & 0xff || 1, (r >>> 8) & 0xff, r & 0xff || 1]), port: 1, services: 0x409n, time: nowSec - 60 });
    }
    // As the answer to our getaddr from an outbound peer: within its 1000 tokens, not relayed.
    for (let i = 0; i < batch.length; i += 900) {
      tell<AddressBookMsg>(book, { type: 'from-peer', peer: 1_000_000 + i, self: nowhere, msg: { command: 'addr', addresses: batch.slice(i, i + 900) }, connType: 'outbound-full-relay' });
    }
    if (o.failed) {
      // As after a few minutes of refused dials: every address tried (and failed) in the last 10 minutes.
      for (const a of batch) tell<AddressBookMsg>(book, { type: 'attempt', endpoint: { host: `127.${a.addr[1]}.${a.addr[2]}.${a.addr[3]}`, port: 1 }, ok: false, connType: 'outbound-full-relay' });
    }
    if (o.banned === true) await ask<AddressBookMsg, BanReply>(book, (replyTo) => ({ type: 'ban', subnet: '127.0.0.0/8', untilMs: Date.now() + 3_600_000, reason: 'bench', replyTo }), 5000);
    // Let the connection manager find them and settle into its steady state.
    await new Promise((r) => setTimeout(r, 3000));
    // As the soak measures it (src/util/resources.ts): 10 ms resolution, the resolution taken off.
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    selects = 0;
    selectNs = 0n;
    attempts = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    h.disable();
    return {
      addresses: o.addresses,
      seconds: s,
      selectsPerS: selects / s,
      selectMsPerS: Number(selectNs) / 1e6 / s,
      dialsPerS: attempts / s,
      cpuPct: ((cpu.user + cpu.system) / 1e6 / s) * 100,
      loopP50Ms: Math.max(0, h.percentile(50) / 1e6 - 10),
      loopP99Ms: Math.max(0, h.percentile(99) / 1e6 - 10),
      loopMaxMs: Math.max(0, h.max / 1e6 - 10),
    };
  } finally {
    proto.select = origSelect;
    proto.attempt = origAttempt;
    await node.stop();
    rmSync(datadir, { recursive: true, force: true });
  }
}

const direct = process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`;
if (direct) {
  const { values } = parseArgs({ options: { addresses: { type: 'string', default: '80' }, seconds: { type: 'string', default: '20' }, tick: { type: 'string', default: '1000' }, fresh: { type: 'boolean', default: false }, banned: { type: 'boolean', default: false } } });
  const r = await storm({ addresses: Number(values.addresses), seconds: Number(values.seconds), tickMs: Number(values.tick), failed: !values.fresh, banned: values.banned });
  process.stdout.write(
    `${r.addresses} unusable addresses${values.banned ? ' (banned)' : ''}, ${r.seconds.toFixed(1)} s: AddrMan.select ${r.selectsPerS.toFixed(0)}/s (${r.selectMsPerS.toFixed(1)} ms/s in select), ` +
      `dials ${r.dialsPerS.toFixed(1)}/s, CPU ${r.cpuPct.toFixed(1)} %, event-loop delay p50/p99/max ${r.loopP50Ms.toFixed(1)}/${r.loopP99Ms.toFixed(1)}/${r.loopMaxMs.toFixed(1)} ms\n`,
  );
}

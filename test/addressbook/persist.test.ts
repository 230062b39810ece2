/** The address book's journal records: the binary batch codec (round trip, fuzzed decoder) and a journal with bad records in a real LevelDB. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ClassicLevel } from 'classic-level';
import {
  appendAddrs,
  appendAttempt,
  appendTried,
  decodeAddrsRecord,
  decodeJournalRecord,
  encodeAddrsRecord,
  journalKey,
  loadJournal,
  writeSnapshot,
  JOURNAL_PREFIX,
  type AddrsRecord,
} from '../../src/addressbook/persist.js';
import type { Db } from '../../src/contracts/store.js';
import type { NetAddress, TimedNetAddress } from '../../src/wire/address.js';

const NETS = [
  { network: 'ipv4', len: 4 },
  { network: 'ipv6', len: 16 },
  { network: 'torv3', len: 32 },
  { network: 'i2p', len: 32 },
  { network: 'cjdns', len: 16 },
] as const;

const addrArb: fc.Arbitrary<TimedNetAddress> = fc
  .record({
    n: fc.integer({ min: 0, max: NETS.length - 1 }),
    bytes: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    port: fc.integer({ min: 0, max: 0xffff }),
    services: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    time: fc.integer({ min: 0, max: 0xffffffff }),
  })
  .map(({ n, bytes, port, services, time }) => {
    const net = NETS[n] ?? NETS[0];
    return { network: net.network, addr: Buffer.from(bytes.subarray(0, net.len)), port, services, time };
  });

const sourceArb: fc.Arbitrary<NetAddress> = fc
  .record({ v6: fc.boolean(), bytes: fc.uint8Array({ minLength: 16, maxLength: 16 }) })
  .map(({ v6, bytes }) => ({ network: v6 ? 'ipv6' : 'ipv4', addr: Buffer.from(bytes.subarray(0, v6 ? 16 : 4)), port: 0, services: 0n }));

const recordArb = fc.record({
  addrs: fc.array(addrArb, { maxLength: 40 }),
  source: sourceArb,
  penalty: fc.constantFrom(0, 7200),
  atSec: fc.integer({ min: 0, max: 0xffffffff }),
});

const plain = (r: Omit<AddrsRecord, 'kind'>) => ({
  source: `${r.source.network}/${r.source.addr.toString('hex')}`,
  penalty: r.penalty,
  atSec: r.atSec,
  addrs: r.addrs.map((a) => `${a.network}/${a.addr.toString('hex')}/${a.port}/${a.services}/${a.time}`),
});

test('property: a batch record decodes to what was encoded (every stored network, any services and times)', () => {
  fc.assert(
    fc.property(recordArb, (r) => {
      const back = decodeJournalRecord(encodeAddrsRecord(r));
      assert.ok(back !== null && back.kind === 'addrs');
      assert.deepEqual(plain(back), plain(r));
    }),
    { numRuns: 300 },
  );
});

test('a batch record leaves out addresses the address manager cannot store', () => {
  const ok: TimedNetAddress = { network: 'ipv4', addr: Buffer.from([5, 6, 7, 8]), port: 8333, services: 1n, time: 5 };
  const torv2: TimedNetAddress = { network: 'torv2', addr: Buffer.alloc(10, 1), port: 8333, services: 1n, time: 5 };
  const unknown: TimedNetAddress = { network: 77, addr: Buffer.alloc(3, 1), port: 8333, services: 1n, time: 5 };
  const back = decodeAddrsRecord(encodeAddrsRecord({ addrs: [torv2, ok, unknown], source: ok, penalty: 0, atSec: 9 }));
  assert.deepEqual(back?.addrs.map((a) => a.addr.toString('hex')), ['05060708']);
});

test('property (fuzz): the journal decoder never throws; garbage, flipped bits and truncations give null', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const r = decodeJournalRecord(Buffer.from(bytes));
      // Random bytes pass the SHA-256 check only by a 2^-32 accident.
      assert.ok(r === null || r.kind === 'tried' || r.kind === 'addrs');
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(recordArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (r, at, bit) => {
      const buf = encodeAddrsRecord(r);
      const flipped = Buffer.from(buf);
      flipped[at % buf.length] ^= 1 << bit;
      assert.equal(decodeJournalRecord(flipped), null, 'one flipped bit');
      assert.equal(decodeJournalRecord(buf.subarray(0, at % buf.length)), null, 'truncated');
      assert.equal(decodeJournalRecord(Buffer.concat([buf, Buffer.from([0])])), null, 'a byte too many');
    }),
    { numRuns: 300 },
  );
  // JSON that is not a tried record, and a tried record with missing parts.
  for (const s of ['{}', '{"kind":"tried"}', '{"kind":"tried","atSec":1,"addr":null,"source":null}', '{"kind":"other","atSec":1}', '{not json', 'null']) {
    assert.equal(decodeJournalRecord(Buffer.from(s)), null, s);
  }
});

async function withDb(fn: (db: Db) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'peerd-journal-'));
  const db = new ClassicLevel<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await db.open();
  try {
    await fn(db);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a journal with corrupt records: they are skipped and counted, the others come back in order', async () => {
  await withDb(async (db) => {
    const a = (i: number): TimedNetAddress => ({ network: 'ipv4', addr: Buffer.from([5, 6, 7, i]), port: 8333, services: 1n, time: 1000 + i });
    const src: NetAddress = { network: 'ipv4', addr: Buffer.from([9, 9, 9, 9]), port: 0, services: 0n };
    await appendAddrs(db, 0, { addrs: [a(1), a(2)], source: src, penalty: 7200, atSec: 100 });
    await db.put(journalKey(1), Buffer.from('garbage'));
    await appendTried(db, 2, { kind: 'tried', addr: a(1), source: src, atSec: 101 });
    const good = encodeAddrsRecord({ addrs: [a(3)], source: src, penalty: 0, atSec: 102 });
    const bad = Buffer.from(good);
    bad[10] ^= 0xff;
    await db.put(journalKey(3), bad);
    await db.put(journalKey(4), Buffer.alloc(0));
    await db.put(journalKey(5), good);
    await appendAttempt(db, 6, { addr: a(3), countFailure: true, atSec: 103 });
    await appendAttempt(db, 7, { addr: a(2), countFailure: false, atSec: 104 });
    await db.put(journalKey(8), Buffer.from('{"kind":"attempt","addr":null,"count":true,"atSec":1}'));
    const j = await loadJournal(db);
    assert.equal(j.bad, 4);
    assert.equal(j.nextSeq, 9);
    assert.deepEqual(
      j.records.map((r) =>
        r.kind === 'addrs'
          ? `addrs:${r.addrs.map((x) => x.addr[3]).join(',')}@${r.atSec}/${r.penalty}`
          : r.kind === 'tried'
            ? `tried:${r.addr.addr[3]}@${r.atSec}`
            : `attempt:${r.addr.addr[3]}:${r.countFailure}@${r.atSec}`,
      ),
      ['addrs:1,2@100/7200', 'tried:1@101', 'addrs:3@102/0', 'attempt:3:true@103', 'attempt:2:false@104'],
    );
    // The next snapshot takes every record before it away, bad ones included.
    await writeSnapshot(db, Buffer.from('snapshot'), j.nextSeq);
    const left: string[] = [];
    for await (const k of db.keys({ gte: JOURNAL_PREFIX, lt: `${JOURNAL_PREFIX}\xff` })) left.push(k);
    assert.deepEqual(left, []);
  });
});

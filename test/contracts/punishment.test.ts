/**
 * Core v30's punishment table (src/contracts/punishment.ts), row by row: what Core does for each
 * condition (each fact checked against Core's net.cpp / net_processing.cpp / headerssync.cpp and
 * its functional tests, cited in the row), what peerd does, the exemptions of manual and noban
 * peers, and the docs table (docs/differences.md) printed from the same data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PUNISHMENTS, discourageAddress, malformedOffence, punishmentFor, ruleOf, type Offence, type Punishment } from '../../src/contracts/punishment.js';
import type { ConnType } from '../../src/contracts/connection.js';
import { projectRoot } from '../helpers/fixtures.js';
import { section, tableRows } from '../helpers/markdown.js';

/** Core v30, row by row: the expected outcome for an ordinary outbound peer. */
const CORE_V30: Readonly<Record<Offence, Punishment>> = {
  'bad-magic': 'disconnect',
  'frame-oversize': 'disconnect',
  'v2-transport-error': 'disconnect',
  'bad-checksum': 'ignore',
  'bad-command': 'ignore',
  'unknown-command': 'ignore',
  undecodable: 'ignore',
  'list-too-long': 'discourage',
  'locator-too-long': 'disconnect',
  'before-version': 'ignore',
  'before-verack': 'ignore',
  'duplicate-handshake': 'ignore',
  'feature-after-verack': 'disconnect',
  'header-bad-pow': 'discourage',
  'headers-not-continuous': 'discourage',
  'header-invalid': 'discourage',
  'header-cached-invalid': 'discourage',
  'header-time-too-new': 'ignore',
  'headers-unconnecting': 'ignore',
  'headers-low-work': 'ignore',
  'presync-failed': 'ignore',
  'block-missing-prev': 'discourage',
  'block-low-work': 'ignore',
  'block-invalid': 'discourage',
  'getheaders-low-work': 'ignore',
  'getdata-below-prune': 'disconnect',
  'getdata-upload-target': 'disconnect',
};

const offences = Object.keys(PUNISHMENTS) as Offence[];
const OUTBOUND = { connType: 'outbound-full-relay', noban: false } as const;

test('every row says what Core v30 does, and peerd does the same', () => {
  assert.deepEqual(offences.slice().sort(), Object.keys(CORE_V30).sort(), 'the expectations cover the table');
  for (const o of offences) {
    const rule = ruleOf(o);
    assert.equal(rule.core, CORE_V30[o], `${o}: Core v30`);
    assert.equal(rule.peerd, rule.core, `${o}: peerd follows Core (a difference would need its reason)`);
    assert.equal(punishmentFor(o, OUTBOUND), CORE_V30[o], `${o}: an ordinary outbound peer`);
    assert.ok(rule.condition.length > 10 && rule.coreRef.length > 10, `${o}: condition and Core reference written`);
  }
});

test('manual and noban peers are never discouraged nor disconnected for misbehaviour; fDisconnect rows still apply (Core MaybeDiscourageAndDisconnect)', () => {
  const kinds: ConnType[] = ['inbound', 'outbound-full-relay', 'block-relay-only', 'manual', 'feeler', 'addr-fetch'];
  for (const o of offences) {
    for (const connType of kinds) {
      for (const noban of [false, true]) {
        const got = punishmentFor(o, { connType, noban });
        const row = CORE_V30[o];
        if (row !== 'discourage') assert.equal(got, row, `${o} ${connType} noban=${noban}`);
        else if (noban || connType === 'manual') assert.equal(got, 'ignore', `${o} ${connType} noban=${noban}: spared`);
        else if (o === 'header-cached-invalid' && connType === 'inbound') assert.equal(got, 'ignore', 'BLOCK_CACHED_INVALID: outbound only');
        else assert.equal(got, 'discourage', `${o} ${connType}`);
      }
    }
  }
});

test('who is discouraged once gone: never noban, manual or local peers (Core: local ones are disconnected, not discouraged)', () => {
  assert.equal(discourageAddress({ connType: 'inbound', noban: false, local: false }), true);
  assert.equal(discourageAddress({ connType: 'outbound-full-relay', noban: false, local: false }), true);
  assert.equal(discourageAddress({ connType: 'inbound', noban: true, local: false }), false);
  assert.equal(discourageAddress({ connType: 'manual', noban: false, local: false }), false);
  assert.equal(discourageAddress({ connType: 'inbound', noban: false, local: true }), false);
});

test('an undecodable payload: a counted list over its limit, a long locator, or anything else', () => {
  for (const c of ['inv', 'getdata', 'headers', 'addr', 'addrv2']) assert.equal(malformedOffence(c, 'oversize', 0), 'list-too-long', c);
  assert.equal(malformedOffence('notfound', 'oversize', 0), 'undecodable', 'Core reads a long notfound and ignores it');
  assert.equal(malformedOffence('addrv2', 'oversize', 12), 'undecodable', 'an address over 512 bytes: Core throws, the message is dropped');
  assert.equal(malformedOffence('getheaders', 'oversize', 4), 'locator-too-long');
  assert.equal(malformedOffence('getblocks', 'oversize', 4), 'locator-too-long');
  assert.equal(malformedOffence('inv', 'truncated', 0), 'undecodable');
  assert.equal(malformedOffence('version', 'non-canonical', 80), 'undecodable');
});

test('docs/differences.md prints this table, row for row', () => {
  const md = readFileSync(join(projectRoot(), 'docs/differences.md'), 'utf8');
  const rows = tableRows(section(md, 'Punishment: Core v30’s table'));
  assert.deepEqual(rows[0], ['offence', 'condition', 'Core v30', 'peerd']);
  const body = rows.slice(1);
  assert.deepEqual(
    body.map((r) => r[0]),
    offences.map((o) => `\`${o}\``),
    'one row per offence, in the table’s order',
  );
  for (const [i, o] of offences.entries()) {
    const rule = ruleOf(o);
    const outbound = rule.outboundOnly === true ? `${rule.core} (outbound peers only)` : rule.core;
    assert.equal(body[i][1], rule.condition, `${o}: condition`);
    assert.equal(body[i][2], outbound, `${o}: Core v30`);
    assert.equal(body[i][3], rule.outboundOnly === true ? `${rule.peerd} (outbound peers only)` : rule.peerd, `${o}: peerd`);
  }
});

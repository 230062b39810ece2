/** BIP324 message types: Core v30's short-id table, the 12-byte form, and what Core rejects. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { V2_MESSAGE_IDS, decodeContents, messageTypeSize, shortMessageId, writeMessageType } from '../../../src/wire/v2/message-type.js';

test("the short-id table is BIP324's 1..28 (Core v30 keeps 29..32 unimplemented)", () => {
  assert.equal(V2_MESSAGE_IDS.length, 33);
  assert.deepEqual(V2_MESSAGE_IDS.slice(1, 5), ['addr', 'block', 'blocktxn', 'cmpctblock']);
  assert.equal(shortMessageId('ping'), 18);
  assert.equal(shortMessageId('pong'), 19);
  assert.equal(shortMessageId('tx'), 21);
  assert.equal(shortMessageId('addrv2'), 28);
  for (const long of ['version', 'verack', 'sendaddrv2', 'wtxidrelay', 'getaddr', 'sendheaders', '']) assert.equal(shortMessageId(long), undefined, long);
});

test('every type encodes and decodes back, payload a view of the contents', () => {
  for (const cmd of [...V2_MESSAGE_IDS.filter((n) => n !== ''), 'version', 'verack', 'sendtxrcncl', 'abcdefghijkl']) {
    const payload = Buffer.from([1, 2, 3]);
    const contents = Buffer.alloc(messageTypeSize(cmd) + payload.length);
    const n = writeMessageType(contents, 0, cmd);
    assert.equal(n, messageTypeSize(cmd));
    payload.copy(contents, n);
    const d = decodeContents(contents);
    assert.ok(d.ok, cmd);
    assert.equal(d.command, cmd);
    assert.ok(d.payload.equals(payload));
    assert.equal(d.payload.buffer, contents.buffer);
  }
  assert.throws(() => writeMessageType(Buffer.alloc(13), 0, 'caf\u00e9'), TypeError);
});

test('undecodable contents say why', () => {
  const bad: [number[], RegExp][] = [
    [[], /empty contents/],
    [[33], /unknown short message id 33/],
    [[29], /unknown short message id 29/],
    [[0, 0x70, 0x69], /needs 12 bytes/],
    [[0, ...Array(12).fill(0)], /empty message type/],
    [[0, 0x70, 0, 0x70, ...Array(9).fill(0)], /after its NUL/],
    [[0, 0x80, ...Array(11).fill(0)], /not ASCII/],
  ];
  for (const [bytes, why] of bad) {
    const d = decodeContents(Buffer.from(bytes));
    assert.ok(!d.ok);
    assert.match(d.reason, why);
  }
});

/**
 * BIP324's published test vectors (bitcoin/bips, bip-0324/*.csv, copied under
 * test/fixtures/bip324/): ElligatorSwift decoding, XSwiftECInv for all 8 cases, and packet
 * encoding from private key to ciphertext, including packets after 223, 448, 673 and 1024
 * earlier packets (so both rekeying ciphers have turned over several times) and contents of up
 * to 2²⁴-1 bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  bigIntTo32,
  bip324SharedSecret,
  bytesToBigInt,
  ellswiftDecode,
  ellswiftEcdhXonly,
  xswiftec,
  xswiftecInv,
} from '../../../src/wire/v2/ellswift.js';
import { deriveV2Keys } from '../../../src/wire/v2/keys.js';
import { V2PacketCipher } from '../../../src/wire/v2/cipher.js';
import { hex, readVectors } from './vectors.js';

const MAINNET_MAGIC = hex('f9beb4d9');

test('ellswift_decode_test_vectors.csv: every encoding decodes to its X coordinate', () => {
  const rows = readVectors('ellswift_decode_test_vectors.csv');
  assert.equal(rows.length, 76);
  for (const r of rows) assert.equal(ellswiftDecode(hex(r.ellswift)).toString('hex'), r.x, r.comment);
});

test('xswiftec_inv_test_vectors.csv: XSwiftECInv gives the listed t (or none) for each of the 8 cases, and t decodes back to x', () => {
  const rows = readVectors('xswiftec_inv_test_vectors.csv');
  assert.equal(rows.length, 32);
  let found = 0;
  for (const r of rows) {
    const u = bytesToBigInt(hex(r.u));
    const x = bytesToBigInt(hex(r.x));
    for (let c = 0; c < 8; c++) {
      const t = xswiftecInv(x, u, c);
      const want = r[`case${c}_t`];
      if (want === '') {
        assert.equal(t, null, `u=${r.u} case ${c}: expected none (${r.comment})`);
      } else {
        assert.notEqual(t, null, `u=${r.u} case ${c}: expected ${want}`);
        assert.equal(bigIntTo32(t!).toString('hex'), want, `u=${r.u} case ${c}`);
        assert.equal(xswiftec(u, t!), x, `u=${r.u} case ${c}: decodes back`);
        found++;
      }
    }
  }
  assert.ok(found > 50, `${found} inverses checked`);
});

test('packet_encoding_test_vectors.csv: ECDH, shared secret, keys, terminators, session id and the packet after in_idx others', () => {
  const rows = readVectors('packet_encoding_test_vectors.csv');
  assert.equal(rows.length, 7);
  const idxs: number[] = [];
  for (const r of rows) {
    const initiating = r.in_initiating === '1';
    const priv = hex(r.in_priv_ours);
    const ours = hex(r.in_ellswift_ours);
    const theirs = hex(r.in_ellswift_theirs);
    const at = `in_idx ${r.in_idx}`;
    assert.equal(Buffer.from(secp256k1.getPublicKey(priv, true)).subarray(1).toString('hex'), r.mid_x_ours, at);
    assert.equal(ellswiftDecode(ours).toString('hex'), r.mid_x_ours, at);
    assert.equal(ellswiftDecode(theirs).toString('hex'), r.mid_x_theirs, at);
    assert.equal(ellswiftEcdhXonly(theirs, priv).toString('hex'), r.mid_x_shared, at);
    const secret = bip324SharedSecret(priv, theirs, ours, initiating);
    assert.equal(secret.toString('hex'), r.mid_shared_secret, at);
    const keys = deriveV2Keys(secret, MAINNET_MAGIC);
    assert.equal(keys.initiatorL.toString('hex'), r.mid_initiator_l, at);
    assert.equal(keys.initiatorP.toString('hex'), r.mid_initiator_p, at);
    assert.equal(keys.responderL.toString('hex'), r.mid_responder_l, at);
    assert.equal(keys.responderP.toString('hex'), r.mid_responder_p, at);
    assert.equal(keys.sessionId.toString('hex'), r.out_session_id, at);
    const cipher = V2PacketCipher.fromHandshake({ privateKey: priv, ellswiftOurs: ours, ellswiftTheirs: theirs, initiating, magic: MAINNET_MAGIC });
    assert.equal(cipher.sendGarbageTerminator.toString('hex'), r.mid_send_garbage_terminator, at);
    assert.equal(cipher.recvGarbageTerminator.toString('hex'), r.mid_recv_garbage_terminator, at);
    assert.equal(cipher.sessionId.toString('hex'), r.out_session_id, at);

    const idx = Number(r.in_idx);
    idxs.push(idx);
    for (let i = 0; i < idx; i++) cipher.encrypt(Buffer.alloc(0));
    const unit = hex(r.in_contents);
    const contents = Buffer.alloc(unit.length * Number(r.in_multiply));
    for (let p = 0; p < contents.length; p += unit.length) unit.copy(contents, p);
    const ct = cipher.encrypt(contents, hex(r.in_aad), r.in_ignore === '1').toString('hex');
    if (r.out_ciphertext !== '') assert.equal(ct, r.out_ciphertext, at);
    if (r.out_ciphertext_endswith !== '') assert.ok(ct.endsWith(r.out_ciphertext_endswith), `${at}: ciphertext ends with the vector's tail`);
  }
  assert.deepEqual(idxs, [1, 999, 0, 223, 448, 673, 1024]);
});

test('packet_encoding_test_vectors.csv decrypted: a receiver with the mirrored keys gets the contents, the ignore bit and the AAD check back', () => {
  for (const r of readVectors('packet_encoding_test_vectors.csv')) {
    const initiating = r.in_initiating === '1';
    const secret = hex(r.mid_shared_secret);
    const keys = deriveV2Keys(secret, MAINNET_MAGIC);
    const sender = new V2PacketCipher(keys, initiating);
    const receiver = new V2PacketCipher(keys, !initiating);
    const idx = Number(r.in_idx);
    for (let i = 0; i < idx; i++) {
      const p = sender.encrypt(Buffer.alloc(0));
      assert.equal(receiver.decryptLength(p), 0);
      assert.deepEqual(receiver.decrypt(p.subarray(3))?.contents, Buffer.alloc(0));
    }
    const unit = hex(r.in_contents);
    const contents = Buffer.alloc(unit.length * Number(r.in_multiply));
    for (let p = 0; p < contents.length; p += unit.length) unit.copy(contents, p);
    const aad = hex(r.in_aad);
    const packet = sender.encrypt(contents, aad, r.in_ignore === '1');
    assert.equal(receiver.decryptLength(packet), contents.length);
    const got = receiver.decrypt(packet.subarray(3), aad);
    assert.ok(got !== null, `in_idx ${idx}: authenticates`);
    assert.equal(got.ignore, r.in_ignore === '1');
    assert.ok(got.contents.equals(contents), `in_idx ${idx}: contents`);
  }
});

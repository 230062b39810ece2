import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BLOCK_SERIALIZED_SIZE, UPLOAD_TIMEFRAME_S, uploadStatus, uploadTarget } from '../../src/throttle/upload-target.js';

const MB = 1024 * 1024;

test('no target: nothing is ever reached', () => {
  const u = uploadTarget(0);
  const s = uploadStatus(u, 10 ** 12, Date.now());
  assert.equal(s.target, 0);
  assert.equal(s.target_reached, false);
  assert.equal(s.serve_historical_blocks, true);
});

test('a cycle of 24 h from the first reading; the buffer of one block per 10 minutes left is kept for new blocks', () => {
  const t0 = 1_700_000_000_000;
  const u = uploadTarget(1000 * MB);
  // Bytes sent before the cycle started do not count.
  let s = uploadStatus(u, 5 * MB, t0);
  assert.equal(s.bytes_left_in_cycle, 1000 * MB);
  assert.equal(s.time_left_in_cycle, UPLOAD_TIMEFRAME_S);
  assert.equal(s.serve_historical_blocks, true);
  // At the start, the buffer is 144 blocks (576 MB): historical serving stops past 424 MB sent.
  const buffer = 144 * MAX_BLOCK_SERIALIZED_SIZE;
  s = uploadStatus(u, 5 * MB + (1000 * MB - buffer) - 1, t0);
  assert.equal(s.serve_historical_blocks, true);
  s = uploadStatus(u, 5 * MB + (1000 * MB - buffer), t0);
  assert.equal(s.serve_historical_blocks, false, 'historical blocks stop at target − buffer');
  assert.equal(s.target_reached, false, 'the target itself is not reached yet');
  // Later in the cycle the buffer is smaller: historical serving comes back.
  s = uploadStatus(u, 5 * MB + (1000 * MB - buffer), t0 + 20 * 3600 * 1000);
  assert.equal(s.serve_historical_blocks, true);
  assert.equal(s.time_left_in_cycle, 4 * 3600);
  s = uploadStatus(u, 5 * MB + 1000 * MB, t0 + 20 * 3600 * 1000);
  assert.equal(s.target_reached, true);
  assert.equal(s.bytes_left_in_cycle, 0);
  // A new cycle after 24 h: the count starts again from the bytes sent then.
  s = uploadStatus(u, 5 * MB + 1000 * MB, t0 + UPLOAD_TIMEFRAME_S * 1000);
  assert.equal(s.target_reached, false);
  assert.equal(s.bytes_left_in_cycle, 1000 * MB);
});

test('a target below the buffer (576 MB) never serves historical blocks, as Core', () => {
  const s = uploadStatus(uploadTarget(100 * MB), 0, Date.now());
  assert.equal(s.serve_historical_blocks, false);
  assert.equal(s.target_reached, false);
  assert.throws(() => uploadTarget(-1), RangeError);
});

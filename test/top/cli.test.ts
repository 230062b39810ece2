import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPeerd } from '../helpers/cli.js';

test('peerd top: registered with the connection flags and --interval; refuses a bad interval and a non-terminal', async () => {
  const help = await runPeerd(['top', '--help']);
  assert.equal(help.code, 0);
  for (const flag of ['--interval', '--network', '--datadir', '--rpcport', '--rpcconnect', '--rpcuser', '--rpcpassword', '--rpccookiefile']) assert.match(help.stdout, new RegExp(flag), flag);

  const bad = await runPeerd(['top', '--interval', 'fast']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--interval must be a whole number of milliseconds/);

  // the helper's stdin is not a terminal: top says so instead of drawing garbage
  const notty = await runPeerd(['top', '--network', 'regtest', '--rpcport', '1', '--rpcpassword', 'x']);
  assert.equal(notty.code, 1);
  assert.match(notty.stderr, /peerd top needs a terminal/);
});

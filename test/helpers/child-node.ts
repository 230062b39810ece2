/**
 * A node in a child process, for tests that must `kill -9` a real process. Started as
 * `PEERD_CHILD_NODE=1 node dist/test/helpers/child-node.js DATADIR [ADDNODE…]`: a regtest node on
 * 127.0.0.1:0 (no DNS seeds) that prints `{"ready":true,"port":N}` and then answers one JSON
 * command per stdin line with one JSON line (`{"id":…,"result":…}`): `ban` (subnet, seconds),
 * `bans`, `info`, `addresses`. It is the RPC-less path into the address book. Does nothing when
 * imported (the test runner may load it) without the environment variable.
 */
import { createInterface } from 'node:readline';
import { ask } from '../../supervisors/index.js';
import { startNode } from '../../src/node.js';
import { silentLogger } from '../../src/log.js';
import type { AddressBookMsg, AddrmanInfo, BanEntryJson, BanReply, NodeAddressJson } from '../../src/contracts/addressbook.js';

interface Command {
  readonly id: number;
  readonly op: 'ban' | 'bans' | 'info' | 'addresses';
  readonly subnet?: string;
  readonly seconds?: number;
}

async function main(): Promise<void> {
  const [datadir, ...addnode] = process.argv.slice(2);
  if (datadir === undefined) throw new Error('usage: child-node DATADIR [ADDNODE…]');
  const node = await startNode({ network: 'regtest', datadir, dnsseed: false, bind: ['127.0.0.1:0'], addnode, logger: silentLogger(), tickMs: 100 });
  const [addr] = await node.listening();
  process.stdout.write(`${JSON.stringify({ ready: true, port: addr?.port ?? 0 })}\n`);
  const book = node.addressbook();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const c = JSON.parse(line) as Command;
    const reply = (result: unknown): void => void process.stdout.write(`${JSON.stringify({ id: c.id, result })}\n`);
    const fail = (err: unknown): void => reply({ error: String(err) });
    switch (c.op) {
      case 'ban':
        ask<AddressBookMsg, BanReply>(book, (replyTo) => ({ type: 'ban', subnet: c.subnet ?? '', untilMs: Date.now() + (c.seconds ?? 3600) * 1000, reason: 'test', replyTo }), 5000).then(reply, fail);
        break;
      case 'bans':
        ask<AddressBookMsg, BanEntryJson[]>(book, (replyTo) => ({ type: 'list-bans', replyTo }), 5000).then(reply, fail);
        break;
      case 'info':
        ask<AddressBookMsg, AddrmanInfo>(book, (replyTo) => ({ type: 'info', replyTo }), 5000).then(reply, fail);
        break;
      case 'addresses':
        ask<AddressBookMsg, NodeAddressJson[]>(book, (replyTo) => ({ type: 'node-addresses', count: 0, replyTo }), 5000).then(reply, fail);
        break;
    }
  });
  process.once('SIGTERM', () => void node.stop().then(() => process.exit(0)));
}

if (process.env.PEERD_CHILD_NODE === '1') {
  main().catch((err: unknown) => {
    process.stderr.write(`child-node: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}

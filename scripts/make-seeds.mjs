#!/usr/bin/env node
// Writes a fixed seed list (src/addressbook/seeds/<network>.txt) from Bitcoin Core's
// contrib/seeds/nodes_<network>.txt (one `host:port` a line, `#` comments) or from a
// `getnodeaddresses 0` JSON dump of a running node. Every entry goes through peerd's own address
// parser and is refused if it is not a valid, publicly routable address (loopback, private and
// reserved ranges, port 0 outside I2P); duplicates are dropped. The output groups the entries by
// network (ipv4, ipv6, onion, i2p, cjdns), each group in the order of the input.
//
//   npm run build
//   node scripts/make-seeds.mjs --network main --in nodes_main.txt --source "Bitcoin Core contrib/seeds/nodes_main.txt @ <commit>"
//   bitcoin-cli getnodeaddresses 0 > dump.json && node scripts/make-seeds.mjs --network signet --in dump.json
//
// Options: --network main|testnet3|testnet4|signet (required), --in FILE (required; .json = a
// getnodeaddresses dump), --out FILE (default src/addressbook/seeds/<network>.txt; - = stdout),
// --source TEXT (the provenance line written into the file), --skip-invalid (drop bad entries
// with a warning instead of failing). It exits 1 on a bad entry without --skip-invalid.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
let seeds;
let network;
try {
  seeds = await import(new URL('../dist/src/addressbook/seeds.js', import.meta.url).href);
  network = await import(new URL('../dist/src/wire/network.js', import.meta.url).href);
} catch {
  process.stderr.write('make-seeds: dist/ is missing or stale: run `npm run build` first\n');
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    network: { type: 'string' },
    in: { type: 'string' },
    out: { type: 'string' },
    source: { type: 'string' },
    'skip-invalid': { type: 'boolean', default: false },
  },
});
const fail = (msg) => {
  process.stderr.write(`make-seeds: ${msg}\n`);
  process.exit(1);
};
if (!values.network || !seeds.SEEDED_NETWORKS.includes(values.network)) fail(`--network must be one of ${seeds.SEEDED_NETWORKS.join(', ')}`);
if (!values.in) fail('--in FILE is required (Core nodes_<network>.txt, or a getnodeaddresses .json dump)');
const params = network.networkParams(values.network);
const raw = readFileSync(values.in, 'utf8');

/** getnodeaddresses entries → `host:port` lines (IPv6 and CJDNS in brackets). */
function fromDump(text) {
  const list = JSON.parse(text);
  if (!Array.isArray(list)) fail(`${values.in}: not a getnodeaddresses array`);
  return list
    .map((e) => (e.network === 'ipv6' || e.network === 'cjdns' ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`))
    .join('\n');
}

const text = values.in.endsWith('.json') ? fromDump(raw) : raw;
const parsed = seeds.parseSeedList(text, params.defaultPort);
for (const p of parsed.problems) process.stderr.write(`make-seeds: ${values.in}:${p.line}: ${p.text}: ${p.reason}\n`);
if (parsed.problems.length > 0 && !values['skip-invalid']) fail(`${parsed.problems.length} bad entries (use --skip-invalid to drop them)`);

const groups = new Map(seeds.SEED_NETWORK_ORDER.map((n) => [n, []]));
for (const a of parsed.addrs) groups.get(seeds.seedNetwork(a)).push(seeds.formatSeed(a));
const counts = seeds.seedCounts(parsed.addrs);
const header = [
  `# peerd fixed seeds for ${values.network} (default port ${params.defaultPort}): written by scripts/make-seeds.mjs, do not edit by hand.`,
  `# Source: ${values.source ?? values.in}`,
  `# ${seeds.SEED_NETWORK_ORDER.map((n) => `${n} ${counts[n]}`).join(', ')}; ${parsed.addrs.length} in all.`,
  '# One host:port a line; an address in fc00::/8 is CJDNS.',
];
const body = [...groups.values()].flat();
const out = `${[...header, ...body].join('\n')}\n`;
const dest = values.out ?? `${root}src/addressbook/seeds/${values.network}.txt`;
if (dest === '-') process.stdout.write(out);
else writeFileSync(dest, out);
process.stderr.write(
  `make-seeds: ${parsed.addrs.length} seeds (${seeds.SEED_NETWORK_ORDER.map((n) => `${n} ${counts[n]}`).join(', ')}), ${parsed.duplicates} duplicates dropped, ${parsed.problems.length} bad${dest === '-' ? '' : ` → ${dest}`}\n`,
);

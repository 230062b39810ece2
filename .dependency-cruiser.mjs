// The shape of the code, checked by `npm run lint` (docs/ARCHITECTURE.md, "Layers"):
//
//   wire ← base (util, config, netaddress, throttle, rpc, log) ← supervisors ← contracts
//        ← actors (peer, addressbook, chain, connman, store, control, inspect) ← node
//        ← tools (src/tools/: chaos, sim, soak, testnet, chain; and src/top/) ← commands
//
// Every import is counted, `import type` included: a cycle of types is still two modules that
// cannot be understood, changed or moved apart. Tests and benchmarks may import anything.

const WIRE = '^src/wire/';
const BASE = '^src/(util|config|netaddress|throttle|rpc)/|^src/log(-output)?[.]ts$';
const SUPERVISORS = '^supervisors/';
const CONTRACTS = '^src/contracts/';
const ACTORS = '^src/(peer|addressbook|chain|connman|store|control|inspect)/';
const NODE = '^src/(node|tree|index)[.]ts$';
const TOOLS = '^src/(tools|top)/';
const COMMANDS = '^src/commands/|^src/cli[.]ts$';
const OURS = '^(src|supervisors)/';

export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle (type-only imports count): split out what both sides need, usually into a contract.',
      from: { path: OURS },
      to: { circular: true },
    },
    {
      name: 'wire-is-the-bottom',
      severity: 'error',
      comment: 'src/wire/ is the pure codec: it imports nothing else of ours.',
      from: { path: WIRE },
      to: { path: OURS, pathNot: WIRE },
    },
    {
      name: 'base-imports-only-wire',
      severity: 'error',
      comment: 'util, config, netaddress, throttle, rpc and the logger sit on the wire and on each other only.',
      from: { path: BASE },
      to: { path: OURS, pathNot: [WIRE, BASE] },
    },
    {
      name: 'supervisors-is-a-library',
      severity: 'error',
      comment: 'supervisors/ imports nothing from src/ (it is a library another project could take).',
      from: { path: SUPERVISORS },
      to: { path: '^src/' },
    },
    {
      name: 'contracts-import-no-actor',
      severity: 'error',
      comment: 'A contract (messages, replies, typed name) imports only wire, base, supervisors and other contracts.',
      from: { path: CONTRACTS },
      to: { path: OURS, pathNot: [WIRE, BASE, SUPERVISORS, CONTRACTS] },
    },
    {
      name: 'actors-meet-through-contracts',
      severity: 'error',
      comment: "An actor's folder imports no other actor's folder: what they share is in src/contracts/.",
      from: { path: ACTORS },
      to: { path: ACTORS, pathNot: '^src/$1/' },
    },
    {
      name: 'actors-below-the-node',
      severity: 'error',
      comment: 'Actors import neither the node (node.ts, tree.ts, index.ts) nor the commands above it.',
      from: { path: ACTORS },
      to: { path: [NODE, COMMANDS] },
    },
    {
      name: 'actors-never-import-tools',
      severity: 'error',
      comment:
        'The tools (src/tools/: chaos, sim, soak, the test network, the chain generator and stub peer; src/top/) ' +
        "are not part of the node: no actor or contract imports them. What a tool and an actor share belongs below both.",
      from: { path: [ACTORS, CONTRACTS] },
      to: { path: TOOLS },
    },
    {
      name: 'node-below-the-tools',
      severity: 'error',
      comment: 'The node does not import the tools or the commands.',
      from: { path: NODE },
      to: { path: [TOOLS, COMMANDS] },
    },
    {
      name: 'tools-reach-actors-through-contracts',
      severity: 'error',
      comment: 'Tools (src/tools/, src/top/) reach actors through contracts, the node handle or RPC, never their folders.',
      from: { path: TOOLS },
      to: { path: [ACTORS, COMMANDS] },
    },
    {
      name: 'commands-reach-actors-through-contracts',
      severity: 'error',
      comment:
        'The CLI reaches actors through contracts, the node handle or RPC. control/methods.ts is the RPC method table: ' +
        '`peerd rpc` reads its parameter types to convert arguments as bitcoin-cli does.',
      from: { path: COMMANDS },
      to: { path: ACTORS, pathNot: '^src/control/methods[.]ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/inspect/static/' },
    // Type-only imports are dependencies too (see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Imports name the compiled `.js`; resolve them to the `.ts` beside them.
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js'] },
  },
};

/**
 * Bitcoin Core v30's message types (protocol.h `ALL_NET_MESSAGE_TYPES`): the names it counts under
 * their own key in `bytesrecv_per_msg`/`bytessent_per_msg`. Any other command a peer sends is
 * counted under `*other*` (`NET_MESSAGE_TYPE_OTHER`), so a peer cannot grow the table.
 */
export const CORE_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'version', 'verack', 'addr', 'addrv2', 'sendaddrv2', 'inv', 'getdata', 'merkleblock', 'getblocks', 'getheaders', 'tx',
  'headers', 'block', 'getaddr', 'mempool', 'ping', 'pong', 'notfound', 'filterload', 'filteradd', 'filterclear',
  'sendheaders', 'feefilter', 'sendcmpct', 'cmpctblock', 'getblocktxn', 'blocktxn', 'getcfilters', 'cfilter',
  'getcfheaders', 'cfheaders', 'getcfcheckpt', 'cfcheckpt', 'wtxidrelay', 'sendtxrcncl',
]);

/** Core's `NET_MESSAGE_TYPE_OTHER`. */
export const OTHER_MESSAGE_TYPE = '*other*';

/** The key a command is counted under: its own name when Core knows it, else `*other*`. */
export function countedType(command: string): string {
  return CORE_MESSAGE_TYPES.has(command) ? command : OTHER_MESSAGE_TYPE;
}

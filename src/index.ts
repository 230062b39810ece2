// The library entry point: `import { startNode, wire } from 'peerd'`.
export { startNode, parseEndpoint, USER_AGENT, type NodeHandle, type NodeOptions } from './node.js';
export type { Settings } from './config/options.js';
export { ConfigError } from './config/load.js';
export type { PeerInfo } from './contracts/peer.js';
export type { DisconnectRecord } from './contracts/connman.js';
export type { ConnType, Endpoint } from './contracts/connection.js';
export type { ConnmanEvents } from './contracts/connman.js';
export * as wire from './wire/index.js';

// The library entry point: `import { startNode, wire } from 'peerd'`.
export { startNode, parseEndpoint, USER_AGENT, type NodeHandle, type NodeOptions } from './node.js';
export type { Settings } from './config/options.js';
export { ConfigError } from './config/load.js';
export type { PeerInfo } from './peer/actor.js';
export type { DisconnectRecord } from './connman/logic.js';
export type { ConnType, Endpoint } from './contracts/connection.js';
export type { ConnmanEvents } from './connman/actor.js';
export * as wire from './wire/index.js';

/**
 * BIP324, the v2 encrypted P2P transport: the pure, I/O-free core. The peer actor uses
 * {@link V2Transport} (one per connection, beside the v1 FrameDecoder); the rest is exported for
 * tests, tools and benchmarks.
 */
export * from './ellswift.js';
export * from './keys.js';
export * from './fschacha.js';
export * from './cipher.js';
export * from './message-type.js';
export * from './transport.js';

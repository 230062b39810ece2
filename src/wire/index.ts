export * from './errors.js';
export * from './buffer.js';
export * from './hash.js';
export * from './tx.js';
export * from './merkle.js';
export * from './block.js';
export * from './pow.js';
export * from './network.js';

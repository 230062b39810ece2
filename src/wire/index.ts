export * from './errors.js';
export * from './buffer.js';
export * from './hash.js';

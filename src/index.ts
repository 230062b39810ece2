// The library entry point: `import { … } from 'peerd'`.
export * as wire from './wire/index.js';

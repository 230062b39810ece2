export * from './scheduler.js';
export * from './target.js';
export * from './runner.js';
export * from './report.js';
export * from './leaks.js';

// Copies the inspector's page (src/inspect/static) next to its compiled server in dist, so the
// package carries it and the server finds it relative to its own module.
import { cpSync } from 'node:fs';
cpSync('src/inspect/static', 'dist/src/inspect/static', { recursive: true });

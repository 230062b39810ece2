// Copies the inspector's page (src/inspect/static) next to its compiled server in dist, so the
// package carries it and the server finds it relative to its own module; likewise the fixed seeds.
import { cpSync } from 'node:fs';
cpSync('src/inspect/static', 'dist/src/inspect/static', { recursive: true });
// The fixed seed lists (src/addressbook/seeds.ts reads them next to itself).
cpSync('src/addressbook/seeds', 'dist/src/addressbook/seeds', { recursive: true });

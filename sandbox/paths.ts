import path from 'node:path';

// Project-local state for the sandbox (Temporal DB, Samba DC, CA). Override with TUNNUS_STATE_DIR.
export const repoRoot = path.resolve(__dirname, '..');
export const stateDir = path.resolve(process.env.TUNNUS_STATE_DIR ?? path.join(repoRoot, '.state'));

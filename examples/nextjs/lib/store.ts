// The demo's user store: users, sessions and the service's events, in one JSON file under
// APP_DATA_DIR (.data/, git-ignored). Read on every use and written whole (a rename, so a reader
// never sees half a file): enough for a demo, not for production (use your database).
import 'server-only';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { config } from './config';

export type User = { id: string; name: string; createdAt: number };
export type StoredEvent = { id: string; type: string; time: string; detail: Record<string, unknown> };
type Data = {
  users: Record<string, User>; // by name
  sessions: Record<string, { userId: string; expiresAt: number }>; // by SHA-256 of the cookie
  events: Record<string, StoredEvent[]>; // by user id, newest last
  seenEventIds: string[]; // the last ones, for idempotent delivery
};

const file = () => path.join(config().dataDir, 'store.json');

function load(): Data {
  try {
    return JSON.parse(readFileSync(file(), 'utf8')) as Data;
  } catch {
    return { users: {}, sessions: {}, events: {}, seenEventIds: [] };
  }
}

// Synchronous read-change-write: nothing else runs in this process in between.
export function update<T>(change: (data: Data) => T): T {
  const data = load();
  const result = change(data);
  mkdirSync(path.dirname(file()), { recursive: true });
  const temp = `${file()}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(data), { mode: 0o600 });
  renameSync(temp, file());
  return result;
}

export function read<T>(look: (data: Data) => T): T {
  return look(load());
}

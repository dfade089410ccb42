// The service's events, pushed to the signed-in user's open pages (app/api/events/stream). One
// process keeps the subscribers in memory; several instances would share them through Redis or
// similar. On globalThis: Next bundles each route separately, and they must share this one.
import 'server-only';
import type { StoredEvent } from './store';

type Listener = (event: StoredEvent) => void;
const key = Symbol.for('tiktok-connect-example.listeners');
const g = globalThis as typeof globalThis & { [key]?: Map<string, Set<Listener>> };
const listeners = (g[key] ??= new Map());

export function subscribe(userId: string, listener: Listener): () => void {
  const set = listeners.get(userId) ?? new Set();
  set.add(listener);
  listeners.set(userId, set);
  return () => {
    set.delete(listener);
    if (!set.size) listeners.delete(userId);
  };
}

export function push(userId: string, event: StoredEvent): void {
  for (const listener of listeners.get(userId) ?? []) listener(event);
}

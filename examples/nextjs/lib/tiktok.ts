// The service's client, on the server only: the app JWT is minted here, per call, for the signed-in
// user (short-lived, never sent to the browser). Pages and actions call `serviceFor(user)`.
import 'server-only';
import { createTikTokConnectClient, mintAppJwt, TikTokConnectError } from '@tiktok-connect/client';
import { config } from './config';
import type { User } from './store';

export function serviceFor(user: User) {
  const { apiUrl, appJwtSecret } = config();
  return createTikTokConnectClient({
    baseUrl: apiUrl,
    // `sub` is this app's user id: the service keeps each user's TikTok accounts apart by it.
    appJwt: () => mintAppJwt({ userId: user.id, secret: appJwtSecret, ttlSeconds: 60 }),
  });
}

// What a Server Action hands the browser: data, or the service's error in plain fields (an
// Error object does not cross to the browser; the JWT and TikTok's tokens never do).
export type Result<T> =
  | { ok: true; data: T }
  | { ok: false; error: string; message: string; scope?: string; status?: number; retryAfter?: number };

export async function attempt<T>(work: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, data: await work() };
  } catch (e) {
    if (e instanceof TikTokConnectError) {
      return { ok: false, error: e.error, message: e.message, scope: e.scope, status: e.status, retryAfter: e.retryAfter };
    }
    console.error('TikTok Connect call failed', e);
    return { ok: false, error: 'unreachable', message: 'The TikTok Connect service could not be reached.' };
  }
}

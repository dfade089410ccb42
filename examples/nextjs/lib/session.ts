// Sign-in for the demo: any name, no password (see README). The browser holds only an opaque
// random session id in an HttpOnly cookie; the server maps it to the user.
import 'server-only';
import { createHash, randomBytes } from 'node:crypto';
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { config } from './config';
import { read, update, type User } from './store';

const COOKIE = 'session';
const MAX_AGE = 7 * 24 * 3600;
// The store keeps a hash: a copy of the file signs nobody in.
const hash = (sid: string) => createHash('sha256').update(sid).digest('base64url');

export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,40}$/;

export async function signIn(name: string): Promise<User> {
  const sid = randomBytes(32).toString('base64url');
  const user = update((data) => {
    const now = Date.now();
    const user = data.users[name] ?? { id: `u_${randomBytes(8).toString('hex')}`, name, createdAt: now };
    data.users[name] = user;
    for (const [key, s] of Object.entries(data.sessions)) if (s.expiresAt < now) delete data.sessions[key];
    data.sessions[hash(sid)] = { userId: user.id, expiresAt: now + MAX_AGE * 1000 };
    return user;
  });
  (await cookies()).set(COOKIE, sid, {
    httpOnly: true,
    sameSite: 'lax',
    // Served over https in production (lib/config.ts refuses anything else there).
    secure: config().appUrl.startsWith('https://'),
    path: '/',
    maxAge: MAX_AGE,
  });
  return user;
}

export async function signOut(): Promise<void> {
  const jar = await cookies();
  const sid = jar.get(COOKIE)?.value;
  if (sid) update((data) => { delete data.sessions[hash(sid)]; });
  jar.delete(COOKIE);
}

export async function currentUser(): Promise<User | null> {
  const sid = (await cookies()).get(COOKIE)?.value;
  if (!sid) return null;
  return read((data) => {
    const session = data.sessions[hash(sid)];
    if (!session || session.expiresAt < Date.now()) return null;
    return Object.values(data.users).find((u) => u.id === session.userId) ?? null;
  });
}

// For pages and actions that need a signed-in user: to the sign-in page otherwise.
export async function requireUser(): Promise<User> {
  const user = await currentUser();
  if (!user) redirect('/');
  return user;
}

'use server';
// What the accounts page asks the server to do. Each action acts for the signed-in user only,
// with an app JWT minted here (lib/tiktok.ts); the browser never sees one.
import { unwrap } from '@tiktok-connect/client';
import { config } from '@/lib/config';
import { requireUser } from '@/lib/session';
import { attempt, serviceFor } from '@/lib/tiktok';
import { SCOPES } from '@/lib/words';

type Scope = (typeof SCOPES)[number];

export async function startConnect(scopes: string[]) {
  const user = await requireUser();
  const asked = scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
  return attempt(async () => {
    const { authorize_url } = await unwrap(serviceFor(user).GET('/tiktok/authorize', {
      // The popup comes back to this app, which confirms the connection (app/tiktok/return/route.ts).
      params: { query: { return_to: `${config().appUrl}/tiktok/return`, ...(asked.length ? { scopes: asked } : {}) } },
    }));
    return { authorizeUrl: authorize_url };
  });
}

export async function disconnect(openId: string) {
  const user = await requireUser();
  return attempt(async () => {
    await unwrap(serviceFor(user).DELETE('/tiktok/accounts/{open_id}', { params: { path: { open_id: openId } } }));
    return null;
  });
}

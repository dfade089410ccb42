'use server';
import { unwrap } from '@tiktok-connect/client';
import { requireUser } from '@/lib/session';
import { attempt, serviceFor } from '@/lib/tiktok';

const PAGE_SIZE = 10;

// One page of the account's videos; `cursor` is the previous page's (none for the first).
export async function videosPage(openId: string, cursor?: number) {
  const user = await requireUser();
  return attempt(() => unwrap(serviceFor(user).GET('/tiktok/videos', {
    params: { query: { open_id: openId, max_count: PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) } },
  })));
}

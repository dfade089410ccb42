import { newIdempotencyKey, unwrap } from '@tiktok-connect/client';
import Link from 'next/link';
import { requireUser } from '@/lib/session';
import { attempt, serviceFor } from '@/lib/tiktok';
import { explain } from '@/lib/words';
import { listPosts } from './actions';
import { Compose } from './compose';

export const dynamic = 'force-dynamic';

export default async function ComposePage({ params }: { params: Promise<{ openId: string }> }) {
  const openId = decodeURIComponent((await params).openId);
  const user = await requireUser();
  // TikTok's rule: show the creator's current options before every post.
  const [creator, posts] = await Promise.all([
    attempt(() => unwrap(serviceFor(user).GET('/tiktok/publish/creator-info', { params: { query: { open_id: openId } } }))),
    listPosts(openId),
  ]);
  return (
    <section>
      <p><Link href="/settings/accounts">← Connected accounts</Link></p>
      <h1>Write a post</h1>
      {creator.ok
        ? <Compose creator={creator.data} firstKey={newIdempotencyKey()} posts={posts.ok ? posts.data.posts : []} />
        : <p role="alert" className="error">TikTok’s creator info could not be read: {explain(creator)}</p>}
    </section>
  );
}

'use client';
import type { PublishView } from '@tiktok-connect/client';
import { useState } from 'react';
import { explain, POST_STATUS } from '@/lib/words';
import { cancelPost, postStatus } from './actions';

const when = (seconds: number) => new Date(seconds * 1000).toLocaleString();

export function PostList({ posts, onChange }: { posts: PublishView[]; onChange: () => void }) {
  const [said, setSaid] = useState('');
  async function cancel(post: PublishView) {
    const done = await cancelPost(post.publish_id);
    setSaid(done.ok ? 'The scheduled post was cancelled.' : explain(done));
    onChange();
  }
  // Asks TikTok now (the list shows what the service stored last).
  async function check(post: PublishView) {
    const view = await postStatus(post.publish_id);
    setSaid(view.ok ? `${post.publish_id}: ${POST_STATUS[view.data.status] ?? view.data.status}.` : explain(view));
    onChange();
  }
  return (
    <section aria-labelledby="posts-title">
      <h2 id="posts-title">Posts</h2>
      <p role="status">{said}</p>
      {posts.length === 0 ? <p className="empty">No posts yet.</p> : (
        <ul className="posts">
          {posts.map((p) => (
            <li key={p.publish_id} className="card post" data-publish-id={p.publish_id}>
              <p>
                <span className={`post-status ${p.status}`}>{POST_STATUS[p.status] ?? p.status}</span>{' '}
                <code>{p.status}</code> · {p.media_type === 'photo' ? 'Photos' : 'Video'}
                {p.mode === 'direct' ? ', Direct Post' : ', to the inbox'}
              </p>
              <p className="hint">
                <code className="publish-id">{p.publish_id}</code>
                {p.publish_at ? ` · for ${when(p.publish_at)}` : ` · started ${when(p.created_at)}`}
                {p.scheduled_id && p.scheduled_id !== p.publish_id ? ` · from schedule ${p.scheduled_id}` : ''}
                {p.fail_reason ? ` · ${p.fail_reason}` : ''}
                {p.post_ids.length ? ` · public post ${p.post_ids.join(', ')}` : ''}
              </p>
              <div className="actions">
                {p.status === 'SCHEDULED'
                  ? <button type="button" className="danger" onClick={() => cancel(p)}>Cancel scheduled post</button>
                  : <button type="button" onClick={() => check(p)}>Check status</button>}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

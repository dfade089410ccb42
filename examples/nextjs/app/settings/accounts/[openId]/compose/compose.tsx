'use client';
import type { CreatorInfo, PublishView } from '@tiktok-connect/client';
import { useState } from 'react';
import { useServiceEvents } from '../../../../use-service-events';
import { listPosts } from './actions';
import { ComposeForm } from './compose-form';
import { PostList } from './post-list';

// The form and the account's posts; the list is read again whenever a post changes (the
// service's post.* events, pushed by the server) or one is started or cancelled here.
export function Compose({ creator, firstKey, posts: first }: { creator: CreatorInfo; firstKey: string; posts: PublishView[] }) {
  const [posts, setPosts] = useState(first);
  async function reload() {
    const listed = await listPosts(creator.open_id);
    if (listed.ok) setPosts(listed.data.posts);
  }
  useServiceEvents((event) => {
    if (event.type.startsWith('post.') && event.detail.open_id === creator.open_id) reload();
  });
  return (
    <>
      <ComposeForm creator={creator} firstKey={firstKey} onStarted={reload} />
      <PostList posts={posts} onChange={reload} />
    </>
  );
}

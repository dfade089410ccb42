'use client';
import type { Video } from '@tiktok-connect/client';
import { useState } from 'react';
import { explain } from '@/lib/words';
import { videosPage } from './actions';

type VideoPage = { videos: Video[]; cursor: number | null; has_more: boolean };

export function VideoGrid({ openId, first }: { openId: string; first: VideoPage }) {
  const [videos, setVideos] = useState(first.videos);
  const [next, setNext] = useState(first.has_more ? first.cursor : null);
  const [pages, setPages] = useState(1);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function more() {
    if (next === null) return;
    setBusy(true);
    const page = await videosPage(openId, next);
    setBusy(false);
    if (!page.ok) return setError(explain(page));
    setError('');
    setVideos((shown) => [...shown, ...page.data.videos]);
    setNext(page.data.has_more ? page.data.cursor : null);
    setPages((n) => n + 1);
  }

  if (!videos.length) return <p className="empty">No videos yet.</p>;
  return (
    <>
      <ul className="videos" aria-label="Videos">
        {videos.map((v) => (
          <li key={v.id}>
            <a href={v.share_url ?? undefined} target="_blank" rel="noopener noreferrer">
              {v.cover_image_url && <img src={v.cover_image_url} alt="" width={150} height={200} referrerPolicy="no-referrer" />}
              <span className="video-title">{v.title || v.video_description || 'Untitled'}</span>
            </a>
          </li>
        ))}
      </ul>
      <p role="status">{videos.length} videos shown, {pages} {pages === 1 ? 'page' : 'pages'}{next === null ? ': that is all of them.' : '.'}</p>
      {error && <p role="alert" className="error">{error}</p>}
      {next !== null && <button type="button" onClick={more} disabled={busy}>Show more videos</button>}
    </>
  );
}

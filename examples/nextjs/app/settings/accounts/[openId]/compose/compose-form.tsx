'use client';
import type { CreatorInfo, DirectPhotoPublishRequest, DirectPublishRequest, PrivacyLevel } from '@tiktok-connect/client';
import { useState } from 'react';
import { explain, POST_STATUS, PRIVACY } from '@/lib/words';
import { startPost } from './actions';

const MIN_AHEAD = 120, MAX_AHEAD = 30 * 24 * 3600; // the service's window for publish_at
const localInput = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);

export function ComposeForm({ creator, firstKey, onStarted }: { creator: CreatorInfo; firstKey: string; onStarted: () => void }) {
  // One key per submission: kept when the same form is sent again after an error (the service
  // then answers the first post instead of posting twice), a new one after a post started.
  const [key, setKey] = useState(firstKey);
  const [kind, setKind] = useState<'video' | 'photo'>('video');
  const [privacy, setPrivacy] = useState<PrivacyLevel | ''>(''); // TikTok's rule: no default
  const [later, setLater] = useState(false);
  const [error, setError] = useState('');
  const [said, setSaid] = useState('');
  const [busy, setBusy] = useState(false);
  const posting = creator.posting;
  const name = creator.creator_nickname ?? creator.open_id;

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const element = event.currentTarget; // gone from the event after an await
    const form = new FormData(element);
    const text = (field: string) => String(form.get(field) ?? '').trim();
    if (!privacy) return setError('Choose who can see this post.');
    let publishAt: number | undefined;
    if (later) {
      publishAt = Math.floor(new Date(text('publish_at')).getTime() / 1000);
      const ahead = publishAt - Date.now() / 1000;
      if (!(ahead >= MIN_AHEAD && ahead <= MAX_AHEAD)) return setError('Choose a time between 2 minutes and 30 days from now.');
    }
    const urls = text('photo_urls').split('\n').map((u) => u.trim()).filter(Boolean);
    const disableComment = creator.comment_disabled || form.get('comment') !== 'on';
    const request: DirectPublishRequest | DirectPhotoPublishRequest = kind === 'video' ? {
      open_id: creator.open_id, mode: 'direct',
      source: { type: 'url', video_url: text('video_url') },
      post_info: {
        title: text('title'), privacy_level: privacy, disable_comment: disableComment,
        disable_duet: creator.duet_disabled || form.get('duet') !== 'on',
        disable_stitch: creator.stitch_disabled || form.get('stitch') !== 'on',
      },
      publish_at: publishAt,
    } : {
      open_id: creator.open_id, mode: 'direct', media_type: 'photo',
      source: { type: 'url', photo_urls: urls, cover_index: Number(form.get('cover') ?? 0) },
      post_info: { title: text('title'), description: text('description'), privacy_level: privacy, disable_comment: disableComment },
      publish_at: publishAt,
    };
    setBusy(true);
    setError('');
    const done = await startPost(request, key);
    setBusy(false);
    if (!done.ok) return setError(`Not posted: ${explain(done)}`);
    const { started, nextKey } = done.data;
    setKey(nextKey);
    setPrivacy('');
    setLater(false);
    element.reset();
    setSaid(`Started ${started.publish_id}: ${POST_STATUS[started.status] ?? started.status}.`);
    onStarted();
  }

  return (
    <form className="card stack compose" onSubmit={submit} aria-label={`Post as ${name}`} noValidate>
      <p className="creator">
        {creator.creator_avatar_url && <img className="avatar" src={creator.creator_avatar_url} alt="" width={40} height={40} referrerPolicy="no-referrer" />}
        Posting as <strong>{name}</strong>{creator.creator_username ? ` (@${creator.creator_username})` : ''}
        {creator.max_video_post_duration_sec ? ` · videos of up to ${Math.round(creator.max_video_post_duration_sec / 60)} min` : ''}
      </p>
      {!posting.can_post && (
        <p role="alert" className="error">TikTok will not take a post from {name} now: {posting.message ?? posting.reason}.</p>
      )}
      <fieldset>
        <legend>What to post</legend>
        <label className="check"><input type="radio" name="kind" checked={kind === 'video'} onChange={() => setKind('video')} /> A video</label>
        <label className="check"><input type="radio" name="kind" checked={kind === 'photo'} onChange={() => setKind('photo')} /> Photos (1–35)</label>
      </fieldset>
      {kind === 'video' ? (
        <label>Video URL <input name="video_url" type="url" required placeholder="https://media.example.com/clips/cat.mp4" /></label>
      ) : (
        <>
          <label>Image URLs, one per line <textarea name="photo_urls" rows={3} required placeholder="https://media.example.com/photos/a.jpg" /></label>
          <label>Cover (number of the image, from 1)
            <select name="cover" defaultValue="0">{Array.from({ length: 35 }, (_, i) => <option key={i} value={i}>{i + 1}</option>)}</select>
          </label>
        </>
      )}
      <label>Title <input name="title" maxLength={kind === 'video' ? 2200 : 90} /></label>
      {kind === 'photo' && <label>Description <textarea name="description" rows={2} maxLength={4000} /></label>}
      <fieldset>
        <legend>Who can see this post (required)</legend>
        {creator.privacy_level_options.map((level) => (
          <label key={level} className="check">
            <input type="radio" name="privacy" value={level} checked={privacy === level} onChange={() => setPrivacy(level)} /> {PRIVACY[level] ?? level}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Allow others to</legend>
        <label className="check"><input type="checkbox" name="comment" disabled={creator.comment_disabled} /> Comment{creator.comment_disabled ? ' (turned off in TikTok)' : ''}</label>
        {kind === 'video' && <>
          <label className="check"><input type="checkbox" name="duet" disabled={creator.duet_disabled} /> Duet{creator.duet_disabled ? ' (turned off in TikTok)' : ''}</label>
          <label className="check"><input type="checkbox" name="stitch" disabled={creator.stitch_disabled} /> Stitch{creator.stitch_disabled ? ' (turned off in TikTok)' : ''}</label>
        </>}
      </fieldset>
      <label className="check"><input type="checkbox" checked={later} onChange={(e) => setLater(e.target.checked)} /> Schedule for later</label>
      {later && (
        <label>Post at (your time)
          <input name="publish_at" type="datetime-local" step={1} required
            defaultValue={localInput(Date.now() + 10 * 60_000)} min={localInput(Date.now() + MIN_AHEAD * 1000)} max={localInput(Date.now() + MAX_AHEAD * 1000)} />
        </label>
      )}
      <p className="hint">By posting, you agree to TikTok’s Music Usage Confirmation. It can take a few minutes to appear on the profile.</p>
      <p role="alert" className="error">{error}</p>
      <button type="submit" disabled={busy || !posting.can_post}>{later ? 'Schedule post' : 'Post'}</button>
      <p role="status">{said}</p>
    </form>
  );
}

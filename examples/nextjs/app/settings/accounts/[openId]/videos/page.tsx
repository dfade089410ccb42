import { unwrap } from '@tiktok-connect/client';
import Link from 'next/link';
import { requireUser } from '@/lib/session';
import { attempt, serviceFor } from '@/lib/tiktok';
import { explain } from '@/lib/words';
import { ReconnectFor } from '../reconnect-for';
import { videosPage } from './actions';
import { VideoGrid } from './video-grid';

export const dynamic = 'force-dynamic';

export default async function VideosPage({ params }: { params: Promise<{ openId: string }> }) {
  const openId = decodeURIComponent((await params).openId);
  const user = await requireUser();
  const [first, accounts] = await Promise.all([
    videosPage(openId),
    attempt(() => unwrap(serviceFor(user).GET('/tiktok/accounts'))),
  ]);
  const account = accounts.ok ? accounts.data.accounts.find((a) => a.open_id === openId) : undefined;
  const name = account?.display_name ?? openId;
  return (
    <section>
      <p><Link href="/settings/accounts">← Connected accounts</Link></p>
      <h1>Videos of {name}</h1>
      {first.ok ? <VideoGrid openId={openId} first={first.data} /> : first.error === 'scope_missing' ? (
        <div className="card">
          <p role="alert">
            {name} did not allow this app to see their videos (TikTok’s <code>{first.scope ?? 'video.list'}</code> permission
            was not granted). Reconnect the account and leave that permission ticked on TikTok’s page.
          </p>
          <ReconnectFor scopes={[...new Set([...(account?.scopes ?? []), first.scope ?? 'video.list'])]}
            label={`Reconnect ${name} with video.list`} />
        </div>
      ) : <p role="alert" className="error">{explain(first)}</p>}
    </section>
  );
}

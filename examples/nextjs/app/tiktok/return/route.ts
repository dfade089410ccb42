// Where the service's callback sends the connect popup back: ?tiktok=pending&connection_id=…
// (TikTok granted access: this server confirms it as the signed-in user; only the user who started
// the connect can, README "Walkthrough") or ?tiktok=error&reason=… (nothing was connected). Then
// on to /tiktok/return/done, without the connection id: it is in no page, history entry or Referer.
import { unwrap } from '@tiktok-connect/client';
import { currentUser } from '@/lib/session';
import { attempt, serviceFor } from '@/lib/tiktok';

export const dynamic = 'force-dynamic';

export async function GET(request: Request) {
  const query = new URL(request.url).searchParams;
  const connectionId = query.get('connection_id') ?? '';
  const done = new URL('/tiktok/return/done', request.url);
  const user = await currentUser();
  if (query.get('tiktok') !== 'pending' || !/^[A-Za-z0-9_-]{16,128}$/.test(connectionId)) {
    done.searchParams.set('error', (query.get('reason') ?? 'unknown').replace(/[^a-z_]/g, '').slice(0, 64));
  } else if (!user) {
    done.searchParams.set('error', 'signed_out');
  } else {
    const confirmed = await attempt(() => unwrap(serviceFor(user).POST('/tiktok/connections/{connection_id}/confirm', {
      params: { path: { connection_id: connectionId } },
    })));
    if (confirmed.ok) {
      done.searchParams.set('connected', confirmed.data.display_name ?? confirmed.data.open_id);
      if (confirmed.data.took_over) done.searchParams.set('took_over', '1');
    } else {
      done.searchParams.set('error', confirmed.error);
    }
  }
  return new Response(null, {
    status: 303,
    headers: { Location: `${done.pathname}${done.search}`, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
  });
}

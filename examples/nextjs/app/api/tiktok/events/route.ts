// The service's EventBridge events, as an API destination with an API-key connection POSTs them
// (docs/events.md): the key in x-api-key, the event's JSON as the body. Each is stored for its app
// user (once: EventBridge delivers at least once) and pushed to that user's open pages.
import { createHash, timingSafeEqual } from 'node:crypto';
import { config } from '@/lib/config';
import { push } from '@/lib/events';
import { update, type StoredEvent } from '@/lib/store';

const digest = (value: string) => createHash('sha256').update(value).digest();

export async function POST(request: Request) {
  // Constant time, whatever the lengths: the digests are compared, not the strings.
  const key = request.headers.get('x-api-key') ?? '';
  if (!timingSafeEqual(digest(key), digest(config().eventsApiKey))) {
    return Response.json({ error: 'unauthorized' }, { status: 401 });
  }
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return Response.json({ error: 'invalid_json' }, { status: 400 });
  }
  const event = body as { id?: unknown; source?: unknown; 'detail-type'?: unknown; time?: unknown; detail?: unknown };
  const detail = event.detail as Record<string, unknown> | undefined;
  if (event.source !== 'tiktok-connect' || typeof event.id !== 'string' || typeof event['detail-type'] !== 'string'
    || !detail || typeof detail.app_user !== 'string') {
    return Response.json({ error: 'not_a_tiktok_connect_event' }, { status: 400 });
  }
  const stored: StoredEvent = { id: event.id, type: event['detail-type'], time: String(event.time ?? ''), detail };
  const userId = detail.app_user;
  const fresh = update((data) => {
    if (data.seenEventIds.includes(stored.id)) return false;
    data.seenEventIds = [...data.seenEventIds, stored.id].slice(-1000);
    data.events[userId] = [...(data.events[userId] ?? []), stored].slice(-50);
    return true;
  });
  if (fresh) push(userId, stored);
  // 2xx either way: a repeat is done, not an error to retry.
  return Response.json({ ok: true, duplicate: !fresh });
}

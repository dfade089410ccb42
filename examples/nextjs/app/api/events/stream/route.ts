// Server-Sent Events for the signed-in user's pages: each of the service's events for this user,
// as it arrives (app/api/tiktok/events). The pages then read what changed from the service.
import { subscribe } from '@/lib/events';
import { currentUser } from '@/lib/session';

export const dynamic = 'force-dynamic';

export async function GET(request: Request) {
  const user = await currentUser();
  if (!user) return new Response('sign in first', { status: 401 });
  const encoder = new TextEncoder();
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      send('retry: 2000\n\n');
      const unsubscribe = subscribe(user.id, (event) => {
        send(`event: tiktok\ndata: ${JSON.stringify({ type: event.type, id: event.id, detail: event.detail })}\n\n`);
      });
      // A comment now and then keeps proxies from closing an idle stream.
      const heartbeat = setInterval(() => send(': keep-alive\n\n'), 25_000);
      stop = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      request.signal.addEventListener('abort', () => {
        stop();
        try { controller.close(); } catch { /* already closed */ }
      });
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, {
    headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' },
  });
}

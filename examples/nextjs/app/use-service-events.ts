'use client';
import { useEffect, useRef } from 'react';

export type ServiceEvent = { type: string; id: string; detail: Record<string, unknown> & { open_id?: string } };

// The service's events for the signed-in user, as the server pushes them (app/api/events/stream).
export function useServiceEvents(onEvent: (event: ServiceEvent) => void) {
  const latest = useRef(onEvent);
  useEffect(() => {
    latest.current = onEvent;
  });
  useEffect(() => {
    const source = new EventSource('/api/events/stream');
    source.addEventListener('tiktok', (message) => latest.current(JSON.parse(message.data) as ServiceEvent));
    return () => source.close();
  }, []);
}

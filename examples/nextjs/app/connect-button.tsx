'use client';
// Connects a TikTok account in a popup: the server asks the service for TikTok's consent page,
// the popup goes there, comes back to /tiktok/return (which confirms it on the server) and tells
// this page the outcome by postMessage, to this origin only.
import { useEffect, useRef, useState } from 'react';
import { startConnect } from './settings/accounts/actions';
import { explain } from '@/lib/words';

export type Outcome = { type: 'tiktok-connect:outcome'; ok: boolean; message: string };

export function ConnectButton({ scopes, label, onOutcome, className }: {
  scopes: string[]; label: string; onOutcome: (outcome: Outcome) => void; className?: string;
}) {
  const popup = useRef<Window | null>(null);
  const [busy, setBusy] = useState(false);
  const latest = useRef(onOutcome);
  useEffect(() => {
    latest.current = onOutcome;
  });
  useEffect(() => {
    const listen = (event: MessageEvent) => {
      const data = event.data as Outcome | undefined;
      if (event.origin !== location.origin || event.source !== popup.current || data?.type !== 'tiktok-connect:outcome') return;
      popup.current = null;
      latest.current({ type: data.type, ok: Boolean(data.ok), message: String(data.message) });
    };
    window.addEventListener('message', listen);
    return () => window.removeEventListener('message', listen);
  }, []);

  async function connect() {
    if (!scopes.length) return latest.current({ type: 'tiktok-connect:outcome', ok: false, message: 'Choose at least one permission.' });
    // Opened during the click, so pop-up blockers allow it; its address comes once the server answers.
    const win = window.open('', 'tiktok-connect', 'popup,width=520,height=760');
    setBusy(true);
    const start = await startConnect(scopes);
    setBusy(false);
    if (!start.ok) {
      win?.close();
      return latest.current({ type: 'tiktok-connect:outcome', ok: false, message: `Could not start connecting: ${explain(start)}` });
    }
    if (!win || win.closed) {
      return latest.current({ type: 'tiktok-connect:outcome', ok: false, message: 'Your browser blocked the TikTok window: allow pop-ups for this site and try again.' });
    }
    popup.current = win;
    win.location.href = start.data.authorizeUrl;
    win.focus();
  }

  return <button type="button" className={className} onClick={connect} disabled={busy}>{label}</button>;
}

'use client';
import Link from 'next/link';
import { useEffect } from 'react';
import type { Outcome } from '../../../connect-button';

// In the popup: hands the outcome to the page that opened it (this origin only) and closes.
// Opened some other way, the page stays and shows it.
export function TellOpener({ ok, message }: { ok: boolean; message: string }) {
  useEffect(() => {
    const opener = window.opener as Window | null;
    if (!opener || opener === window) return;
    opener.postMessage({ type: 'tiktok-connect:outcome', ok, message } satisfies Outcome, location.origin);
    window.close();
  }, [ok, message]);
  return (
    <>
      <p role="status" className={`banner ${ok ? 'ok' : 'error'}`}>{message}</p>
      <p><Link href="/settings/accounts">Back to connected accounts</Link></p>
    </>
  );
}

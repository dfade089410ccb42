'use client';
import { useEffect, useState } from 'react';

function left(seconds: number): string {
  if (seconds <= 0) return 'Token expired: it is refreshed on the next use';
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return `Token expires in ${d ? `${d} d ` : ''}${h} h ${m} min ${s} s`;
}

// The access token's expiry, live. Rendered only in the browser: the server's clock at render
// time would not match the browser's when it hydrates.
export function Countdown({ expiresAt }: { expiresAt: number }) {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return <p className="countdown" aria-live="off">{now === null ? '\u00a0' : left(Math.max(0, Math.round(expiresAt - now / 1000)))}</p>;
}

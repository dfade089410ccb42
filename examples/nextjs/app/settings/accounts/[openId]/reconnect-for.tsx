'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ConnectButton } from '../../../connect-button';

// A connect asking for more permissions, from a page that needed them; the page reloads its data after.
export function ReconnectFor({ scopes, label }: { scopes: string[]; label: string }) {
  const router = useRouter();
  const [said, setSaid] = useState('');
  return (
    <>
      <ConnectButton scopes={scopes} label={label} onOutcome={(o) => { setSaid(o.message); router.refresh(); }} />
      <p role="status">{said}</p>
    </>
  );
}

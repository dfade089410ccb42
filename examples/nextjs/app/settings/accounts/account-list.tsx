'use client';
import type { Account } from '@tiktok-connect/client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useRef, useState } from 'react';
import { ConnectButton, type Outcome } from '../../connect-button';
import { useServiceEvents } from '../../use-service-events';
import { explain, REVOKED_REASON, SCOPES, STATUS } from '@/lib/words';
import { disconnect } from './actions';
import { Countdown } from './countdown';

export function AccountList({ accounts }: { accounts: Account[] }) {
  const router = useRouter();
  const [banner, setBanner] = useState<{ tone: 'ok' | 'error' | 'info'; text: string } | null>(null);
  const [scopes, setScopes] = useState<string[]>([...SCOPES]);
  const [leaving, setLeaving] = useState<Account | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const name = (a: Account) => a.display_name ?? a.open_id;

  const outcome = (o: Outcome) => {
    setBanner({ tone: o.ok ? 'ok' : 'error', text: o.message });
    router.refresh();
  };
  // Pushed by the server when the service says an account changed (revoked on TikTok, …): the
  // list is read again, without reloading the page.
  useServiceEvents((event) => {
    if (!event.type.startsWith('account.')) return;
    const who = accounts.find((a) => a.open_id === event.detail.open_id);
    if (event.type === 'account.revoked' && who) setBanner({ tone: 'info', text: `${name(who)} was revoked on TikTok.` });
    router.refresh();
  });

  function askDisconnect(account: Account) {
    setLeaving(account);
    dialog.current?.showModal();
  }
  async function confirmDisconnect() {
    const account = leaving;
    dialog.current?.close();
    if (!account) return;
    const done = await disconnect(account.open_id);
    setBanner(done.ok ? { tone: 'ok', text: `Disconnected ${name(account)}.` } : { tone: 'error', text: explain(done) });
    router.refresh();
  }

  return (
    <>
      <p className={`banner ${banner?.tone ?? ''}`} role="status" aria-live="polite">{banner?.text}</p>
      <form className="card connect" onSubmit={(e) => e.preventDefault()} aria-label="Connect a TikTok account">
        <fieldset>
          <legend>Ask TikTok for</legend>
          {SCOPES.map((scope) => (
            <label key={scope} className="check">
              <input type="checkbox" checked={scopes.includes(scope)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))} />
              {scope}
            </label>
          ))}
        </fieldset>
        <ConnectButton scopes={scopes} label="Connect TikTok" onOutcome={outcome} />
      </form>

      {accounts.length === 0 ? <p className="empty">No TikTok account is connected yet.</p> : (
        <ul className="accounts" aria-label="TikTok accounts">
          {accounts.map((a) => (
            <li key={a.open_id} className="card account">
              {a.avatar_url && <img className="avatar" src={a.avatar_url} alt="" width={56} height={56} referrerPolicy="no-referrer" />}
              <div className="grow">
                <h2>{name(a)}</h2>
                <p><span className={`status ${a.status}`}>{STATUS[a.status]}</span> <code>{a.open_id}</code></p>
                {a.status === 'revoked' && (
                  <p className="hint">The access was removed on TikTok: {REVOKED_REASON[a.revoked_reason ?? 'unknown']}. Reconnect to use it again.</p>
                )}
                <ul className="scopes" aria-label={`Permissions granted by ${name(a)}`}>
                  {a.scopes.map((s) => <li key={s}>{s}</li>)}
                </ul>
                {a.status === 'active'
                  ? <Countdown expiresAt={a.access_token_expires_at} />
                  : <p className="countdown">No usable token: TikTok must be asked again.</p>}
                <div className="actions">
                  <Link href={`/settings/accounts/${encodeURIComponent(a.open_id)}/videos`}>Videos</Link>
                  <Link href={`/settings/accounts/${encodeURIComponent(a.open_id)}/compose`}>Write a post</Link>
                  {a.status !== 'active' && (
                    <ConnectButton scopes={a.scopes} label={`Reconnect ${name(a)}`} onOutcome={outcome} />
                  )}
                  <button type="button" className="danger" onClick={() => askDisconnect(a)}>Disconnect {name(a)}</button>
                </div>
              </div>
            </li>
          ))}
        </ul>
      )}

      <dialog ref={dialog} aria-labelledby="leave-title" onClose={() => setLeaving(null)}>
        <h2 id="leave-title">Disconnect {leaving ? name(leaving) : ''}?</h2>
        <p>This app will no longer post or read videos for this TikTok account. You can connect it again later.</p>
        <div className="actions">
          <button type="button" onClick={() => dialog.current?.close()}>Cancel</button>
          <button type="button" className="danger" onClick={confirmDisconnect}>Disconnect</button>
        </div>
      </dialog>
    </>
  );
}

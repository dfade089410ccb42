import { unwrap } from '@tiktok-connect/client';
import { requireUser } from '@/lib/session';
import { attempt, serviceFor } from '@/lib/tiktok';
import { explain } from '@/lib/words';
import { AccountList } from './account-list';

export const dynamic = 'force-dynamic';

export default async function AccountsPage() {
  const user = await requireUser();
  const listed = await attempt(() => unwrap(serviceFor(user).GET('/tiktok/accounts')));
  return (
    <section>
      <h1>Connected accounts</h1>
      <p className="hint">TikTok accounts this app may use for you. Connecting opens TikTok in a small window.</p>
      {listed.ok
        ? <AccountList accounts={listed.data.accounts} />
        : <p role="alert" className="error">Could not load your accounts: {explain(listed)}</p>}
    </section>
  );
}

import type { Metadata } from 'next';
import Link from 'next/link';
import { currentUser } from '@/lib/session';
import { signOutAction } from './session-actions';
import './globals.css';

export const metadata: Metadata = { title: 'TikTok Connect example', description: 'Connect TikTok accounts to an app' };

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const user = await currentUser();
  return (
    <html lang="en">
      <body>
        <header className="top">
          <Link href="/" className="brand">Example app</Link>
          {user && (
            <nav aria-label="Main">
              <Link href="/settings/accounts">Connected accounts</Link>
              <span className="who">Signed in as <strong>{user.name}</strong></span>
              <form action={signOutAction}>
                <button type="submit" className="link">Sign out</button>
              </form>
            </nav>
          )}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}

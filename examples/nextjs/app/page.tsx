import { redirect } from 'next/navigation';
import { currentUser } from '@/lib/session';
import { SignInForm } from './sign-in-form';

export default async function Home() {
  if (await currentUser()) redirect('/settings/accounts');
  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <p className="hint">
        A demo sign-in: any name, no password. Each name is one user of this app, with its own
        TikTok accounts. A real app uses its own sign-in here.
      </p>
      <SignInForm />
    </section>
  );
}

'use client';
import { useActionState } from 'react';
import { signInAction } from './session-actions';

export function SignInForm() {
  const [state, action, pending] = useActionState(signInAction, {});
  return (
    <form action={action} className="card stack">
      <label htmlFor="name">Your name</label>
      <input id="name" name="name" required maxLength={40} autoComplete="username" aria-describedby="name-error" />
      <p id="name-error" role="alert" className="error">{state.error}</p>
      <button type="submit" disabled={pending}>Sign in</button>
    </form>
  );
}

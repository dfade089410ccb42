'use server';
import { redirect } from 'next/navigation';
import { NAME_PATTERN, signIn, signOut } from '@/lib/session';

export type SignInState = { error?: string };

export async function signInAction(_: SignInState, form: FormData): Promise<SignInState> {
  const name = String(form.get('name') ?? '').trim();
  if (!NAME_PATTERN.test(name)) return { error: 'Use 1–40 letters, digits, dots, dashes or underscores.' };
  await signIn(name);
  redirect('/settings/accounts');
}

export async function signOutAction(): Promise<void> {
  await signOut();
  redirect('/');
}

// The end of a connect, in the popup: says how it went and tells the page that opened it.
import { CONNECT_ERROR, ERROR } from '@/lib/words';
import { TellOpener } from './tell-opener';

export default async function ConnectDone({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const { connected, took_over: tookOver, error = 'unknown' } = await searchParams;
  const message = typeof connected === 'string'
    ? `Connected ${connected}.${tookOver ? ' Another user of this app had connected it before; it is yours now.' : ''}`
    : `The TikTok account was not connected. ${CONNECT_ERROR[error] ?? ERROR[error] ?? (error === 'signed_out'
      ? 'Sign in first, then connect again.' : 'TikTok reported a problem.')} (${error})`;
  return (
    <section className="narrow">
      <h1>Connecting TikTok</h1>
      <TellOpener ok={typeof connected === 'string'} message={message} />
    </section>
  );
}

// Runs once when the server starts (Node.js runtime only): lib/start-check.ts refuses to start a
// production server that still has the dev secret or key, rather than failing on a request.
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') await import('./lib/start-check');
}

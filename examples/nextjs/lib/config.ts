// The checked configuration for pages, actions and routes (lib/config-check.ts has the rules).
import 'server-only';
import { productionProblems, readConfig, type Config } from './config-check';

export type { Config };

let checked: Config | undefined;

// The configuration, checked once per process (instrumentation.ts refuses to start the server first).
export function config(): Config {
  if (checked) return checked;
  const read = readConfig();
  const problems = productionProblems(read);
  if (problems.length) {
    throw new Error(`refusing to run in production: ${problems.join('; ')}. Set real values `
      + '(or TIKTOK_CONNECT_ALLOW_DEV_DEFAULTS=1 to run a production build against make dev).');
  }
  checked = read;
  return read;
}

// Imported once at server start by instrumentation.ts (no server-only import: it is not a page).
import { productionProblems, readConfig } from './config-check';

const problems = productionProblems(readConfig());
if (problems.length) {
  console.error(`\nTikTok Connect example: refusing to start in production: ${problems.join('; ')}.\n`
    + 'Set real values, or TIKTOK_CONNECT_ALLOW_DEV_DEFAULTS=1 to run a production build against make dev.\n');
  process.exit(1);
}

// Everything the app reads from its environment, with defaults that work against `make dev`
// (scripts/dev.sh) and no setup. In production the dev secret and key must be replaced.
// (No server-only import here: instrumentation.ts reads it at start-up too.)
const DEV_APP_JWT_SECRET = 'dev-only-app-jwt-secret-change-me'; // make dev's app_jwt_secret
const DEV_EVENTS_API_KEY = 'dev-only-events-api-key'; // what make dev's event forwarder sends

export type Config = {
  apiUrl: string; // the service's API Gateway URL (its routes are /tiktok/...)
  appJwtSecret: string; // the service's app_jwt_secret: this server signs app JWTs with it
  appUrl: string; // where this app is served: the popup comes back to APP_URL/tiktok/return
  eventsApiKey: string; // the x-api-key the events' API destination sends
  dataDir: string; // the demo's JSON store (users, sessions, events)
};

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    apiUrl: (env.TIKTOK_CONNECT_API_URL || 'http://127.0.0.1:9200').replace(/\/+$/, ''),
    appJwtSecret: env.TIKTOK_CONNECT_APP_JWT_SECRET || DEV_APP_JWT_SECRET,
    appUrl: (env.APP_URL || 'http://localhost:3000').replace(/\/+$/, ''),
    eventsApiKey: env.TIKTOK_CONNECT_EVENTS_API_KEY || DEV_EVENTS_API_KEY,
    dataDir: env.APP_DATA_DIR || '.data',
  };
}

// Why the server must not start: the dev defaults in production would let anyone who read this
// repository mint app JWTs for your users or post fake events. TIKTOK_CONNECT_ALLOW_DEV_DEFAULTS=1
// allows them on purpose (a production build run locally, as tests/example does).
export function productionProblems(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.NODE_ENV !== 'production' || env.TIKTOK_CONNECT_ALLOW_DEV_DEFAULTS === '1') return [];
  const problems: string[] = [];
  if (config.appJwtSecret === DEV_APP_JWT_SECRET) problems.push('TIKTOK_CONNECT_APP_JWT_SECRET is the dev default');
  if (config.appJwtSecret.length < 32) problems.push('TIKTOK_CONNECT_APP_JWT_SECRET is shorter than 32 characters');
  if (config.eventsApiKey === DEV_EVENTS_API_KEY) problems.push('TIKTOK_CONNECT_EVENTS_API_KEY is the dev default');
  if (!config.appUrl.startsWith('https://')) problems.push('APP_URL is not https:// (session cookies are Secure only then)');
  return problems;
}

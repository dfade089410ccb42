// How an app's back end mints the app JWT the settings page (and every route) takes: HS256 with
// the stack's app_jwt_secret, `sub` = the app's user id, `exp` required. docs/deploy.md#app-jwts
// shows this function; console.test.mjs signs in with it and checks the doc still does.
import { createHmac } from 'node:crypto';

export function mintAppJwt(userId, appJwtSecret, ttlSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const part = (json) => Buffer.from(JSON.stringify(json)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: userId, iat: now, exp: now + ttlSeconds })}`;
  const signature = createHmac('sha256', appJwtSecret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

// A Node.js peer of the `user-info` function (GET /tiktok/me[?open_id=]) for `make bench-cold`
// (tests/benches/cold_start.rs): the same route, the same AWS calls, the same answer, written the
// way a Node developer would write it for Lambda's nodejs runtime.
//
// At init (once per execution environment): the SDK clients, and both secrets read at the same
// time, as user-info reads them (it needs the TikTok client secret to refresh tokens; this peer
// does not refresh: the bench's token is fresh). Per request: verify the app JWT (HS256, `exp` and
// `sub` required, `iss`/`aud` when configured, 60 s leeway), read the account (GetItem with
// `open_id`, else the most recently connected one by Query), open its sealed tokens (an envelope:
// the data key unwrapped by KMS once and cached, AES-256-GCM under the record's context),
// ask TikTok for the profile, answer like our route.
//
// The item, ciphertext and context are the real ones (shared/adapters/src/dynamo.rs,
// shared/domain/src/cipher.rs): the peer reads the account the bench connected through the OAuth
// flow. Not done here: the token refresh, and storing a changed profile (ours writes only when
// TikTok's answer differs from the record, which it does not in the bench).

import { createDecipheriv, createSecretKey } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient, DecryptCommand } from '@aws-sdk/client-kms';
import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { jwtVerify } from 'jose';

const env = (name) => (process.env[name] ?? '').trim() || undefined;
const RUNTIME = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;

// --- init ---------------------------------------------------------------------------------------
// Region, credentials and AWS_ENDPOINT_URL come from the environment, as in the Rust functions.
const dynamodb = new DynamoDBClient({});
const kms = new KMSClient({});
const secrets = new SecretsManagerClient({});

const TABLE = env('TABLE_NAME');
const ISSUER = env('APP_JWT_ISSUER');
const AUDIENCE = env('APP_JWT_AUDIENCE');
const TIKTOK_API = (env('TIKTOK_API_URL') ?? 'https://open.tiktokapis.com').replace(/\/+$/, '');

async function readSecret(id, field) {
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: id }));
  const value = JSON.parse(out.SecretString ?? '{}')[field];
  if (typeof value !== 'string' || value.length === 0) throw new Error(`secret ${id} has no ${field}`);
  return value;
}

let jwtKey;
try {
  const [jwtSecret] = await Promise.all([
    readSecret(env('APP_JWT_SECRET_ID'), 'app_jwt_secret'),
    readSecret(env('TIKTOK_SECRET_ID'), 'tiktok_client_secret'),
  ]);
  jwtKey = createSecretKey(Buffer.from(jwtSecret));
} catch (error) {
  // The Runtime API's init error, then exit: Lambda reports an init failure.
  await fetch(`${RUNTIME}/init/error`, {
    method: 'POST',
    body: JSON.stringify({ errorType: 'InitError', errorMessage: String(error?.message ?? error) }),
  });
  process.exit(1);
}

// --- the route ----------------------------------------------------------------------------------
const BASIC_FIELDS = ['open_id', 'union_id', 'avatar_url', 'display_name'];
const PROFILE_FIELDS = ['username', 'bio_description', 'profile_deep_link', 'is_verified'];
const STATS_FIELDS = ['follower_count', 'following_count', 'likes_count', 'video_count'];

const json = (statusCode, body, headers = {}) => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
  isBase64Encoded: false,
});
const error = (statusCode, code, message, headers) => json(statusCode, { error: code, message }, headers);

async function appUser(headers) {
  const header = headers?.authorization ?? '';
  const [scheme, token] = header.trim().split(/\s+/, 2);
  if (header.length > 8192 || scheme?.toLowerCase() !== 'bearer' || !token) return undefined;
  try {
    const { payload } = await jwtVerify(token, jwtKey, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      clockTolerance: 60,
      requiredClaims: ['exp', 'sub', ...(ISSUER ? ['iss'] : []), ...(AUDIENCE ? ['aud'] : [])],
    });
    const sub = payload.sub;
    const chars = [...sub];
    const printable = !/[\u0000-\u001f\u007f-\u009f]/.test(sub);
    return chars.length >= 1 && chars.length <= 256 && printable ? sub : undefined;
  } catch {
    return undefined;
  }
}

const S = (item, name) => item[name]?.S;
const N = (item, name) => (item[name]?.N === undefined ? undefined : Number(item[name].N));

async function findAccount(user, openId) {
  if (openId !== undefined) {
    const out = await dynamodb.send(new GetItemCommand({
      TableName: TABLE,
      Key: { pk: { S: `USER#${user}` }, sk: { S: `TIKTOK#${openId}` } },
      ConsistentRead: true,
    }));
    return out.Item;
  }
  const items = [];
  let start;
  do {
    const out = await dynamodb.send(new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': { S: `USER#${user}` }, ':prefix': { S: 'TIKTOK#' } },
      ConsistentRead: true,
      ExclusiveStartKey: start,
    }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  // The most recently connected, ties by open_id, as our accounts::find.
  return items.sort((a, b) => N(a, 'connected_at') - N(b, 'connected_at')
    || S(a, 'open_id').localeCompare(S(b, 'open_id'))).at(-1);
}

// Tokens are sealed as envelopes (shared/domain/src/envelope.rs): MAGIC, the KMS-wrapped data key
// (2-byte big-endian length, then the bytes), a 12-byte nonce, then AES-256-GCM ciphertext + tag
// with the record's context as associated data. The unwrapped data key is cached by its wrapped
// bytes, as EnvelopeCipher does, so a warm request makes no KMS call; a blob without MAGIC was
// sealed by KMS itself and goes to Decrypt.
const MAGIC = Buffer.from([0, 0x54, 0x43, 1]);
const dataKeys = new Map();
const DATA_KEY_CAPACITY = 256;

// Every pair of the context, sorted by name, each part prefixed by its 4-byte big-endian length.
function associatedData(context) {
  const parts = [];
  for (const name of Object.keys(context).sort()) {
    for (const part of [name, context[name]]) {
      const bytes = Buffer.from(part, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

async function kmsDecrypt(blob, context) {
  const out = await kms.send(new DecryptCommand({
    KeyId: env('KMS_KEY_ID'),
    CiphertextBlob: blob,
    EncryptionContext: context,
  }));
  return Buffer.from(out.Plaintext);
}

async function dataKey(purpose, wrapped) {
  const cacheKey = wrapped.toString('base64');
  const hit = dataKeys.get(cacheKey);
  if (hit) return hit;
  const key = createSecretKey(await kmsDecrypt(wrapped, { purpose, scheme: 'envelope-v1' }));
  if (dataKeys.size >= DATA_KEY_CAPACITY) dataKeys.delete(dataKeys.keys().next().value);
  dataKeys.set(cacheKey, key);
  return key;
}

async function openTokens(item) {
  const context = { purpose: 'tiktok-tokens', app_user: S(item, 'app_user'), open_id: S(item, 'open_id') };
  const blob = Buffer.from(item.sealed_tokens.B);
  if (!blob.subarray(0, 4).equals(MAGIC)) {
    return JSON.parse((await kmsDecrypt(blob, context)).toString('utf8'));
  }
  const wrappedLength = blob.readUInt16BE(4);
  const wrapped = blob.subarray(6, 6 + wrappedLength);
  const nonce = blob.subarray(6 + wrappedLength, 18 + wrappedLength);
  const sealed = blob.subarray(18 + wrappedLength);
  const key = await dataKey(context.purpose, wrapped);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(associatedData(context));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plaintext = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  return JSON.parse(plaintext.toString('utf8'));
}

async function me(event) {
  if (event.requestContext?.http?.method !== 'GET') {
    return error(405, 'method_not_allowed', 'this route only answers GET', { allow: 'GET' });
  }
  const user = await appUser(event.headers);
  if (!user) return error(401, 'unauthorized', 'a valid app JWT is required in the Authorization header');
  const query = new URLSearchParams(event.rawQueryString ?? '');
  const unknown = [...query.keys()].find((name) => name !== 'open_id');
  if (unknown) return error(400, 'invalid_request', `unknown query parameter ${unknown}`);
  const openId = query.get('open_id') ?? undefined;
  if (openId !== undefined && !/^[\x21-\x7e]{1,128}$/.test(openId)) {
    return error(400, 'invalid_request', 'open_id must be 1-128 visible ASCII characters');
  }

  let item;
  try {
    item = await findAccount(user, openId);
  } catch {
    return error(503, 'service_unavailable', 'try again shortly');
  }
  if (!item) return error(404, 'not_connected', 'no connected TikTok account matches this request');
  if (S(item, 'status') !== 'active') return error(409, 'reauth_required', 'the person must connect again');

  const scopes = S(item, 'scopes').split(',').filter(Boolean).sort();
  const fields = [
    ...BASIC_FIELDS,
    ...(scopes.includes('user.info.profile') ? PROFILE_FIELDS : []),
    ...(scopes.includes('user.info.stats') ? STATS_FIELDS : []),
  ];
  let tokens;
  try {
    tokens = await openTokens(item);
  } catch {
    return error(503, 'service_unavailable', 'try again shortly');
  }
  let profileAnswer;
  try {
    const response = await fetch(`${TIKTOK_API}/v2/user/info/?fields=${fields.join(',')}`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
      signal: AbortSignal.timeout(6000),
    });
    const answer = await response.json();
    // TikTok says success in the body, whatever the HTTP status.
    if (answer?.error?.code !== 'ok') throw new Error(`tiktok ${answer?.error?.code}`);
    profileAnswer = answer.data?.user ?? {};
  } catch {
    return error(502, 'tiktok_error', 'TikTok did not answer as expected');
  }

  const profile = {
    union_id: profileAnswer.union_id ?? null,
    display_name: profileAnswer.display_name ?? null,
    avatar_url: profileAnswer.avatar_url ?? null,
  };
  for (const field of [...PROFILE_FIELDS, ...STATS_FIELDS]) {
    if (profileAnswer[field] !== undefined && profileAnswer[field] !== null) profile[field] = profileAnswer[field];
  }
  return json(200, {
    open_id: S(item, 'open_id'),
    ...profile,
    scopes,
    status: 'active',
    access_token_expires_at: N(item, 'access_token_expires_at'),
    refresh_token_expires_at: N(item, 'refresh_token_expires_at'),
    connected_at: N(item, 'connected_at'),
  });
}

// --- the Runtime API loop -----------------------------------------------------------------------
// Lambda's nodejs runtime runs this loop in its runtime interface client (aws-lambda-nodejs-ric),
// which is not available outside Lambda's images; this is the same protocol with fetch: GET the
// next event, POST its response (or error), repeat.
for (;;) {
  const next = await fetch(`${RUNTIME}/invocation/next`);
  const id = next.headers.get('lambda-runtime-aws-request-id');
  const event = await next.json();
  let result;
  try {
    result = await me(event);
  } catch (failure) {
    await fetch(`${RUNTIME}/invocation/${id}/error`, {
      method: 'POST',
      body: JSON.stringify({ errorType: 'Error', errorMessage: String(failure?.message ?? failure) }),
    });
    continue;
  }
  await fetch(`${RUNTIME}/invocation/${id}/response`, { method: 'POST', body: JSON.stringify(result) });
}

// The app JWT the service accepts (shared/http/src/jwt.rs, docs/deploy.md#app-jwts): HS256 with
// the stack's `app_jwt_secret`, or EdDSA / ES256 with the app's private key whose public half the
// stack lists in APP_JWT_PUBLIC_KEYS (named by `kid`), `sub` the app user's id, `exp` required, `iss`/`aud` checked when
// the stack sets APP_JWT_ISSUER/APP_JWT_AUDIENCE, `exp - iat` at most
// APP_JWT_MAX_LIFETIME_SECONDS when that is set, 60 s leeway. Server side only: whoever holds the
// secret can act as any app user, so it must never reach a browser.
import { importJWK, SignJWT, type JWK } from "jose";

/** The service refuses a shorter `app_jwt_secret` at start-up: HS256 wants a 256-bit key (RFC 7518 §3.2). */
export const MIN_APP_JWT_SECRET_BYTES = 32;
/** The service takes a `sub` of 1-256 characters, none of them a control character. */
const MAX_USER_ID_CHARS = 256;
const DEFAULT_TTL_SECONDS = 300;

export interface MintAppJwtOptions {
  /** Your app's id for the signed-in person: 1-256 characters, no control characters. */
  userId: string;
  /** The stack's `app_jwt_secret` (its UTF-8 bytes, as the service reads it), at least 32 bytes. */
  secret?: string | Uint8Array;
  /**
   * Instead of `secret`: the app's private key, for a stack with APP_JWT_PUBLIC_KEYS (the service
   * then holds no key that can sign): `alg` EdDSA (Ed25519) or ES256, `kid` as in that key set.
   */
  signingKey?: { alg: "EdDSA" | "ES256"; kid: string; key: CryptoKey | JWK };
  /** Lifetime in seconds (`exp - iat`), a positive integer; 300 when left out. */
  ttlSeconds?: number;
  /** `iss`, for a stack with APP_JWT_ISSUER set. */
  issuer?: string;
  /** `aud`, for a stack with APP_JWT_AUDIENCE set. */
  audience?: string;
  /** The current time in milliseconds since the epoch, like `Date.now` (the default). */
  now?: () => number;
}

/** Signs an app JWT for `userId`. Throws (naming the option, never its value) on what the service would refuse. */
export async function mintAppJwt(options: MintAppJwtOptions): Promise<string> {
  const { userId, issuer, audience } = options;
  checkUserId(userId);
  const { alg, kid, key } = await signingKeyOf(options);
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl < 1) {
    throw new RangeError("ttlSeconds must be a positive whole number of seconds");
  }
  const issuedAt = Math.floor((options.now ?? Date.now)() / 1000);

  const jwt = new SignJWT({})
    .setProtectedHeader(kid === undefined ? { alg, typ: "JWT" } : { alg, typ: "JWT", kid })
    .setSubject(userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttl);
  if (issuer !== undefined) {
    jwt.setIssuer(nonEmpty("issuer", issuer));
  }
  if (audience !== undefined) {
    jwt.setAudience(nonEmpty("audience", audience));
  }
  return jwt.sign(key);
}

function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== "string") {
    throw new TypeError("userId must be a string");
  }
  // Counted in code points, as the service (Rust chars) counts them.
  const length = [...userId].length;
  if (length < 1 || length > MAX_USER_ID_CHARS) {
    throw new RangeError(`userId must be 1-${MAX_USER_ID_CHARS} characters`);
  }
  if (/\p{Cc}/u.test(userId)) {
    throw new RangeError("userId must not contain control characters");
  }
}

async function signingKeyOf(
  options: MintAppJwtOptions,
): Promise<{ alg: string; kid?: string; key: Uint8Array | CryptoKey }> {
  const { secret, signingKey } = options;
  if ((secret === undefined) === (signingKey === undefined)) {
    throw new TypeError("give exactly one of secret and signingKey");
  }
  if (secret !== undefined) {
    return { alg: "HS256", key: secretKey(secret) };
  }
  const { alg, kid, key } = signingKey!;
  if (alg !== "EdDSA" && alg !== "ES256") {
    throw new RangeError("signingKey.alg must be EdDSA or ES256 (what the service verifies)");
  }
  nonEmpty("signingKey.kid", kid);
  if (isCryptoKey(key)) {
    return { alg, kid, key };
  }
  if (typeof key !== "object" || key === null || typeof (key as JWK).d !== "string") {
    throw new TypeError("signingKey.key must be a private CryptoKey or a private JWK");
  }
  return { alg, kid, key: (await importJWK(key as JWK, alg)) as CryptoKey };
}

function isCryptoKey(key: unknown): key is CryptoKey {
  return typeof CryptoKey !== "undefined" && key instanceof CryptoKey;
}

function secretKey(secret: string | Uint8Array): Uint8Array {
  const key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  if (!(key instanceof Uint8Array)) {
    throw new TypeError("secret must be a string or a Uint8Array");
  }
  if (key.byteLength < MIN_APP_JWT_SECRET_BYTES) {
    throw new RangeError(`secret must be at least ${MIN_APP_JWT_SECRET_BYTES} bytes (the service refuses a shorter app_jwt_secret)`);
  }
  // The template's placeholder, which the service also refuses to start with.
  if (typeof secret === "string" && secret.trim().toUpperCase().startsWith("REPLACE")) {
    throw new RangeError("secret is still the template's placeholder: use the stack's app_jwt_secret");
  }
  return key;
}

function nonEmpty(option: string, value: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${option} must be a non-empty string when given`);
  }
  return value;
}

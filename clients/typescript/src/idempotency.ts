// `POST /tiktok/publish` takes an `Idempotency-Key` of 1-255 visible ASCII characters
// (`^[!-~]{1,255}$`); a UUID (36 of them) fits and is unique per user action.

/**
 * A fresh `Idempotency-Key` for one post attempt (a random UUID). Make one per user action and
 * reuse it when retrying that same request: the retry then answers the first post instead of
 * posting twice.
 */
export function newIdempotencyKey(): string {
  const crypto = globalThis.crypto;
  // randomUUID exists only in secure contexts (https, localhost) in browsers.
  if (typeof crypto?.randomUUID === "function") {
    return crypto.randomUUID();
  }
  return uuidFromRandomBytes(crypto.getRandomValues(new Uint8Array(16)));
}

/** A version 4 UUID (RFC 9562 §5.4) from 16 random bytes. */
export function uuidFromRandomBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) {
    throw new RangeError("a UUID takes exactly 16 random bytes");
  }
  const b = Uint8Array.from(bytes);
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10xx
  const hex = Array.from(b, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

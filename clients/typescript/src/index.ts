// The package's whole surface. Types come from the generator (src/generated/openapi.ts, never
// edited by hand); everything else is a small helper around them.
export type { paths, components, operations } from "./generated/openapi.js";
export type * from "./types.js";
export { createTikTokConnectClient, type TikTokConnectClient, type TikTokConnectOptions } from "./client.js";
export { TikTokConnectError, unwrap, type CallResult } from "./errors.js";
export { mintAppJwt, MIN_APP_JWT_SECRET_BYTES, type MintAppJwtOptions } from "./jwt.js";
export { newIdempotencyKey } from "./idempotency.js";
export { uploadByChunkPlan, UploadError, type UploadErrorCode, type UploadOptions } from "./upload.js";

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { newIdempotencyKey } from "@tiktok-connect/client";
import { uuidFromRandomBytes } from "../dist/idempotency.js";

// infra/openapi.yaml, parameter IdempotencyKey.
const ALLOWED = /^[!-~]{1,255}$/;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newIdempotencyKey", () => {
  it("is a UUID v4, which the service's Idempotency-Key pattern accepts", () => {
    const key = newIdempotencyKey();
    assert.match(key, UUID_V4);
    assert.match(key, ALLOWED);
  });

  it("is new every time", () => {
    const keys = new Set(Array.from({ length: 1000 }, () => newIdempotencyKey()));
    assert.equal(keys.size, 1000);
  });

  it("builds a UUID v4 from random bytes where crypto.randomUUID is missing (plain-http pages)", () => {
    assert.equal(uuidFromRandomBytes(new Uint8Array(16).fill(0xff)), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    assert.equal(uuidFromRandomBytes(new Uint8Array(16)), "00000000-0000-4000-8000-000000000000");
    const fromRandom = uuidFromRandomBytes(crypto.getRandomValues(new Uint8Array(16)));
    assert.match(fromRandom, UUID_V4);
  });

  it("falls back to getRandomValues when randomUUID is not there", () => {
    const randomUUID = crypto.randomUUID;
    crypto.randomUUID = undefined;
    try {
      const keys = new Set(Array.from({ length: 100 }, () => newIdempotencyKey()));
      assert.equal(keys.size, 100);
      for (const key of keys) assert.match(key, UUID_V4);
    } finally {
      crypto.randomUUID = randomUUID;
    }
  });
});

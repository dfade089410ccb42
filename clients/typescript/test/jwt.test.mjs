import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { decodeProtectedHeader, jwtVerify } from "jose";
import { mintAppJwt } from "@tiktok-connect/client";

const SECRET = "test-jwt-secret-with-enough-length"; // 34 bytes, like the service's own tests
const key = new TextEncoder().encode(SECRET);
const NOW_MS = 1_795_311_775_123;

describe("mintAppJwt", () => {
  it("signs HS256 with sub, iat and exp = iat + 300 by default", async () => {
    const token = await mintAppJwt({ userId: "user-1", secret: SECRET, now: () => NOW_MS });

    const { payload, protectedHeader } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      currentDate: new Date(NOW_MS),
    });
    assert.equal(protectedHeader.alg, "HS256");
    assert.equal(payload.sub, "user-1");
    assert.equal(payload.iat, Math.floor(NOW_MS / 1000));
    assert.equal(payload.exp - payload.iat, 300);
    assert.equal(payload.iss, undefined);
    assert.equal(payload.aud, undefined);
  });

  it("takes the lifetime, issuer and audience the stack checks", async () => {
    const token = await mintAppJwt({
      userId: "user-2",
      secret: key,
      ttlSeconds: 3600,
      issuer: "https://app.example.com",
      audience: "tiktok-connect",
      now: () => NOW_MS,
    });

    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      issuer: "https://app.example.com",
      audience: "tiktok-connect",
      currentDate: new Date(NOW_MS),
    });
    assert.equal(payload.sub, "user-2");
    assert.equal(payload.exp - payload.iat, 3600);
  });

  it("uses the clock: a token is valid now and expired after its lifetime", async () => {
    const token = await mintAppJwt({ userId: "user-3", secret: SECRET, ttlSeconds: 60 });
    const { payload } = await jwtVerify(token, key);
    assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 5);
    await assert.rejects(jwtVerify(token, key, { currentDate: new Date(Date.now() + 61_000) }), {
      code: "ERR_JWT_EXPIRED",
    });
  });

  it("keeps a user id of 256 characters, counted as the service counts them", async () => {
    const userId = "é".repeat(255) + "😀"; // 256 code points, 258 UTF-16 units
    const token = await mintAppJwt({ userId, secret: SECRET });
    const { payload } = await jwtVerify(token, key);
    assert.equal(payload.sub, userId);
    assert.equal(decodeProtectedHeader(token).typ, "JWT");
  });

  it("refuses what the service would refuse, without echoing the secret", async () => {
    const refusals = [
      [{ userId: "", secret: SECRET }, /userId must be 1-256 characters/],
      [{ userId: "x".repeat(257), secret: SECRET }, /userId must be 1-256 characters/],
      [{ userId: "line\nbreak", secret: SECRET }, /control characters/],
      [{ userId: "user", secret: "short-secret-31-bytes-long-xxxx" }, /at least 32 bytes/],
      [{ userId: "user", secret: new Uint8Array(31) }, /at least 32 bytes/],
      [{ userId: "user", secret: "REPLACE_WITH_A_LONG_RANDOM_SECRET_VALUE" }, /placeholder/],
      [{ userId: "user", secret: SECRET, ttlSeconds: 0 }, /ttlSeconds/],
      [{ userId: "user", secret: SECRET, ttlSeconds: 1.5 }, /ttlSeconds/],
      [{ userId: "user", secret: SECRET, issuer: "" }, /issuer/],
      [{ userId: "user", secret: SECRET, audience: "" }, /audience/],
    ];
    for (const [options, message] of refusals) {
      const error = await mintAppJwt(options).catch((e) => e);
      assert.ok(error instanceof Error, `${JSON.stringify(options.userId)} was not refused`);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("short-secret"), "the message must not hold the secret");
    }
  });

  it("accepts a 32-byte secret exactly", async () => {
    const token = await mintAppJwt({ userId: "user", secret: "s".repeat(32) });
    await jwtVerify(token, new TextEncoder().encode("s".repeat(32)));
  });
});

describe("mintAppJwt with the app's own key (APP_JWT_PUBLIC_KEYS)", () => {
  for (const alg of ["EdDSA", "ES256"]) {
    it(`signs ${alg} with the kid the key set names, from a CryptoKey and from a JWK`, async () => {
      const { generateKeyPair, exportJWK } = await import("jose");
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const fromJwk = { alg, kid: "app-key-1", key: await exportJWK(privateKey) };
      for (const signingKey of [{ alg, kid: "app-key-1", key: privateKey }, fromJwk]) {
        const token = await mintAppJwt({ userId: "user-9", signingKey, now: () => NOW_MS });
        assert.deepEqual(decodeProtectedHeader(token), { alg, typ: "JWT", kid: "app-key-1" });
        const { payload } = await jwtVerify(token, publicKey, { algorithms: [alg], currentDate: new Date(NOW_MS) });
        assert.equal(payload.sub, "user-9");
        assert.equal(payload.exp - payload.iat, 300);
      }
    });
  }

  it("refuses both or neither of secret and signingKey, another alg, a missing kid or a public key", async () => {
    const { generateKeyPair, exportJWK } = await import("jose");
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    await assert.rejects(mintAppJwt({ userId: "u" }), /exactly one of secret and signingKey/);
    await assert.rejects(
      mintAppJwt({ userId: "u", secret: SECRET, signingKey: { alg: "ES256", kid: "k", key: privateKey } }),
      /exactly one/,
    );
    await assert.rejects(mintAppJwt({ userId: "u", signingKey: { alg: "RS256", kid: "k", key: privateKey } }), /EdDSA or ES256/);
    await assert.rejects(mintAppJwt({ userId: "u", signingKey: { alg: "ES256", kid: "", key: privateKey } }), /kid/);
    await assert.rejects(
      mintAppJwt({ userId: "u", signingKey: { alg: "ES256", kid: "k", key: await exportJWK(publicKey) } }),
      /private/,
    );
  });
});

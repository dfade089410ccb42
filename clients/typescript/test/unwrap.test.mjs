import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createTikTokConnectClient, TikTokConnectError, unwrap } from "@tiktok-connect/client";
import { json, startServer } from "./helpers.mjs";

// Each route answers one of the service's (or a proxy's) answers.
const answers = {
  "/tiktok/accounts": (res) =>
    json(res, 200, { accounts: [{ open_id: "open-alice-0001", status: "active" }] }),
  "/tiktok/accounts/gone": (res) => {
    res.writeHead(204, { "Cache-Control": "no-store" });
    res.end();
  },
  "/tiktok/me": (res) =>
    json(
      res,
      429,
      { error: "rate_limited", message: "TikTok is throttling this app", tiktok_log_id: "202501010101" },
      { "Retry-After": "42" },
    ),
  "/tiktok/videos": (res) =>
    json(res, 403, { error: "scope_missing", message: "the person did not grant video.list", scope: "video.list" }),
  "/tiktok/publish/creator-info": (res) =>
    json(res, 403, {
      error: "spam_risk_too_many_posts",
      message: "the creator's daily post limit",
      tiktok_log_id: "log-1",
      limit_of: "account",
    }),
  "/tiktok/publish": (res) =>
    // A body's retry_after wins over the header.
    json(res, 429, { error: "rate_limited", message: "6 inits a minute", retry_after: 7 }, { "Retry-After": "60" }),
  "/tiktok/authorize": (res) => {
    res.writeHead(502, { "Content-Type": "text/html" });
    res.end("<html><body>Bad Gateway</body></html>");
  },
  "/tiktok/connections/x/confirm": (res) => json(res, 404, { message: "Not Found" }),
  "/tiktok/publish/dated": (res) => {
    res.writeHead(503, { "Retry-After": new Date(Date.now() + 120_000).toUTCString(), "Content-Length": "0" });
    res.end();
  },
};

describe("unwrap", () => {
  let server;
  let client;
  before(async () => {
    server = await startServer((request, res) => answers[new URL(request.url, "http://x").pathname](res));
    client = createTikTokConnectClient({ baseUrl: server.url, appJwt: "jwt" });
  });
  after(() => server.close());

  it("gives a 200's data", async () => {
    const list = await unwrap(client.GET("/tiktok/accounts"));
    assert.deepEqual(list, { accounts: [{ open_id: "open-alice-0001", status: "active" }] });
  });

  it("gives undefined for a 204", async () => {
    const result = await unwrap(client.DELETE("/tiktok/accounts/{open_id}", { params: { path: { open_id: "gone" } } }));
    assert.equal(result, undefined);
  });

  it("accepts a result that was already awaited", async () => {
    const result = await client.GET("/tiktok/accounts");
    assert.equal((await unwrap(result)).accounts.length, 1);
  });

  it("throws the service's code, message, TikTok log id and Retry-After", async () => {
    const error = await unwrap(client.GET("/tiktok/me")).catch((e) => e);
    assert.ok(error instanceof TikTokConnectError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "TikTokConnectError");
    assert.equal(error.status, 429);
    assert.equal(error.error, "rate_limited");
    assert.equal(error.message, "TikTok is throttling this app");
    assert.equal(error.retryAfter, 42);
    assert.equal(error.tiktokLogId, "202501010101");
    assert.equal(error.scope, undefined);
    assert.deepEqual(error.body, {
      error: "rate_limited",
      message: "TikTok is throttling this app",
      tiktok_log_id: "202501010101",
    });
  });

  it("prefers the body's retry_after to the header", async () => {
    const error = await unwrap(
      client.POST("/tiktok/publish", { body: { mode: "inbox", source: { type: "upload", video_size: 1 } } }),
    ).catch((e) => e);
    assert.equal(error.error, "rate_limited");
    assert.equal(error.retryAfter, 7);
  });

  it("reads a Retry-After given as an HTTP date, and an empty error body", async () => {
    const error = await unwrap(
      client.GET("/tiktok/publish/{publish_id}", { params: { path: { publish_id: "dated" } } }),
    ).catch((e) => e);
    assert.equal(error.status, 503);
    assert.equal(error.error, "http_503");
    assert.ok(error.retryAfter >= 118 && error.retryAfter <= 120, `retryAfter ${error.retryAfter}`);
    assert.equal(error.body, undefined);
  });

  it("names the missing scope of scope_missing", async () => {
    const error = await unwrap(client.GET("/tiktok/videos")).catch((e) => e);
    assert.equal(error.status, 403);
    assert.equal(error.error, "scope_missing");
    assert.equal(error.scope, "video.list");
    assert.equal(error.retryAfter, undefined);
  });

  it("keeps a posting refusal's limit_of", async () => {
    const error = await unwrap(client.GET("/tiktok/publish/creator-info")).catch((e) => e);
    assert.equal(error.error, "spam_risk_too_many_posts");
    assert.equal(error.limitOf, "account");
    assert.equal(error.tiktokLogId, "log-1");
  });

  it("turns a non-JSON error into http_<status>, keeping the text as body", async () => {
    const error = await unwrap(client.GET("/tiktok/authorize")).catch((e) => e);
    assert.ok(error instanceof TikTokConnectError);
    assert.equal(error.status, 502);
    assert.equal(error.error, "http_502");
    assert.equal(error.message, "HTTP 502 Bad Gateway");
    assert.equal(error.body, "<html><body>Bad Gateway</body></html>");
  });

  it("turns JSON without an error code (API Gateway's 404) into http_<status> with its message", async () => {
    const error = await unwrap(
      client.POST("/tiktok/connections/{connection_id}/confirm", { params: { path: { connection_id: "x" } } }),
    ).catch((e) => e);
    assert.equal(error.error, "http_404");
    assert.equal(error.message, "Not Found");
  });
});

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createTikTokConnectClient, unwrap } from "@tiktok-connect/client";
import { json, startServer } from "./helpers.mjs";

describe("createTikTokConnectClient", () => {
  let server;
  before(async () => {
    server = await startServer((request, res) => json(res, 200, { accounts: [] }));
  });
  after(() => server.close());

  it("sends the app JWT given as a string as a bearer token on every request", async () => {
    const client = createTikTokConnectClient({ baseUrl: server.url, appJwt: "jwt-for-alice" });
    const seen = server.requests.length;

    await unwrap(client.GET("/tiktok/accounts"));
    await unwrap(client.GET("/tiktok/accounts"));

    const mine = server.requests.slice(seen);
    assert.equal(mine.length, 2);
    for (const request of mine) {
      assert.equal(request.headers.authorization, "Bearer jwt-for-alice");
      assert.equal(request.url, "/tiktok/accounts");
    }
  });

  it("calls an async appJwt before each request and sends what it gives", async () => {
    let minted = 0;
    const client = createTikTokConnectClient({
      baseUrl: `${server.url}/`,
      appJwt: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        minted += 1;
        return `jwt-${minted}`;
      },
    });
    const seen = server.requests.length;

    await unwrap(client.GET("/tiktok/accounts"));
    await unwrap(client.DELETE("/tiktok/accounts/{open_id}", { params: { path: { open_id: "open-bob-0002" } } }));

    const mine = server.requests.slice(seen);
    assert.equal(minted, 2);
    assert.deepEqual(
      mine.map((r) => [r.method, r.url, r.headers.authorization]),
      [
        ["GET", "/tiktok/accounts", "Bearer jwt-1"],
        ["DELETE", "/tiktok/accounts/open-bob-0002", "Bearer jwt-2"],
      ],
    );
  });

  it("uses the fetch it is given, with the header already set", async () => {
    const recorded = [];
    const client = createTikTokConnectClient({
      baseUrl: "https://connect.example.com",
      appJwt: () => "sync-jwt",
      fetch: async (request) => {
        recorded.push([request.method, request.url, request.headers.get("Authorization")]);
        return new Response(JSON.stringify({ accounts: [] }), { headers: { "Content-Type": "application/json" } });
      },
    });

    const list = await unwrap(client.GET("/tiktok/accounts"));

    assert.deepEqual(list, { accounts: [] });
    assert.deepEqual(recorded, [["GET", "https://connect.example.com/tiktok/accounts", "Bearer sync-jwt"]]);
  });

  it("refuses to send a request when appJwt gives an empty token", async () => {
    let called = false;
    const client = createTikTokConnectClient({
      baseUrl: "https://connect.example.com",
      appJwt: async () => "",
      fetch: async () => {
        called = true;
        return new Response(null, { status: 204 });
      },
    });

    await assert.rejects(client.GET("/tiktok/accounts"), { name: "TypeError", message: /appJwt gave no token/ });
    assert.equal(called, false);
  });

  it("sends list parameters as one comma-separated value, as the spec's explode: false says", async () => {
    const client = createTikTokConnectClient({ baseUrl: server.url, appJwt: "jwt" });
    const seen = server.requests.length;

    await client.GET("/tiktok/authorize", { params: { query: { scopes: ["user.info.basic", "video.list"] } } });
    await client.GET("/tiktok/videos", { params: { query: { ids: ["7312345678901234567", "7312345678901234568"] } } });

    assert.deepEqual(
      server.requests.slice(seen).map((r) => r.url),
      ["/tiktok/authorize?scopes=user.info.basic,video.list", "/tiktok/videos?ids=7312345678901234567,7312345678901234568"],
    );
  });

  it("sends the Idempotency-Key header and the JSON body of a post", async () => {
    const client = createTikTokConnectClient({ baseUrl: server.url, appJwt: "jwt" });
    const seen = server.requests.length;
    const body = { mode: "inbox", source: { type: "upload", video_size: 35 } };

    await client.POST("/tiktok/publish", { body, params: { header: { "Idempotency-Key": "post-1" } } });

    const [request] = server.requests.slice(seen);
    assert.equal(request.headers["idempotency-key"], "post-1");
    assert.equal(request.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(request.body.toString()), body);
  });
});

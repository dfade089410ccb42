import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { paths } from "./generated/openapi.js";

export interface TikTokConnectOptions {
  /** The stack's `ApiUrl` output (locally, `make dev`'s gateway: `http://127.0.0.1:9200`). */
  baseUrl: string;
  /**
   * The app user's JWT (see `mintAppJwt`), or a function giving it, called before every request
   * so a short-lived token can be minted or refreshed as needed.
   */
  appJwt: string | (() => string | Promise<string>);
  /** The fetch to use; the global one when left out. */
  fetch?: typeof fetch;
}

export type TikTokConnectClient = Client<paths>;

/**
 * A typed client for every route of `infra/openapi.yaml`: `client.GET("/tiktok/accounts")`,
 * `client.POST("/tiktok/publish", { body, params: { header: { "Idempotency-Key": key } } })`.
 * Each call resolves to `{ data }` or `{ error }` with the `response`; `unwrap` turns that into
 * the data or a thrown `TikTokConnectError`.
 */
export function createTikTokConnectClient(options: TikTokConnectOptions): TikTokConnectClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    // Read when called, not now: a fetch patched in after start-up (tests, tracing) still applies.
    fetch: (request) => (options.fetch ?? globalThis.fetch)(request),
    // The spec's list parameters (`scopes`, `ids`) are `style: form, explode: false`: one
    // comma-separated value. openapi-fetch's default repeats the name, which the service
    // refuses as a parameter given twice.
    querySerializer: { array: { style: "form", explode: false } },
  });
  client.use(bearerAuth(options.appJwt));
  return client;
}

function bearerAuth(appJwt: TikTokConnectOptions["appJwt"]): Middleware {
  return {
    async onRequest({ request }) {
      const token = typeof appJwt === "function" ? await appJwt() : appJwt;
      // An empty token would only come back as a 401; saying so here names the real cause.
      if (typeof token !== "string" || token === "") {
        throw new TypeError("appJwt gave no token: pass a JWT string or a function returning one");
      }
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}

// Not run: type-checked only (`npm run typecheck-usage`, part of `npm test`). Every call below is
// one an app makes; each `@ts-expect-error` proves the types still refuse a mistake, so a spec
// change that loosens them (to `any`, `unknown`) fails the check as surely as one that breaks a call.
import {
  createTikTokConnectClient,
  mintAppJwt,
  newIdempotencyKey,
  TikTokConnectError,
  unwrap,
  uploadByChunkPlan,
  type Account,
  type AccountList,
  type ConfirmedConnection,
  type CreatorInfo,
  type ErrorCode,
  type PublishRequest,
  type PublishStarted,
  type PublishView,
  type Scope,
  type UploadInstructions,
  type Video,
} from "@tiktok-connect/client";

/** True only when A and B are the same type (not merely assignable, which `any` and `never` are). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export async function usage(secret: string, file: Blob): Promise<void> {
  const client = createTikTokConnectClient({
    baseUrl: "https://api.example.com",
    appJwt: () => mintAppJwt({ userId: "user-1", secret }),
  });

  const list = await unwrap(client.GET("/tiktok/accounts"));
  const listIsAccountList: Same<typeof list, AccountList> = true;
  const { accounts } = list;
  const first: Account | undefined = accounts[0];
  const openId: string | undefined = first?.open_id;
  // @ts-expect-error status is a union of known states, not any string
  const status: "connected" = accounts[0]!.status;

  const start = await unwrap(client.GET("/tiktok/authorize", { params: { query: { scopes: ["video.publish"] } } }));
  const authorizeUrl: string = start.authorize_url;
  const scope: Scope = "video.upload";
  // @ts-expect-error not a scope this API knows
  client.GET("/tiktok/authorize", { params: { query: { scopes: ["video.delete"] } } });

  const confirmed: ConfirmedConnection = await unwrap(
    client.POST("/tiktok/connections/{connection_id}/confirm", { params: { path: { connection_id: "c".repeat(43) } } }),
  );

  const page = await unwrap(client.GET("/tiktok/videos", { params: { query: { open_id: openId, max_count: 20 } } }));
  const videoIds: string[] = page.videos.map((video: Video) => video.id); // ids stay strings
  // @ts-expect-error video ids are strings (TikTok's exceed 2^53), never numbers
  const numericId: number = page.videos[0]!.id;

  const info: CreatorInfo = await unwrap(client.GET("/tiktok/publish/creator-info", { params: { query: { open_id: openId } } }));

  const body: PublishRequest = {
    open_id: openId,
    mode: "direct",
    source: { type: "upload", video_size: file.size },
    post_info: { title: "Hello #fyp", privacy_level: info.privacy_level_options[0] ?? "SELF_ONLY" },
  };
  const started: PublishStarted = await unwrap(
    client.POST("/tiktok/publish", { body, params: { header: { "Idempotency-Key": newIdempotencyKey() } } }),
  );
  const plan: UploadInstructions | undefined = started.upload;
  if (plan) {
    await uploadByChunkPlan(plan, file, { onChunk: (index, total) => void [index, total] });
  }
  // Any of the four shapes, not narrowed to one, is a body (the inbox shape used not to be).
  const anyShape = (request: PublishRequest) => client.POST("/tiktok/publish", { body: request });
  await anyShape({ mode: "inbox", source: { type: "url", video_url: "https://media.example.com/v.mp4" } });
  // @ts-expect-error an inbox video has no post_info (the creator sets everything in TikTok)
  await anyShape({ mode: "inbox", source: { type: "url", video_url: "https://media.example.com/v.mp4" }, post_info: { title: "x" } });
  // media_type and cover_index have defaults in the spec: leaving them out must stay allowed.
  await client.POST("/tiktok/publish", {
    body: { mode: "inbox", media_type: "photo", source: { type: "url", photo_urls: ["https://media.example.com/a.jpg"] } },
  });
  // @ts-expect-error a Direct Post needs post_info
  await client.POST("/tiktok/publish", { body: { mode: "direct", source: { type: "url", video_url: "https://a.example.com/v.mp4" } } });
  // @ts-expect-error the body is required
  await client.POST("/tiktok/publish", {});

  const view: PublishView = await unwrap(
    client.GET("/tiktok/publish/{publish_id}", { params: { path: { publish_id: started.publish_id }, query: { cached: true } } }),
  );
  const postIds: string[] = view.post_ids;
  const posts = await unwrap(client.GET("/tiktok/publish", { params: { query: { status: "scheduled" } } }));
  const next: string | undefined = posts.next_cursor;

  const cancelled = await unwrap(
    client.DELETE("/tiktok/publish/{publish_id}", { params: { path: { publish_id: started.publish_id } } }),
  );
  const noContentIsUndefined: Same<typeof cancelled, undefined> = true; // a 204: not never, not unknown
  await unwrap(client.DELETE("/tiktok/accounts/{open_id}", { params: { path: { open_id: "open-bob-0002" } } }));
  // @ts-expect-error no such route
  await client.GET("/tiktok/account");
  // @ts-expect-error the path parameter is required
  await client.DELETE("/tiktok/accounts/{open_id}", {});

  try {
    await unwrap(client.GET("/tiktok/me"));
  } catch (error) {
    if (error instanceof TikTokConnectError) {
      const code: string = error.error;
      const wait: number | undefined = error.retryAfter;
      const missing: string | undefined = error.scope;
      void [code, wait, missing];
    }
  }
  // Without unwrap: each error answer's `error` is one of the service's codes.
  const { error: refusal } = await client.GET("/tiktok/videos");
  if (refusal) {
    const code: ErrorCode = refusal.error;
    void code;
  }
  const known: ErrorCode = "scope_missing";

  void [listIsAccountList, noContentIsUndefined, status, authorizeUrl, scope, confirmed, videoIds, numericId, postIds, next, cancelled, known];
}

// Names for the schemas an app handles, so app code says `Account`, not
// `components["schemas"]["Account"]`. Each is the generated type itself: nothing here can drift.
import type { components, operations } from "./generated/openapi.js";

type Schemas = components["schemas"];

/** A connected TikTok account, as `GET /tiktok/accounts` lists it. */
export type Account = Schemas["Account"];
/** The answer of `GET /tiktok/accounts`. */
export type AccountList = Schemas["AccountList"];
/** `active`, `reauth_required` (connect again) or `revoked` (removed at TikTok). */
export type AccountStatus = Schemas["AccountStatus"];
/** Why TikTok revoked a grant (a `revoked` account only). */
export type RevokedReason = Schemas["RevokedReason"];
/** The answer of `GET /tiktok/authorize`: where to send the person's browser. */
export type AuthorizeStart = Schemas["AuthorizeStart"];
/** The answer of `POST /tiktok/connections/{connection_id}/confirm`: the account, and `took_over`. */
export type ConfirmedConnection = Schemas["ConfirmedConnection"];
/** A scope `GET /tiktok/authorize` can ask for. */
export type Scope = Exclude<NonNullable<NonNullable<operations["authorize"]["parameters"]["query"]>["scopes"]>[number], "">;
/** The answer of `GET /tiktok/me`: the TikTok profile of a connected account. */
export type Profile = Schemas["Me"];
/** One public video; `id` is a string (TikTok's ids exceed 2^53). */
export type Video = Schemas["Video"];
/** One page of `GET /tiktok/videos`. */
export type VideoList = Schemas["VideoList"];
/** The answer of `GET /tiktok/publish/creator-info`: show it before every post. */
export type CreatorInfo = Schemas["CreatorInfo"];
/** Whether a post would be accepted now (`CreatorInfo.posting`). */
export type PostingState = Schemas["PostingState"];
/** Who may see a Direct Post. */
export type PrivacyLevel = Schemas["PrivacyLevel"];
/** `direct` (published by the API) or `inbox` (finished by the creator in TikTok). */
export type PostMode = Schemas["PostMode"];
/** `video` or `photo`. */
export type MediaType = Schemas["MediaType"];
/** The body of `POST /tiktok/publish`: one of the four request shapes below. */
export type PublishRequest = DirectPublishRequest | InboxPublishRequest | DirectPhotoPublishRequest | InboxPhotoPublishRequest;
export type DirectPublishRequest = Schemas["DirectPublishRequest"];
/**
 * A video to the creator's inbox. Without the spec's `post_info?: null` (null counts as absent):
 * openapi-fetch's body type reads a property that can only be `null` as read-only (`never`), so a
 * value of the generated type could not be sent.
 */
export type InboxPublishRequest = Omit<Schemas["InboxPublishRequest"], "post_info"> & { post_info?: never };
export type DirectPhotoPublishRequest = Schemas["DirectPhotoPublishRequest"];
export type InboxPhotoPublishRequest = Schemas["InboxPhotoPublishRequest"];
/** A video Direct Post's settings. */
export type PostInfo = Schemas["PostInfo"];
/** A photo Direct Post's settings. */
export type PhotoPostInfo = Schemas["PhotoPostInfo"];
/** Where TikTok gets a video: a URL it pulls, or an upload by your app. */
export type VideoSource = Schemas["VideoSource"];
/** The `202` of `POST /tiktok/publish`; `upload` is there for an upload started now. */
export type PublishStarted = Schemas["PublishStarted"];
/** The chunk plan of an upload: feed it to `uploadByChunkPlan`. */
export type UploadInstructions = Schemas["UploadInstructions"];
/** One chunk of `UploadInstructions.chunks`. */
export type UploadChunk = Schemas["UploadChunk"];
/** A post's status (`GET /tiktok/publish/{publish_id}`, and each item of `GET /tiktok/publish`). */
export type PublishView = Schemas["PublishView"];
/** A post's state, TikTok's or (for a scheduled post) this service's. */
export type PublishState = Schemas["PublishState"];
/** One page of `GET /tiktok/publish`. */
export type PostList = Schemas["PostList"];
/** The service's JSON error body. Named so it does not shadow the global `Error`. */
export type ErrorBody = Schemas["Error"];
/** A stable error code (`ErrorBody.error`): branch on this, not on the message. */
export type ErrorCode = ErrorBody["error"];

// The service's codes in plain words, for people (shared by server and client components).

// ?tiktok=error&reason=… on the return page.
export const CONNECT_ERROR: Record<string, string> = {
  access_denied: 'You did not allow access on TikTok’s page, so nothing was connected.',
  invalid_state: 'The connect link expired or was already used. Start again.',
  invalid_request: 'TikTok sent back an incomplete answer. Start again.',
  token_exchange_failed: 'TikTok did not accept the sign-in. Start again.',
  tiktok_unavailable: 'TikTok could not be reached. Try again shortly.',
  service_unavailable: 'The service is temporarily unavailable. Try again shortly.',
  tiktok_error: 'TikTok reported an error. Try again.',
};

export const ERROR: Record<string, string> = {
  not_connected: 'That TikTok account is not connected.',
  connection_not_found: 'That connection expired or was already used (there are 10 minutes to finish). Connect again.',
  connection_mismatch: 'That connection was started by someone else, so it was cancelled.',
  reauth_required: 'TikTok no longer accepts this connection: reconnect the account.',
  scope_missing: 'This account did not grant the permission this needs: reconnect it and allow it.',
  rate_limited: 'Too many requests right now. Try again in a minute.',
  tiktok_error: 'TikTok failed to answer. Try again shortly.',
  service_unavailable: 'The service is temporarily unavailable. Try again shortly.',
  idempotency_key_reused: 'This form was already sent with other values: reload the page to write a new post.',
  publish_outcome_unknown: 'The answer was lost: the post may exist. Check the list below before posting again.',
  not_cancelable: 'This post can no longer be cancelled.',
  unreachable: 'The TikTok Connect service could not be reached.',
};

export function explain(error: { error: string; message: string }): string {
  return ERROR[error.error] ?? error.message;
}

export const STATUS: Record<string, string> = {
  active: 'Active',
  reauth_required: 'Reconnect needed',
  revoked: 'Revoked on TikTok',
};

export const REVOKED_REASON: Record<string, string> = {
  unknown: 'TikTok gave no reason',
  user_disconnected: 'the person removed this app in TikTok',
  account_deleted: 'the TikTok account was deleted',
  age_changed: 'the account’s age changed',
  account_banned: 'the TikTok account was banned',
  developer_revoked: 'the app’s developer revoked it',
};

export const PRIVACY: Record<string, string> = {
  PUBLIC_TO_EVERYONE: 'Everyone',
  MUTUAL_FOLLOW_FRIENDS: 'Friends (followers you follow back)',
  FOLLOWER_OF_CREATOR: 'Followers',
  SELF_ONLY: 'Only me',
};

export const POST_STATUS: Record<string, string> = {
  PROCESSING_UPLOAD: 'Uploading',
  PROCESSING_DOWNLOAD: 'TikTok is fetching and processing it',
  SEND_TO_USER_INBOX: 'In the creator’s TikTok inbox',
  PUBLISH_COMPLETE: 'Published',
  FAILED: 'Failed',
  SCHEDULED: 'Scheduled',
  FIRING: 'Being posted now',
  CANCELED: 'Cancelled',
};

export const SCOPES = ['user.info.basic', 'user.info.profile', 'user.info.stats', 'video.list', 'video.publish', 'video.upload'] as const;

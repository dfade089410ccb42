'use server';
// Posting for the signed-in user: start a post (with the form's Idempotency-Key), read one post's
// status, list the posts (scheduled ones included), cancel a scheduled one.
import { newIdempotencyKey, unwrap, type DirectPhotoPublishRequest, type DirectPublishRequest } from '@tiktok-connect/client';
import { requireUser } from '@/lib/session';
import { attempt, serviceFor } from '@/lib/tiktok';

// Direct Posts only here (the client's PublishRequest also takes the two inbox shapes).
export async function startPost(request: DirectPublishRequest | DirectPhotoPublishRequest, idempotencyKey: string) {
  const user = await requireUser();
  return attempt(async () => {
    const started = await unwrap(serviceFor(user).POST('/tiktok/publish', {
      body: request,
      // The same key for a retry of the same submission: the service answers the first post again.
      params: { header: { 'Idempotency-Key': idempotencyKey } },
    }));
    return { started, nextKey: newIdempotencyKey() };
  });
}

export async function postStatus(publishId: string) {
  const user = await requireUser();
  return attempt(() => unwrap(serviceFor(user).GET('/tiktok/publish/{publish_id}', { params: { path: { publish_id: publishId } } })));
}

export async function listPosts(openId: string) {
  const user = await requireUser();
  return attempt(() => unwrap(serviceFor(user).GET('/tiktok/publish', { params: { query: { status: 'all', open_id: openId } } })));
}

export async function cancelPost(publishId: string) {
  const user = await requireUser();
  return attempt(async () => {
    await unwrap(serviceFor(user).DELETE('/tiktok/publish/{publish_id}', { params: { path: { publish_id: publishId } } }));
    return null;
  });
}

//! The DynamoDB adapter of `ScheduleStore`: scheduled posts and the `posts-by-user` listing.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::ReturnValue;
use connect_domain::ids::OpenId;
use connect_domain::ids::PublishId;

use crate::dynamo::{
    Item, condition_failed, conditional, get_consistent, get_n, get_opt_s, get_s, key, n, s,
    unavailable,
};
use crate::dynamo_publishing::{DynamoPublishStore, record_from_item};
use crate::keys::{
    LISTED_AT_ATTR, POSTS_INDEX, POSTS_OF_ATTR, PUBLISH_PK_PREFIX, PUBLISH_SK, SCHEDULED_PK_PREFIX,
    SCHEDULED_SK, TABLE_HASH_KEY, TABLE_RANGE_KEY, WAITING_FOR_ATTR, WAITING_INDEX,
};
use connect_domain::store::{
    FireClaim, FireOutcome, ListFilter, ListPage, ListPosition, ListedPost, ScheduleState,
    ScheduleStore, ScheduledPost, StoreError, Written,
};
use connect_domain::tiktok::{MediaType, PostMode};

fn scheduled_key(id: &str) -> Item {
    key(format!("{SCHEDULED_PK_PREFIX}{id}"), SCHEDULED_SK)
}

fn scheduled_from_item(item: &Item) -> Result<ScheduledPost, StoreError> {
    Ok(ScheduledPost {
        id: get_s(item, "scheduled_id")?,
        app_user: get_s(item, "app_user")?,
        open_id: get_s(item, "open_id")?.into(),
        publish_at: get_n(item, "publish_at")?,
        mode: PostMode::parse(&get_s(item, "mode")?).ok_or(StoreError::Corrupt("mode"))?,
        media_type: MediaType::parse(&get_s(item, "media_type")?)
            .ok_or(StoreError::Corrupt("media_type"))?,
        request: get_s(item, "request")?,
        state: ScheduleState::parse(&get_s(item, "status")?)
            .ok_or(StoreError::Corrupt("status"))?,
        reason: get_opt_s(item, "reason"),
        tiktok_publish_id: get_opt_s(item, "tiktok_publish_id").map(PublishId::from),
        claimed_at: get_n(item, "claimed_at").ok(),
        // Posts scheduled before claims were counted have none until their first claim.
        attempts: get_n(item, "attempts")
            .ok()
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(0),
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
    })
}

/// A listing entry from an index item: a started post or a scheduled one, by its key.
fn listed_from_item(item: &Item) -> Result<ListedPost, StoreError> {
    match item.get(TABLE_RANGE_KEY).and_then(|v| v.as_s().ok()) {
        Some(sk) if sk == SCHEDULED_SK => scheduled_from_item(item).map(ListedPost::Scheduled),
        Some(sk) if sk == PUBLISH_SK => record_from_item(item).map(ListedPost::Started),
        _ => Err(StoreError::Corrupt("posts index entry")),
    }
}

/// The index item at `position`: its table key and its index key (DynamoDB's
/// `ExclusiveStartKey` for an index needs both).
fn start_key(app_user: &str, position: &ListPosition) -> Item {
    let mut item = if ScheduledPost::is_scheduled_id(&position.id) {
        scheduled_key(&position.id)
    } else {
        key(format!("{PUBLISH_PK_PREFIX}{}", position.id), PUBLISH_SK)
    };
    item.insert(POSTS_OF_ATTR.into(), s(app_user));
    item.insert(LISTED_AT_ATTR.into(), n(position.listed_at));
    item
}

/// The position of the index item DynamoDB stopped at.
fn position_of(last: &Item) -> Option<ListPosition> {
    let pk = last.get(TABLE_HASH_KEY)?.as_s().ok()?;
    let id = pk
        .strip_prefix(SCHEDULED_PK_PREFIX)
        .or_else(|| pk.strip_prefix(PUBLISH_PK_PREFIX))?;
    Some(ListPosition {
        listed_at: get_n(last, "listed_at").ok()?,
        id: id.to_owned(),
    })
}

impl DynamoPublishStore {
    /// An update of the scheduled post `id` that applies only while it is in state `from`: one
    /// step of its life (the caller sets `#status` to the next state and what goes with it).
    fn scheduled_step(&self, id: &str, from: ScheduleState) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(scheduled_key(id)))
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", s(from.as_str()))
    }
}

impl ScheduleStore for DynamoPublishStore {
    async fn save_scheduled(&self, post: &ScheduledPost) -> Result<(), StoreError> {
        let mut item = scheduled_key(&post.id);
        item.insert("scheduled_id".into(), s(&post.id));
        item.insert("app_user".into(), s(&post.app_user));
        item.insert("open_id".into(), s(&post.open_id));
        item.insert("publish_at".into(), n(post.publish_at));
        item.insert("mode".into(), s(post.mode.as_str()));
        item.insert("media_type".into(), s(post.media_type.as_str()));
        item.insert("request".into(), s(&post.request));
        item.insert("status".into(), s(post.state.as_str()));
        item.insert("created_at".into(), n(post.created_at));
        item.insert("updated_at".into(), n(post.updated_at));
        item.insert(POSTS_OF_ATTR.into(), s(&post.app_user));
        item.insert(LISTED_AT_ATTR.into(), n(post.created_at));
        item.insert(WAITING_FOR_ATTR.into(), s(&post.open_id));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // 130 random bits never collide; the condition keeps a bug from overwriting a post.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn get_scheduled(&self, id: &str) -> Result<Option<ScheduledPost>, StoreError> {
        let found = get_consistent(&self.client, &self.table, scheduled_key(id)).await?;
        found.as_ref().map(scheduled_from_item).transpose()
    }

    async fn delete_scheduled(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(scheduled_key(id)))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn claim_scheduled(&self, id: &str, now: i64) -> Result<FireClaim, StoreError> {
        let claimed = self
            .scheduled_step(id, ScheduleState::Scheduled)
            .update_expression(
                "SET #status = :firing, claimed_at = :now, updated_at = :now ADD attempts :one",
            )
            .expression_attribute_values(":firing", s(ScheduleState::Firing.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match claimed {
            Ok(output) => output
                .attributes
                .as_ref()
                .map(scheduled_from_item)
                .transpose()?
                .map(FireClaim::Claimed)
                .ok_or(StoreError::Corrupt("claimed scheduled post")),
            Err(err) if condition_failed(&err) => Ok(match self.get_scheduled(id).await? {
                Some(post) => FireClaim::Taken(post),
                None => FireClaim::Missing,
            }),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn finish_scheduled(
        &self,
        id: &str,
        outcome: &FireOutcome,
        at: i64,
    ) -> Result<Written, StoreError> {
        let builder = self
            .scheduled_step(id, ScheduleState::Firing)
            .expression_attribute_values(":at", n(at));
        let builder = match outcome {
            // Out of the listing: the post it started is listed, naming it.
            FireOutcome::Fired { tiktok_publish_id } => builder
                .update_expression(format!(
                    "SET #status = :fired, tiktok_publish_id = :tid, updated_at = :at \
                     REMOVE {POSTS_OF_ATTR}, {LISTED_AT_ATTR}, {WAITING_FOR_ATTR}"
                ))
                .expression_attribute_values(":fired", s(ScheduleState::Fired.as_str()))
                .expression_attribute_values(":tid", s(tiktok_publish_id)),
            FireOutcome::Failed { reason } => builder
                .update_expression(format!(
                    "SET #status = :failed, reason = :reason, updated_at = :at \
                     REMOVE {WAITING_FOR_ATTR}"
                ))
                .expression_attribute_values(":failed", s(ScheduleState::Failed.as_str()))
                .expression_attribute_values(":reason", s(reason)),
        };
        conditional(builder).await
    }

    async fn release_scheduled(&self, id: &str, at: i64) -> Result<Written, StoreError> {
        conditional(
            self.scheduled_step(id, ScheduleState::Firing)
                .update_expression("SET #status = :scheduled, updated_at = :at REMOVE claimed_at")
                .expression_attribute_values(":scheduled", s(ScheduleState::Scheduled.as_str()))
                .expression_attribute_values(":at", n(at)),
        )
        .await
    }

    async fn cancel_scheduled(
        &self,
        id: &str,
        reason: &str,
        at: i64,
    ) -> Result<Written, StoreError> {
        conditional(
            self.scheduled_step(id, ScheduleState::Scheduled)
                .update_expression(format!(
                    "SET #status = :canceled, reason = :reason, updated_at = :at \
                     REMOVE {WAITING_FOR_ATTR}"
                ))
                .expression_attribute_values(":canceled", s(ScheduleState::Canceled.as_str()))
                .expression_attribute_values(":reason", s(reason))
                .expression_attribute_values(":at", n(at)),
        )
        .await
    }

    async fn waiting_posts(
        &self,
        app_user: &str,
        open_id: &OpenId,
    ) -> Result<Vec<String>, StoreError> {
        let pages: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(WAITING_INDEX)
            .key_condition_expression(format!(
                "{WAITING_FOR_ATTR} = :open_id AND app_user = :user"
            ))
            .expression_attribute_values(":open_id", s(open_id))
            .expression_attribute_values(":user", s(app_user))
            .into_paginator()
            .send()
            .collect()
            .await;
        let mut ids = Vec::new();
        for page in pages {
            for item in page.map_err(unavailable)?.items() {
                let pk = get_s(item, TABLE_HASH_KEY)?;
                let id = pk
                    .strip_prefix(SCHEDULED_PK_PREFIX)
                    .ok_or(StoreError::Corrupt("waiting index entry"))?;
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }

    async fn list_posts(
        &self,
        app_user: &str,
        filter: &ListFilter,
        after: Option<&ListPosition>,
        limit: u32,
    ) -> Result<ListPage, StoreError> {
        let mut conditions = Vec::new();
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(POSTS_INDEX)
            .key_condition_expression(format!("{POSTS_OF_ATTR} = :user"))
            .expression_attribute_values(":user", s(app_user))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if filter.scheduled_only {
            conditions.push("#status = :scheduled");
            query = query
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":scheduled", s(ScheduleState::Scheduled.as_str()));
        }
        if let Some(open_id) = &filter.open_id {
            conditions.push("open_id = :open_id");
            query = query.expression_attribute_values(":open_id", s(open_id));
        }
        if !conditions.is_empty() {
            query = query.filter_expression(conditions.join(" AND "));
        }
        if let Some(position) = after {
            query = query.set_exclusive_start_key(Some(start_key(app_user, position)));
        }
        let output = query.send().await.map_err(unavailable)?;
        let posts = output
            .items()
            .iter()
            .map(listed_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = output.last_evaluated_key().and_then(position_of);
        Ok(ListPage { posts, next })
    }
}

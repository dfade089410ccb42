//! The adapter of `EventSink`: EventBridge's `PutEvents` on the stack's bus, and an outbox in the
//! table (`pk = OUTBOX`, `sk = <unix ms, zero-padded>#<random>`) for events the bus did not take.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use rand::Rng as _;

use crate::dynamo::{get_s, key, s, unavailable};
use connect_domain::events::{AppEvent, EventDetail, EventError, EventSink, KeptEvent, SOURCE};

const OUTBOX_PK: &str = "OUTBOX";
/// EventBridge takes at most 10 entries per `PutEvents`.
const MAX_ENTRIES: usize = 10;

/// EventBridge and the outbox in DynamoDB. With no bus (`EVENT_BUS_NAME` unset) nothing is put
/// and nothing kept: events are off.
#[derive(Debug, Clone)]
pub struct EventBridgeEvents {
    events: aws_sdk_eventbridge::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    bus: Option<String>,
    table: String,
}

impl EventBridgeEvents {
    /// Events on `bus` (none: off), kept in `table` when the bus refuses.
    pub fn new(
        events: aws_sdk_eventbridge::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        bus: Option<String>,
        table: impl Into<String>,
    ) -> Self {
        Self {
            events,
            dynamodb,
            bus,
            table: table.into(),
        }
    }
}

fn failed<E: std::error::Error + 'static>(what: &str, err: E) -> EventError {
    EventError(format!(
        "{what}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(err)
    ))
}

fn detail_json(event: &AppEvent) -> Result<String, EventError> {
    serde_json::to_string(&event.detail).map_err(|e| EventError(e.to_string()))
}

impl EventSink for EventBridgeEvents {
    async fn put(&self, events: &[AppEvent]) -> Result<(), EventError> {
        let Some(bus) = &self.bus else {
            return Ok(());
        };
        for batch in events.chunks(MAX_ENTRIES) {
            let entries = batch
                .iter()
                .map(|event| {
                    Ok(PutEventsRequestEntry::builder()
                        .event_bus_name(bus)
                        .source(SOURCE)
                        .detail_type(&event.detail_type)
                        .detail(detail_json(event)?)
                        .build())
                })
                .collect::<Result<Vec<_>, EventError>>()?;
            let output = self
                .events
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| failed("PutEvents", e))?;
            // PutEvents answers 200 even when it refused some entries.
            if output.failed_entry_count() > 0 {
                let codes: Vec<&str> = output
                    .entries()
                    .iter()
                    .filter_map(|e| e.error_code())
                    .collect();
                return Err(EventError(format!(
                    "PutEvents refused {} of {} entries: {}",
                    output.failed_entry_count(),
                    batch.len(),
                    codes.join(", ")
                )));
            }
        }
        Ok(())
    }

    async fn keep(&self, events: &[AppEvent]) -> Result<(), EventError> {
        if self.bus.is_none() {
            return Ok(());
        }
        for event in events {
            let millis = i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or_default(),
            )
            .unwrap_or(i64::MAX);
            let tail: u64 = rand::rng().random();
            // UpdateItem creates the item: every function that puts events may already update
            // the table, so the outbox needs no PutItem of its own.
            self.dynamodb
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(
                    OUTBOX_PK.to_owned(),
                    &format!("{millis:015}#{tail:016x}"),
                )))
                .update_expression("SET detail_type = :type, detail = :detail")
                .expression_attribute_values(":type", s(&event.detail_type))
                .expression_attribute_values(":detail", s(detail_json(event)?))
                .send()
                .await
                .map_err(|e| EventError(unavailable(e).to_string()))?;
        }
        Ok(())
    }

    async fn kept(&self, limit: u32) -> Result<Vec<KeptEvent>, EventError> {
        if self.bus.is_none() {
            return Ok(Vec::new());
        }
        let output = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :outbox")
            .expression_attribute_values(":outbox", AttributeValue::S(OUTBOX_PK.into()))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| EventError(unavailable(e).to_string()))?;
        output
            .items()
            .iter()
            .map(|item| {
                let detail: EventDetail = serde_json::from_str(
                    &get_s(item, "detail").map_err(|e| EventError(e.to_string()))?,
                )
                .map_err(|e| EventError(format!("kept event: {e}")))?;
                Ok(KeptEvent {
                    key: get_s(item, "sk").map_err(|e| EventError(e.to_string()))?,
                    event: AppEvent {
                        detail_type: get_s(item, "detail_type")
                            .map_err(|e| EventError(e.to_string()))?,
                        detail,
                    },
                })
            })
            .collect()
    }

    async fn forget(&self, sort_key: &str) -> Result<(), EventError> {
        self.dynamodb
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(OUTBOX_PK.to_owned(), sort_key)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| EventError(unavailable(e).to_string()))
    }
}

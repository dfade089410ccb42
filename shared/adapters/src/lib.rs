//! The adapters of the domain's ports: DynamoDB (accounts, states, pending connections, posts),
//! KMS (the token cipher), EventBridge Scheduler (scheduled posts) and TikTok over reqwest. Each is a thin translation between the port's
//! types and the service's API; the rules live in `connect-domain`.

#![warn(missing_docs)]

pub mod bus;
mod dynamo;
mod dynamo_pending;
mod dynamo_profile;
mod dynamo_publishing;
mod dynamo_scheduled;
pub mod eventbridge;
pub mod keys;
pub mod kms;
pub mod tiktok_http;

pub use bus::EventBridgeEvents;
pub use dynamo::{DynamoAccountStore, DynamoStateStore};
pub use dynamo_publishing::DynamoPublishStore;
pub use eventbridge::{EventBridgeScheduler, SchedulerTarget};
pub use kms::{KmsCipher, KmsKeys, kms_cipher};
pub use tiktok_http::{TikTokHttp, TikTokHttpConfig};

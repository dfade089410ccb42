//! Counts the AWS API calls the functions make, per operation (from the `X-Amz-Target` header of
//! each request the SDK sends), so round trips per request are measured, not guessed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};

#[derive(Debug, Clone, Default)]
pub struct AwsCallCounter(Arc<Mutex<BTreeMap<String, u32>>>);

impl AwsCallCounter {
    /// Calls since the last `take`, by operation: `{"DynamoDB.PutItem": 1, "KMS.Encrypt": 1}`.
    pub fn take(&self) -> BTreeMap<String, u32> {
        self.0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

impl Intercept for AwsCallCounter {
    fn name(&self) -> &'static str {
        "AwsCallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request();
        let target = match request.headers().get("x-amz-target") {
            Some(target) => target
                .replace("DynamoDB_20120810.", "DynamoDB.")
                .replace("TrentService.", "KMS.")
                .replace("secretsmanager.", "SecretsManager.")
                .replace("AWSEvents.", "Events."),
            // EventBridge Scheduler is a REST API: the operation is the method on /schedules/.
            None if request.uri().contains("/schedules/") => match request.method() {
                "POST" => "Scheduler.CreateSchedule",
                "DELETE" => "Scheduler.DeleteSchedule",
                "GET" => "Scheduler.GetSchedule",
                _ => "Scheduler.unknown",
            }
            .to_owned(),
            None => "unknown".to_owned(),
        };
        if let Ok(mut calls) = self.0.lock() {
            *calls.entry(target).or_default() += 1;
        }
        Ok(())
    }
}

/// Fails when `function` made a call that `infra/permissions.yaml` does not let it make, so the
/// deployed role (held to that file by `least_privilege.rs`) can never refuse what the tests did.
/// `TransactWriteItems` has no IAM action of its own; its items need Put/Update/DeleteItem.
pub fn assert_permitted(function: &str, calls: &BTreeMap<String, u32>) {
    let permitted = devstack::permissions::Permissions::ours()
        .expect("permissions.yaml")
        .actions(function);
    assert!(
        !permitted.is_empty(),
        "{function} is not in permissions.yaml"
    );
    for operation in calls.keys() {
        let ok = match operation.split_once('.') {
            Some(("DynamoDB", "TransactWriteItems")) => ["PutItem", "UpdateItem", "DeleteItem"]
                .iter()
                .any(|item| permitted.contains(&format!("dynamodb:{item}"))),
            Some((service, action)) => {
                permitted.contains(&format!("{}:{action}", service.to_ascii_lowercase()))
            }
            None => false,
        };
        assert!(
            ok,
            "{function} called {operation}, which permissions.yaml does not grant it ({permitted:?})"
        );
    }
}

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
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown")
            .replace("DynamoDB_20120810.", "DynamoDB.")
            .replace("TrentService.", "KMS.")
            .replace("secretsmanager.", "SecretsManager.");
        if let Ok(mut calls) = self.0.lock() {
            *calls.entry(target).or_default() += 1;
        }
        Ok(())
    }
}

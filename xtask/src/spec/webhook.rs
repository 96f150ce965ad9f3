//! One webhook event of the spec (an entry of `x-crisp-webhooks`).

use serde_yaml::Value;

/// One entry of `x-crisp-webhooks`.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub name: String,
    pub schema: String,
    pub summary: String,
    pub triggered_by: Vec<String>,
    pub example: Value,
}

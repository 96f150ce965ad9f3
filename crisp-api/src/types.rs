//! Every type of the API: request bodies, responses, webhook payloads, open enums and message
//! content, all generated from `spec/crisp.yaml`.
//!
//! Response fields are optional wherever Crisp may leave them out, unknown fields are ignored,
//! and every string enum is open: a value this crate does not know decodes as `Unknown` and
//! keeps its text.

pub use crate::generated::content::{Content, MessageContent};
pub use crate::generated::enums::*;
pub use crate::generated::types::*;
pub use crate::secret::SecretString;

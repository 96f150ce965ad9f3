//! Every type of the API: request bodies, responses, webhook payloads, open enums and message
//! content, all generated from `spec/crisp.yaml`.
//!
//! Response fields are optional wherever Crisp may leave them out, unknown fields are ignored,
//! and every string enum is open: a value this crate does not know decodes as `Unknown` and
//! keeps its text.
//!
//! ```
//! use crisp_api::types::{Conversation, ConversationState};
//!
//! let conversation: Conversation = serde_json::from_str(
//!     r#"{"session_id": "session_1", "website_id": "w", "state": "snoozed", "new_field": 1}"#,
//! )?;
//! assert_eq!(conversation.state, Some(ConversationState::Unknown("snoozed".into())));
//! # Ok::<(), serde_json::Error>(())
//! ```

pub use crate::generated::content::Content;
pub use crate::generated::enums::*;
pub use crate::generated::message_content::MessageContent;
pub use crate::generated::types::*;
pub use crate::secret::SecretString;

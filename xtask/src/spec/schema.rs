//! What the model knows of the component schemas beyond their raw YAML: the string enums, and
//! the content shape of each message type.

/// The name of the component that holds message content; the generator replaces it.
pub const MESSAGE_CONTENT: &str = "MessageContent";
/// The name of the enum component of message types.
pub const MESSAGE_TYPE: &str = "MessageType";

/// A `type: string` component with an `enum`.
#[derive(Debug, Clone)]
pub struct StringEnum {
    pub name: String,
    pub description: String,
    pub values: Vec<String>,
}

/// The content shape of one message type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentShape {
    /// A plain string.
    String,
    /// The named component.
    Schema(String),
}

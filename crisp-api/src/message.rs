//! Shortcuts for the messages an agent sends most: a text reply, and a private note.

use crate::types::{MessageContent, MessageFrom, MessageType, NewMessage};

impl NewMessage {
    /// A text message from the operator side, in the chat: the reply an agent sends a customer.
    /// Change any other field on the result (`automated`, `mentions`, ...) before sending.
    ///
    /// ```no_run
    /// use crisp_api::types::NewMessage;
    ///
    /// # async fn run(client: crisp_api::Client) -> Result<(), crisp_api::Error> {
    /// let mut reply = NewMessage::text("Thanks, your refund is on its way.");
    /// reply.automated = Some(true); // written by an AI agent
    /// client
    ///     .send_message()
    ///     .website_id("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
    ///     .session_id("session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881")
    ///     .body(reply)
    ///     .send()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Self::operator(MessageType::Text, text.into())
    }

    /// A private note for the team, from the operator side: it stays out of the customer's
    /// view.
    ///
    /// ```
    /// use crisp_api::types::{MessageType, NewMessage};
    ///
    /// let note = NewMessage::note("Customer asked for a refund; escalated to billing.");
    /// assert_eq!(note.type_, MessageType::Note);
    /// ```
    pub fn note(text: impl Into<String>) -> Self {
        Self::operator(MessageType::Note, text.into())
    }

    fn operator(type_: MessageType, text: String) -> Self {
        // A struct literal, not the fallible builder: a field the spec adds later stops the
        // build here, rather than failing at run time.
        Self {
            automated: None,
            content: MessageContent(serde_json::Value::String(text)),
            fingerprint: None,
            from: MessageFrom::Operator,
            mentions: Vec::new(),
            origin: "chat".to_owned(),
            original: None,
            properties: serde_json::Map::new(),
            references: Vec::new(),
            stealth: None,
            timestamp: None,
            translated: None,
            type_,
            user: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Content;

    #[test]
    fn a_text_reply_is_what_content_into_parts_gives() {
        let message = NewMessage::text("hello");
        let (type_, content) = Content::Text("hello".into()).into_parts().unwrap();
        assert_eq!((message.type_, message.content), (type_, content));
        assert_eq!(message.from, MessageFrom::Operator);
        assert_eq!(message.origin, "chat");
        assert_eq!(
            serde_json::to_value(NewMessage::note("n")).unwrap(),
            serde_json::json!({"type": "note", "content": "n", "from": "operator", "origin": "chat"})
        );
    }
}

//! The envelope every Crisp answer comes in, `{error, reason, data}`, as the pipeline reads it:
//! implemented by the generated response types and by untyped JSON.

/// The response envelope of a successful call: `{error, reason, data}`.
pub(crate) trait Envelope {
    /// Crisp's `reason`, such as `resolved`.
    fn reason(&self) -> &str;
    /// Whether the body says `error: true` despite a 2xx status.
    fn is_error(&self) -> bool;
    /// `data.message`, where the envelope's data keeps it (untyped data).
    fn message(&self) -> Option<String> {
        None
    }
}

/// `message` of an untyped `data`.
pub(crate) fn data_message(data: Option<&serde_json::Value>) -> Option<String> {
    data?.get("message")?.as_str().map(str::to_owned)
}

impl<T: Envelope> Envelope for Box<T> {
    fn reason(&self) -> &str {
        (**self).reason()
    }

    fn is_error(&self) -> bool {
        (**self).is_error()
    }

    fn message(&self) -> Option<String> {
        (**self).message()
    }
}

impl Envelope for serde_json::Value {
    fn reason(&self) -> &str {
        self.get("reason")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    }

    fn is_error(&self) -> bool {
        self.get("error") == Some(&serde_json::Value::Bool(true))
    }

    fn message(&self) -> Option<String> {
        data_message(self.get("data"))
    }
}

//! The xtask's one error: what went wrong, as a sentence that says what to do where it can.

/// A failure: the spec could not be read, failed lint, generation failed, or a tree could not
/// be read or written.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

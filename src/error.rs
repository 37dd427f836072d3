//! Errors that belong to one migration set.
//!
//! Every layer below the commands reports what went wrong without naming the set it was working
//! for; the set is added exactly once, here, when an error leaves a service for a command. That
//! is what keeps messages like ``set `todo`: set `todo`: …`` from happening.

use std::fmt;

/// An error of one migration set, shown as ``set `NAME`: …`` (or ``set `NAME` (ORIGIN): …``
/// when where the database URL came from matters).
#[derive(Debug)]
pub struct SetError {
    /// The set's name.
    pub set: String,
    /// Where the set's URL came from (`$DATABASE_URL`, `--database-url`, …), when relevant.
    pub origin: Option<String>,
    /// What went wrong; its text may end in `help:` lines.
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

impl SetError {
    /// Wrap `error` for `set`.
    pub fn new(set: &str, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        SetError {
            set: set.to_string(),
            origin: None,
            error: error.into(),
        }
    }

    /// Say where the set's URL came from.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        self.origin = (!origin.is_empty()).then_some(origin);
        self
    }

    /// The wrapped error, if it is an `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref::<E>()
    }
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "set `{}` ({origin}): {}", self.set, self.error),
            None => write!(f, "set `{}`: {}", self.set, self.error),
        }
    }
}

// The wrapped error's text is part of this error's own message, so it is not also reported as
// a cause (which would print it twice).
impl std::error::Error for SetError {}

/// `.in_set(name)` on results whose error belongs to a set.
pub trait InSet<T> {
    /// Name the set the error belongs to.
    fn in_set(self, set: &str) -> Result<T, SetError>;
}

impl<T, E: Into<Box<dyn std::error::Error + Send + Sync>>> InSet<T> for Result<T, E> {
    fn in_set(self, set: &str) -> Result<T, SetError> {
        self.map_err(|e| SetError::new(set, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_named_once() {
        let e = SetError::new("todo", "its backend is unknown");
        assert_eq!(e.to_string(), "set `todo`: its backend is unknown");
        let e = SetError::new("blog", "cannot connect").with_origin("$DATABASE_URL");
        assert_eq!(e.to_string(), "set `blog` ($DATABASE_URL): cannot connect");
        let chained = anyhow::Error::new(SetError::new("a", "b"));
        assert_eq!(chained.chain().count(), 1);
    }
}

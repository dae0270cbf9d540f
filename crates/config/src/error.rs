//! Spec errors say where: the file, the line and the key, so a user can fix the file without guessing.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct SpecError {
    pub file: Option<PathBuf>,
    /// 1-based line of the offending value, when known.
    pub line: Option<usize>,
    /// Dotted key (`model.widths`), or empty for a syntax error.
    pub key: String,
    pub message: String,
}

impl SpecError {
    pub(crate) fn io(path: &Path, err: std::io::Error) -> Self {
        SpecError {
            file: Some(path.to_path_buf()),
            line: None,
            key: String::new(),
            message: format!("cannot read experiment file: {err}"),
        }
    }

    pub(crate) fn syntax(text: &str, err: &toml::de::Error) -> Self {
        let line = err.span().map(|s| line_of(text, s.start));
        let mut message = err.message().trim().to_string();
        // Quote the offending line: it shows the key even when toml's message does not name it.
        if let Some(source) = line.and_then(|l| text.lines().nth(l - 1)).map(str::trim).filter(|l| !l.is_empty()) {
            message.push_str(&format!(" (in `{source}`)"));
        }
        SpecError { file: None, line, key: String::new(), message }
    }

    pub(crate) fn value(text: &str, span: Range<usize>, key: &str, message: impl Into<String>) -> Self {
        SpecError { file: None, line: Some(line_of(text, span.start)), key: key.to_string(), message: message.into() }
    }

    pub(crate) fn missing(key: &str, what: &str) -> Self {
        SpecError { file: None, line: None, key: key.to_string(), message: format!("is missing: {what}") }
    }

    pub(crate) fn in_file(mut self, path: &Path) -> Self {
        self.file = Some(path.to_path_buf());
        self
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{}:{line}: ", file.display())?,
            (Some(file), None) => write!(f, "{}: ", file.display())?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if !self.key.is_empty() {
            write!(f, "{} ", self.key)?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for SpecError {}

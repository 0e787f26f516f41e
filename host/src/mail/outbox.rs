//! The dry-run sender: every message becomes one `.eml` file in a folder.
//!
//! Files are named after the Message-ID, so sending the same message twice
//! overwrites rather than duplicates, and each is written to a temporary
//! name first and renamed, so a reader never sees half a message.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{OutgoingMessage, SendError, Sender};

/// Writes messages into `dir` as `<message-id>.eml`.
#[derive(Debug, Clone)]
pub struct OutboxSender {
    dir: PathBuf,
}

impl OutboxSender {
    /// An outbox in `dir` (created on first send).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a message with `message_id` is written to.
    pub fn path_for(&self, message_id: &str) -> PathBuf {
        self.dir.join(format!("{}.eml", file_stem(message_id)))
    }
}

/// A Message-ID reduced to characters safe in a file name on every system.
fn file_stem(message_id: &str) -> String {
    message_id
        .trim_matches(|c| c == '<' || c == '>')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[async_trait]
impl Sender for OutboxSender {
    fn describe(&self) -> String {
        format!("dry-run outbox {}", self.dir.display())
    }

    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        let not_sent =
            |what: &str, e: std::io::Error| SendError::NotSent(format!("{what} {}: {e}", self.dir.display()));
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| not_sent("cannot create the outbox", e))?;
        let path = self.path_for(&message.message_id);
        let temporary = path.with_extension("eml.tmp");
        tokio::fs::write(&temporary, &message.raw)
            .await
            .map_err(|e| not_sent("cannot write into the outbox", e))?;
        // Once the bytes are written, a failed rename leaves a complete
        // message behind under the temporary name: it may count as sent.
        tokio::fs::rename(&temporary, &path)
            .await
            .map_err(|e| SendError::Uncertain(format!("wrote {} but could not rename it: {e}", temporary.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_message_becomes_one_eml_file_named_after_its_message_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = OutboxSender::new(dir.path().join("outbox"));
        let message = OutgoingMessage {
            message_id: "<a.b/c@example.com>".into(),
            from: "a@example.com".into(),
            to: "b@example.org".into(),
            raw: b"Subject: hi\r\n\r\nhello\r\n".to_vec(),
        };
        outbox.send(&message).await.expect("written");
        outbox.send(&message).await.expect("written again");
        let files: Vec<_> = std::fs::read_dir(outbox.dir()).expect("dir").flatten().collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].file_name().to_string_lossy(), "a.b_c@example.com.eml");
    }
}

//! The dry-run inbox: a Maildir folder (`new/`, `cur/`, `tmp/`).
//!
//! New messages are the files in `new/`; acknowledging one moves it to
//! `cur/` with the "seen" flag, as a mail client would. Anything that drops
//! a file into `new/` (the demo, a test, a local MDA) delivers a reply.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_trait::async_trait;

use super::{FetchedMessage, InboxSource};

/// Reads new messages from a Maildir.
#[derive(Debug, Clone)]
pub struct MaildirInbox {
    root: PathBuf,
}

impl MaildirInbox {
    /// The Maildir at `root` (its folders are created when missing).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The Maildir's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates `new/`, `cur/` and `tmp/` if missing.
    pub fn create(&self) -> std::io::Result<()> {
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(self.root.join(sub))?;
        }
        Ok(())
    }

    /// Files lying in the Maildir's root itself, where no reader looks (a
    /// reply saved into `inbox/` instead of `inbox/new/`), sorted.
    pub fn misplaced(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        files.sort();
        files
    }

    /// Delivers `raw` into `new/` under `name` (through `tmp/`, as Maildir
    /// requires, so a reader never sees a partial file).
    pub fn deliver(&self, name: &str, raw: &[u8]) -> std::io::Result<PathBuf> {
        self.create()?;
        let temporary = self.root.join("tmp").join(name);
        std::fs::write(&temporary, raw)?;
        let path = self.root.join("new").join(name);
        std::fs::rename(&temporary, &path)?;
        Ok(path)
    }
}

#[async_trait]
impl InboxSource for MaildirInbox {
    fn mailbox(&self) -> String {
        format!("maildir:{}", self.root.display())
    }

    async fn fetch_new(&self, limit: usize) -> anyhow::Result<Vec<FetchedMessage>> {
        for file in self.misplaced() {
            tracing::warn!(
                "{} is not delivered: a Maildir reads messages from new/; move it to {}",
                file.display(),
                self.root.join("new").display()
            );
        }
        let new = self.root.join("new");
        let mut names = Vec::new();
        let mut entries = match tokio::fs::read_dir(&new).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read the inbox folder {}", new.display())),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .with_context(|| format!("reading {}", new.display()))?
        {
            if entry.file_type().await.map(|t| t.is_file()).unwrap_or(false) {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        // Maildir names start with the delivery time, so name order is
        // arrival order for well-behaved writers.
        names.sort();
        names.truncate(limit);
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let path = new.join(&name);
            let raw = tokio::fs::read(&path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            out.push(FetchedMessage {
                mailbox: self.mailbox(),
                handle: name,
                raw,
            });
        }
        Ok(out)
    }

    async fn acknowledge(&self, handle: &str) -> anyhow::Result<()> {
        if handle.contains('/') || handle.contains("..") {
            anyhow::bail!("refusing the Maildir handle {handle:?}: not a plain file name");
        }
        let cur = self.root.join("cur");
        tokio::fs::create_dir_all(&cur)
            .await
            .with_context(|| format!("cannot create {}", cur.display()))?;
        let from = self.root.join("new").join(handle);
        let to = cur.join(format!("{handle}:2,S"));
        tokio::fs::rename(&from, &to)
            .await
            .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn acknowledged_messages_move_to_cur_and_are_not_fetched_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inbox = MaildirInbox::new(dir.path());
        inbox.deliver("1.a", b"Subject: one\r\n\r\n1\r\n").expect("deliver");
        inbox.deliver("2.b", b"Subject: two\r\n\r\n2\r\n").expect("deliver");
        let fetched = inbox.fetch_new(10).await.expect("fetch");
        assert_eq!(
            fetched.iter().map(|m| m.handle.as_str()).collect::<Vec<_>>(),
            ["1.a", "2.b"]
        );
        inbox.acknowledge("1.a").await.expect("ack");
        let again = inbox.fetch_new(10).await.expect("fetch");
        assert_eq!(again.len(), 1);
        assert!(dir.path().join("cur/1.a:2,S").exists());
    }

    #[test]
    fn a_file_saved_into_the_root_is_found_as_misplaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inbox = MaildirInbox::new(dir.path());
        inbox.create().expect("create");
        std::fs::write(dir.path().join("reply.eml"), "Subject: hi\r\n\r\nhi\r\n").expect("write");
        assert_eq!(inbox.misplaced(), vec![dir.path().join("reply.eml")]);
    }
}

//! A dry run: a campaign's next cycle on a scratch copy of what it reads,
//! with dry-run mail, so that nothing of the real campaign changes — no
//! lead moves, no email is recorded, no reply is read from the real inbox,
//! no alert is posted — whatever the campaign's `live` flag and status say.
//! It answers what the cycle would do now and the messages it would send.
//!
//! The copy ([`Snapshots::campaign_working_set`]) holds the campaign, its
//! leads, emails, replies and alerts, the tenant's suppressions and plugin
//! kv data, and the tenant's emails of the last 24 hours (the mailboxes'
//! caps); it lives in an in-memory SQLite store for the run. Plugins run for
//! real with the tenant's versions and limits: a lead source or enricher
//! that calls an HTTP API calls it.

use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;

use crate::app::TenantApp;
use crate::domain::caps::CAP_WINDOW;
use crate::domain::model::{Campaign, CampaignStatus};
use crate::pipeline::{Clock, Cycle, CycleReport, Transports};
use crate::store::{SqliteStore, Store};

/// What a dry run did.
#[derive(Debug, Serialize)]
pub struct DryRun {
    /// The cycle's report, as a real cycle would store it.
    pub report: CycleReport,
    /// Every message it would have sent (outreach and alert emails).
    pub messages: Vec<DryRunMessage>,
}

/// One message a dry run would have sent.
#[derive(Debug, Serialize)]
pub struct DryRunMessage {
    /// The `To` header.
    pub to: String,
    /// The `From` header.
    pub from: String,
    /// The subject, decoded.
    pub subject: String,
    /// The plain-text body, decoded.
    pub text: String,
    /// The whole message as it would go out.
    pub raw: String,
}

/// Runs `campaign`'s next cycle on a copy, with `tenant`'s plugins, at
/// `clock`'s time.
pub async fn dry_run(
    store: &Arc<dyn Store>,
    tenant: &TenantApp,
    clock: &dyn Clock,
    campaign: &Campaign,
) -> anyhow::Result<DryRun> {
    let since = clock.now() - CAP_WINDOW;
    let set = store
        .campaign_working_set(&campaign.tenant_id, campaign.id, since)
        .await
        .context("reading what the campaign's cycle reads")?;
    let scratch = SqliteStore::connect("sqlite::memory:").await?;
    scratch.migrate().await?;
    scratch
        .load_working_set(&set)
        .await
        .context("copying the campaign into the dry run's store")?;
    let copy: Arc<dyn Store> = Arc::new(scratch);
    // In the copy: dry-run mail and running, whatever the real one says.
    let mut config = campaign.config.clone();
    config.live = false;
    copy.update_campaign_config(&campaign.tenant_id, campaign.id, &config)
        .await?;
    if campaign.status != CampaignStatus::Running {
        copy.set_campaign_status(
            &campaign.tenant_id,
            campaign.id,
            CampaignStatus::Running,
            "dry run",
            "dry run",
        )
        .await?;
    }
    let folders = tempfile::tempdir().context("creating the dry run's mail folders")?;
    let (outbox, inbox) = (folders.path().join("outbox"), folders.path().join("inbox"));
    crate::mail::maildir::MaildirInbox::new(&inbox)
        .create()
        .context("creating the dry run's inbox")?;
    let real = &tenant.transports;
    let mut transports = Transports::dry_run(&outbox, &inbox, "", real.unsubscribe.clone());
    transports.operator_address = real.operator_address.clone();
    transports.identity = real.identity.clone();
    let campaign = copy.get_campaign(&campaign.tenant_id, campaign.id).await?;
    let report = Cycle::new(copy, &tenant.runtime, &tenant.registry, clock, campaign, transports)
        .run()
        .await?;
    Ok(DryRun {
        report,
        messages: read_outbox(&outbox)?,
    })
}

/// The messages written to `outbox`, oldest first.
fn read_outbox(outbox: &std::path::Path) -> anyhow::Result<Vec<DryRunMessage>> {
    let mut files: Vec<_> = match std::fs::read_dir(outbox) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", outbox.display())),
    };
    files.sort();
    let mut messages = Vec::new();
    for file in files {
        let raw = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let Some(parsed) = crate::mail::message::parse(&raw) else {
            continue;
        };
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        messages.push(DryRunMessage {
            to: header("To"),
            from: header("From"),
            subject: parsed.subject.clone(),
            text: parsed.body_text.clone(),
            raw: String::from_utf8_lossy(&raw).into_owned(),
        });
    }
    Ok(messages)
}

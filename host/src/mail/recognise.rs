//! Recognising bounces and auto-replies from their structure, before any
//! plugin sees them.
//!
//! Bounces: RFC 3464 delivery status notifications (`multipart/report;
//! report-type=delivery-status`) are read field by field: a `Status: 5.x.x`
//! is hard, `4.x.x` soft. Servers that send plain-text failure notices
//! ("Undeliverable:", "Mail delivery failed", "failure notice" from
//! MAILER-DAEMON) are recognised by their sender and subject and graded by
//! any status code in the text (hard unless it says 4.x.x or "temporary").
//!
//! Auto-replies: RFC 3834 `Auto-Submitted` other than `no`, the common
//! `X-Autoreply` / `X-Autorespond` headers, and `Precedence: auto_reply` /
//! `bulk` / `junk`.
//!
//! This is deliberately small; a fuller recogniser (more vendors' formats,
//! language variants) can replace it behind [`recognise`].

use mail_parser::{MessageParser, MimeHeaders, PartType};

/// What the host recognised without asking a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recognised {
    /// A delivery failure report.
    Bounce {
        /// Permanent (5.x.x) rather than temporary (4.x.x).
        hard: bool,
        /// The status code found, such as `5.1.1`, or empty.
        status: String,
        /// The failed recipient when the report names it, lower case.
        recipient: Option<String>,
        /// The Message-ID of the message that bounced, when quoted.
        original_message_id: Option<String>,
    },
    /// An automatic reply (out-of-office, vacation, ticket receipt...).
    AutoReply {
        /// Which header said so.
        reason: String,
    },
}

/// Subjects of non-standard failure notices, lower case.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "mail delivery failed",
    "delivery status notification (failure)",
    "delivery failure",
    "returned mail",
    "failure notice",
    "mail delivery failure",
];

/// Senders of failure notices (local parts), lower case.
const BOUNCE_SENDERS: &[&str] = &["mailer-daemon", "postmaster"];

/// Looks at a raw message; `None` when it is neither a bounce nor an auto-reply.
pub fn recognise(raw: &[u8]) -> Option<Recognised> {
    let message = MessageParser::default().parse(raw)?;
    if let Some(bounce) = delivery_status(&message) {
        return Some(bounce);
    }
    let subject = message.subject().unwrap_or_default().to_lowercase();
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_lowercase();
    let from_daemon = BOUNCE_SENDERS.iter().any(|s| from.starts_with(&format!("{s}@")));
    if from_daemon
        || BOUNCE_SUBJECTS
            .iter()
            .any(|s| subject.starts_with(s) || subject.contains(&format!(": {s}")))
    {
        let text = message.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
        let status = status_code(&text).unwrap_or_default();
        let lower = text.to_lowercase();
        let soft = status.starts_with('4') || lower.contains("temporar") || lower.contains("will retry");
        if from_daemon || !status.is_empty() || lower.contains("could not be delivered") || lower.contains("failed") {
            return Some(Recognised::Bounce {
                hard: !soft,
                status,
                recipient: field(&text, "final-recipient").map(|v| address_of(&v)),
                original_message_id: field(&text, "message-id").filter(|v| v.contains('@')),
            });
        }
    }
    auto_reply(&message)
}

/// Reads an RFC 3464 report, if this is one.
fn delivery_status(message: &mail_parser::Message<'_>) -> Option<Recognised> {
    let is_report = message
        .content_type()
        .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype() == Some("report"));
    if !is_report {
        return None;
    }
    let mut status_text = None;
    let mut original_message_id = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else { continue };
        let kind = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_lowercase();
        match (kind.as_str(), &part.body) {
            ("message/delivery-status" | "message/global-delivery-status", _) => {
                status_text = Some(String::from_utf8_lossy(part.contents()).into_owned());
            }
            (_, PartType::Message(original)) => {
                original_message_id = original.message_id().map(|id| format!("<{id}>"));
            }
            ("text/rfc822-headers", _) => {
                original_message_id = field(&String::from_utf8_lossy(part.contents()), "message-id");
            }
            _ => {}
        }
    }
    let text = status_text?;
    let status = field(&text, "status").unwrap_or_default();
    let action = field(&text, "action").unwrap_or_default().to_lowercase();
    if action == "delivered" || action == "relayed" || action == "expanded" {
        return None;
    }
    let code = status_code(&status).unwrap_or_default();
    Some(Recognised::Bounce {
        hard: !code.starts_with('4') && action != "delayed",
        status: code,
        recipient: field(&text, "final-recipient")
            .or_else(|| field(&text, "original-recipient"))
            .map(|v| address_of(&v)),
        original_message_id,
    })
}

fn auto_reply(message: &mail_parser::Message<'_>) -> Option<Recognised> {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_lowercase());
    if let Some(value) = header("Auto-Submitted").filter(|v| !v.is_empty() && !v.starts_with("no")) {
        return Some(Recognised::AutoReply {
            reason: format!("Auto-Submitted: {value}"),
        });
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if header(name).is_some() && name != "X-Auto-Response-Suppress" {
            return Some(Recognised::AutoReply {
                reason: format!("{name} header"),
            });
        }
    }
    if let Some(value) = header("Precedence").filter(|v| matches!(v.as_str(), "auto_reply" | "bulk" | "junk")) {
        return Some(Recognised::AutoReply {
            reason: format!("Precedence: {value}"),
        });
    }
    None
}

/// The value of the first `Name: value` line (case-insensitive), trimmed,
/// from a block of header-like lines.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

/// `rfc822; jo@acme.example` → `jo@acme.example`.
fn address_of(value: &str) -> String {
    let address = value.rsplit(';').next().unwrap_or(value);
    address.trim().trim_matches(|c| c == '<' || c == '>').to_lowercase()
}

/// The first enhanced status code (`5.1.1`) in `text`.
fn status_code(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find_map(|word| {
            let word = word.trim_matches('.');
            let parts: Vec<&str> = word.split('.').collect();
            let ok = parts.len() == 3
                && matches!(parts[0], "2" | "4" | "5")
                && parts[1..]
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()));
            ok.then(|| word.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n\
To: anna@outreach.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
--B\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example\r\n\
\r\n\
Final-Recipient: rfc822; Gone@Acme.example\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
--B\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
Message-ID: <cam.1.0@outreach.example>\r\n\
Subject: hello\r\n\
--B--\r\n";

    #[test]
    fn a_dsn_with_a_5xx_status_is_a_hard_bounce_naming_the_recipient_and_original() {
        let got = recognise(DSN.as_bytes());
        assert_eq!(
            got,
            Some(Recognised::Bounce {
                hard: true,
                status: "5.1.1".into(),
                recipient: Some("gone@acme.example".into()),
                original_message_id: Some("<cam.1.0@outreach.example>".into()),
            })
        );
    }

    #[test]
    fn a_dsn_with_a_4xx_status_is_a_soft_bounce() {
        let soft = DSN
            .replace("Status: 5.1.1", "Status: 4.2.2")
            .replace("Action: failed", "Action: delayed");
        assert!(matches!(
            recognise(soft.as_bytes()),
            Some(Recognised::Bounce { hard: false, .. })
        ));
    }

    #[test]
    fn a_plain_text_undeliverable_notice_is_a_bounce() {
        let raw = "From: postmaster@corp.example\r\nSubject: Undeliverable: hello\r\n\r\n\
Delivery has failed to these recipients: jo@corp.example\r\n550 5.1.10 RESOLVER.ADR.RecipientNotFound\r\n";
        assert!(matches!(
            recognise(raw.as_bytes()),
            Some(Recognised::Bounce { hard: true, .. })
        ));
    }

    #[test]
    fn auto_submitted_other_than_no_is_an_auto_reply_and_no_is_not() {
        let auto = "From: jo@acme.example\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\naway\r\n";
        assert!(matches!(recognise(auto.as_bytes()), Some(Recognised::AutoReply { .. })));
        let human = "From: jo@acme.example\r\nAuto-Submitted: no\r\nSubject: Re: hi\r\n\r\nyes please\r\n";
        assert_eq!(recognise(human.as_bytes()), None);
    }
}

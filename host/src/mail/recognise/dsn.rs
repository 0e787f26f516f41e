//! Delivery failures: RFC 3464 reports read field by field, and the
//! non-standard notices (qmail, Exim, Postfix, Exchange, Gmail, Yahoo,
//! Hotmail, AOL, Lotus Notes...) read from their text.
//!
//! The status is the report's `Status:` when there is one; otherwise the
//! enhanced code in the text (`550 5.1.1`), otherwise a known phrase
//! ("mailbox is full" → 4.2.2), otherwise the SMTP reply code's class
//! (`550` → 5.0.0). The recipient is the report's Final-Recipient (or
//! Original-Recipient), else Exim's `X-Failed-Recipients`, else the first
//! address in the notice that is neither the notice's sender nor its
//! addressee.

use mail_parser::{Message, MimeHeaders, PartType};

use super::text::{addresses, enhanced_status, field, fields, plausible_address, recipient_field, reply_code};
use super::{BounceClass, Recognised};

/// Subjects of failure notices, lower case, matched anywhere in the subject.
const SUBJECTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "undeliverable mail",
    "mail delivery failed",
    "mail delivery failure",
    "delivery status notification",
    "delivery notification",
    "delivery failure",
    "delivery has failed",
    "returned mail",
    "failure notice",
    "non-delivery",
    "nondeliverable",
    "could not be delivered",
    "message you sent blocked",
    "olevererbart",
    "unzustellbar",
    "non remis",
    "no entregado",
];

/// Subjects of delay warnings (the message is still queued).
const DELAY_SUBJECTS: &[&str] = &["delayed", "(delay)", "delivery delay", "warning: message"];

/// Local parts of the senders of failure notices.
const SENDERS: &[&str] = &["mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"];

/// Where the quoted original starts in a text notice (lower case).
const ORIGINAL_MARKERS: &[&str] = &[
    "--- below this line is a copy of the message",
    "------ this is a copy of the message",
    "----- original message -----",
    "-----original message-----",
    "original message follows",
    "------- returned message",
    "----- message header follows",
    "--- original message header",
    "------=_part",
];

/// Phrases whose meaning is more precise than the code beside them (qmail
/// servers append a generic `#5.x.x`), lower case.
const PRECISE_PHRASES: &[(&str, &str)] = &[
    ("no mailbox here by that name", "5.1.1"),
    ("does not like recipient", "5.2.0"),
];

/// Phrases that name a status when a notice carries no code, lower case,
/// checked in order (the more specific first).
const PHRASES: &[(&str, &str)] = &[
    ("message size exceeds", "5.3.4"),
    ("message too large", "5.3.4"),
    ("message is too large", "5.3.4"),
    ("illegal attachment", "5.7.0"),
    ("blocked by our bulk email filter", "5.7.1"),
    ("message rejected as spam", "5.7.1"),
    ("rejected for policy reasons", "5.7.1"),
    ("relaying denied", "5.7.1"),
    ("relay access denied", "5.7.1"),
    ("not permitted to relay", "5.7.1"),
    ("mailbox is full", "4.2.2"),
    ("mailbox full", "4.2.2"),
    ("full mailbox", "4.2.2"),
    ("quota exceeded", "4.2.2"),
    ("quota usage exceeded", "4.2.2"),
    ("over quota", "4.2.2"),
    ("overquota", "4.2.2"),
    ("exceeded storage allocation", "4.2.2"),
    ("mailbox size limit exceeded", "4.2.2"),
    ("insufficient disk space", "4.2.2"),
    ("not enough storage space", "4.2.2"),
    (
        "retry time not reached for any host after a long failure period",
        "4.4.7",
    ),
    ("retry timeout exceeded", "4.4.7"),
    ("delivery time expired", "4.4.7"),
    ("unrouteable address", "5.4.4"),
    ("casilla ha expirado", "5.1.2"),
    ("host not found", "5.1.2"),
    ("domain not found", "5.1.2"),
    ("unrouteable mail domain", "5.1.2"),
    ("no such domain", "5.1.2"),
    ("name service error", "5.1.2"),
    ("couldn't find any host named", "5.1.2"),
    ("all relevant mx records point to non-existent hosts", "5.1.2"),
    ("domain name not found", "5.1.2"),
    ("no mx or a record", "5.1.2"),
    ("user unknown", "5.1.1"),
    ("destinatario desconocido", "5.1.1"),
    ("unknown user", "5.1.1"),
    ("no such user", "5.1.1"),
    ("no such mailbox", "5.1.1"),
    ("no mailbox here", "5.1.1"),
    ("user doesn't have", "5.1.1"),
    ("does not exist", "5.1.1"),
    ("doesn't exist", "5.1.1"),
    ("not exist", "5.1.1"),
    ("invalid recipient", "5.1.1"),
    ("invalid mailbox", "5.1.1"),
    ("recipient address rejected", "5.1.1"),
    ("recipient unknown", "5.1.1"),
    ("unknown recipient", "5.1.1"),
    ("address rejected", "5.1.1"),
    ("account is unavailable", "5.1.1"),
    ("account has been disabled", "5.1.1"),
    ("account disabled", "5.1.1"),
    ("mailbox unavailable", "5.1.1"),
    ("mailbox not found", "5.1.1"),
    ("not a valid mailbox", "5.1.1"),
    ("no longer available", "5.1.1"),
    ("user not found", "5.1.1"),
    ("unknown address", "5.1.1"),
    ("requested action not taken", "5.1.1"),
    ("delivery to the following recipient failed permanently", "5.1.1"),
    ("delivery to the following recipient has been delayed", "4.2.0"),
    ("has been delayed", "4.2.0"),
    ("message delayed", "4.2.0"),
    ("delivery temporarily suspended", "4.2.0"),
    ("temporary failure", "4.0.0"),
];

/// The failure the message reports, if it is a delivery-failure notice.
pub(super) fn bounce(message: &Message<'_>) -> Option<Recognised> {
    if let Some(report) = delivery_status(message) {
        return report;
    }
    let subject = message.subject().unwrap_or_default().to_lowercase();
    let from = first_address(message.from());
    let from_daemon = is_daemon(&from)
        || message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.name())
            .is_some_and(|n| n.to_lowercase().contains("mail delivery"));
    let failed_header = message
        .header_raw("X-Failed-Recipients")
        .and_then(|v| addresses(v).into_iter().next());
    let text = notice_text(message);
    let lower = text.to_lowercase();
    let qmail = lower.contains("this is the qmail-send program");
    // A person's reply about a failed delivery ("Re: delivery failure...")
    // is not a notice: notices are not replies and come from the null sender.
    let is_reply = ["re:", "aw:", "sv:", "fw:", "fwd:"]
        .iter()
        .any(|p| subject.starts_with(p));
    let null_sender = message
        .header_raw("Return-Path")
        .is_some_and(|v| v.trim().trim_matches(|c| c == '<' || c == '>').trim().is_empty());
    let bounce_subject =
        SUBJECTS.iter().any(|s| subject.contains(s)) && !is_reply && (null_sender || message.in_reply_to().is_empty());
    let delay_subject = DELAY_SUBJECTS.iter().any(|s| subject.contains(s));
    if !(from_daemon || failed_header.is_some() || qmail || bounce_subject) {
        return None;
    }
    let matched = |table: &'static [(&'static str, &'static str)]| table.iter().find(|(p, _)| lower.contains(p));
    let phrase =
        |table: &'static [(&'static str, &'static str)]| matched(table).map(|(_, status)| (*status).to_string());
    let status = if delay_subject {
        // A delay warning: the message is still queued.
        enhanced_status(&text).unwrap_or_else(|| "4.2.0".to_string())
    } else {
        phrase(PRECISE_PHRASES)
            .or_else(|| enhanced_status(&text))
            .or_else(|| phrase(PHRASES))
            .or_else(|| reply_code(&text).map(|code| format!("{}.0.0", &code[..1])))
            .unwrap_or_else(|| "5.0.0".to_string())
    };
    let to = first_address(message.to());
    let recipient = failed_header.or_else(|| {
        addresses(&text)
            .into_iter()
            .find(|a| *a != from && *a != to && !is_daemon(a))
    });
    let mut diagnostic = diagnostic_line(&text, &status);
    if diagnostic.is_empty() {
        // The line with the phrase that gave the status.
        if let Some((p, _)) = matched(PRECISE_PHRASES).or_else(|| matched(PHRASES)) {
            diagnostic = text
                .lines()
                .map(str::trim)
                .find(|l| l.to_lowercase().contains(p))
                .map(|l| l.chars().take(200).collect())
                .unwrap_or_default();
        }
    }
    Some(Recognised::Bounce {
        class: BounceClass::of_status(&status),
        diagnostic,
        status,
        recipient,
        original_message_id: original_message_id(message),
    })
}

fn is_daemon(address: &str) -> bool {
    let local = address.split_once('@').map_or(address, |(l, _)| l);
    SENDERS.contains(&local)
}

fn first_address(address: Option<&mail_parser::Address<'_>>) -> String {
    address
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .and_then(plausible_address)
        .unwrap_or_default()
}

/// The notice's own text (plain, or HTML turned to text), up to where it
/// quotes the original message.
fn notice_text(message: &Message<'_>) -> String {
    let mut text = String::new();
    for i in 0..message.text_body.len().max(message.html_body.len()) {
        if let Some(part) = message.body_text(i) {
            text.push_str(&part);
            text.push('\n');
        }
    }
    let lower = text.to_lowercase();
    let cut = ORIGINAL_MARKERS
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .filter(|&at| at > 0 && text.is_char_boundary(at))
        .unwrap_or(text.len());
    text.truncate(cut);
    text
}

/// The line that carries `status` (or an SMTP reply code), trimmed; empty
/// when no line does.
fn diagnostic_line(text: &str, status: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.contains(status))
        .or_else(|| text.lines().map(str::trim).find(|l| reply_code(l).is_some()))
        .map(|l| l.chars().take(200).collect())
        .unwrap_or_default()
}

/// The Message-ID of the quoted original, when the notice attaches it.
fn original_message_id(message: &Message<'_>) -> Option<String> {
    message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(original) => original.message_id().map(|id| format!("<{id}>")),
        _ => {
            let ct = part.content_type()?;
            let subtype = ct.subtype().unwrap_or_default().to_ascii_lowercase();
            (subtype == "rfc822-headers").then(|| {
                let text = String::from_utf8_lossy(part.contents()).into_owned();
                field(&fields(&text), "message-id").map(str::to_string)
            })?
        }
    })
}

/// Reads an RFC 3464 `message/delivery-status` part anywhere in the
/// message: `Some(Some(bounce))` for a failure or delay, `Some(None)` for a
/// success report (delivered, relayed), `None` when there is no such part.
fn delivery_status(message: &Message<'_>) -> Option<Option<Recognised>> {
    let text = message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        let kind = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_lowercase();
        matches!(
            kind.as_str(),
            "message/delivery-status" | "message/global-delivery-status"
        )
        .then(|| String::from_utf8_lossy(part.contents()).into_owned())
    })?;
    let normalised = text.replace("\r\n", "\n");
    let blocks: Vec<Vec<(String, String)>> = normalised.split("\n\n").map(fields).filter(|b| !b.is_empty()).collect();
    let recipients: Vec<&Vec<(String, String)>> = blocks
        .iter()
        .filter(|b| {
            field(b, "final-recipient").is_some() || field(b, "status").is_some() || field(b, "action").is_some()
        })
        .collect();
    let failed = recipients.iter().find(|b| {
        let action = field(b, "action").unwrap_or_default().to_ascii_lowercase();
        action.starts_with("failed")
            || action.starts_with("delayed")
            || field(b, "status").is_some_and(|s| !s.starts_with('2'))
    });
    let Some(block) = failed else {
        return if recipients.is_empty() { None } else { Some(None) };
    };
    let action = field(block, "action").unwrap_or_default().to_ascii_lowercase();
    let notice = notice_text(message);
    let diagnostic =
        field(block, "diagnostic-code").map(|d| d.rsplit_once(';').map_or(d, |(_, v)| v).trim().to_string());
    let status = field(block, "status")
        .and_then(enhanced_status)
        .or_else(|| diagnostic.as_deref().and_then(enhanced_status))
        .or_else(|| enhanced_status(&notice))
        .unwrap_or_else(|| {
            if action.starts_with("delayed") {
                "4.0.0"
            } else {
                "5.0.0"
            }
            .to_string()
        });
    let from = first_address(message.from());
    let to = first_address(message.to());
    let recipient = field(block, "final-recipient")
        .and_then(recipient_field)
        .or_else(|| field(block, "original-recipient").and_then(recipient_field))
        .or_else(|| {
            message
                .header_raw("X-Failed-Recipients")
                .and_then(|v| addresses(v).into_iter().next())
        })
        .or_else(|| {
            let quoted = diagnostic.clone().unwrap_or_default();
            addresses(&format!("{quoted}\n{notice}"))
                .into_iter()
                .find(|a| *a != from && *a != to && !is_daemon(a))
        });
    let class = if action.starts_with("delayed") {
        BounceClass::Soft
    } else {
        BounceClass::of_status(&status)
    };
    Some(Some(Recognised::Bounce {
        class,
        diagnostic: diagnostic.unwrap_or_else(|| diagnostic_line(&notice, &status)),
        status,
        recipient,
        original_message_id: original_message_id(message),
    }))
}

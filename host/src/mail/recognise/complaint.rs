//! Spam complaints: RFC 5965 feedback-loop reports (`multipart/report;
//! report-type=feedback-report` with a `message/feedback-report` part, as
//! AOL, Yahoo, Comcast and most ISPs send them) and Hotmail's JMRP reports
//! (the complained-about message forwarded by `staff@hotmail.com`, marked
//! with `X-HmXmrOriginalRecipient`).

use mail_parser::{Message, MimeHeaders, PartType};

use super::Recognised;
use super::text::{addresses, field, fields, recipient_field};

/// The complaint the message reports, if it is a feedback report.
pub(super) fn complaint(message: &Message<'_>) -> Option<Recognised> {
    arf(message).or_else(|| hotmail(message))
}

/// An RFC 5965 report.
fn arf(message: &Message<'_>) -> Option<Recognised> {
    let report_type = message
        .content_type()
        .and_then(|ct| ct.attribute("report-type"))
        .map(str::to_ascii_lowercase);
    let report = message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        (ct.ctype().eq_ignore_ascii_case("message")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("feedback-report")))
        .then(|| String::from_utf8_lossy(part.contents()).into_owned())
    });
    if report.is_none() && report_type.as_deref() != Some("feedback-report") {
        return None;
    }
    let report = fields(&report.unwrap_or_default());
    let feedback_type = field(&report, "feedback-type")
        .unwrap_or("abuse")
        .trim()
        .to_ascii_lowercase();
    let recipient = field(&report, "original-rcpt-to")
        .or_else(|| field(&report, "removal-recipient"))
        .and_then(recipient_field)
        .or_else(|| original_recipient(message));
    Some(Recognised::Complaint {
        recipient,
        feedback_type,
        original_message_id: original_message_id(message),
    })
}

/// A Hotmail JMRP report: the original forwarded whole, either as the
/// message itself or attached.
fn hotmail(message: &Message<'_>) -> Option<Recognised> {
    let from_staff = [message.header_raw("Return-Path"), message.header_raw("From")]
        .into_iter()
        .flatten()
        .any(|v| v.to_ascii_lowercase().contains("staff@hotmail.com"));
    let marker = |m: &Message<'_>| {
        m.header_raw("X-HmXmrOriginalRecipient")
            .and_then(|v| addresses(v).into_iter().next())
    };
    let recipient = marker(message).or_else(|| {
        message.parts.iter().find_map(|part| match &part.body {
            PartType::Message(original) => marker(original),
            _ => None,
        })
    });
    let has_marker = recipient.is_some();
    (from_staff && has_marker).then(|| Recognised::Complaint {
        recipient: recipient.or_else(|| original_recipient(message)),
        feedback_type: "abuse".into(),
        original_message_id: original_message_id(message).or_else(|| message.message_id().map(|id| format!("<{id}>"))),
    })
}

/// The `To` of the attached original message (or its attached headers).
fn original_recipient(message: &Message<'_>) -> Option<String> {
    message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(original) => original
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .and_then(|a| addresses(a).into_iter().next()),
        _ => {
            let ct = part.content_type()?;
            if !ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers")) {
                return None;
            }
            let text = String::from_utf8_lossy(part.contents()).into_owned();
            field(&fields(&text), "to").and_then(|to| addresses(to).into_iter().next())
        }
    })
}

/// The Message-ID of the attached original message.
fn original_message_id(message: &Message<'_>) -> Option<String> {
    message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(original) => original.message_id().map(|id| format!("<{id}>")),
        _ => None,
    })
}

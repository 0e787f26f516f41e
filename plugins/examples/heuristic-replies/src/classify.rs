//! The rules, in the order they are tried: bounce, out-of-office, other
//! auto-replies, unsubscribe, referral, not interested, interested,
//! question, unknown. Each rule sets its own confidence.

use crate::dates::{self, Ymd};
use crate::phrases::*;
use crate::referral::{self, REFERRAL_PHRASES};
use crate::strip::fresh_text;
use crate::text::{first_phrase, normalize, word_count};
use cam_plugin_sdk::{Attribute, BounceKind, Classification, Date, InboundReply, Referral, ReplyLabel};

/// Words a message may have and still count as a short answer.
const SHORT_ANSWER_WORDS: usize = 6;

/// Labels one reply.
pub fn classify(reply: &InboundReply) -> Classification {
    let subject = normalize(&reply.subject);
    let fresh = fresh_text(&reply.body);
    let text = normalize(&fresh);
    let received = dates::from_unix(reply.received_at);

    if let Some(c) = bounce(reply, &subject) {
        return c;
    }
    if let Some(c) = out_of_office(reply, &subject, &text, received) {
        return c;
    }
    if let Some(c) = auto_reply(reply, &subject, &text) {
        return c;
    }
    if text.is_empty() {
        return Classification::new(
            ReplyLabel::Unknown,
            0.2,
            "nothing left after removing quotes and signature",
        );
    }
    if let Some(p) =
        first_phrase(&text, UNSUBSCRIBE).or_else(|| (text.trim_end_matches(['.', '!']) == "stop").then_some("stop"))
    {
        return Classification::new(ReplyLabel::Unsubscribe, 0.95, format!("asks to be removed (\"{p}\")"));
    }
    if let Some(c) = referral(reply, &fresh, &text) {
        return c;
    }
    if let Some(p) = first_phrase(&text, NOT_INTERESTED) {
        return Classification::new(ReplyLabel::NotInterested, 0.85, format!("declines (\"{p}\")"));
    }
    let bare = text.trim_end_matches(['.', '!', ' ']);
    if SHORT_NO.contains(&bare) {
        return Classification::new(ReplyLabel::NotInterested, 0.7, format!("short no (\"{bare}\")"));
    }
    if let Some(p) = first_phrase(&text, INTERESTED) {
        return Classification::new(ReplyLabel::Interested, 0.8, format!("shows interest (\"{p}\")"));
    }
    if word_count(&text) <= SHORT_ANSWER_WORDS
        && let Some(p) = first_phrase(&text, SHORT_YES)
    {
        return Classification::new(ReplyLabel::Interested, 0.7, format!("short yes (\"{p}\")"));
    }
    if text.contains('?') {
        return Classification::new(ReplyLabel::Question, 0.7, "asks a question");
    }
    if let Some(p) = first_phrase(&text, QUESTION_WORDS) {
        return Classification::new(ReplyLabel::Question, 0.6, format!("asks about \"{p}\""));
    }
    Classification::new(ReplyLabel::Unknown, 0.3, "no rule matched")
}

fn header<'a>(headers: &'a [Attribute], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.key.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn bounce(reply: &InboundReply, subject: &str) -> Option<Classification> {
    let from = reply.from.to_lowercase();
    let daemon = from.contains("mailer-daemon") || from.contains("postmaster@");
    let report = header(&reply.headers, "content-type")
        .is_some_and(|v| v.to_lowercase().contains("report-type=delivery-status"));
    let failed = header(&reply.headers, "x-failed-recipients").is_some();
    let subject_hit = first_phrase(subject, BOUNCE_SUBJECTS);
    if !(daemon || report || failed || subject_hit.is_some()) {
        return None;
    }
    // The whole body: a bounce quotes the original message after its report.
    let body = normalize(&reply.body);
    let why = if daemon {
        "sent by the mail system"
    } else if report || failed {
        "delivery report headers"
    } else {
        "delivery failure subject"
    };
    let soft = |confidence: f32, what: &str| {
        Some(Classification::new(
            ReplyLabel::Bounce(BounceKind::Soft),
            confidence,
            format!("{why}; temporary failure ({what})"),
        ))
    };
    let hard = |confidence: f32, what: &str| {
        Some(Classification::new(
            ReplyLabel::Bounce(BounceKind::Hard),
            confidence,
            format!("{why}; permanent failure ({what})"),
        ))
    };
    // A full mailbox is soft even under a 5.x.x code; then the enhanced
    // status code (RFC 3463) decides; then the wording.
    if let Some(p) = first_phrase(&body, FULL_MAILBOX) {
        return soft(0.9, &format!("\"{p}\""));
    }
    match status_code(&body) {
        Some(code) if code.starts_with('5') => return hard(0.95, &format!("status {code}")),
        Some(code) => return soft(0.9, &format!("status {code}")),
        None => {}
    }
    if let Some(p) = first_phrase(&body, HARD_BOUNCE) {
        return hard(0.9, &format!("\"{p}\""));
    }
    if let Some(p) = first_phrase(&body, TEMPORARY_FAILURE) {
        return soft(0.8, &format!("\"{p}\""));
    }
    hard(0.6, "kind not stated, assumed")
}

/// The first RFC 3463 enhanced status code (`5.1.1`, `4.2.0`) in `text`.
fn status_code(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find_map(|start| {
        let class = *bytes.get(start)?;
        if !matches!(class, b'4' | b'5') || bytes.get(start + 1) != Some(&b'.') {
            return None;
        }
        if start > 0 && (bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.') {
            return None;
        }
        let mut i = start + 2;
        let subject_digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += subject_digits;
        if !(1..=3).contains(&subject_digits) || bytes.get(i) != Some(&b'.') {
            return None;
        }
        i += 1;
        let detail_digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += detail_digits;
        let ends_cleanly = bytes.get(i).is_none_or(|b| !b.is_ascii_digit() && *b != b'.');
        ((1..=3).contains(&detail_digits) && ends_cleanly).then(|| &text[start..i])
    })
}

/// Whether the headers mark the message as machine-written (RFC 3834 and
/// the common vendor headers).
fn auto_headers(headers: &[Attribute]) -> Option<&'static str> {
    if header(headers, "auto-submitted").is_some_and(|v| !v.trim().eq_ignore_ascii_case("no")) {
        return Some("Auto-Submitted header");
    }
    if header(headers, "x-autoreply").is_some() || header(headers, "x-autorespond").is_some() {
        return Some("X-Autoreply header");
    }
    if header(headers, "precedence")
        .is_some_and(|v| matches!(v.trim().to_lowercase().as_str(), "auto_reply" | "bulk" | "junk"))
    {
        return Some("Precedence header");
    }
    None
}

fn out_of_office(reply: &InboundReply, subject: &str, text: &str, received: Ymd) -> Option<Classification> {
    let phrase = first_phrase(text, OUT_OF_OFFICE).or_else(|| first_phrase(subject, OUT_OF_OFFICE))?;
    let date = dates::return_date(text, received)
        .or_else(|| dates::return_date(subject, received))
        .or_else(|| dates::return_weekday(text, received));
    let headers = auto_headers(&reply.headers);
    let mut confidence: f32 = if date.is_some() { 0.95 } else { 0.85 };
    if headers.is_some() {
        confidence += 0.03;
    }
    let date = date.and_then(|d| {
        Some(Date {
            year: u16::try_from(d.year).ok()?,
            month: u8::try_from(d.month).ok()?,
            day: u8::try_from(d.day).ok()?,
        })
    });
    let reason = match &date {
        Some(d) => format!(
            "out of office (\"{phrase}\"), back {:04}-{:02}-{:02}",
            d.year, d.month, d.day
        ),
        None => format!("out of office (\"{phrase}\"), no return date given"),
    };
    Some(Classification::new(ReplyLabel::OutOfOffice(date), confidence, reason))
}

fn auto_reply(reply: &InboundReply, subject: &str, text: &str) -> Option<Classification> {
    if let Some(why) = auto_headers(&reply.headers) {
        return Some(Classification::new(ReplyLabel::AutoReply, 0.9, why));
    }
    if let Some(p) = first_phrase(subject, AUTO_REPLY_SUBJECTS) {
        return Some(Classification::new(
            ReplyLabel::AutoReply,
            0.8,
            format!("auto-reply subject (\"{p}\")"),
        ));
    }
    let p = first_phrase(text, AUTO_REPLY)?;
    Some(Classification::new(
        ReplyLabel::AutoReply,
        0.75,
        format!("auto-reply wording (\"{p}\")"),
    ))
}

fn referral(reply: &InboundReply, fresh: &str, text: &str) -> Option<Classification> {
    let phrase = first_phrase(text, REFERRAL_PHRASES)?;
    let referred = referral::referred(fresh, &reply.from)?;
    let reason = match &referred.name {
        Some(name) => format!("refers to {name} <{}> (\"{phrase}\")", referred.email),
        None => format!("refers to {} (\"{phrase}\")", referred.email),
    };
    Some(Classification::new(
        ReplyLabel::Referral(Referral {
            email: referred.email,
            name: referred.name,
        }),
        0.85,
        reason,
    ))
}

#[cfg(test)]
mod tests {
    use super::status_code;

    #[test]
    fn enhanced_status_codes_are_found_but_not_versions_or_ips() {
        assert_eq!(status_code("550 5.1.1 <x@y>: user unknown"), Some("5.1.1"));
        assert_eq!(status_code("452 4.2.2 over quota"), Some("4.2.2"));
        assert_eq!(status_code("host 10.4.5.6 said no"), None);
        assert_eq!(status_code("version 5.1"), None);
        assert_eq!(status_code("v5.10.100.2"), None);
    }
}

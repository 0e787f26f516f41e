//! Building outreach messages (RFC 5322 with threading and one-click
//! unsubscribe headers) and reading inbound ones with `mail-parser`.

use chrono::{DateTime, Utc};
use mail_parser::{HeaderValue, MessageParser};
use sha2::{Digest, Sha256};

/// The Message-ID of step `step` to lead `lead_id`, on `domain`.
///
/// Derived, not random: the part before the dots is a hash of the tenant,
/// the lead and when it was stored, so ids never collide across databases or
/// tenants, and a follow-up can name the ids of the earlier steps it
/// threads under without a lookup.
pub fn message_id(tenant: &str, lead_id: i64, lead_created_at: DateTime<Utc>, step: u32, domain: &str) -> String {
    let digest = Sha256::digest(format!("{tenant}\0{lead_id}\0{}", lead_created_at.timestamp_millis()));
    let nonce = hex::encode(&digest[..8]);
    format!("<cam.{nonce}.{lead_id}.{step}@{domain}>")
}

/// The one-click unsubscribe targets for a message (RFC 2369 / RFC 8058).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// `mailto:` address with the token in the subject.
    pub mailto: String,
    /// HTTPS URL that unsubscribes on POST.
    pub https: String,
}

/// The envelope sender (VERP) of one message: `anna+cam-<id>@domain`,
/// where `<id>` is the local part of the Message-ID with dots as dashes, so
/// a bounce delivered to it names the email even when it quotes nothing.
pub fn verp_address(mailbox: &str, message_id: &str) -> String {
    let id = message_id.trim_matches(|c| c == '<' || c == '>');
    let local_id = id.split_once('@').map_or(id, |(local, _)| local);
    match mailbox.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{}@{domain}", local_id.replace('.', "-")),
        None => mailbox.to_string(),
    }
}

/// The Message-ID a VERP address made by [`verp_address`] stands for.
pub fn message_id_from_verp(address: &str) -> Option<String> {
    let (local, domain) = address.trim().trim_matches(|c| c == '<' || c == '>').rsplit_once('@')?;
    let (_, tag) = local.split_once('+')?;
    if !tag.starts_with("cam-") {
        return None;
    }
    Some(format!("<{}@{}>", tag.replace('-', "."), domain.to_lowercase()))
}

/// Everything an outreach message is made of.
#[derive(Debug, Clone)]
pub struct Outreach<'a> {
    /// The Message-ID, angle brackets included.
    pub message_id: &'a str,
    /// Sending mailbox.
    pub from: &'a str,
    /// Sender display name (may be empty).
    pub from_name: &'a str,
    /// Recipient address.
    pub to: &'a str,
    /// Recipient display name (may be empty).
    pub to_name: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
    /// Date header.
    pub date: DateTime<Utc>,
    /// Message-IDs of the earlier steps, oldest first: the last one becomes
    /// In-Reply-To, all of them References.
    pub earlier: &'a [String],
    /// Unsubscribe targets.
    pub unsubscribe: &'a Unsubscribe,
}

/// A header value, as an RFC 2047 encoded word when it is not plain ASCII.
fn header_text(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    if one_line.is_ascii() {
        one_line
    } else {
        use base64::Engine as _;
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(one_line.as_bytes())
        )
    }
}

/// `name <address>` with the name made safe: an encoded word when it is
/// not ASCII, a quoted string when it holds anything but letters, digits
/// and spaces (a comma, angle brackets or `=?` could otherwise add
/// recipients, hide the address or fake an encoded word).
pub fn mailbox_header(name: &str, address: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return address.to_string();
    }
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || "!#$%&'*+-/^_`{|}~".contains(c));
    let shown = if !name.is_ascii() {
        header_text(name)
    } else if plain && !name.contains("=?") {
        name.to_string()
    } else {
        let mut quoted = String::from("\"");
        for c in name.chars().filter(|c| !c.is_ascii_control()) {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        quoted
    };
    format!("{shown} <{address}>")
}

/// Renders the full message, CRLF line ends, UTF-8 body sent as 8bit.
pub fn build(outreach: &Outreach<'_>) -> Vec<u8> {
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    header("Date", &outreach.date.to_rfc2822());
    header("From", &mailbox_header(outreach.from_name, outreach.from));
    header("To", &mailbox_header(outreach.to_name, outreach.to));
    header("Subject", &header_text(outreach.subject));
    header("Message-ID", outreach.message_id);
    if let Some(last) = outreach.earlier.last() {
        header("In-Reply-To", last);
        header("References", &outreach.earlier.join(" "));
    }
    header(
        "List-Unsubscribe",
        &format!("<{}>, <{}>", outreach.unsubscribe.mailto, outreach.unsubscribe.https),
    );
    header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    header("MIME-Version", "1.0");
    header("Content-Type", "text/plain; charset=utf-8");
    header("Content-Transfer-Encoding", "8bit");
    out.push_str("\r\n");
    for line in outreach.body.lines() {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// An inbound message's parts the pipeline uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedInbound {
    /// Message-ID with angle brackets (empty when absent).
    pub message_id: String,
    /// In-Reply-To with angle brackets.
    pub in_reply_to: Option<String>,
    /// References, each with angle brackets.
    pub references: Vec<String>,
    /// Sender address, lower case.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// The first plain-text body (HTML converted by the parser when there is none).
    pub body_text: String,
    /// Headers as (name, value) text, for classifiers and recognition.
    pub headers: Vec<(String, String)>,
}

/// `<id>` for an id mail-parser returns without brackets.
fn bracketed(id: &str) -> String {
    let id = id.trim().trim_matches(|c| c == '<' || c == '>');
    format!("<{id}>")
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![bracketed(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| bracketed(id)).collect(),
        _ => Vec::new(),
    }
}

/// Parses a raw message; `None` when it is not a message at all.
pub fn parse(raw: &[u8]) -> Option<ParsedInbound> {
    let message = MessageParser::default().parse(raw)?;
    let headers = message
        .headers_raw()
        .map(|(name, value)| (name.to_string(), value.trim().to_string()))
        .collect();
    Some(ParsedInbound {
        message_id: message.message_id().map(bracketed).unwrap_or_default(),
        in_reply_to: id_list(message.in_reply_to()).into_iter().next(),
        references: id_list(message.references()),
        from: message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(|a| a.trim().to_lowercase())
            .unwrap_or_default(),
        subject: message.subject().unwrap_or_default().to_string(),
        body_text: message.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample(earlier: &[String]) -> Vec<u8> {
        let unsubscribe = Unsubscribe {
            mailto: "mailto:anna@outreach.example?subject=unsubscribe%20t.k".into(),
            https: "https://outreach.example/unsubscribe/t.k".into(),
        };
        build(&Outreach {
            from_name: "",
            message_id: "<x@outreach.example>",
            from: "anna@outreach.example",
            to: "jo@acme.example",
            to_name: "Jö Doe",
            subject: "Grüße",
            body: "Hi Jö,\nhow are you?",
            date: Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).single().expect("date"),
            earlier,
            unsubscribe: &unsubscribe,
        })
    }

    #[test]
    fn a_first_message_has_one_click_unsubscribe_and_no_threading_headers() {
        let text = String::from_utf8(sample(&[])).expect("utf8");
        assert!(text.contains("List-Unsubscribe: <mailto:anna@outreach.example?subject=unsubscribe%20t.k>, <https://"));
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(!text.contains("In-Reply-To"));
        let parsed = parse(text.as_bytes()).expect("parses");
        assert_eq!(parsed.subject, "Grüße");
        assert_eq!(parsed.message_id, "<x@outreach.example>");
        assert!(parsed.body_text.contains("how are you?"));
    }

    #[test]
    fn display_names_cannot_add_recipients_hide_the_address_or_fake_encoded_words() {
        assert_eq!(mailbox_header("", "a@x.test"), "a@x.test");
        assert_eq!(mailbox_header("Anna Smith", "a@x.test"), "Anna Smith <a@x.test>");
        assert_eq!(
            mailbox_header("Eve <x@evil.test>, \"", "lead@x.test"),
            "\"Eve <x@evil.test>, \\\"\" <lead@x.test>"
        );
        assert_eq!(
            mailbox_header("O'Brien; Mary", "m@x.test"),
            "\"O'Brien; Mary\" <m@x.test>"
        );
        assert_eq!(
            mailbox_header("=?utf-8?q?Boss?=", "b@x.test"),
            "\"=?utf-8?q?Boss?=\" <b@x.test>"
        );
        for (name, address) in [("Eve <x@evil.test>, \"", "lead@x.test"), ("O'Brien; Mary", "m@x.test")] {
            let header = mailbox_header(name, address);
            let raw = format!("From: a@b.test\r\nTo: {header}\r\nSubject: s\r\n\r\nbody\r\n");
            let message = MessageParser::default().parse(raw.as_bytes()).expect("parses");
            let to = message.to().expect("to");
            assert_eq!(to.iter().count(), 1, "{header} is one recipient");
            assert_eq!(to.first().and_then(|a| a.address()), Some(address), "{header}");
        }
    }

    #[test]
    fn a_follow_up_threads_under_every_earlier_step() {
        let earlier = vec!["<a@x>".to_string(), "<b@x>".to_string()];
        let parsed = parse(&sample(&earlier)).expect("parses");
        assert_eq!(parsed.in_reply_to.as_deref(), Some("<b@x>"));
        assert_eq!(parsed.references, earlier);
    }

    #[test]
    fn a_verp_address_leads_back_to_its_message_id() {
        let id = "<cam.0a1b2c.42.1@outreach.example>";
        let verp = verp_address("anna@outreach.example", id);
        assert_eq!(verp, "anna+cam-0a1b2c-42-1@outreach.example");
        assert_eq!(message_id_from_verp(&verp).as_deref(), Some(id));
        assert_eq!(message_id_from_verp("anna+news@outreach.example"), None);
        assert_eq!(message_id_from_verp("anna@outreach.example"), None);
    }

    #[test]
    fn message_ids_are_stable_per_lead_and_step_and_differ_between_steps() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("date");
        assert_eq!(
            message_id("t", 1, at, 0, "d.example"),
            message_id("t", 1, at, 0, "d.example")
        );
        assert_ne!(
            message_id("t", 1, at, 0, "d.example"),
            message_id("t", 1, at, 1, "d.example")
        );
        assert_ne!(
            message_id("t", 1, at, 0, "d.example"),
            message_id("u", 1, at, 0, "d.example")
        );
    }
}

//! Recognising bounces, complaints and auto-replies from their structure,
//! before any plugin sees them.
//!
//! The order matters: a feedback-loop complaint first (it is a
//! `multipart/report` too), then a delivery failure (many carry
//! `Auto-Submitted` as well), then an auto-reply. What is left is a human
//! reply: [`recognise`] returns `None` for it.
//!
//! - Complaints ([`complaint`]): RFC 5965 feedback reports and Hotmail's
//!   JMRP forwards.
//! - Bounces ([`dsn`]): RFC 3464 reports field by field, and the
//!   non-standard notices (qmail, Exim, Postfix, Exchange, Gmail, Yahoo,
//!   Hotmail, AOL) dug out of their text. The class follows the status:
//!   4.x.x soft, 5.7.x a block on the sender, other 5.x.x hard.
//! - Auto-replies: RFC 3834 `Auto-Submitted` other than `no`, the common
//!   `X-Autoreply` / `X-Autorespond` headers, Exchange's
//!   `X-Auto-Response-Suppress` (set on its own automatic messages), and
//!   `Precedence: auto_reply` / `bulk` / `junk`.

mod complaint;
mod dsn;
mod text;

use mail_parser::MessageParser;
use serde::Serialize;

/// How serious a delivery failure is, and so what it means for the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BounceClass {
    /// Permanent (5.x.x other than 5.7.x): the address is bad; suppress it.
    Hard,
    /// Temporary (4.x.x, or a delay warning): retry; suppress only after
    /// repeated soft bounces.
    Soft,
    /// A policy block on the sender (5.7.x): a sender-health signal, not
    /// proof that the address is bad; never suppresses the address.
    Block,
}

impl BounceClass {
    /// The class of an enhanced status code such as `5.1.1`.
    pub fn of_status(status: &str) -> BounceClass {
        if status.starts_with('4') {
            BounceClass::Soft
        } else if status.starts_with("5.7.") {
            BounceClass::Block
        } else {
            BounceClass::Hard
        }
    }

    /// `hard`, `soft` or `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            BounceClass::Hard => "hard",
            BounceClass::Soft => "soft",
            BounceClass::Block => "block",
        }
    }
}

/// What the host recognised without asking a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Recognised {
    /// A delivery failure report (or a delay warning).
    Bounce {
        /// Hard, soft or block, from the status.
        class: BounceClass,
        /// The enhanced status code, such as `5.1.1` (`5.0.0` / `4.0.0` when
        /// the notice only gives the class).
        status: String,
        /// The failed recipient when the report names it, lower case.
        recipient: Option<String>,
        /// The server's words (Diagnostic-Code, or the line of the notice
        /// that carries the status).
        diagnostic: String,
        /// The Message-ID of the message that bounced, when quoted.
        original_message_id: Option<String>,
    },
    /// A spam complaint (feedback-loop report).
    Complaint {
        /// The address that complained, when the report names it, lower case.
        recipient: Option<String>,
        /// RFC 5965 `Feedback-Type` (`abuse`, `fraud`...), lower case.
        feedback_type: String,
        /// The Message-ID of the complained-about message, when attached.
        original_message_id: Option<String>,
    },
    /// An automatic reply (out-of-office, vacation, ticket receipt...).
    AutoReply {
        /// Which header said so.
        reason: String,
    },
}

/// Looks at a raw message; `None` when it is none of bounce, complaint or
/// auto-reply, that is, a human reply (or not parseable as mail at all).
pub fn recognise(raw: &[u8]) -> Option<Recognised> {
    let message = MessageParser::default().parse(skip_leading_blank_lines(raw))?;
    complaint::complaint(&message)
        .or_else(|| dsn::bounce(&message))
        .or_else(|| auto_reply(&message))
}

/// `raw` without blank (or white-space-only) lines before the first header:
/// a message saved with them would otherwise parse as headerless.
fn skip_leading_blank_lines(mut raw: &[u8]) -> &[u8] {
    while let Some(end) = raw.iter().position(|&b| b == b'\n') {
        if raw[..end].iter().all(u8::is_ascii_whitespace) {
            raw = &raw[end + 1..];
        } else {
            break;
        }
    }
    raw
}

/// The RFC 3834 and vendor auto-reply headers.
fn auto_reply(message: &mail_parser::Message<'_>) -> Option<Recognised> {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_lowercase());
    if let Some(value) = header("Auto-Submitted").filter(|v| !v.is_empty() && !v.starts_with("no")) {
        return Some(Recognised::AutoReply {
            reason: format!("Auto-Submitted: {value}"),
        });
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if let Some(value) = header(name).filter(|v| !v.is_empty() && v != "no" && v != "none") {
            return Some(Recognised::AutoReply {
                reason: format!("{name}: {value}"),
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
                class: BounceClass::Hard,
                status: "5.1.1".into(),
                recipient: Some("gone@acme.example".into()),
                diagnostic: String::new(),
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
            Some(Recognised::Bounce {
                class: BounceClass::Soft,
                ..
            })
        ));
    }

    #[test]
    fn a_plain_text_undeliverable_notice_is_a_bounce() {
        let raw = "From: postmaster@corp.example\r\nSubject: Undeliverable: hello\r\n\r\n\
Delivery has failed to these recipients: jo@corp.example\r\n550 5.1.10 RESOLVER.ADR.RecipientNotFound\r\n";
        assert!(matches!(
            recognise(raw.as_bytes()),
            Some(Recognised::Bounce {
                class: BounceClass::Hard,
                ..
            })
        ));
    }

    #[test]
    fn auto_submitted_other_than_no_is_an_auto_reply_and_no_is_not() {
        let auto = "From: jo@acme.example\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\naway\r\n";
        assert!(matches!(recognise(auto.as_bytes()), Some(Recognised::AutoReply { .. })));
        let human = "From: jo@acme.example\r\nAuto-Submitted: no\r\nSubject: Re: hi\r\n\r\nyes please\r\n";
        assert_eq!(recognise(human.as_bytes()), None);
    }

    fn with_headers(headers: &str) -> String {
        format!(
            "From: jo@acme.example\r\nTo: anna@outreach.example\r\nSubject: Re: hello\r\n{headers}\r\nThanks, I am away.\r\n"
        )
    }

    #[test]
    fn each_auto_reply_header_makes_an_auto_reply() {
        for header in [
            "Auto-Submitted: auto-replied\r\n",
            "Auto-Submitted: auto-generated\r\n",
            "X-Autoreply: yes\r\n",
            "X-Autorespond: Out of office\r\n",
            "X-Auto-Response-Suppress: All\r\n",
            "Precedence: auto_reply\r\n",
            "Precedence: bulk\r\n",
            "Precedence: junk\r\n",
        ] {
            let got = recognise(with_headers(header).as_bytes());
            assert!(
                matches!(got, Some(Recognised::AutoReply { .. })),
                "{header:?} gave {got:?}"
            );
        }
    }

    #[test]
    fn precedence_list_and_auto_submitted_no_are_not_auto_replies() {
        for header in ["Precedence: list\r\n", "Auto-Submitted: no\r\n", ""] {
            assert_eq!(recognise(with_headers(header).as_bytes()), None, "{header:?}");
        }
    }

    #[test]
    fn a_plain_human_reply_that_mentions_failure_and_an_address_is_not_a_bounce() {
        let raw = "From: Jo Smith <jo@acme.example>\r\nTo: anna@outreach.example\r\n\
Subject: Re: delivery failure of our old supplier\r\nIn-Reply-To: <cam.1.0@outreach.example>\r\n\r\n\
Hi Anna, our last supplier's delivery failed twice (550 units lost).\r\n\
Write to bob@acme.example, he decides. Status 5.1.1 of the project is done.\r\n";
        assert_eq!(recognise(raw.as_bytes()), None);
    }

    #[test]
    fn a_bounce_that_also_carries_auto_submitted_is_a_bounce() {
        let raw = "From: Mail Delivery System <Mailer-Daemon@mx.example>\r\nTo: anna@outreach.example\r\n\
Subject: Mail delivery failed: returning message to sender\r\nAuto-Submitted: auto-replied\r\n\
X-Failed-Recipients: gone@acme.example\r\n\r\n\
A message that you sent could not be delivered to one or more of its\r\nrecipients. This is a permanent error.\r\n\
  gone@acme.example\r\n    SMTP error from remote mail server after RCPT TO:<gone@acme.example>:\r\n\
    550 5.1.1 User unknown\r\n";
        let got = recognise(raw.as_bytes());
        assert!(
            matches!(&got, Some(Recognised::Bounce { class: BounceClass::Hard, status, recipient: Some(r), .. })
                if status == "5.1.1" && r == "gone@acme.example"),
            "{got:?}"
        );
    }

    #[test]
    fn a_5_7_status_is_a_block_not_a_hard_bounce() {
        let blocked = DSN.replace("Status: 5.1.1", "Status: 5.7.1");
        assert!(matches!(
            recognise(blocked.as_bytes()),
            Some(Recognised::Bounce {
                class: BounceClass::Block,
                ..
            })
        ));
        assert_eq!(BounceClass::of_status("4.2.2"), BounceClass::Soft);
    }

    #[test]
    fn a_feedback_report_is_a_complaint_naming_the_recipient() {
        let raw = "From: feedback@isp.example\r\nTo: abuse@outreach.example\r\nSubject: FW: hello\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n\
--B\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: isp/1.0\r\n\
Version: 1\r\nOriginal-Rcpt-To: <Jo@Acme.example>\r\n\
--B--\r\n";
        assert_eq!(
            recognise(raw.as_bytes()),
            Some(Recognised::Complaint {
                recipient: Some("jo@acme.example".into()),
                feedback_type: "abuse".into(),
                original_message_id: None,
            })
        );
    }
}

//! Whole replies through `classify`, as the host would send them.

use crate::HeuristicReplies;
use cam_plugin_sdk::{Attribute, BounceKind, Date, InboundReply, Referral, ReplyClassifier, ReplyLabel};

/// 2026-02-20 10:00 UTC.
const RECEIVED: i64 = 1_771_581_600;

fn reply(subject: &str, body: &str) -> InboundReply {
    InboundReply {
        from: "Ada Lovelace <ada@acme.com>".to_owned(),
        subject: subject.to_owned(),
        body: body.to_owned(),
        headers: Vec::new(),
        lead: None,
        received_at: RECEIVED,
    }
}

fn label(subject: &str, body: &str) -> ReplyLabel {
    HeuristicReplies::classify(reply(subject, body)).label
}

fn ooo(year: u16, month: u8, day: u8) -> ReplyLabel {
    ReplyLabel::OutOfOffice(Some(Date { year, month, day }))
}

#[test]
fn interest_in_four_languages() {
    for body in [
        "Sounds interesting, let's talk next week.",
        "Yes, I'd be interested. When are you free?",
        "Klingt gut, gerne ein Termin nächste Woche.",
        "Avec plaisir, ça m'intéresse.",
        "Me interesa, hablemos el lunes.",
        "Yes!",
        "Sure, go ahead.",
    ] {
        assert_eq!(label("Re: Quick question", body), ReplyLabel::Interested, "{body}");
    }
}

#[test]
fn rejections_in_four_languages() {
    for body in [
        "Thanks, but we're not interested.",
        "No thanks, we already use a competitor.",
        "Kein Interesse, danke.",
        "Non merci, pas intéressé.",
        "No gracias, no nos interesa.",
    ] {
        assert_eq!(label("Re: Quick question", body), ReplyLabel::NotInterested, "{body}");
    }
}

#[test]
fn interest_words_in_quoted_history_do_not_count() {
    let body = "Not interested.\n\nOn Mon, Feb 16, 2026 at 9:00 AM Bob <bob@x.com> wrote:\n> Are you interested in a demo? Let's talk!";
    assert_eq!(label("Re: demo", body), ReplyLabel::NotInterested);
    let body = "Gerne, lassen Sie uns sprechen.\n\nAm 16.02.2026 um 09:00 schrieb Bob <bob@x.com>:\n> Kein Interesse? Abmelden hier.";
    assert_eq!(label("Re: demo", body), ReplyLabel::Interested);
}

#[test]
fn signatures_do_not_count() {
    let body = "How much does it cost?\n\nBest regards,\nAda\nPS: unsubscribe link policy at acme.com/legal";
    assert_eq!(label("Re: demo", body), ReplyLabel::Question);
}

#[test]
fn unsubscribe_requests_win_over_everything_said_around_them() {
    for body in [
        "Please remove me from your list.",
        "Not interested. Unsubscribe.",
        "STOP",
        "Bitte austragen.",
        "Merci de me désinscrire.",
        "Por favor, darme de baja.",
    ] {
        assert_eq!(label("Re: offer", body), ReplyLabel::Unsubscribe, "{body}");
    }
}

#[test]
fn referrals_carry_the_address_and_name() {
    let c = HeuristicReplies::classify(reply(
        "Re: offer",
        "I'm not the right person. Please reach out to Jane Doe at jane.doe@acme.com.\n\nBest,\nAda",
    ));
    assert_eq!(
        c.label,
        ReplyLabel::Referral(Referral {
            email: "jane.doe@acme.com".into(),
            name: Some("Jane Doe".into())
        })
    );
    assert!(c.reason.contains("jane.doe@acme.com"));
    let c = HeuristicReplies::classify(reply("AW: Angebot", "Bitte wenden Sie sich an einkauf@acme.de."));
    assert_eq!(
        c.label,
        ReplyLabel::Referral(Referral {
            email: "einkauf@acme.de".into(),
            name: None
        })
    );
    let c = HeuristicReplies::classify(reply(
        "RE: oferta",
        "Ya no trabaja aquí, puede contactar a Luis Gómez <luis@acme.es>.",
    ));
    assert_eq!(
        c.label,
        ReplyLabel::Referral(Referral {
            email: "luis@acme.es".into(),
            name: Some("Luis Gómez".into())
        })
    );
}

#[test]
fn an_address_in_quoted_history_is_not_a_referral() {
    let body =
        "Talk soon, interested.\n\nOn Mon, Feb 16, 2026 at 9:00 AM Bob <bob@x.com> wrote:\n> contact me at bob@x.com";
    assert_eq!(label("Re: demo", body), ReplyLabel::Interested);
}

#[test]
fn out_of_office_in_four_languages_with_return_dates() {
    assert_eq!(
        label("Out of Office", "I am out of the office and back on March 3rd."),
        ooo(2026, 3, 3)
    );
    assert_eq!(
        label(
            "Automatic reply: offer",
            "I'm on vacation until 12.03.2026 with limited access to email."
        ),
        ooo(2026, 3, 12)
    );
    assert_eq!(
        label(
            "Abwesenheitsnotiz",
            "Ich bin im Urlaub und ab dem 3. März wieder im Büro."
        ),
        ooo(2026, 3, 3)
    );
    assert_eq!(
        label("Réponse automatique", "Je suis absent, de retour le 3 mars."),
        ooo(2026, 3, 3)
    );
    assert_eq!(
        label("Respuesta automática", "Estoy fuera de la oficina hasta el 3 de marzo."),
        ooo(2026, 3, 3)
    );
}

#[test]
fn a_bare_no_is_a_rejection_but_no_problem_is_not() {
    assert_eq!(label("Re: offer", "No."), ReplyLabel::NotInterested);
    assert_eq!(label("Re: offer", "Nein!"), ReplyLabel::NotInterested);
    assert_ne!(label("Re: offer", "No problem, let's talk."), ReplyLabel::NotInterested);
}

#[test]
fn out_of_office_until_a_weekday_returns_the_next_such_day() {
    // RECEIVED is Friday 2026-02-20.
    assert_eq!(
        label("Out of office", "I'm out of the office, back on Monday."),
        ooo(2026, 2, 23)
    );
}

#[test]
fn out_of_office_without_a_date_still_says_so() {
    let c = HeuristicReplies::classify(reply(
        "Out of office",
        "I'm currently away with limited access to email.",
    ));
    assert_eq!(c.label, ReplyLabel::OutOfOffice(None));
    assert!(c.confidence >= 0.8);
    assert!(c.reason.contains("no return date"));
}

#[test]
fn an_out_of_office_referral_address_stays_out_of_office() {
    let body = "I'm on parental leave until 1 April 2026. For urgent matters please contact jane@acme.com.";
    assert_eq!(label("Automatic reply", body), ooo(2026, 4, 1));
}

#[test]
fn a_yearless_return_date_after_new_year_is_next_year() {
    let mut r = reply("Out of office", "On holiday, back January 5.");
    r.received_at = 1_797_811_200; // 2026-12-20
    assert_eq!(HeuristicReplies::classify(r).label, ooo(2027, 1, 5));
}

#[test]
fn auto_replies_are_recognised_by_headers_and_wording() {
    let mut r = reply("Re: offer", "We have received your message and will answer shortly.");
    r.headers = vec![Attribute::new("Auto-Submitted", "auto-replied")];
    let c = HeuristicReplies::classify(r);
    assert_eq!(c.label, ReplyLabel::AutoReply);
    assert!(c.confidence >= 0.9);
    assert_eq!(
        label("Ticket received [#1234]", "Thank you for contacting support."),
        ReplyLabel::AutoReply
    );
    assert_eq!(
        label("Re: offer", "This is an automated response."),
        ReplyLabel::AutoReply
    );
    let mut r = reply("Re: offer", "Sounds good, let's talk.");
    r.headers = vec![Attribute::new("Auto-Submitted", "no")];
    assert_eq!(HeuristicReplies::classify(r).label, ReplyLabel::Interested);
}

#[test]
fn hard_and_soft_bounces() {
    let mut r = reply(
        "Undelivered Mail Returned to Sender",
        "<x@acme.com>: host said: 550 5.1.1 User unknown",
    );
    r.from = "MAILER-DAEMON@mx.acme.com".to_owned();
    let c = HeuristicReplies::classify(r);
    assert_eq!(c.label, ReplyLabel::Bounce(BounceKind::Hard));
    assert!(c.confidence >= 0.9);
    let mut r = reply(
        "Delivery Status Notification (Delay)",
        "The recipient's mailbox is full; we will try again later.",
    );
    r.from = "postmaster@acme.com".to_owned();
    assert_eq!(
        HeuristicReplies::classify(r).label,
        ReplyLabel::Bounce(BounceKind::Soft)
    );
    let mut r = reply("Unzustellbar: Angebot", "Die E-Mail-Adresse existiert nicht.");
    r.headers = vec![Attribute::new("X-Failed-Recipients", "x@acme.de")];
    assert_eq!(
        HeuristicReplies::classify(r).label,
        ReplyLabel::Bounce(BounceKind::Hard)
    );
}

#[test]
fn status_codes_decide_bounce_kinds_but_a_full_mailbox_stays_soft() {
    let bounce = |body: &str| {
        let mut r = reply("Mail delivery failed", body);
        r.from = "Mail Delivery System <MAILER-DAEMON@mx.example>".to_owned();
        HeuristicReplies::classify(r).label
    };
    assert_eq!(
        bounce("Status: 4.4.1 (connection timed out)"),
        ReplyLabel::Bounce(BounceKind::Soft)
    );
    assert_eq!(bounce("552 5.2.2 mailbox full"), ReplyLabel::Bounce(BounceKind::Soft));
    assert_eq!(
        bounce("Status: 5.7.1 rejected by policy; will not try again later"),
        ReplyLabel::Bounce(BounceKind::Hard)
    );
    assert_eq!(
        bounce("The account has been disabled."),
        ReplyLabel::Bounce(BounceKind::Hard)
    );
    assert_eq!(
        bounce("Delivery has been delayed, will retry."),
        ReplyLabel::Bounce(BounceKind::Soft)
    );
    assert_eq!(bounce("Something went wrong."), ReplyLabel::Bounce(BounceKind::Hard));
}

#[test]
fn questions_are_questions() {
    assert_eq!(
        label("Re: offer", "What integrations do you support?"),
        ReplyLabel::Question
    );
    assert_eq!(label("Re: offer", "Was kostet das pro Nutzer"), ReplyLabel::Question);
}

#[test]
fn empty_or_unclear_replies_are_unknown_with_low_confidence() {
    let c = HeuristicReplies::classify(reply("Re: offer", "> quoted only\n> nothing new"));
    assert_eq!(c.label, ReplyLabel::Unknown);
    assert!(c.confidence < 0.5);
    let c = HeuristicReplies::classify(reply("Re: offer", "Received, I will forward it to my team internally."));
    assert_eq!(c.label, ReplyLabel::Unknown);
}

#[test]
fn confidence_is_always_between_zero_and_one() {
    for body in ["", "Yes", "?", "STOP", "out of office back 1.1."] {
        let c = HeuristicReplies::classify(reply("", body));
        assert!((0.0..=1.0).contains(&c.confidence), "{body}: {}", c.confidence);
    }
}

#[test]
fn the_shipped_manifest_has_no_config() {
    cam_plugin_sdk::testing::use_manifest_config(include_str!("../heuristic_replies.toml")).unwrap();
    let c = HeuristicReplies::describe();
    assert!(c.needs.is_empty());
}

#[test]
fn realistic_auto_replies_in_four_languages() {
    let cases = [
        (
            "Abwesenheitsnotiz: Ihre Anfrage",
            "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich 12.03.2026 nicht im Büro.\nIn dringenden Fällen wenden Sie sich an kollege@acme.de.",
            ooo(2026, 3, 12),
        ),
        (
            "Réponse automatique : Votre message",
            "Bonjour,\nJe suis actuellement absent(e) jusqu'au 15/03/2026 inclus.\nCordialement,\nMarie",
            ooo(2026, 3, 15),
        ),
        (
            "Respuesta automática: Su mensaje",
            "Gracias por su mensaje. Estaré fuera de la oficina del 1 al 10 de marzo.",
            ooo(2026, 3, 10),
        ),
        (
            "Automatic reply: Quick question",
            "Thank you for your email. I am on annual leave from Monday 23 February, returning on Monday 2 March 2026.",
            ooo(2026, 3, 2),
        ),
    ];
    for (subject, body, expected) in cases {
        let mut r = reply(subject, body);
        r.headers = vec![Attribute::new("Auto-Submitted", "auto-replied")];
        let c = HeuristicReplies::classify(r);
        assert_eq!(c.label, expected, "{subject}: {}", c.reason);
        assert!(c.confidence > 0.9);
    }
}

#[test]
fn a_forwarded_outlook_thread_keeps_only_the_new_text() {
    let body = "Hi, please talk to our CTO, Jane Roe (jane.roe@acme.com).\n\n\
                From: Bob Seller <bob@vendor.com>\nSent: Monday, February 16, 2026 9:00 AM\n\
                To: Ada <ada@acme.com>\nSubject: Quick question\n\nAre you interested? unsubscribe here";
    let c = HeuristicReplies::classify(reply("RE: Quick question", body));
    assert_eq!(
        c.label,
        ReplyLabel::Referral(Referral {
            email: "jane.roe@acme.com".into(),
            name: Some("Jane Roe".into())
        })
    );
}

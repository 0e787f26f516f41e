//! Cuts a reply down to what its author wrote now: quoted history
//! (`On ... wrote:`, `> ` lines, forwarded headers, `-----Original Message-----`
//! and their German, French and Spanish forms) and signatures (`-- `,
//! "Sent from my iPhone", a sign-off line such as "Best regards,") go.

/// Markers that start a quoted or forwarded message, as a whole line.
const SEPARATORS: &[&str] = &[
    "-----original message-----",
    "----- original message -----",
    "-----ursprüngliche nachricht-----",
    "----- ursprüngliche nachricht -----",
    "-------- message d'origine --------",
    "----- message d'origine -----",
    "-----message d'origine-----",
    "-----mensaje original-----",
    "----- mensaje original -----",
    "---------- forwarded message ---------",
    "---------- weitergeleitete nachricht ---------",
    "begin forwarded message:",
];

/// Header names that open an Outlook-style quoted header block
/// (`From: ...` followed by `Sent:`/`To:`/`Subject:`).
const FROM_HEADERS: &[&str] = &["from:", "von:", "de :", "de:"];
const BLOCK_HEADERS: &[&str] = &[
    "sent:",
    "to:",
    "subject:",
    "date:",
    "gesendet:",
    "an:",
    "betreff:",
    "datum:",
    "envoyé :",
    "envoyé:",
    "à :",
    "objet :",
    "objet:",
    "enviado:",
    "enviado el:",
    "para:",
    "asunto:",
    "fecha:",
];

/// Lines that start a signature.
const SIGNATURE_STARTS: &[&str] = &[
    "sent from my",
    "get outlook for",
    "von meinem iphone gesendet",
    "von meinem ipad gesendet",
    "gesendet von meinem",
    "envoyé de mon",
    "enviado desde mi",
];

/// Sign-off lines (lower case, without trailing punctuation).
const SIGN_OFFS: &[&str] = &[
    "best",
    "best regards",
    "best wishes",
    "kind regards",
    "warm regards",
    "regards",
    "thanks",
    "thank you",
    "many thanks",
    "thanks again",
    "cheers",
    "sincerely",
    "yours sincerely",
    "all the best",
    "mit freundlichen grüßen",
    "mit freundlichen grüssen",
    "freundliche grüße",
    "viele grüße",
    "beste grüße",
    "liebe grüße",
    "schöne grüße",
    "grüße",
    "gruß",
    "lg",
    "vg",
    "mfg",
    "cordialement",
    "bien cordialement",
    "bien à vous",
    "salutations",
    "meilleures salutations",
    "merci",
    "bonne journée",
    "saludos",
    "un saludo",
    "saludos cordiales",
    "atentamente",
    "un cordial saludo",
    "gracias",
    "muchas gracias",
];

/// The part of `body` its author wrote now, trimmed.
pub fn fresh_text(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let lower = trimmed.to_lowercase();
        if starts_history(
            &lower,
            lines.get(i + 1).map(|l| l.trim().to_lowercase()),
            &lines[i + 1..],
        ) {
            break;
        }
        if trimmed.starts_with('>') {
            continue;
        }
        if line.trim_end() == "--" || *line == "-- " || line.trim_end() == "__" {
            break;
        }
        if SIGNATURE_STARTS.iter().any(|s| lower.starts_with(s)) {
            break;
        }
        let bare = lower.trim_end_matches([',', '.', '!', ' ']);
        let has_text_before = kept.iter().any(|l| !l.trim().is_empty());
        if has_text_before && SIGN_OFFS.contains(&bare) {
            break;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_owned()
}

/// Whether the line `lower` starts quoted history.
fn starts_history(lower: &str, next: Option<String>, rest: &[&str]) -> bool {
    if SEPARATORS.contains(&lower) {
        return true;
    }
    // A line of underscores is Outlook's separator before a header block.
    if lower.len() >= 10 && lower.chars().all(|c| c == '_') {
        return true;
    }
    if is_attribution(lower) {
        return true;
    }
    // "On Mon, 3 Mar 2026 at 10:00, Ada <ada@x.com>" wrapped before "wrote:".
    if let Some(next) = next {
        let joined = format!("{lower} {next}");
        if (lower.starts_with("on ")
            || lower.starts_with("am ")
            || lower.starts_with("le ")
            || lower.starts_with("el "))
            && is_attribution(&joined)
        {
            return true;
        }
    }
    if FROM_HEADERS.iter().any(|h| lower.starts_with(h)) {
        let headers_follow = rest
            .iter()
            .take(4)
            .filter(|l| {
                let l = l.trim().to_lowercase();
                BLOCK_HEADERS.iter().any(|h| l.starts_with(h))
            })
            .count();
        return headers_follow >= 1;
    }
    false
}

/// `On ... wrote:`, `Am ... schrieb ...:`, `Le ... a écrit :`, `El ... escribió:`.
fn is_attribution(lower: &str) -> bool {
    let ends_colon = lower.ends_with(':');
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("am ") && lower.contains(" schrieb") && ends_colon)
        || (lower.starts_with("le ") && lower.contains(" a écrit") && ends_colon)
        || (lower.starts_with("el ") && lower.contains(" escribió") && ends_colon)
        || (lower.contains(" wrote:") && lower.contains('@') && lower.contains('<'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_style_history_is_cut() {
        let body = "Sounds good, let's talk.\n\nOn Mon, Mar 2, 2026 at 9:00 AM Bob <bob@x.com> wrote:\n> Would you like a demo?\n";
        assert_eq!(fresh_text(body), "Sounds good, let's talk.");
    }

    #[test]
    fn a_wrapped_attribution_line_is_cut() {
        let body = "Yes please.\nOn Mon, Mar 2, 2026 at 9:00 AM Bob Smith <bob@x.com>\nwrote:\n> not interested?";
        assert_eq!(fresh_text(body), "Yes please.");
    }

    #[test]
    fn german_french_and_spanish_attributions_are_cut() {
        let cases = [
            "Gerne!\nAm 02.03.2026 um 09:00 schrieb Bob <bob@x.com>:\n> Kein Interesse?",
            "Gerne!\nLe lun. 2 mars 2026 à 09:00, Bob <bob@x.com> a écrit :\n> pas intéressé ?",
            "Gerne!\nEl lun, 2 mar 2026 a las 9:00, Bob (<bob@x.com>) escribió:\n> ¿no?",
        ];
        for body in cases {
            assert_eq!(fresh_text(body), "Gerne!", "{body}");
        }
    }

    #[test]
    fn outlook_original_message_blocks_are_cut() {
        let body = "Not interested.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\nSubject: demo?\nWould you like a demo?";
        assert_eq!(fresh_text(body), "Not interested.");
        let body = "Kein Bedarf.\n\nVon: Bob <bob@x.com>\nGesendet: Montag, 2. März 2026\nAn: Ada\nBetreff: Demo";
        assert_eq!(fresh_text(body), "Kein Bedarf.");
        let body = "Merci.\n________________________________\nDe : Bob\nEnvoyé : lundi";
        assert_eq!(fresh_text(body), "Merci.");
    }

    #[test]
    fn quoted_lines_anywhere_are_dropped() {
        let body = "> are you interested?\nNo.\n> ok";
        assert_eq!(fresh_text(body), "No.");
    }

    #[test]
    fn signatures_are_cut() {
        assert_eq!(
            fresh_text("Call me Tuesday.\n-- \nAda Lovelace\nCTO"),
            "Call me Tuesday."
        );
        assert_eq!(
            fresh_text("Call me Tuesday.\n\nBest regards,\nAda\n+49 30 1234"),
            "Call me Tuesday."
        );
        assert_eq!(fresh_text("Ja, gerne.\n\nMit freundlichen Grüßen\nAda"), "Ja, gerne.");
        assert_eq!(fresh_text("Sure.\n\nSent from my iPhone"), "Sure.");
    }

    #[test]
    fn a_sign_off_that_is_the_whole_message_stays() {
        assert_eq!(fresh_text("Thanks!"), "Thanks!");
    }

    #[test]
    fn a_from_line_in_prose_is_kept() {
        assert_eq!(
            fresh_text("From: my side, yes.\nLet's talk."),
            "From: my side, yes.\nLet's talk."
        );
    }
}

//! Who a referral points to: the email address in the fresh text (not the
//! sender's own) and, when the reply gives it, the person's name.

/// Phrases that make an address in a reply a referral (lower case).
pub const REFERRAL_PHRASES: &[&str] = &[
    "reach out to",
    "contact",
    "get in touch with",
    "talk to",
    "speak to",
    "speak with",
    "the right person",
    "better person",
    "best person",
    "right contact",
    "handles",
    "in charge of",
    "responsible for",
    "looking after",
    "forwarded",
    "forwarding",
    "cc'd",
    "cc'ing",
    "copied",
    "looped in",
    "redirect",
    "please email",
    "please write to",
    "no longer with",
    "has left",
    "no longer works",
    "wenden sie sich",
    "ansprechpartner",
    "ansprechpartnerin",
    "zuständig",
    "kontaktieren sie",
    "weitergeleitet",
    "nicht mehr bei",
    "la bonne personne",
    "contacter",
    "s'occupe",
    "responsable",
    "transmis",
    "ne fait plus partie",
    "la persona adecuada",
    "contactar",
    "encargado",
    "encargada",
    "reenviado",
    "ya no trabaja",
    "escriba a",
];

/// A referred person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referred {
    /// Their address, lower case.
    pub email: String,
    /// Their name, as written.
    pub name: Option<String>,
}

/// The first address in `text` (original case) that is not `sender`'s, with
/// the name written next to it.
pub fn referred(text: &str, sender: &str) -> Option<Referred> {
    let sender = bare_address(sender).to_lowercase();
    emails(text)
        .into_iter()
        .find(|(_, email)| email.to_lowercase() != sender)
        .map(|(at, email)| Referred {
            name: name_near(text, at, at + email.len()),
            email: email.to_lowercase(),
        })
}

/// `Ada <ada@x.com>` → `ada@x.com`.
fn bare_address(from: &str) -> &str {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => from[open + 1..close].trim(),
        _ => from.trim(),
    }
}

fn is_email_char(c: char) -> bool {
    c.is_alphanumeric() || "._%+-'".contains(c)
}

/// Every email address in `text` with its byte offset.
fn emails(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    for (at_sign, _) in text.match_indices('@') {
        let start = text[..at_sign]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_email_char(*c))
            .last()
            .map_or(at_sign, |(i, _)| i);
        let end = text[at_sign + 1..]
            .char_indices()
            .take_while(|(_, c)| is_email_char(*c))
            .last()
            .map_or(at_sign + 1, |(i, c)| at_sign + 1 + i + c.len_utf8());
        let candidate = text[start..end].trim_matches(|c: char| c == '.' || c == '\'' || c == '-');
        let offset = start + text[start..end].find(candidate).unwrap_or(0);
        let domain_ok = candidate
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.'));
        if domain_ok {
            out.push((offset, candidate));
        }
    }
    out
}

/// Words that may stand between a name and its address.
const GLUE: &[&str] = &[
    "at", "under", "via", "on", "unter", "à", "a", "en", "is", "ist", "est", "es", "-", "–", ":", "(", "<", "[", ",",
];

/// A name of one to three capitalized words just before the address
/// (`Jane Doe <jane@x.com>`, `contact Jane Doe at jane@x.com`) or in
/// parentheses just after it (`jane@x.com (Jane Doe)`).
fn name_near(text: &str, start: usize, end: usize) -> Option<String> {
    // Commas stay as words of their own: "our CTO, Jane Roe" must not run
    // "CTO" into the name.
    let spaced = text[..start].replace(',', " , ");
    let before: Vec<&str> = spaced
        .split(|c: char| c.is_whitespace() || c == '(' || c == '<' || c == '[' || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    let mut words = before
        .iter()
        .rev()
        .skip_while(|w| GLUE.contains(&w.to_lowercase().as_str()));
    let mut name: Vec<&str> = Vec::new();
    for word in words.by_ref() {
        if is_name_word(word) && name.len() < 3 {
            name.push(word);
        } else {
            break;
        }
    }
    // A capitalized first word of a sentence ("Contact jane@...") is not a name.
    name.retain(|w| !is_common_word(w));
    if !name.is_empty() {
        name.reverse();
        return Some(name.join(" "));
    }
    let after = text[end..].trim_start();
    let after = after.strip_prefix('>').unwrap_or(after).trim_start();
    if let Some(inner) = after.strip_prefix('(') {
        let inner = inner.split(')').next().unwrap_or("").trim();
        let words: Vec<&str> = inner.split_whitespace().collect();
        if (1..=3).contains(&words.len()) && words.iter().all(|w| is_name_word(w)) {
            return Some(words.join(" "));
        }
    }
    None
}

/// A capitalized word that is not an acronym such as `CTO` or `VP`.
fn is_name_word(word: &str) -> bool {
    let mut chars = word.chars();
    let acronym = word.chars().count() > 1 && word.chars().all(|c| !c.is_lowercase());
    !acronym
        && chars.next().is_some_and(char::is_uppercase)
        && chars.all(|c| c.is_alphabetic() || c == '-' || c == '\'' || c == '.')
}

/// Capitalized words that start sentences rather than names.
fn is_common_word(word: &str) -> bool {
    const COMMON: &[&str] = &[
        "please",
        "contact",
        "email",
        "mail",
        "write",
        "reach",
        "talk",
        "ask",
        "try",
        "our",
        "my",
        "the",
        "she",
        "he",
        "they",
        "bitte",
        "kontaktieren",
        "schreiben",
        "sie",
        "ihr",
        "unser",
        "unsere",
        "merci",
        "veuillez",
        "contactez",
        "écrivez",
        "notre",
        "por",
        "favor",
        "escriba",
        "contacte",
        "nuestro",
        "nuestra",
        "cc",
        "i",
        "you",
        "hi",
        "hello",
        "hallo",
        "bonjour",
        "hola",
    ];
    COMMON.contains(&word.trim_end_matches('.').to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Option<(String, Option<String>)> {
        referred(text, "bob@acme.com").map(|r| (r.email, r.name))
    }

    #[test]
    fn an_address_with_a_name_before_it() {
        assert_eq!(
            r("Please reach out to Jane Doe at Jane.Doe@Acme.com instead."),
            Some(("jane.doe@acme.com".into(), Some("Jane Doe".into())))
        );
        assert_eq!(
            r("The right person is Jane Doe <jane@acme.com>."),
            Some(("jane@acme.com".into(), Some("Jane Doe".into())))
        );
        assert_eq!(
            r("Bitte wenden Sie sich an Frau Müller (mueller@acme.de)."),
            Some(("mueller@acme.de".into(), Some("Frau Müller".into())))
        );
    }

    #[test]
    fn an_address_with_a_name_after_it() {
        assert_eq!(
            r("Contact jane@acme.com (Jane Doe), she handles this."),
            Some(("jane@acme.com".into(), Some("Jane Doe".into())))
        );
    }

    #[test]
    fn an_address_without_a_name() {
        assert_eq!(
            r("Please email sales-team@acme.com."),
            Some(("sales-team@acme.com".into(), None))
        );
    }

    #[test]
    fn the_senders_own_address_is_skipped() {
        assert_eq!(
            r("I'm bob@acme.com; talk to ana@acme.com"),
            Some(("ana@acme.com".into(), None))
        );
        assert_eq!(
            referred("write to Bob <bob@acme.com>", "Bob Smith <BOB@acme.com>"),
            None
        );
    }

    #[test]
    fn text_without_an_address_refers_nobody() {
        assert_eq!(r("Talk to Jane in sales."), None);
        assert_eq!(r("ping me @ noon"), None);
    }
}

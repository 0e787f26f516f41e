//! Small text helpers shared by the recognisers: header-like field blocks,
//! addresses and status codes found in free text.

/// Header-like `Name: value` fields of one block, continuation lines
/// (starting with white space) folded into the value. Names are lower case.
pub(super) fn fields(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim();
            if !key.is_empty() && !key.contains(' ') {
                out.push((key.to_ascii_lowercase(), value.trim().to_string()));
            }
        }
    }
    out
}

/// The value of the first field called `name` (lower case) in `fields`.
pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The address in a DSN recipient field (`rfc822; Jo@Acme.example` →
/// `jo@acme.example`), or `None` when it is not a plausible address.
pub(super) fn recipient_field(value: &str) -> Option<String> {
    let address = value.rsplit(';').next().unwrap_or(value);
    let address = address.trim().trim_matches(|c| c == '<' || c == '>' || c == '"');
    plausible_address(address)
}

/// `address` lower-cased when it looks like a deliverable address.
pub(super) fn plausible_address(address: &str) -> Option<String> {
    let address = address
        .trim()
        .trim_matches(|c: char| matches!(c, '<' | '>' | '"' | '\'' | '.' | ',' | ':' | ';'));
    let (local, domain) = address.split_once('@')?;
    let ok = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-=!#$&'*/?^`{|}~".contains(c));
    ok.then(|| address.to_ascii_lowercase())
}

/// Every plausible address in `text`, in order.
pub(super) fn addresses(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | '"' | ',' | ';' | ':'))
        .filter(|word| word.contains('@'))
        .filter_map(plausible_address)
        .collect()
}

/// Whether `word` is an enhanced status code such as `5.1.1` with a class
/// of 4 or 5.
fn is_enhanced(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && matches!(parts[0], "4" | "5")
        && parts[1].len() <= 3
        && parts[2].len() <= 3
        && parts[1..]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Words of `text` split on anything but digits and dots, dots trimmed.
fn numeric_words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = None;
    let mut out = Vec::new();
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let part = c.is_ascii_digit() || c == '.';
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let word = &text[s..i];
                let trimmed = word.trim_start_matches('.');
                let offset = s + (word.len() - trimmed.len());
                out.push((offset, trimmed.trim_end_matches('.')));
                start = None;
            }
            _ => {}
        }
    }
    out.into_iter()
}

/// The enhanced status code in `text`: one right after an SMTP reply code
/// (`550 5.1.1`, `550-5.1.1`, `#5.1.1`) first, else the first standing alone.
pub(super) fn enhanced_status(text: &str) -> Option<String> {
    let words: Vec<(usize, &str)> = numeric_words(text).collect();
    let preceded_by_reply = |i: usize| {
        let before = &text[..words[i].0];
        let gap = before.len() - before.trim_end_matches([' ', '-', '#', '(']).len();
        i > 0 && gap > 0 && words[i - 1].0 + words[i - 1].1.len() + gap == words[i].0 && is_reply_code(words[i - 1].1)
    };
    let hits: Vec<usize> = (0..words.len()).filter(|&i| is_enhanced(words[i].1)).collect();
    let standalone = |i: usize| {
        let end = words[i].0 + words[i].1.len();
        let next = text[end..].chars().next();
        let prev = text[..words[i].0].chars().next_back();
        !matches!(next, Some(c) if c.is_ascii_alphanumeric()) && !matches!(prev, Some(c) if c.is_ascii_alphanumeric())
    };
    hits.iter()
        .copied()
        .find(|&i| preceded_by_reply(i))
        .or_else(|| hits.iter().copied().find(|&i| standalone(i)))
        .map(|i| words[i].1.to_string())
}

/// Whether `word` is a 4xx or 5xx SMTP reply code.
fn is_reply_code(word: &str) -> bool {
    word.len() == 3 && matches!(word.as_bytes()[0], b'4' | b'5') && word.chars().all(|c| c.is_ascii_digit())
}

/// The first SMTP reply code (`550`, `452`) in `text` that stands as a word
/// before text, as servers write them (`said: 550 ...`, `550-...`).
pub(super) fn reply_code(text: &str) -> Option<String> {
    numeric_words(text)
        .find(|&(at, word)| {
            let next = text[at + word.len()..].chars().next();
            let prev = text[..at].chars().next_back();
            is_reply_code(word)
                && matches!(next, Some(' ' | '-'))
                && !matches!(prev, Some(c) if c.is_ascii_alphanumeric() || c == '.' || c == ':' || c == '/')
        })
        .map(|(_, word)| word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enhanced_code_after_a_reply_code_wins_over_a_version_number() {
        assert_eq!(
            enhanced_status("CommuniGate 4.1.8 said 550 5.1.1 user unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(enhanced_status("status 4.2.2 mailbox full").as_deref(), Some("4.2.2"));
        assert_eq!(enhanced_status("at 10.1.2.3 nothing"), None);
    }

    #[test]
    fn addresses_are_found_in_brackets_and_lower_cased() {
        assert_eq!(
            addresses("<Jo@Acme.example>: said"),
            vec!["jo@acme.example".to_string()]
        );
        assert_eq!(recipient_field("system;<>"), None);
    }

    #[test]
    fn reply_codes_are_found_as_words_only() {
        assert_eq!(reply_code("host mx said: 550 Requested").as_deref(), Some("550"));
        assert_eq!(reply_code("id 5501234 and 10.550.2"), None);
    }
}

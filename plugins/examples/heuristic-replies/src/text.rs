//! Small text helpers shared by the rules.

/// Whether `phrase` (lower case) occurs in `text` (lower case) as whole
/// words: `"no"` matches in `"no, thanks"` but not in `"know"`.
pub fn has_phrase(text: &str, phrase: &str) -> bool {
    find_phrase(text, phrase).is_some()
}

/// The byte offset of the first whole-word occurrence of `phrase` in `text`.
pub fn find_phrase(text: &str, phrase: &str) -> Option<usize> {
    if phrase.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(found) = text[from..].find(phrase) {
        let start = from + found;
        let end = start + phrase.len();
        let before_ok = text[..start].chars().next_back().is_none_or(|c| !is_word_char(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_word_char(c));
        // A phrase ending in punctuation ("wrote:") needs no boundary after it.
        let phrase_edge_ok = !phrase.ends_with(is_word_char) || after_ok;
        let phrase_start_ok = !phrase.starts_with(is_word_char) || before_ok;
        if phrase_start_ok && phrase_edge_ok {
            return Some(start);
        }
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// The first phrase of `phrases` found in `text`.
pub fn first_phrase<'p>(text: &str, phrases: &[&'p str]) -> Option<&'p str> {
    phrases.iter().copied().find(|p| has_phrase(text, p))
}

/// Letters, digits and the apostrophes inside words such as "don't".
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '\'' || c == '’'
}

/// Lower-cases and folds typographic apostrophes to `'`.
pub fn normalize(text: &str) -> String {
    text.to_lowercase().replace('’', "'")
}

/// The number of words in `text`.
pub fn word_count(text: &str) -> usize {
    text.split(|c: char| !is_word_char(c)).filter(|w| !w.is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(has_phrase("no, thanks", "no"));
        assert!(!has_phrase("i know", "no"));
        assert!(has_phrase("not interested.", "not interested"));
        assert!(!has_phrase("uninterested", "interested"));
        assert!(has_phrase("ça m'intéresse", "m'intéresse"));
    }

    #[test]
    fn a_later_whole_word_match_is_found_after_a_partial_one() {
        assert_eq!(find_phrase("known no", "no"), Some(6));
    }
}

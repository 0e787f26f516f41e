//! Text a plugin wrote, made safe to show in a host message or log line:
//! control characters (newlines, escape sequences, carriage returns) and
//! the bidirectional-override characters escaped, so a plugin can neither
//! start a line of its own nor recolour or reorder what a terminal shows,
//! and cut to a number of characters.

/// `text`, trimmed, escaped and cut to `max_chars` characters (`…` marks a cut).
pub fn escaped(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(2)));
    for (i, c) in text.trim().chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `text` holds a character [`escaped`] would escape.
pub fn needs_escaping(text: &str) -> bool {
    text.chars().any(needs_escape)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped_and_long_text_cut() {
        assert_eq!(
            escaped("a\tb\nc\u{1b}[31m\u{202e}d", 100),
            "a\\tb\\nc\\u{1b}[31m\\u{202e}d"
        );
        assert_eq!(escaped("  abcdef ", 3), "abc…");
        assert!(needs_escaping("x\ry") && !needs_escaping("plain text"));
    }
}

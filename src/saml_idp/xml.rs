//! XML escaping for the documents the IdP writes by hand: every value that is not a constant
//! goes through one of these (no XML injection into a signed assertion).

/// Text content (`<a>text</a>`).
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Characters XML 1.0 forbids (§2.2) are dropped: they cannot be written at all.
            c if !allowed(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// An attribute value in double quotes.
pub fn attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if !allowed(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            text("x</saml:AttributeValue><a>&"),
            "x&lt;/saml:AttributeValue&gt;&lt;a&gt;&amp;"
        );
        assert_eq!(attr("a\"b'<&\n"), "a&quot;b&apos;&lt;&amp;&#10;");
        assert_eq!(text("a\u{0}b\u{1b}c"), "abc");
    }
}

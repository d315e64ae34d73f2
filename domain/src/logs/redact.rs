//! Redaction of env values from log lines.
//!
//! A process writes its output line by line, so a multi-line value (a PEM key) never appears whole
//! in one line: each of its lines is redacted on its own. A line cut at the length limit may end
//! with the first part of a value: that tail is redacted too. Overlapping matches of different
//! values are merged, so no part of either survives.

use super::REDACTED;

/// Values shorter than this are not redacted (they would match everywhere).
pub(crate) const MIN_SECRET: usize = 3;

/// The strings to redact for one set of env values, longest first.
#[derive(Default)]
pub(crate) struct Secrets(Vec<String>);

/// Never prints the values themselves.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.0.len())
    }
}

impl Secrets {
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Secrets {
        let mut out = Vec::new();
        for value in values {
            if value.contains(['\n', '\r']) {
                let pieces = value.split(['\n', '\r']).map(str::trim).filter(|p| p.len() >= MIN_SECRET);
                out.extend(pieces.map(str::to_owned));
            } else if value.len() >= MIN_SECRET {
                out.push(value);
            }
        }
        Secrets::sorted(out)
    }

    /// The union of several sets.
    pub(crate) fn union<'a>(sets: impl IntoIterator<Item = &'a Secrets>) -> Secrets {
        Secrets::sorted(sets.into_iter().flat_map(|s| s.0.iter().cloned()).collect())
    }

    fn sorted(mut all: Vec<String>) -> Secrets {
        all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        all.dedup();
        Secrets(all)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every occurrence of a value replaced by [`REDACTED`]. With `cut`, the text was
    /// cut off at the length limit, and a tail that is the beginning of a value is redacted too.
    pub(crate) fn redact(&self, text: &str, cut: bool) -> String {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for secret in &self.0 {
            let mut from = 0;
            while let Some(i) = text[from..].find(secret.as_str()) {
                let start = from + i;
                spans.push((start, start + secret.len()));
                // step one character, so overlapping occurrences are all found
                from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            }
            if cut {
                if let Some(start) = partial_tail(text, secret) {
                    spans.push((start, text.len()));
                }
            }
        }
        if spans.is_empty() {
            return text.to_owned();
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        let mut current: Option<(usize, usize)> = None;
        for (start, end) in spans {
            match &mut current {
                Some((_, cur_end)) if start <= *cur_end => *cur_end = (*cur_end).max(end),
                _ => {
                    if let Some((s, e)) = current.take() {
                        out.push_str(&text[pos..s]);
                        out.push_str(REDACTED);
                        pos = e;
                    }
                    current = Some((start, end));
                }
            }
        }
        if let Some((s, e)) = current {
            out.push_str(&text[pos..s]);
            out.push_str(REDACTED);
            pos = e;
        }
        out.push_str(&text[pos..]);
        out
    }
}

/// The start of the longest tail of `text` that is a proper prefix of `secret`.
fn partial_tail(text: &str, secret: &str) -> Option<usize> {
    let first = secret.as_bytes()[0];
    let earliest = text.len().saturating_sub(secret.len() - 1);
    (earliest..text.len())
        .filter(|&i| text.as_bytes()[i] == first && text.is_char_boundary(i))
        .find(|&i| secret.as_bytes().starts_with(&text.as_bytes()[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> Secrets {
        Secrets::new(values.iter().map(|v| v.to_string()))
    }

    #[test]
    fn debug_never_prints_the_values() {
        let printed = format!("{:?}", secrets(&["hunter2-secret"]));
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn each_line_of_a_multi_line_value_is_redacted_on_its_own() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
        let s = secrets(&[pem]);
        for line in pem.lines() {
            assert_eq!(s.redact(&format!("key: {}", line.trim()), false), "key: [redacted]");
        }
    }

    #[test]
    fn the_beginning_of_a_value_at_the_end_of_a_cut_line_is_redacted() {
        let s = secrets(&["hunter2-secret"]);
        assert_eq!(s.redact("xxxx hunter2-se", true), "xxxx [redacted]");
        assert_eq!(s.redact("xxxx h", true), "xxxx [redacted]");
        assert_eq!(s.redact("xxxx hunter2-se", false), "xxxx hunter2-se", "an uncut line ends where it ends");
        assert_eq!(s.redact("no match here", true), "no match here");
    }

    #[test]
    fn overlapping_values_leave_nothing_of_either() {
        let s = secrets(&["abcdef", "defghi"]);
        assert_eq!(s.redact("1abcdefghi2", false), "1[redacted]2");
        assert_eq!(s.redact("abcdef and defghi", false), "[redacted] and [redacted]");
    }

    #[test]
    fn short_values_are_not_redacted_and_unions_merge_sets() {
        let both = Secrets::union([&secrets(&["ab", "old-value"]), &secrets(&["new-value"])]);
        assert_eq!(both.redact("ab old-value new-value", false), "ab [redacted] [redacted]");
        assert!(secrets(&["x", "\n\n"]).is_empty());
    }
}

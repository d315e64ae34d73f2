//! The env editor's `.env` text mode: `KEY=value` lines to and from the editor's rows. Blank lines
//! and `#` comments are skipped, `export KEY=value` is accepted, values may be quoted (`"…"` with
//! `\n`, `\"` and `\\` escapes, or `'…'` taken literally). A key given twice is refused, never
//! silently overwritten.

/// A line that cannot be read, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for DotenvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The variables of a `.env` text, in their order.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, DotenvError> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut first_line: Vec<usize> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let err = |message: String| DotenvError { line: n, message };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(err(format!("“{}” is not KEY=value", short(line))));
        };
        let key = key.trim();
        let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(err(format!("“{}” is not a variable name (letters, digits and '_', not starting with a digit)", short(key))));
        }
        if let Some(pos) = out.iter().position(|(k, _)| k == key) {
            return Err(err(format!("{key} is already set on line {}", first_line[pos])));
        }
        out.push((key.to_string(), unquote(value.trim()).map_err(err)?));
        first_line.push(n);
    }
    Ok(out)
}

fn short(s: &str) -> String {
    let mut t: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        t.push('…');
    }
    t
}

fn unquote(v: &str) -> Result<String, String> {
    if let Some(inner) = v.strip_prefix('\'') {
        return inner.strip_suffix('\'').map(str::to_string).ok_or_else(|| "a quote ' is not closed".to_string());
    }
    let Some(inner) = v.strip_prefix('"') else {
        // unquoted: a ` #` starts a comment
        return Ok(v.split(" #").next().unwrap_or("").trim_end().to_string());
    };
    let inner = inner.strip_suffix('"').filter(|i| !i.ends_with('\\') || i.ends_with("\\\\")).ok_or_else(|| "a quote \" is not closed".to_string())?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Ok(out)
}

/// The rows as `.env` text (values that need it double-quoted), one variable per line.
pub fn render(vars: &[(String, String)]) -> String {
    vars.iter()
        .map(|(k, v)| {
            let plain = !v.is_empty() && v.chars().all(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '\\' | '#'));
            if plain || v.is_empty() {
                format!("{k}={v}\n")
            } else {
                let escaped = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").replace('\t', "\\t");
                format!("{k}=\"{escaped}\"\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_the_usual_forms() {
        let text = "# comment\n\nA=1\nexport B = two words # note\nC=\"quoted # not a comment\\n\"\nD='lit\\n'\nE=\n";
        assert_eq!(parse(text).unwrap(), kv(&[("A", "1"), ("B", "two words"), ("C", "quoted # not a comment\n"), ("D", "lit\\n"), ("E", "")]));
    }

    #[test]
    fn a_key_twice_is_refused_with_both_lines() {
        let err = parse("A=1\nB=2\n\nA=3\n").unwrap_err();
        assert_eq!(err, DotenvError { line: 4, message: "A is already set on line 1".into() });
    }

    #[test]
    fn bad_lines_say_which_and_why() {
        assert_eq!(parse("A=1\nnot a pair").unwrap_err().line, 2);
        assert!(parse("1A=x").unwrap_err().message.contains("not a variable name"));
        assert!(parse("A=\"open").unwrap_err().message.contains("not closed"));
        assert!(parse("A='open").unwrap_err().message.contains("not closed"));
        assert!(parse("A=\"ends with escape\\\"").is_err());
    }

    #[test]
    fn rendering_reads_back_the_same_values() {
        let vars = kv(&[("A", "1"), ("B", "two words"), ("C", "quote \" and \\ back"), ("D", "line\nbreak"), ("E", ""), ("F", "x#y"), ("G", "********")]);
        assert_eq!(parse(&render(&vars)).unwrap(), vars);
    }
}

//! App slugs from display names, shared by `domain` (which decides) and the dashboard (which
//! previews `{slug}.{base-domain}` as the name is typed).

use crate::Invalid;

/// Slugs an app may not take: the dashboard's own routes and hostnames people expect to mean
/// something else (`www.example.com` must not be someone's app).
pub const RESERVED_SLUGS: &[&str] = &[
    "account", "admin", "api", "app", "apps", "assets", "auth", "autoconfig", "autodiscover", "billing", "builds",
    "cdn", "dashboard", "docs", "ftp", "git", "help", "imap", "invite", "localhost", "login", "logout", "mail", "new",
    "ns1", "ns2", "pkg", "pop", "proxy", "rhone", "setup", "smtp", "ssh", "static", "status", "support", "t", "teams",
    "tokens", "webmail", "www",
];

/// Latin letters with diacritics (and a few ligatures) and their ASCII spelling.
const TRANSLITERATION: &[(&str, &str)] = &[
    ("ÀÁÂÃÄÅĀĂĄàáâãäåāăą", "a"),
    ("ÇĆĈĊČçćĉċč", "c"),
    ("ĎĐďđÐð", "d"),
    ("ÈÉÊËĒĔĖĘĚèéêëēĕėęě", "e"),
    ("ĜĞĠĢĝğġģ", "g"),
    ("ĤĦĥħ", "h"),
    ("ÌÍÎÏĨĪĬĮİìíîïĩīĭįı", "i"),
    ("Ĵĵ", "j"),
    ("Ķķ", "k"),
    ("ĹĻĽĿŁĺļľŀł", "l"),
    ("ÑŃŅŇñńņň", "n"),
    ("ÒÓÔÕÖØŌŎŐòóôõöøōŏő", "o"),
    ("ŔŖŘŕŗř", "r"),
    ("ŚŜŞŠśŝşšȘș", "s"),
    ("ŢŤŦţťŧȚț", "t"),
    ("ÙÚÛÜŨŪŬŮŰŲùúûüũūŭůűų", "u"),
    ("Ŵŵ", "w"),
    ("ÝŸŶýÿŷ", "y"),
    ("ŹŻŽźżž", "z"),
    ("Ææ", "ae"),
    ("Œœ", "oe"),
    ("ß", "ss"),
    ("Þþ", "th"),
];

fn ascii_of(c: char) -> Option<&'static str> {
    TRANSLITERATION.iter().find(|(from, _)| from.contains(c)).map(|(_, to)| *to)
}

/// The slug a display name suggests: letters with diacritics spelled in ASCII (`Ünïcödé Äpp` →
/// `unicode-app`), anything else between words becomes one `-`, at most 63 characters. Empty when
/// nothing usable is left.
pub fn slug_from_name(name: &str) -> String {
    let mut out = String::new();
    let mut push = |s: &str| {
        for c in s.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
    };
    for c in name.trim().chars() {
        match ascii_of(c) {
            Some(ascii) => push(ascii),
            None => push(c.encode_utf8(&mut [0; 4])),
        }
    }
    let cut: String = out.chars().take(63).collect();
    cut.trim_matches('-').to_string()
}

/// Why `slug` cannot name a new app, if it cannot: a DNS label (1–63 of `a-z0-9-`, not starting or
/// ending with `-`) that is not reserved.
pub fn check_slug(slug: &str) -> Result<(), Invalid> {
    let bad = |message: &str| Err(Invalid { field: "slug", message: message.to_string() });
    if slug.is_empty() || slug.len() > 63 {
        return bad("must be 1 to 63 characters");
    }
    if !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return bad("may contain only lowercase letters, digits and '-'");
    }
    if slug.starts_with('-') || slug.ends_with('-') {
        return bad("must not start or end with '-'");
    }
    if RESERVED_SLUGS.contains(&slug) {
        return Err(Invalid { field: "slug", message: format!("“{slug}” is reserved (a page of the dashboard or a well-known hostname): choose another") });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_transliterated_not_stripped() {
        let cases = [
            ("Ünïcödé Äpp", "unicode-app"),
            ("My App!", "my-app"),
            ("  Crème brûlée  ", "creme-brulee"),
            ("Straße & Œuvre", "strasse-oeuvre"),
            ("Łódź — Kraków", "lodz-krakow"),
            ("日本語", ""),
            ("app 日本 two", "app-two"),
            ("---", ""),
        ];
        for (name, want) in cases {
            assert_eq!(slug_from_name(name), want, "{name:?}");
        }
        let long = slug_from_name(&"ab ".repeat(40));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
    }

    #[test]
    fn reserved_and_malformed_slugs_are_refused() {
        for ok in ["shop", "my-app", "a", "new-shop", "api2"] {
            assert_eq!(check_slug(ok), Ok(()), "{ok}");
        }
        for reserved in ["new", "api", "www", "admin", "login", "setup", "t"] {
            assert!(check_slug(reserved).unwrap_err().message.contains("reserved"), "{reserved}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert_eq!(check_slug(bad).unwrap_err().field, "slug", "{bad:?}");
        }
    }

    #[test]
    fn every_transliteration_is_ascii_and_every_reserved_slug_is_a_valid_label() {
        for (from, to) in TRANSLITERATION {
            assert!(to.bytes().all(|b| b.is_ascii_lowercase()), "{to}");
            assert!(from.chars().all(|c| !c.is_ascii()), "{from}");
        }
        for s in RESERVED_SLUGS {
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{s}");
        }
    }
}

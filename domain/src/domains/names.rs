//! Domain names as users type them: normalised to lower-case ASCII, or refused with the reason.

use crate::error::{Error, Result};

/// A domain name as typed: lower-cased, IDNA to ASCII, trailing dot dropped; refused when it is not
/// a public host name (an IP, one label, a wildcard, a bad label) or is Rhone's own base domain.
pub fn parse_domain(input: &str, base_domain: &str) -> Result<String> {
    let ascii = host_name(input)?;
    let base = base_domain.to_ascii_lowercase();
    if ascii == base || ascii.ends_with(&format!(".{base}")) {
        return Err(Error::invalid("domain", format!("names under {base} are Rhone's own ({{slug}}.{base}); add a domain of yours")));
    }
    Ok(ascii)
}

/// [`parse_domain`] without the base-domain rule: any public host name (`public_hostname`).
pub fn host_name(input: &str) -> Result<String> {
    let bad = |why: &str| Error::invalid("domain", why);
    let s = input.trim().trim_end_matches('.');
    if s.is_empty() || s.len() > 253 {
        return Err(bad("must be a domain name like www.example.com"));
    }
    if s.contains("://") || s.contains('/') || s.contains(':') || s.contains('@') {
        return Err(bad("is a domain name only: no scheme, port or path"));
    }
    if s.starts_with("*.") {
        return Err(bad("wildcard domains are not supported for apps"));
    }
    let ascii = match url::Host::parse(s) {
        Ok(url::Host::Domain(d)) => d.to_ascii_lowercase(),
        Ok(_) => return Err(bad("is an IP address, not a domain name")),
        Err(_) => return Err(bad("is not a valid domain name")),
    };
    let labels: Vec<&str> = ascii.split('.').collect();
    let label_ok = |l: &&str| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-') && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if labels.len() < 2 || !labels.iter().all(label_ok) || labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad("is not a valid domain name (labels of letters, digits and '-', and a top-level domain)"));
    }
    Ok(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_or_refused_with_the_reason() {
        assert_eq!(parse_domain(" WWW.Example.COM. ", "rhone.example").unwrap(), "www.example.com");
        assert_eq!(parse_domain("bücher.example", "rhone.example").unwrap(), "xn--bcher-kva.example");
        for bad in ["", "localhost", "example", "1.2.3.4", "[::1]", "http://example.com", "example.com/x", "example.com:443", "*.example.com", "-a.example.com", "a_b.example.com", "user@example.com", "app.rhone.example", "rhone.example", "a..b.com", "example.123"] {
            assert!(parse_domain(bad, "rhone.example").is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}.com", "a".repeat(64));
        assert!(parse_domain(&long, "rhone.example").is_err(), "a 64-character label");
    }
}

//! Where outbound mail goes, parsed once from `smtp_url`:
//! `smtp://` (no encryption: a relay on this machine, tests), `smtp+starttls://` (STARTTLS required)
//! or `smtps://` (TLS from the first byte), each `[user[:password]@]host[:port]`.
//! Error messages and `Display` never contain the user name or the password.

use std::fmt;
use std::net::IpAddr;

use percent_encoding::percent_decode_str;
use url::{Host, Url};

use crate::error::{Error, Result};

const FIELD: &str = "smtp_url";
const EXPECTED: &str = "expected smtp://[user[:password]@]host[:port], smtp+starttls://… or smtps://…";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Security {
    Plain,
    StartTls,
    Implicit,
}

#[derive(Clone, PartialEq, Eq)]
pub(super) struct Login {
    pub user: String,
    pub password: String,
}

#[derive(Clone, PartialEq, Eq)]
pub(super) struct Endpoint {
    pub security: Security,
    pub host: String,
    pub port: u16,
    pub login: Option<Login>,
}

impl Endpoint {
    pub fn parse(raw: &str) -> Result<Endpoint> {
        let url = Url::parse(raw.trim()).map_err(|e| Error::invalid(FIELD, format!("not a valid URL ({e}); {EXPECTED}")))?;
        let (security, default_port) = match url.scheme() {
            "smtp" => (Security::Plain, 25),
            "smtp+starttls" => (Security::StartTls, 587),
            "smtps" => (Security::Implicit, 465),
            // the scheme is not echoed: `user:password@host` parses with the user name as scheme
            _ => return Err(Error::invalid(FIELD, format!("unsupported scheme; {EXPECTED}"))),
        };
        let host = match url.host() {
            Some(Host::Domain(d)) if !d.is_empty() && !d.contains('%') => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(Error::invalid(FIELD, format!("has no valid host name; {EXPECTED}"))),
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid(
                FIELD,
                "must not have a path, query or fragment (a `/` or `?` in the password must be written %2F, %3F)",
            ));
        }
        let login = login(&url)?;
        let endpoint = Endpoint { security, host, port: url.port().unwrap_or(default_port), login };
        if endpoint.security == Security::Plain && endpoint.login.is_some() && !endpoint.is_loopback() {
            return Err(Error::invalid(
                FIELD,
                "smtp:// would send the password unencrypted; use smtp+starttls:// or smtps:// (smtp:// with a login is only for a relay on this machine)",
            ));
        }
        Ok(endpoint)
    }

    fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost") || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    pub fn scheme(&self) -> &'static str {
        match self.security {
            Security::Plain => "smtp",
            Security::StartTls => "smtp+starttls",
            Security::Implicit => "smtps",
        }
    }
}

fn login(url: &Url) -> Result<Option<Login>> {
    let decode = |s: &str, what: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| Error::invalid(FIELD, format!("the {what} is not valid UTF-8 after percent-decoding")))
    };
    match (url.username(), url.password()) {
        ("", None) => Ok(None),
        ("", Some(_)) => Err(Error::invalid(FIELD, format!("has a password but no user name; {EXPECTED}"))),
        (user, password) => Ok(Some(Login {
            user: decode(user, "user name")?,
            password: decode(password.unwrap_or(""), "password")?,
        })),
    }
}

/// `smtps://mail.example.com:465`, with `***@` where a login is configured (some providers use an
/// API key as the user name, so it is hidden too).
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let login = if self.login.is_some() { "***@" } else { "" };
        if self.host.contains(':') {
            write!(f, "{}://{login}[{}]:{}", self.scheme(), self.host, self.port)
        } else {
            write!(f, "{}://{login}{}:{}", self.scheme(), self.host, self.port)
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

/// A configured URL as typed, with everything before the last `@` after the scheme hidden, whether
/// or not it parses (so a malformed URL in `Debug` output cannot leak its password either).
pub(super) fn redact(raw: &str) -> String {
    match raw.rfind('@') {
        None => raw.to_owned(),
        Some(at) => {
            let start = raw.find("://").map(|i| i + 3).filter(|&s| s <= at).unwrap_or(0);
            format!("{}***{}", &raw[..start], &raw[at..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Endpoint {
        Endpoint::parse(raw).expect("valid url")
    }

    fn invalid(raw: &str) -> String {
        match Endpoint::parse(raw) {
            Err(Error::Invalid { field: "smtp_url", msg }) => msg,
            other => panic!("expected Invalid(smtp_url) for {raw}, got {other:?}"),
        }
    }

    #[test]
    fn each_scheme_has_its_security_and_default_port() {
        let plain = parse("smtp://relay.local");
        assert_eq!((plain.security, plain.port, plain.host.as_str()), (Security::Plain, 25, "relay.local"));
        let starttls = parse("smtp+starttls://mail.example.com");
        assert_eq!((starttls.security, starttls.port), (Security::StartTls, 587));
        let implicit = parse("smtps://mail.example.com");
        assert_eq!((implicit.security, implicit.port), (Security::Implicit, 465));
        assert_eq!(parse("smtps://mail.example.com:2465/").port, 2465);
    }

    #[test]
    fn user_and_password_are_percent_decoded() {
        let e = parse("smtps://apikey%40team:p%2Fa%3Fss%20w%C3%B6rd@mail.example.com");
        let login = e.login.expect("login");
        assert_eq!(login.user, "apikey@team");
        assert_eq!(login.password, "p/a?ss wörd");
    }

    #[test]
    fn a_user_without_password_logs_in_with_an_empty_password() {
        let login = parse("smtps://token@mail.example.com").login.expect("login");
        assert_eq!((login.user.as_str(), login.password.as_str()), ("token", ""));
    }

    #[test]
    fn ipv6_hosts_keep_working_and_display_in_brackets() {
        let e = parse("smtp://[::1]:2525");
        assert_eq!(e.host, "::1");
        assert_eq!(e.to_string(), "smtp://[::1]:2525");
    }

    #[test]
    fn a_login_over_plain_smtp_is_refused_unless_the_relay_is_local() {
        assert!(invalid("smtp://user:hunter2@mail.example.com").contains("unencrypted"));
        assert!(parse("smtp://user:hunter2@127.0.0.1:2525").login.is_some());
        assert!(parse("smtp://user:hunter2@localhost").login.is_some());
    }

    #[test]
    fn malformed_urls_are_refused_without_echoing_the_password() {
        for raw in [
            "ftp://alice:hunter2@mail.example.com",
            "alice:hunter2@mail.example.com",
            "smtps://alice:hunter2@mail.example.com:notaport",
            "smtps://alice:hunter2@",
            "smtps://alice:hunter2@mail.example.com/path",
            "smtps://alice:hunter2@mail.example.com?tls=required",
            "smtps://:hunter2@mail.example.com",
            "smtps://alice:hunter2%FF@mail.example.com",
            "hunter2",
            "",
        ] {
            let msg = invalid(raw);
            assert!(!msg.contains("hunter2"), "{raw} -> {msg}");
            assert!(!msg.contains("alice"), "{raw} -> {msg}");
        }
    }

    #[test]
    fn display_hides_the_whole_login() {
        let shown = parse("smtps://apikey:hunter2@mail.example.com").to_string();
        assert_eq!(shown, "smtps://***@mail.example.com:465");
        assert_eq!(format!("{:?}", parse("smtps://apikey:hunter2@mail.example.com")), format!("Endpoint({shown})"));
    }

    #[test]
    fn redact_hides_the_login_of_parsable_and_unparsable_urls() {
        assert_eq!(redact("smtps://u:hunter2@mail.example.com"), "smtps://***@mail.example.com");
        assert_eq!(redact("smtps://u:hun@ter2@mail.example.com"), "smtps://***@mail.example.com");
        assert_eq!(redact("u:hunter2@mail.example.com"), "***@mail.example.com");
        assert_eq!(redact("smtp://relay.local"), "smtp://relay.local");
    }
}

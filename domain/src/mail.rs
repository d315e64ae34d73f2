//! Outbound mail (invitations) through one SMTP relay configured by URL. Not configured (no URL):
//! `Mailer::new` returns `None` and callers show the link instead of sending it.
//!
//! Each send opens its own connection (no pool: mail is rare here). Every network step waits at
//! most `STEP_TIMEOUT` and a whole send at most three times that, so a dead relay fails the send
//! instead of hanging it. Neither `Debug` nor any error contains the relay's password.

mod endpoint;
mod invitation;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::error::{Error, Result};
use endpoint::{Endpoint, Security};

pub use invitation::invitation_email;

/// How long one network step (connect, TLS handshake, one command) may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and as whom to send mail, from the configuration (`smtp_url`, `mail_from`).
#[derive(Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `smtp://` (no encryption: a local relay), `smtp+starttls://` or `smtps://`, then
    /// `[user[:password]@]host[:port]`; user and password percent-encoded. `None`: no mail.
    pub url: Option<String>,
    /// `Rhone <noreply@example.com>` or `noreply@example.com`.
    pub from: String,
}

impl MailSettings {
    pub fn is_configured(&self) -> bool {
        self.url.as_deref().is_some_and(|u| !u.trim().is_empty())
    }
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("url", &self.url.as_deref().map(endpoint::redact))
            .field("from", &self.from)
            .finish()
    }
}

/// Sends mail through the configured relay; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    step_timeout: Duration,
}

impl Mailer {
    /// `None` when no URL is configured (an empty one counts as none); `Invalid` (field `smtp_url`
    /// or `mail_from`) when what is configured cannot work.
    pub fn new(settings: &MailSettings) -> Result<Option<Mailer>> {
        let Some(url) = settings.url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let endpoint = Endpoint::parse(url)?;
        let from: Mailbox = settings.from.trim().parse().map_err(|_| {
            Error::invalid(
                "mail_from",
                format!("`{}` is not an email address (expected `Rhone <noreply@example.com>` or `noreply@example.com`)", one_line(&settings.from)),
            )
        })?;
        Mailer::build(endpoint, from, STEP_TIMEOUT).map(Some)
    }

    /// The same relay and sender with another per-step timeout (a whole send: three times it).
    pub fn with_timeout(&self, step_timeout: Duration) -> Result<Mailer> {
        Mailer::build(self.inner.endpoint.clone(), self.inner.from.clone(), step_timeout)
    }

    fn build(endpoint: Endpoint, from: Mailbox, step_timeout: Duration) -> Result<Mailer> {
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned())
                .map_err(|e| Error::invalid("smtp_url", format!("cannot use TLS with this host: {e}")))
        };
        let tls = match endpoint.security {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(tls(&endpoint.host)?),
            Security::Implicit => Tls::Wrapper(tls(&endpoint.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host.clone())
            .port(endpoint.port)
            .tls(tls)
            .timeout(Some(step_timeout));
        if let Some(login) = &endpoint.login {
            builder = builder.credentials(Credentials::new(login.user.clone(), login.password.clone()));
        }
        let transport = builder.build();
        Ok(Mailer { inner: Arc::new(Inner { endpoint, from, transport, step_timeout }) })
    }

    /// The relay, for logs: `smtps://***@mail.example.com:465` (never the login).
    pub fn relay(&self) -> String {
        self.inner.endpoint.to_string()
    }

    /// Sends one plain-text UTF-8 message to `to` (`Invalid` field `email` if it is not an
    /// address). The subject is put on one line; `Date` and `Message-ID` are added. A relay that
    /// refuses or does not answer is `Internal` (its answer is for the log, without the password).
    pub async fn send(&self, to: &str, subject: &str, body_text: &str) -> Result<()> {
        let inner = &self.inner;
        let to: Mailbox = to.trim().parse().map_err(|_| Error::invalid("email", "is not a valid email address"))?;
        let message = Message::builder()
            .from(inner.from.clone())
            .to(to)
            .subject(one_line(subject))
            .date_now()
            .message_id(Some(format!("<{:032x}@{}>", rand::random::<u128>(), inner.from.email.domain())))
            .header(ContentType::TEXT_PLAIN)
            // SMTP ends the last line itself: one more line end would arrive as an empty line
            .body(body_text.strip_suffix('\n').map_or(body_text, |b| b.strip_suffix('\r').unwrap_or(b)).to_owned())
            .map_err(|e| Error::internal("building mail", e))?;
        let whole = inner.step_timeout.saturating_mul(3);
        match tokio::time::timeout(whole, inner.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.failure(e.to_string())),
            Err(_) => Err(self.failure(format!("no complete answer within {} ms", whole.as_millis()))),
        }
    }

    fn failure(&self, detail: String) -> Error {
        let detail = match &self.inner.endpoint.login {
            Some(login) if !login.password.is_empty() => detail.replace(&login.password, "***"),
            _ => detail,
        };
        Error::internal(&format!("sending mail via {}", self.inner.endpoint), detail)
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("relay", &self.inner.endpoint)
            .field("from", &self.inner.from.to_string())
            .field("step_timeout", &self.inner.step_timeout)
            .finish()
    }
}

/// `s` on one line: control characters (CR, LF, tab, …) and Unicode line separators become
/// spaces, runs of whitespace one space, ends trimmed.
pub(crate) fn one_line(s: &str) -> String {
    let spaced = s.chars().map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c });
    let mut out = String::with_capacity(s.len());
    for c in spaced {
        if !(c.is_whitespace() && (out.is_empty() || out.ends_with(char::is_whitespace))) {
            out.push(if c.is_whitespace() { ' ' } else { c });
        }
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: Option<&str>) -> MailSettings {
        MailSettings { url: url.map(str::to_owned), from: "Rhone <noreply@example.com>".into() }
    }

    #[test]
    fn no_url_means_no_mailer() {
        assert!(Mailer::new(&settings(None)).expect("ok").is_none());
        assert!(Mailer::new(&settings(Some("  "))).expect("ok").is_none());
        assert!(!settings(Some("")).is_configured());
        assert!(settings(Some("smtp://localhost")).is_configured());
    }

    #[test]
    fn a_bad_url_is_an_invalid_smtp_url_without_the_password() {
        match Mailer::new(&settings(Some("smtps://alice:hunter2@mail.example.com:99999"))) {
            Err(Error::Invalid { field, msg }) => {
                assert_eq!(field, "smtp_url");
                assert!(!msg.contains("hunter2") && !msg.contains("alice"), "{msg}");
                assert!(msg.contains("smtps://"), "says what is expected: {msg}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_bad_sender_is_an_invalid_mail_from() {
        let bad = MailSettings { url: Some("smtp://localhost".into()), from: "not an address\r\nBcc: x".into() };
        match Mailer::new(&bad) {
            Err(Error::Invalid { field: "mail_from", msg }) => assert!(!msg.contains('\n'), "{msg}"),
            other => panic!("expected Invalid(mail_from), got {other:?}"),
        }
    }

    #[test]
    fn debug_output_never_contains_the_login() {
        let s = settings(Some("smtps://alice:hunter2@mail.example.com"));
        let mailer = Mailer::new(&s).expect("valid").expect("configured");
        for shown in [format!("{s:?}"), format!("{mailer:?}"), mailer.relay(), format!("{:?}", mailer.with_timeout(STEP_TIMEOUT))] {
            assert!(!shown.contains("hunter2") && !shown.contains("alice"), "{shown}");
            assert!(shown.contains("mail.example.com"), "{shown}");
        }
    }

    #[tokio::test]
    async fn a_bad_recipient_is_invalid_before_any_connection() {
        let mailer = Mailer::new(&settings(Some("smtp://127.0.0.1:9"))).expect("valid").expect("configured");
        match mailer.send("not an address", "s", "b").await {
            Err(Error::Invalid { field: "email", .. }) => {}
            other => panic!("expected Invalid(email), got {other:?}"),
        }
    }

    #[test]
    fn sending_is_a_send_future_usable_from_handlers() {
        fn assert_send<T: Send>(_: &T) {}
        let mailer = Mailer::new(&settings(Some("smtp://localhost"))).expect("valid").expect("configured");
        assert_send(&mailer.send("a@example.com", "s", "b"));
    }

    #[test]
    fn one_line_turns_every_line_break_and_control_into_one_space() {
        assert_eq!(one_line("  a\r\nb\n\n\tc\u{2028}d\u{85}e  "), "a b c d e");
        assert_eq!(one_line("\r\n"), "");
    }
}

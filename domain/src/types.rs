//! Parsed values: once constructed they are valid (parse, don't validate).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An app slug: a DNS label (1–63 of `a-z0-9-`, not starting or ending with `-`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Slug> {
        let bad = |msg: &str| Err(Error::invalid("slug", msg));
        if s.is_empty() || s.len() > 63 {
            return bad("must be 1 to 63 characters");
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return bad("may contain only lowercase letters, digits and '-'");
        }
        if s.starts_with('-') || s.ends_with('-') {
            return bad("must not start or end with '-'");
        }
        Ok(Slug(s.to_string()))
    }

    /// Derives a slug from a display name: `My App!` → `my-app`, `Ünïcödé Äpp` → `unicode-app`.
    pub fn from_name(name: &str) -> Result<Slug> {
        Slug::parse(&wire::slug::slug_from_name(name))
    }

    /// A slug for a new app: valid and not reserved (`new`, `api`, `www`, …).
    pub fn parse_new(s: &str) -> Result<Slug> {
        wire::slug::check_slug(s)?;
        Slug::parse(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes, and not `PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnvKey(String);

impl EnvKey {
    pub fn parse(s: &str) -> Result<EnvKey> {
        let valid_start = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !valid_start || s.len() > 128 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Error::invalid(
                "env",
                format!("{s:?} is not a valid variable name (letters, digits and '_', not starting with a digit)"),
            ));
        }
        if s == "PORT" {
            return Err(Error::invalid("env", "PORT is set by Rhone and cannot be overridden"));
        }
        Ok(EnvKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A git branch, tag or commit name, safe to pass as one argv entry to `git`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GitRef(String);

impl GitRef {
    pub fn parse(s: &str) -> Result<GitRef> {
        let bad = |msg: &str| Err(Error::invalid("ref", msg));
        if s.is_empty() || s.len() > 255 {
            return bad("must be 1 to 255 characters");
        }
        if s.starts_with('-') || s.starts_with('/') || s.ends_with('/') || s.ends_with('.') {
            return bad("must not start with '-' or '/' or end with '/' or '.'");
        }
        if s.contains("..") || s.contains("@{") || s.contains("//") || s.ends_with(".lock") {
            return bad("is not a valid git ref name");
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/');
        if !s.chars().all(ok) {
            return bad("may contain only letters, digits, '-', '_', '.' and '/'");
        }
        Ok(GitRef(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A repository location `git` can clone: https/http/ssh/git/file URL, `user@host:path`, or an
/// absolute local path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RepoUrl(String);

impl RepoUrl {
    pub fn parse(s: &str) -> Result<RepoUrl> {
        let s = s.trim();
        let bad = |msg: &str| Err(Error::invalid("repo_url", msg));
        if s.is_empty() || s.len() > 2048 {
            return bad("is required (at most 2048 characters)");
        }
        if s.starts_with('-') || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return bad("must not start with '-' or contain spaces or control characters");
        }
        let schemes = ["https://", "http://", "ssh://", "git://", "file://"];
        let scp_like = s.split_once(':').is_some_and(|(host, path)| {
            host.contains('@') && !host.contains('/') && !path.is_empty()
        });
        if schemes.iter().any(|p| s.starts_with(p) && s.len() > p.len()) || scp_like || s.starts_with('/') {
            return Ok(RepoUrl(s.to_string()));
        }
        bad("must be an https://, ssh://, git://, file:// URL, user@host:path, or an absolute path")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A normalised email address (trimmed, lowercase), loosely checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email> {
        let s = s.trim().to_ascii_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, host)| {
                !local.is_empty() && host.contains('.') || host == "localhost"
            })
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err(Error::invalid("email", "is not a valid email address"));
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL path for health checks: starts with `/`, no spaces.
pub fn parse_health_path(s: &str) -> Result<String> {
    if !s.starts_with('/') || s.len() > 1024 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid("health_check_path", "must be a URL path starting with '/'"));
    }
    Ok(s.to_string())
}

/// A relative directory inside the repository (no `..`, not absolute).
pub fn parse_root_dir(s: &str) -> Result<String> {
    let s = s.trim().trim_matches('/');
    if s.split('/').any(|p| p == ".." ) || s.contains('\0') || s.len() > 1024 {
        return Err(Error::invalid("root_dir", "must be a relative path inside the repository"));
    }
    Ok(if s.is_empty() { ".".into() } else { s.to_string() })
}

pub use wire::{CpuLimit, RuntimeKind};

/// The runtime an app gets when none is named: `auto` = docker when an engine answers, else process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultRuntime {
    Auto,
    Fixed(RuntimeKind),
}

impl DefaultRuntime {
    /// `auto` (or blank), `process` or `docker`.
    pub fn parse(s: &str) -> Result<DefaultRuntime> {
        match s.trim() {
            "" | "auto" => Ok(DefaultRuntime::Auto),
            other => RuntimeKind::parse(other).map(DefaultRuntime::Fixed).map_err(|_| {
                Error::invalid("runtime", format!("{s:?} is not a runtime: use auto, process or docker"))
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DefaultRuntime::Auto => "auto",
            DefaultRuntime::Fixed(k) => k.as_str(),
        }
    }
}

/// A Dockerfile's path relative to the repository root: no absolute path, no `..`, at most 256
/// bytes. Blank means "not set" (`Dockerfile` in the app's root directory).
pub fn parse_dockerfile_path(s: &str) -> Result<Option<String>> {
    let s = s.trim();
    let bad = |msg: &str| Err(Error::invalid("dockerfile_path", msg));
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > 256 || s.chars().any(char::is_control) {
        return bad("must be at most 256 characters, without control characters");
    }
    if s.starts_with('/') || s.starts_with('\\') {
        return bad("must be relative to the repository (no leading '/')");
    }
    if s.split(['/', '\\']).any(|p| p == "..") {
        return bad("must stay inside the repository (no '..')");
    }
    if s.ends_with('/') {
        return bad("must name a file, not a directory");
    }
    Ok(Some(s.trim_start_matches("./").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_dns_labels() {
        assert!(Slug::parse("my-app-2").is_ok());
        for bad in ["", "-a", "a-", "My", "a_b", "a.b", &"x".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn slug_from_name_collapses_punctuation() {
        assert_eq!(Slug::from_name("  My Cool App!! ").unwrap().as_str(), "my-cool-app");
        assert!(Slug::from_name("!!!").is_err());
    }

    #[test]
    fn env_keys_reject_digits_first_and_port() {
        assert!(EnvKey::parse("DATABASE_URL").is_ok());
        assert!(EnvKey::parse("_x1").is_ok());
        for bad in ["1X", "A-B", "", "A B", "PORT"] {
            assert!(EnvKey::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn git_refs_cannot_smuggle_options_or_shell() {
        assert!(GitRef::parse("main").is_ok());
        assert!(GitRef::parse("feature/x-1.2").is_ok());
        assert!(GitRef::parse("0123abcd").is_ok());
        for bad in ["--upload-pack=touch /tmp/x", "$(id)", "a..b", "a b", "x;rm", "", "a/"] {
            assert!(GitRef::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn repo_urls_accept_git_forms_and_reject_options() {
        for ok in ["https://github.com/a/b.git", "git@github.com:a/b.git", "file:///srv/x", "/srv/repo"] {
            assert!(RepoUrl::parse(ok).is_ok(), "{ok:?} should be accepted");
        }
        for bad in ["", "-oProxyCommand=x", "ftp://x", "relative/path", "https://a b"] {
            assert!(RepoUrl::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn root_dir_stays_inside_repository() {
        assert_eq!(parse_root_dir("").unwrap(), ".");
        assert_eq!(parse_root_dir("/web/").unwrap(), "web");
        assert!(parse_root_dir("../etc").is_err());
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse(" A@B.io ").unwrap().as_str(), "a@b.io");
        assert!(Email::parse("nope").is_err());
    }

    #[test]
    fn default_runtimes_are_auto_or_a_runtime() {
        let err = Error::from(RuntimeKind::parse("podman").unwrap_err());
        assert!(matches!(err, Error::Invalid { field: "runtime", .. }), "{err}");
        assert_eq!(DefaultRuntime::parse("auto").unwrap(), DefaultRuntime::Auto);
        assert_eq!(DefaultRuntime::parse("").unwrap(), DefaultRuntime::Auto);
        assert_eq!(DefaultRuntime::parse("docker").unwrap(), DefaultRuntime::Fixed(RuntimeKind::Docker));
        assert!(DefaultRuntime::parse("kubernetes").unwrap_err().to_string().contains("auto, process or docker"));
    }

    #[test]
    fn dockerfile_paths_stay_inside_the_repository() {
        assert_eq!(parse_dockerfile_path("").unwrap(), None);
        assert_eq!(parse_dockerfile_path("docker/web.Dockerfile").unwrap().as_deref(), Some("docker/web.Dockerfile"));
        assert_eq!(parse_dockerfile_path("./Dockerfile").unwrap().as_deref(), Some("Dockerfile"));
        for bad in ["/etc/passwd", "../Dockerfile", "a/../../b", "a\0b", "dir/", &"d".repeat(257), "a\\..\\b"] {
            assert!(parse_dockerfile_path(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}

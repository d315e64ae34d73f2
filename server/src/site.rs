//! Where the built dashboard (wasm, js, css) is served from: `Leptos.toml`, overridden by the LEPTOS_*
//! variables cargo-leptos sets in development.

use std::net::SocketAddr;

use leptos::config::{Env, LeptosOptions};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSettings {
    pub output_name: String,
    pub site_root: String,
    pub site_pkg_dir: String,
    pub env: String,
}

impl SiteSettings {
    pub fn from_toml(text: &str) -> Result<SiteSettings, String> {
        let t: toml::Table = text.parse().map_err(|e| format!("Leptos.toml: {e}"))?;
        let get = |k: &str, d: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or(d).to_string();
        Ok(SiteSettings {
            output_name: get("output-name", "rhone"),
            site_root: get("site-root", "target/site"),
            site_pkg_dir: get("site-pkg-dir", "pkg"),
            env: get("env", "PROD"),
        })
    }

    pub fn load() -> SiteSettings {
        let mut s = std::fs::read_to_string("Leptos.toml")
            .ok()
            .and_then(|t| SiteSettings::from_toml(&t).ok())
            .unwrap_or_else(|| SiteSettings::from_toml("").unwrap_or_else(|_| unreachable_default()));
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("LEPTOS_OUTPUT_NAME") {
            s.output_name = v;
        }
        if let Some(v) = env("LEPTOS_SITE_ROOT") {
            s.site_root = v;
        }
        if let Some(v) = env("LEPTOS_SITE_PKG_DIR") {
            s.site_pkg_dir = v;
        }
        if let Some(v) = env("LEPTOS_ENV") {
            s.env = v;
        }
        s
    }

    pub fn options(&self, addr: SocketAddr) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name(self.output_name.as_str())
            .site_root(self.site_root.as_str())
            .site_pkg_dir(self.site_pkg_dir.as_str())
            .env(if self.env.eq_ignore_ascii_case("DEV") { Env::DEV } else { Env::PROD })
            .site_addr(addr)
            .build()
    }
}

fn unreachable_default() -> SiteSettings {
    SiteSettings { output_name: "rhone".into(), site_root: "target/site".into(), site_pkg_dir: "pkg".into(), env: "PROD".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Leptos.toml` (release installs) must describe the same site as the cargo-leptos metadata.
    #[test]
    fn leptos_toml_agrees_with_workspace_metadata() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let leptos = SiteSettings::from_toml(&std::fs::read_to_string(format!("{root}/Leptos.toml")).unwrap()).unwrap();
        let cargo: toml::Table = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap().parse().unwrap();
        let meta = &cargo["workspace"]["metadata"]["leptos"].as_array().unwrap()[0];
        assert_eq!(meta["name"].as_str(), Some(leptos.output_name.as_str()));
        assert_eq!(meta["site-root"].as_str(), Some(leptos.site_root.as_str()));
        assert_eq!(meta["site-pkg-dir"].as_str(), Some(leptos.site_pkg_dir.as_str()));
        assert_eq!(meta["bin-target"].as_str(), Some("rhone"));
    }
}

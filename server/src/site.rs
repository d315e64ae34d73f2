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
    /// The built files have hashed names (`rhone.<hash>.wasm`, a release build with
    /// `LEPTOS_HASH_FILES=true`): their names are read from `hash.txt` next to the binary.
    pub hash_files: bool,
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
            hash_files: t.get("hash-files").and_then(|v| v.as_bool()).unwrap_or(false),
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
        if let Some(v) = env("LEPTOS_HASH_FILES") {
            s.hash_files = v.eq_ignore_ascii_case("true") || v == "1";
        }
        s
    }

    /// With hashed names, `hash.txt` must sit next to the binary (or every page would fail to render):
    /// refuse to start, saying what is missing.
    pub fn check(&self) -> Result<(), String> {
        if !self.hash_files {
            return Ok(());
        }
        let exe = std::env::current_exe().and_then(std::fs::canonicalize).map_err(|e| format!("cannot locate the rhone binary: {e}"))?;
        let hash = exe.with_file_name("hash.txt");
        let text = std::fs::read_to_string(&hash)
            .map_err(|e| format!("LEPTOS_HASH_FILES is on but {} cannot be read ({e}): build with `make build-release`", hash.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let Some((kind, h)) = line.split_once(':') else { continue };
            let Some(name) = hashed_name(&self.output_name, kind.trim(), h.trim()) else { continue };
            let file = std::path::Path::new(&self.site_root).join(&self.site_pkg_dir).join(name);
            if !file.is_file() {
                return Err(format!("{} names {}, which does not exist: build again with `make build-release`", hash.display(), file.display()));
            }
        }
        Ok(())
    }

    pub fn options(&self, addr: SocketAddr) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name(self.output_name.as_str())
            .site_root(self.site_root.as_str())
            .site_pkg_dir(self.site_pkg_dir.as_str())
            .env(if self.env.eq_ignore_ascii_case("DEV") { Env::DEV } else { Env::PROD })
            .hash_files(self.hash_files)
            .site_addr(addr)
            .build()
    }
}

/// The file a `hash.txt` line names: `js`/`wasm`/`css` are `<output>.<hash>.<kind>`; a split build's
/// `manifest` and `split` loader have names of their own. Unknown kinds: `None`.
fn hashed_name(output: &str, kind: &str, hash: &str) -> Option<String> {
    match kind {
        "js" | "wasm" | "css" => Some(format!("{output}.{hash}.{kind}")),
        "manifest" => Some(format!("__wasm_split_manifest.{hash}.json")),
        "split" => Some(format!("__wasm_split.{hash}.js")),
        _ => None,
    }
}

fn unreachable_default() -> SiteSettings {
    SiteSettings { output_name: "rhone".into(), site_root: "target/site".into(), site_pkg_dir: "pkg".into(), env: "PROD".into(), hash_files: false }
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

    #[test]
    fn hashed_names_are_off_unless_asked_and_need_their_hash_file() {
        assert!(!SiteSettings::from_toml("").unwrap().hash_files);
        let on = SiteSettings::from_toml("hash-files = true").unwrap();
        assert!(on.hash_files);
        assert_eq!(SiteSettings { hash_files: false, ..on.clone() }.check(), Ok(()));
        // no hash.txt next to the test binary: refused with the reason, not a panic on every page
        let err = on.check().unwrap_err();
        assert!(err.contains("hash.txt") && err.contains("make build-release"), "{err}");
    }

    #[test]
    fn every_kind_of_hash_line_names_the_file_cargo_leptos_writes() {
        // the names of a `cargo leptos build --release --split` with hashed files
        assert_eq!(hashed_name("rhone", "wasm", "abc").as_deref(), Some("rhone.abc.wasm"));
        assert_eq!(hashed_name("rhone", "css", "abc").as_deref(), Some("rhone.abc.css"));
        assert_eq!(hashed_name("rhone", "manifest", "abc").as_deref(), Some("__wasm_split_manifest.abc.json"));
        assert_eq!(hashed_name("rhone", "split", "abc").as_deref(), Some("__wasm_split.abc.js"));
        assert_eq!(hashed_name("rhone", "something-new", "abc"), None);
    }
}

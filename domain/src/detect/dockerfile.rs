//! Dockerfiles generated from a [`BuildPlan`], for the docker runtime when a repository brings none
//! (`rhone plan --dockerfile` prints the same text).
//!
//! The build context is the app's root directory (what detection looked at). The image copies it to
//! `/app`, runs the plan's build steps there as uid 10001 (never root), and starts the plan's start
//! command with `sh -c`, so `$PORT` (and `$HOST`, `0.0.0.0` by default inside a container) are read
//! when the container starts. Go and Rust build in a toolchain stage and run in a slim one. Nothing
//! from the app's environment is ever written into the image: env vars are given at run time.
//!
//! Every command goes into a JSON exec-form instruction (`RUN ["/bin/sh", "-c", "<json string>"]`),
//! so quotes, backslashes and newlines in a build step or start command cannot end the instruction
//! or add one; base image names are [`ImageRef`]s, which cannot contain whitespace.

use std::fmt;

use super::{detect_language, sh_quote, BuildPlan, PackageManager, Provider, RepoView, Tool};
use crate::error::{Error, Result};

/// The uid and gid build steps and the app run as inside the container.
const APP_UID: u32 = 10001;

/// A container image reference such as `node:22-bookworm-slim` or `registry:5000/team/img@sha256:…`:
/// 1-255 characters of `a-z A-Z 0-9 . _ - / : @`, not starting with `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef(String);

impl ImageRef {
    /// Parses an image reference; `field` names the setting in the error.
    pub fn parse(field: &'static str, s: &str) -> Result<ImageRef> {
        let s = s.trim();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
        if s.is_empty() || s.len() > 255 || s.starts_with('-') || !s.chars().all(allowed) {
            return Err(Error::invalid(
                field,
                format!("{s:?} is not an image name like node:22-bookworm-slim (letters, digits and . _ - / : @)"),
            ));
        }
        Ok(ImageRef(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The base images of generated Dockerfiles (settings `docker_base_<name>`, env
/// `RHONE_DOCKER_BASE_<NAME>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImages {
    /// Go toolchain (build stage).
    pub go: ImageRef,
    /// Node.js apps (build and run).
    pub node: ImageRef,
    /// Python apps (build and run).
    pub python: ImageRef,
    /// Rust toolchain (build stage).
    pub rust: ImageRef,
    /// Static sites: an image with busybox `httpd`.
    pub static_: ImageRef,
    /// The run stage of Go and Rust apps, and the image of apps whose language is not detected.
    pub runtime: ImageRef,
    /// Deno apps.
    pub deno: ImageRef,
}

impl BaseImages {
    /// The setting names (`docker_base_<name>`) and defaults, in field order.
    pub const DEFAULTS: [(&'static str, &'static str); 7] = [
        ("docker_base_go", "golang:1.23-bookworm"),
        ("docker_base_node", "node:22-bookworm-slim"),
        ("docker_base_python", "python:3.12-slim-bookworm"),
        ("docker_base_rust", "rust:1-bookworm"),
        ("docker_base_static", "busybox:1.36"),
        ("docker_base_runtime", "debian:bookworm-slim"),
        ("docker_base_deno", "denoland/deno:debian-2.1.4"),
    ];

    /// The defaults, with each setting `lookup` returns (non-blank) instead; an invalid name is an
    /// error naming its setting.
    pub fn from_settings(lookup: impl Fn(&str) -> Option<String>) -> Result<BaseImages> {
        let [go, node, python, rust, static_, runtime, deno] = BaseImages::DEFAULTS.map(|(key, default)| {
            let value = lookup(key).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_string());
            ImageRef::parse(key, &value)
        });
        Ok(BaseImages { go: go?, node: node?, python: python?, rust: rust?, static_: static_?, runtime: runtime?, deno: deno? })
    }
}

impl Default for BaseImages {
    fn default() -> BaseImages {
        let image = |i: usize| ImageRef(BaseImages::DEFAULTS[i].1.to_string());
        BaseImages {
            go: image(0),
            node: image(1),
            python: image(2),
            rust: image(3),
            static_: image(4),
            runtime: image(5),
            deno: image(6),
        }
    }
}

/// What the image is built around (the plan's provider, or for a Procfile the detected language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Go,
    Rust,
    Node(PackageManager),
    Python,
    Deno,
    Static,
    Other,
}

/// The default base image with its version replaced by the one the repository asks for (Node's
/// major, Python's and Go's major.minor), when the operator did not choose another image and the
/// version is a plain number; else `base` as is.
fn versioned(base: &ImageRef, default: &str, plan: &BuildPlan, tool: Tool, parts: usize) -> ImageRef {
    let version = plan.tools.iter().find(|t| t.tool == tool).and_then(|t| t.version.as_deref());
    let Some(version) = version.filter(|_| base.as_str() == default) else { return base.clone() };
    let version = version.trim().trim_start_matches('v');
    let numbers: Vec<&str> = version.split('.').take(parts).collect();
    if numbers.len() < parts.min(version.split('.').count()) || numbers.iter().any(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_digit())) {
        return base.clone();
    }
    let Some((name, tag)) = default.split_once(':') else { return base.clone() };
    // the tag's version is what comes before its first `-` (`22-bookworm-slim`, `1.23-bookworm`)
    let rest = tag.split_once('-').map(|(_, rest)| format!("-{rest}")).unwrap_or_default();
    ImageRef(format!("{name}:{}{rest}", numbers.join(".")))
}

/// The Dockerfile for `plan`, whose build context is the app's root directory `repo`.
///
/// `repo` is read only for Procfile and custom plans, to pick the language's base image. A plan of
/// the `Dockerfile` provider (the repository has its own) is an error.
pub fn dockerfile(plan: &BuildPlan, repo: &dyn RepoView, bases: &BaseImages) -> Result<String> {
    let kind = match &plan.provider {
        Provider::Dockerfile => {
            return Err(Error::invalid("plan", "the repository has its own Dockerfile: Rhone builds that one"))
        }
        Provider::Go => Kind::Go,
        Provider::Rust => Kind::Rust,
        Provider::Node { package_manager } => Kind::Node(*package_manager),
        Provider::Python => Kind::Python,
        Provider::Deno => Kind::Deno,
        Provider::Static if plan.start.is_none() => Kind::Static,
        Provider::Static | Provider::Shell => Kind::Other,
        Provider::Procfile | Provider::Custom => match detect_language(repo, None, false) {
            Ok(Some(d)) => match d.provider {
                Provider::Go => Kind::Go,
                Provider::Rust => Kind::Rust,
                Provider::Node { package_manager } => Kind::Node(package_manager),
                Provider::Python => Kind::Python,
                Provider::Deno => Kind::Deno,
                _ => Kind::Other,
            },
            _ => Kind::Other,
        },
    };
    let start = match (&plan.start, &plan.static_root) {
        (Some(start), _) => start.clone(),
        (None, Some(root)) => {
            let dir = root.trim_start_matches("./").trim_end_matches('/');
            let dir = if dir.is_empty() || dir == "." { "/app".to_string() } else { format!("/app/{dir}") };
            format!("httpd -f -p ${{HOST:-0.0.0.0}}:$PORT -h {}", sh_quote(&dir))
        }
        (None, None) => return Err(Error::invalid("plan", "the build plan has neither a start command nor a static root")),
    };

    let mut out = Dockerfile::default();
    out.line(&format!(
        "# Generated by Rhone from the detected build plan ({}). Rhone builds the repository's own",
        plan.provider.name()
    ));
    out.line("# Dockerfile instead when it has one. Env vars are given when the container starts, never here.");
    // a site built by a language's tools (a Vite SPA) is copied into the static image
    let static_output = plan.start.is_none() && plan.static_root.is_some() && kind != Kind::Static;
    let multi_stage = matches!(kind, Kind::Go | Kind::Rust) || static_output;
    let [go, node, python, rust, ..] = BaseImages::DEFAULTS.map(|(_, d)| d);
    let base = match kind {
        Kind::Go => versioned(&bases.go, go, plan, Tool::Go, 2),
        Kind::Rust => versioned(&bases.rust, rust, plan, Tool::Cargo, 2),
        Kind::Node(_) => versioned(&bases.node, node, plan, Tool::Node, 1),
        Kind::Python => versioned(&bases.python, python, plan, Tool::Python, 2),
        Kind::Deno => bases.deno.clone(),
        Kind::Static => bases.static_.clone(),
        Kind::Other => bases.runtime.clone(),
    };
    out.line(&format!("FROM {base}{}", if multi_stage { " AS build" } else { "" }));
    out.setup(kind, plan);
    out.path(plan);
    for step in &plan.build {
        out.run(step);
    }
    if static_output {
        let root = plan.static_root.as_deref().unwrap_or(".").trim_start_matches("./").trim_end_matches('/');
        out.blank();
        out.line(&format!("FROM {}", bases.static_));
        out.workdir();
        out.line(&format!("COPY --from=build --chown={APP_UID}:{APP_UID} /app/{root} /app/{root}"));
        out.line(&format!("USER {APP_UID}:{APP_UID}"));
    } else if multi_stage {
        if kind == Kind::Rust {
            // keep the binaries in target/release, drop the intermediate artifacts
            out.run("rm -rf target/debug target/release/build target/release/deps target/release/incremental target/release/.fingerprint target/release/examples");
        }
        out.blank();
        out.line(&format!("FROM {}", bases.runtime));
        out.line("COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt");
        out.workdir();
        out.line(&format!("COPY --from=build --chown={APP_UID}:{APP_UID} /app /app"));
        out.line(&format!("USER {APP_UID}:{APP_UID}"));
        out.path(plan);
    }
    out.exec("CMD", &start);
    Ok(out.text)
}

/// A Dockerfile being written.
#[derive(Default)]
struct Dockerfile {
    text: String,
}

impl Dockerfile {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }

    /// `INSTRUCTION ["/bin/sh", "-c", <command>]`: the command as one JSON string, so nothing in it
    /// is read as Dockerfile syntax (and Docker substitutes no variables in exec form).
    fn exec(&mut self, instruction: &str, command: &str) {
        let command = serde_json::Value::String(command.to_string());
        self.line(&format!("{instruction} [\"/bin/sh\", \"-c\", {command}]"));
    }

    fn run(&mut self, command: &str) {
        self.exec("RUN", command);
    }

    /// The plan's own directories first on `PATH` (`/app/.venv/bin`).
    fn path(&mut self, plan: &BuildPlan) {
        let dirs: Vec<String> = plan
            .path
            .iter()
            .filter(|d| !d.starts_with('/') && d.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c)))
            .map(|d| format!("/app/{}", d.trim_start_matches("./")))
            .collect();
        if !dirs.is_empty() {
            self.line(&format!("ENV PATH={}:$PATH", dirs.join(":")));
        }
    }

    /// `/app` and a home for uid 10001, and the environment every stage shares.
    fn workdir(&mut self) {
        self.line("WORKDIR /app");
        self.run(&format!("mkdir -p /home/rhone && chown {APP_UID}:{APP_UID} /app /home/rhone"));
        self.line("ENV HOME=/home/rhone HOST=0.0.0.0");
    }

    /// The first stage up to the build steps: tools, directories, the source, the unprivileged user.
    fn setup(&mut self, kind: Kind, plan: &BuildPlan) {
        // the Python tools a plan installs with (uv, Poetry, PDM, Pipenv), from PyPI
        let python_tools: Vec<&str> = plan
            .tools
            .iter()
            .filter(|t| matches!(t.tool, Tool::Uv | Tool::Poetry | Tool::Pdm | Tool::Pipenv))
            .map(|t| t.tool.program())
            .collect();
        if !python_tools.is_empty() {
            self.run(&format!("pip install --no-cache-dir {}", python_tools.join(" ")));
        }
        match kind {
            Kind::Node(PackageManager::Pnpm | PackageManager::Yarn | PackageManager::YarnBerry) => self.run("corepack enable"),
            Kind::Node(PackageManager::Bun) => self.run("npm install -g bun"),
            _ => {}
        }
        self.workdir();
        if kind == Kind::Python {
            self.line("ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1");
        }
        self.line(&format!("COPY --chown={APP_UID}:{APP_UID} . /app"));
        self.line(&format!("USER {APP_UID}:{APP_UID}"));
    }
}

//! Detection errors, worded for the people who deploy the app.

/// Why no build plan could be produced. The messages are shown to users as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DetectError {
    /// A Dockerfile is present and the app runs on the process runtime.
    #[error(
        "This app has a Dockerfile, but its runtime is `process`, which runs build and start commands on \
         the host. Set the app's runtime to `docker` to build and run the Dockerfile, or remove or rename \
         it (or set a start command) so Rhone detects the language instead."
    )]
    Dockerfile,
    /// No rule matched.
    #[error(
        "Rhone could not tell how to build this app. It looks for a Procfile with a `web:` line, go.mod, \
         go.work, Cargo.toml, deno.json, package.json, requirements.txt, pyproject.toml, Pipfile, index.html, \
         a Staticfile or start.sh at the top of the app's root directory. Add one of these, check the root \
         directory setting, or set a build and start command in the app settings."
    )]
    NothingDetected,
    /// A provider matched but could not find how to start the app.
    #[error(
        "Rhone detected a {provider} app but could not tell how to start it. {hint} Or set a start \
         command in the app settings.",
        hint = start_hint(.provider)
    )]
    NoStartCommand {
        /// The provider's human-readable name (see [`Provider::name`](super::Provider::name)).
        provider: String,
    },
    /// A file detection relies on is malformed or unreadable.
    #[error(
        "Rhone could not read {file}: {reason}. Fix the file, or set a build and start command in the app settings."
    )]
    InvalidFile {
        /// The file, relative to the app's root directory.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What to add so a provider can find a start command.
fn start_hint(provider: &str) -> &'static str {
    match provider {
        "Node.js" => "Add a \"start\" script to package.json, or a server.js or index.js file.",
        "Python" => "Add app.py or main.py (with gunicorn or uvicorn in the requirements if it is a WSGI/ASGI app).",
        "Rust" => {
            "Cargo.toml has no [package] or [[bin]] name (is it a workspace root? point the root directory \
             at the binary crate)."
        }
        _ => "Add a Procfile with a `web:` line.",
    }
}

/// A [`DetectError::InvalidFile`].
pub(super) fn invalid(file: &str, reason: impl Into<String>) -> DetectError {
    DetectError::InvalidFile { file: file.to_string(), reason: reason.into() }
}

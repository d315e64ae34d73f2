//! The one error type of the server-function boundary. Every variant carries a message meant for the
//! person using the dashboard; internal details are logged on the server and never sent.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Your session has ended. Log in again.")]
    Unauthorized,
    /// Says which right is missing (`you cannot deploy (a viewer of this team)`).
    #[error("Not allowed: {0}.")]
    Forbidden(String),
    #[error("{0} not found. It may have been deleted; go back to the list and reload.")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A field of the submitted form is wrong; `field` names the form field, `msg` says what is
    /// wrong as a predicate of its label ("is required").
    #[error("{} {}", field_label(.field), .msg)]
    Invalid { field: String, msg: String },
    #[error("Too many attempts. Try again in {0} seconds.")]
    RateLimited(u64),
    #[error("{0}")]
    PaymentRequired(String),
    #[error("Something went wrong on the server; the details are in the server log. Try again.")]
    Internal,
    #[error("Could not reach Rhone ({0}). Check your connection and try again.")]
    Transport(String),
}

/// How the forms label a field the server names by its key (`repo_url` → `Repository URL`).
pub fn field_label(key: &str) -> &str {
    match key {
        "name" => "Name",
        "slug" => "Slug",
        "repo_url" => "Repository URL",
        "branch" => "Branch",
        "root_dir" => "Root directory",
        "build_command" => "Build command",
        "start_command" => "Start command",
        "health_check_path" => "Health check path",
        "runtime" => "Runtime",
        "cpu_limit" => "CPU limit",
        "memory_limit_mb" => "Memory limit",
        "replicas" => "Replicas",
        "drain_timeout_secs" => "Drain timeout",
        "stop_timeout_secs" => "Stop timeout",
        "dockerfile_path" => "Dockerfile path",
        "env" => "Environment variable",
        "ref" | "git_ref" => "Git ref",
        "email" => "Email",
        "password" => "Password",
        "new" => "New password",
        "current" => "Current password",
        "code" => "Code",
        "role" => "Role",
        "team" => "Team",
        "token" => "Token",
        "username" => "Username",
        other => other,
    }
}

impl AppError {
    /// The HTTP status a server function answers with this error: the REST API's for the same
    /// mistake (a user's mistake is a 4xx; only our own failures are 5xx).
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::PaymentRequired(_) => 402,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Invalid { .. } => 422,
            AppError::RateLimited(_) => 429,
            AppError::Internal | AppError::Transport(_) => 500,
        }
    }

    /// The message for one form field, if this error is about that field.
    pub fn field_msg(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid { field, msg } if field == name => Some(msg.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(e) => AppError::Transport(e),
            ServerFnErrorErr::Response(e) => AppError::Transport(e),
            ServerFnErrorErr::UnsupportedRequestMethod(e) => AppError::Transport(e),
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<domain::Error> for AppError {
    fn from(e: domain::Error) -> Self {
        use domain::Error as E;
        match e {
            E::NotFound(what) => AppError::NotFound(capitalize(what)),
            E::Unauthorized => AppError::Unauthorized,
            E::Forbidden(why) => AppError::Forbidden(why),
            E::Conflict(msg) => AppError::Conflict(msg),
            E::Invalid { field, msg } => AppError::Invalid { field: field.to_string(), msg },
            E::RateLimited { retry_after_secs } => AppError::RateLimited(retry_after_secs),
            E::PaymentRequired(why) => AppError::PaymentRequired(why),
            E::Internal(detail) => {
                tracing::error!(error = %detail, "internal error in a server function");
                AppError::Internal
            }
        }
    }
}

#[cfg(feature = "ssr")]
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

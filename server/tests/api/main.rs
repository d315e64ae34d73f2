//! Integration tests: the real server, a real SQLite file, real git and real app processes.

mod helpers;
#[path = "../support/mod.rs"]
mod support;
#[path = "../support/smtp_sink.rs"]
mod smtp_sink;
mod web;

mod admin;
mod app_settings;
mod assets;
mod apps;
mod auth;
mod authz;
mod authz_fns;
mod credentials;
mod csrf;
mod deploy;
mod domains;
mod tls;
mod dns01;
mod billing;
mod stripe_stub;
mod docker;
mod docker_status;
mod github;
mod github_stub;
mod github_app;
mod github_login;
mod github_previews;
mod oidc;
mod oidc_stub;
mod forges;
mod drain;
mod logs;
mod mail;
mod hardening;
mod isolation;
mod replicas;
mod restart;
mod runtime_status;
mod build_queue;
mod login;
mod setup;
mod story;
mod teams;
mod two_factor;
mod zero_config;

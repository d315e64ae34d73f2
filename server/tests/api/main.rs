//! Integration tests: the real server, a real SQLite file, real git and real app processes.

mod helpers;
#[path = "../support/mod.rs"]
mod support;
mod web;

mod app_settings;
mod apps;
mod auth;
mod credentials;
mod csrf;
mod deploy;
mod docker;
mod docker_status;
mod drain;
mod logs;
mod hardening;
mod isolation;
mod replicas;
mod restart;
mod runtime_status;
mod build_queue;
mod login;
mod setup;
mod story;

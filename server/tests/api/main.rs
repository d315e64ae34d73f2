//! Integration tests: the real server, a real SQLite file, real git and real app processes.

mod helpers;
#[path = "../support/mod.rs"]
mod support;
mod web;

mod apps;
mod auth;
mod credentials;
mod csrf;
mod deploy;
mod logs;
mod hardening;
mod isolation;
mod restart;
mod login;
mod setup;
mod story;

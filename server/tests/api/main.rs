//! Integration tests: the real server, a real SQLite file, real git and real app processes.

mod helpers;

mod apps;
mod auth;
mod deploy;
mod story;

//! Pieces shared by several pages.

pub mod auth;
pub mod browser;
pub mod clock;
pub mod fmt;
pub mod form;
pub mod log_panel;
#[cfg(feature = "hydrate")]
mod log_stream;
pub mod nav;
pub mod status;

use leptos::prelude::*;

use crate::error::AppError;

/// A red box with the error's message, or nothing.
#[component]
pub fn ErrorBox(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p data-testid="error" role="alert" class="rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">
                    {e.to_string()}
                </p>
            }
        })
    }
}

/// The error of the last completed run of an action, if it failed.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

pub const INPUT: &str = "w-full rounded border border-gray-300 px-3 py-2 text-sm focus:border-blue-500 focus:outline-none";
pub const LABEL: &str = "block text-sm font-medium text-gray-700";
pub const BUTTON: &str = "inline-flex items-center justify-center rounded bg-blue-600 px-3 py-2 text-sm font-medium text-white hover:bg-blue-700 disabled:opacity-50";
pub const BUTTON_GHOST: &str = "inline-flex items-center justify-center rounded border border-gray-300 bg-white px-2 py-1 text-xs font-medium text-gray-700 hover:bg-gray-50 disabled:opacity-50";
pub const BUTTON_DANGER: &str = "inline-flex items-center justify-center rounded border border-red-300 bg-white px-2 py-1 text-xs font-medium text-red-700 hover:bg-red-50 disabled:opacity-50";
pub const CARD: &str = "rounded-lg border border-gray-200 bg-white p-4 shadow-sm";

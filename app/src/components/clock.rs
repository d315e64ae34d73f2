//! Times relative to now ("3 min ago") that stay right: the server renders the absolute date (so
//! hydration matches whatever the browser's clock says), then the browser shows the relative time
//! and refreshes it every 20 seconds; the absolute date stays in the tooltip.

use std::time::Duration;

use leptos::prelude::*;

use super::fmt;

/// The browser's clock, in unix milliseconds; `None` on the server and before hydration.
#[derive(Clone, Copy)]
pub struct Clock(RwSignal<Option<i64>>);

impl Clock {
    /// Made once, by the root component.
    pub fn start() -> Clock {
        let now = RwSignal::new(None);
        Effect::new(move |_| {
            now.set(Some(browser_now()));
            if let Ok(handle) = set_interval_with_handle(move || now.set(Some(browser_now())), Duration::from_secs(20)) {
                on_cleanup(move || handle.clear());
            }
        });
        Clock(now)
    }

    pub fn now(self) -> Option<i64> {
        self.0.get()
    }
}

fn browser_now() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}

/// `1m 05s`: the time since `since`, ticking every second (blank until the page is interactive).
#[component]
pub fn Elapsed(since: i64, #[prop(into, optional)] testid: Option<String>) -> impl IntoView {
    let now = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        now.set(Some(browser_now()));
        if let Ok(handle) = set_interval_with_handle(move || now.set(Some(browser_now())), Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <span data-testid=testid class="tabular-nums">{move || now.get().map(|n| fmt::duration((n - since).max(0) / 1000 * 1000)).unwrap_or_default()}</span>
    }
}

/// `3 min ago` (the date and time as its tooltip).
#[component]
pub fn Ago(at: i64, #[prop(into, optional)] testid: Option<String>) -> impl IntoView {
    let clock = use_context::<Clock>();
    let absolute = fmt::datetime(at);
    let title = absolute.clone();
    view! {
        <time title=title data-testid=testid data-at=at>
            {move || match clock.and_then(Clock::now) {
                Some(now) => fmt::ago(at, now),
                None => absolute.clone(),
            }}
        </time>
    }
}

//! A live log viewer: follows a server-sent-events log stream (`line`, `older`, `skipped`, `end` events) into a
//! `<pre>`. Lines are appended straight to the DOM in batches, only the last [`MAX_LINES`] are kept,
//! and the view sticks to the bottom while the reader is there.

use leptos::prelude::*;

use super::CARD;

/// How many lines a panel keeps in the page.
pub const MAX_LINES: u32 = 5000;

#[component]
pub fn LogPanel(
    title: &'static str,
    /// `data-testid` of the `<pre>`; the connection state is at `<testid>-state`.
    testid: &'static str,
    /// The stream to follow; `None` shows an empty panel.
    #[prop(into)]
    url: Signal<Option<String>>,
    /// Called with the final status when the stream ends (build logs end, runtime logs do not).
    #[prop(optional)]
    on_end: Option<Callback<String>>,
    /// Shown next to the title.
    #[prop(into, optional)]
    subtitle: Signal<String>,
) -> impl IntoView {
    let pre = NodeRef::<leptos::html::Pre>::new();
    let state = RwSignal::new(String::from("idle"));
    #[cfg(feature = "hydrate")]
    super::log_stream::follow(url, pre, state, on_end);
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, on_end);
    view! {
        <section class=CARD>
            <div class="mb-2 flex flex-wrap items-baseline gap-2">
                <h2 class="font-semibold">{title}</h2>
                <span class="text-xs text-gray-500">{subtitle}</span>
                <span class="ml-auto text-xs text-gray-500" data-testid=format!("{testid}-state")>{state}</span>
            </div>
            <pre
                node_ref=pre
                data-testid=testid
                class="h-72 overflow-auto rounded bg-gray-900 p-2 font-mono text-xs leading-5 text-gray-100 sm:h-96"
            ></pre>
        </section>
    }
}

//! A live log viewer: follows a server-sent-events log stream (`line`, `older`, `skipped`, `end`
//! events) into a `<pre>`. Lines are appended straight to the DOM in batches, only the last
//! [`MAX_LINES`] are kept, each with its time; stderr is marked, not painted as an error (plenty of
//! programs log there), and a deployment's failure line is highlighted. The view follows new lines
//! until the reader scrolls up ("Jump to latest" brings it back); a filter hides non-matching lines;
//! Download saves what the panel holds.

use leptos::prelude::*;

use super::{BUTTON_GHOST, CARD, INPUT};

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
    let filter = RwSignal::new(String::new());
    // whether the view sticks to the newest line (false once the reader scrolled up)
    let following = RwSignal::new(true);
    #[cfg(feature = "hydrate")]
    super::log_stream::follow(url, pre, state, on_end, filter.into(), following);
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, on_end);
    let jump = move |_| {
        if let Some(el) = pre.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        following.set(true);
    };
    let download = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(el) = pre.get_untracked() {
            super::log_stream::download(&el, &format!("{testid}.log"));
        }
    };
    view! {
        <section class=CARD>
            <div class="mb-2 flex flex-wrap items-center gap-2">
                <h2 class="font-semibold">{title}</h2>
                <span class="text-xs text-gray-500">{subtitle}</span>
                <span class="ml-auto text-xs text-gray-500" data-testid=format!("{testid}-state") aria-live="polite">{state}</span>
            </div>
            <div class="mb-2 flex flex-wrap items-center gap-2">
                <input type="search" class=format!("{INPUT} min-w-0 flex-1 py-1") placeholder="Filter lines"
                    aria-label=format!("Filter the {}", title.to_lowercase()) data-testid=format!("{testid}-filter")
                    prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
                <button type="button" class=BUTTON_GHOST data-testid=format!("{testid}-download") on:click=download>"Download"</button>
            </div>
            <div class="relative">
                <pre
                    node_ref=pre
                    data-testid=testid
                    tabindex="0"
                    role="log"
                    aria-label=title
                    aria-live="polite"
                    aria-relevant="additions"
                    class="h-72 overflow-auto rounded bg-gray-900 p-2 font-mono text-xs leading-5 text-gray-100 sm:h-96 empty:before:text-gray-400 empty:before:content-['No_log_lines_yet.']"
                ></pre>
                {move || (!following.get()).then(|| view! {
                    <button type="button" class="absolute right-3 bottom-3 rounded bg-blue-600 px-2 py-1 text-xs font-medium text-white shadow"
                        data-testid=format!("{testid}-jump") on:click=jump>"Jump to latest ↓"</button>
                })}
            </div>
        </section>
    }
}

//! The browser side of [`super::log_panel::LogPanel`]: one `EventSource` per URL, closed when the URL
//! changes, when the panel goes away, and on `end` (otherwise the browser would reconnect). After a
//! dropped connection the browser reconnects by itself and the server resumes after `Last-Event-ID`.
//! The server sends only the newest lines first; an `older` event marks where earlier ones begin.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, HtmlPreElement, MessageEvent};

use super::log_panel::MAX_LINES;

const BATCH_EVERY: Duration = Duration::from_millis(60);

#[derive(serde::Deserialize)]
struct Line {
    stream: String,
    line: String,
    #[serde(default)]
    at: i64,
    /// The release a runtime log line came from (`v3`).
    #[serde(default)]
    release: Option<i64>,
}

impl Line {
    /// A note of the viewer's own (no time, no release).
    fn note(line: String) -> Line {
        Line { stream: "rhone".into(), line, at: 0, release: None }
    }
}

/// What a panel shows besides the lines: the filter and whether it follows the newest line.
#[derive(Clone, Copy)]
struct View {
    filter: Signal<String>,
    following: RwSignal<bool>,
}

#[derive(Default)]
struct Pending {
    lines: Vec<Line>,
    scheduled: bool,
    closed: bool,
}

type Shared = Rc<RefCell<Pending>>;

pub fn follow(
    url: Signal<Option<String>>,
    pre: NodeRef<leptos::html::Pre>,
    state: RwSignal<String>,
    on_end: Option<Callback<String>>,
    filter: Signal<String>,
    following: RwSignal<bool>,
) {
    let view = View { filter, following };
    // the reader scrolling up stops the following (scroll events do not bubble: a listener of its own)
    Effect::new(move |_| {
        let Some(el) = pre.get() else { return };
        let target = el.clone();
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            following.set(target.scroll_top() + target.client_height() >= target.scroll_height() - 24);
        });
        if el.add_event_listener_with_callback("scroll", listener.as_ref().unchecked_ref()).is_ok() {
            let kept = StoredValue::new_local(Some((el, listener)));
            on_cleanup(move || {
                if let Some(Some((el, listener))) = kept.try_update_value(Option::take) {
                    let _ = el.remove_event_listener_with_callback("scroll", listener.as_ref().unchecked_ref());
                }
            });
        }
    });
    // a new filter applies to the lines already shown (new ones are filtered as they come)
    Effect::new(move |_| {
        let q = filter.get().to_lowercase();
        if let Some(el) = pre.get() {
            let children = el.children();
            for i in 0..children.length() {
                if let Some(child) = children.item(i) {
                    show(&child, &q);
                }
            }
            // a following panel stays on the newest line whatever the filter did to its height
            if following.get_untracked() {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });
    Effect::new(move |_| {
        let (Some(url), Some(el)) = (url.get(), pre.get()) else {
            return;
        };
        el.set_inner_html("");
        following.set(true);
        match Stream::open(&url, el, state, on_end, view) {
            Ok(stream) => {
                // Dropping the stream closes it: when the URL changes and when the panel goes away.
                let stream = StoredValue::new_local(Some(stream));
                on_cleanup(move || {
                    stream.try_update_value(Option::take);
                });
            }
            Err(_) => state.set("could not connect".into()),
        }
    });
}

struct Stream {
    es: EventSource,
    pending: Shared,
    _listeners: Vec<Closure<dyn FnMut(MessageEvent)>>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.es.close();
        self.pending.borrow_mut().closed = true;
    }
}

impl Stream {
    fn open(url: &str, el: HtmlPreElement, state: RwSignal<String>, on_end: Option<Callback<String>>, view: View) -> Result<Stream, JsValue> {
        let es = EventSource::new(url)?;
        let pending: Shared = Rc::default();
        state.set("connecting…".into());
        let mut listeners = Vec::new();
        let mut on = |name: &str, f: Box<dyn FnMut(MessageEvent)>| -> Result<(), JsValue> {
            let c = Closure::wrap(f);
            es.add_event_listener_with_callback(name, c.as_ref().unchecked_ref())?;
            listeners.push(c);
            Ok(())
        };
        on("open", Box::new(move |_| state.set("following".into())))?;
        let es2 = es.clone();
        on("error", Box::new(move |_| {
            let text = if es2.ready_state() == EventSource::CONNECTING { "reconnecting…" } else { "disconnected" };
            state.set(text.into());
        }))?;
        let (p, e) = (pending.clone(), el.clone());
        on("line", Box::new(move |ev| {
            if let Some(l) = ev.data().as_string().and_then(|d| serde_json::from_str::<Line>(&d).ok()) {
                push(&p, &e, view, l);
            }
        }))?;
        let (p, e) = (pending.clone(), el.clone());
        on("older", Box::new(move |ev| {
            let first = ev.data().as_string().unwrap_or_default();
            push(&p, &e, view, Line::note(format!("… earlier lines are not shown (the API returns them with ?before={first})")));
        }))?;
        let (p, e) = (pending.clone(), el.clone());
        on("skipped", Box::new(move |ev| {
            let n = ev.data().as_string().unwrap_or_default();
            push(&p, &e, view, Line::note(format!("… {n} lines skipped (the viewer fell behind)")));
        }))?;
        let (p, es3) = (pending.clone(), es.clone());
        on("end", Box::new(move |ev| {
            es3.close();
            flush(&p, &el, view);
            let status = ev.data().as_string().unwrap_or_default();
            state.set(format!("finished: {status}"));
            if let Some(cb) = on_end {
                cb.run(status);
            }
        }))?;
        Ok(Stream { es, pending, _listeners: listeners })
    }
}

fn push(p: &Shared, el: &HtmlPreElement, view: View, line: Line) {
    let mut pending = p.borrow_mut();
    pending.lines.push(line);
    let over = pending.lines.len().saturating_sub(MAX_LINES as usize);
    if over > 0 {
        pending.lines.drain(..over);
    }
    if !pending.scheduled {
        pending.scheduled = true;
        let (p, el) = (p.clone(), el.clone());
        set_timeout(move || flush(&p, &el, view), BATCH_EVERY);
    }
}

fn flush(p: &Shared, el: &HtmlPreElement, view: View) {
    let lines = {
        let mut pending = p.borrow_mut();
        pending.scheduled = false;
        if pending.closed {
            return;
        }
        std::mem::take(&mut pending.lines)
    };
    if lines.is_empty() {
        return;
    }
    let at_bottom = view.following.try_get_untracked().unwrap_or(true);
    let q = view.filter.try_get_untracked().unwrap_or_default().to_lowercase();
    if lines.len() >= MAX_LINES as usize {
        el.set_inner_html("");
    }
    let doc = document();
    let frag = doc.create_document_fragment();
    for Line { stream, line: text, at, release } in lines {
        if let Ok(div) = doc.create_element("div") {
            let failure = stream == "rhone" && text.starts_with("deployment failed");
            div.set_class_name(if failure { FAILURE_CLASS } else { stream_class(&stream) });
            let _ = div.set_attribute("data-stream", &stream);
            if failure {
                let _ = div.set_attribute("data-testid", "failure-line");
            }
            if at > 0 {
                if let Ok(time) = doc.create_element("span") {
                    time.set_class_name("mr-2 select-none text-gray-500");
                    time.set_text_content(Some(&clock_time(at)));
                    let _ = div.append_child(&time);
                }
            }
            if let Some(n) = release {
                if let Ok(tag) = doc.create_element("span") {
                    tag.set_class_name("mr-2 select-none text-violet-300");
                    let _ = tag.set_attribute("data-release", &n.to_string());
                    tag.set_text_content(Some(&format!("v{n}")));
                    let _ = div.append_child(&tag);
                }
            }
            let _ = div.append_child(&doc.create_text_node(&text));
            show(&div, &q);
            let _ = frag.append_child(&div);
        }
    }
    let _ = el.append_child(&frag);
    let mut extra = el.child_element_count().saturating_sub(MAX_LINES);
    while extra > 0 {
        match el.first_element_child() {
            Some(first) => first.remove(),
            None => break,
        }
        extra -= 1;
    }
    if at_bottom {
        el.set_scroll_top(el.scroll_height());
    }
}

/// A deployment's failure line: the one line to read first.
const FAILURE_CLASS: &str = "whitespace-pre-wrap break-all rounded bg-red-900/70 px-1 font-semibold text-red-50";

/// stderr is marked at the edge, not painted as an error: plenty of programs log there.
fn stream_class(stream: &str) -> &'static str {
    match stream {
        "stderr" => "whitespace-pre-wrap break-all border-l-2 border-amber-500/60 pl-1",
        "rhone" => "whitespace-pre-wrap break-all text-sky-300",
        _ => "whitespace-pre-wrap break-all",
    }
}

/// Hides a line that does not contain `q` (lowercase; empty shows everything).
fn show(line: &web_sys::Element, q: &str) {
    let visible = q.is_empty() || line.text_content().is_some_and(|t| t.to_lowercase().contains(q));
    let _ = if visible { line.remove_attribute("hidden") } else { line.set_attribute("hidden", "") };
}

/// `14:03:27`, the browser's local time of `at` (unix ms).
fn clock_time(at: i64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(at as f64));
    format!("{:02}:{:02}:{:02}", d.get_hours(), d.get_minutes(), d.get_seconds())
}

/// Saves the lines a panel holds (with their times) as a text file.
pub fn download(el: &HtmlPreElement, name: &str) {
    let text = el.inner_text();
    let parts = js_sys::Array::of1(&JsValue::from_str(&text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/plain;charset=utf-8");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Ok(a) = document().create_element("a").and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().map_err(JsValue::from)) {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    set_timeout(move || drop(web_sys::Url::revoke_object_url(&url)), Duration::from_secs(5));
}

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
}

#[derive(Default)]
struct Pending {
    lines: Vec<(String, String)>,
    scheduled: bool,
    closed: bool,
}

type Shared = Rc<RefCell<Pending>>;

pub fn follow(url: Signal<Option<String>>, pre: NodeRef<leptos::html::Pre>, state: RwSignal<String>, on_end: Option<Callback<String>>) {
    Effect::new(move |_| {
        let (Some(url), Some(el)) = (url.get(), pre.get()) else {
            return;
        };
        el.set_inner_html("");
        match Stream::open(&url, el, state, on_end) {
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
    fn open(url: &str, el: HtmlPreElement, state: RwSignal<String>, on_end: Option<Callback<String>>) -> Result<Stream, JsValue> {
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
                push(&p, &e, l.stream, l.line);
            }
        }))?;
        let (p, e) = (pending.clone(), el.clone());
        on("older", Box::new(move |ev| {
            let first = ev.data().as_string().unwrap_or_default();
            push(&p, &e, "rhone".into(), format!("… earlier lines are not shown (the API returns them with ?before={first})"));
        }))?;
        let (p, e) = (pending.clone(), el.clone());
        on("skipped", Box::new(move |ev| {
            let n = ev.data().as_string().unwrap_or_default();
            push(&p, &e, "rhone".into(), format!("… {n} lines skipped (the viewer fell behind)"));
        }))?;
        let (p, es3) = (pending.clone(), es.clone());
        on("end", Box::new(move |ev| {
            es3.close();
            flush(&p, &el);
            let status = ev.data().as_string().unwrap_or_default();
            state.set(format!("finished: {status}"));
            if let Some(cb) = on_end {
                cb.run(status);
            }
        }))?;
        Ok(Stream { es, pending, _listeners: listeners })
    }
}

fn push(p: &Shared, el: &HtmlPreElement, stream: String, line: String) {
    let mut pending = p.borrow_mut();
    pending.lines.push((stream, line));
    let over = pending.lines.len().saturating_sub(MAX_LINES as usize);
    if over > 0 {
        pending.lines.drain(..over);
    }
    if !pending.scheduled {
        pending.scheduled = true;
        let (p, el) = (p.clone(), el.clone());
        set_timeout(move || flush(&p, &el), BATCH_EVERY);
    }
}

fn flush(p: &Shared, el: &HtmlPreElement) {
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
    let at_bottom = el.scroll_top() + el.client_height() >= el.scroll_height() - 24;
    if lines.len() >= MAX_LINES as usize {
        el.set_inner_html("");
    }
    let doc = document();
    let frag = doc.create_document_fragment();
    for (stream, text) in lines {
        if let Ok(div) = doc.create_element("div") {
            div.set_class_name(stream_class(&stream));
            div.set_text_content(Some(&text));
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

fn stream_class(stream: &str) -> &'static str {
    match stream {
        "stderr" => "whitespace-pre-wrap break-all text-red-300",
        "rhone" => "whitespace-pre-wrap break-all text-sky-300",
        _ => "whitespace-pre-wrap break-all",
    }
}

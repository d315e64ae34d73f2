//! The environment-variable editor: masked values (not editable until revealed), reveal,
//! add/edit/delete rows or edit the whole set as `.env` text, and Save as a merge (deleted keys are
//! sent as `null`, untouched masked values are sent as the mask and kept). A key listed twice is
//! refused. After a save: apply now (a restart, no build) or with the next deploy. Not `editable`
//! (members): the keys only, masked, nothing to reveal or change.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::dotenv;
use crate::api::apps::RestartApp;
use crate::api::env::{get_env, save_env, MASK};
use crate::components::{ErrorBox, BUTTON, BUTTON_DANGER, BUTTON_GHOST, CARD, INPUT};
use crate::error::AppError;

#[derive(Clone, Copy)]
struct Row {
    id: usize,
    key: RwSignal<String>,
    value: RwSignal<String>,
    /// Stored on the server (the key cannot be renamed, only deleted).
    existing: bool,
}

#[derive(Clone, Copy)]
struct Rows {
    rows: RwSignal<Vec<Row>>,
    deleted: RwSignal<Vec<String>>,
    next: StoredValue<usize>,
    /// The editor's owner: row signals are created under it, not under the effect that loads them
    /// (an effect's children are disposed when it runs again).
    owner: StoredValue<Owner>,
}

impl Rows {
    fn reset(self, vars: BTreeMap<String, String>) {
        let rows = vars.into_iter().map(|(k, v)| self.row(k, v, true)).collect();
        for old in self.rows.get_untracked() {
            old.key.dispose();
            old.value.dispose();
        }
        self.rows.set(rows);
        self.deleted.set(Vec::new());
    }

    fn row(self, key: String, value: String, existing: bool) -> Row {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.owner.with_value(|o| o.with(|| Row { id, key: RwSignal::new(key), value: RwSignal::new(value), existing }))
    }

    fn remove(self, row: Row) {
        if row.existing {
            self.deleted.update(|d| d.push(row.key.get_untracked()));
        }
        self.rows.update(|rs| rs.retain(|r| r.id != row.id));
        row.key.dispose();
        row.value.dispose();
    }

    /// What to send; a key listed twice is refused (it would silently overwrite the first).
    fn changes(self) -> Result<BTreeMap<String, Option<String>>, AppError> {
        let mut out: BTreeMap<_, _> = self.deleted.get_untracked().into_iter().map(|k| (k, None)).collect();
        let mut seen = std::collections::BTreeSet::new();
        for r in self.rows.get_untracked() {
            let key = r.key.get_untracked().trim().to_string();
            if key.is_empty() {
                continue;
            }
            if !seen.insert(key.clone()) {
                return Err(AppError::Invalid { field: "env".into(), msg: format!("{key} is listed twice: keep one") });
            }
            out.insert(key, Some(r.value.get_untracked()));
        }
        Ok(out)
    }

    /// The rows as `.env` text (masked values stay masked: saved as they are, they keep their value).
    fn text(self) -> String {
        let vars: Vec<(String, String)> = self
            .rows
            .get_untracked()
            .iter()
            .map(|r| (r.key.get_untracked().trim().to_string(), r.value.get_untracked()))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        dotenv::render(&vars)
    }

    /// Replaces the rows with the variables of a `.env` text: stored keys it leaves out are deleted.
    fn apply_text(self, text: &str) -> Result<(), AppError> {
        let vars = dotenv::parse(text).map_err(|e| AppError::Invalid { field: "env".into(), msg: format!("has a problem on {e}") })?;
        let stored: Vec<String> = self.rows.get_untracked().iter().filter(|r| r.existing).map(|r| r.key.get_untracked()).collect();
        let mut deleted = self.deleted.get_untracked();
        deleted.retain(|k| !vars.iter().any(|(v, _)| v == k));
        deleted.extend(stored.iter().filter(|k| !vars.iter().any(|(v, _)| v == *k)).cloned());
        let rows = vars.into_iter().map(|(k, v)| {
            let existing = stored.contains(&k) || self.deleted.get_untracked().contains(&k);
            self.row(k, v, existing)
        });
        let rows: Vec<Row> = rows.collect();
        for old in self.rows.get_untracked() {
            old.key.dispose();
            old.value.dispose();
        }
        self.rows.set(rows);
        self.deleted.set(deleted);
        Ok(())
    }

    fn reveal(self, vars: BTreeMap<String, String>) {
        for r in self.rows.get_untracked() {
            if let Some(v) = vars.get(&r.key.get_untracked()).filter(|_| r.existing && r.value.get_untracked() == MASK) {
                r.value.set(v.clone());
            }
        }
    }
}

#[component]
pub fn EnvEditor(slug: String, editable: bool, #[prop(optional)] restart: Option<ServerAction<RestartApp>>) -> impl IntoView {
    let owner = StoredValue::new(Owner::current().unwrap_or_default());
    let rows = Rows { rows: RwSignal::new(Vec::new()), deleted: RwSignal::new(Vec::new()), next: StoredValue::new(0), owner };
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(false);
    let result = move |r: Result<BTreeMap<String, String>, AppError>, reveal: bool| match r {
        Ok(vars) if reveal => rows.reveal(vars),
        Ok(vars) => {
            rows.reset(vars);
            error.set(None);
        }
        Err(e) => error.set(Some(e)),
    };
    let s = slug.clone();
    let restart_slug = slug.clone();
    // `.env` text mode: the text being edited (`None`: the rows)
    let raw = RwSignal::new(None::<String>);
    let load = Action::new(move |reveal: &bool| {
        let (s, reveal) = (s.clone(), *reveal);
        async move { (reveal, get_env(s, reveal).await) }
    });
    let save = Action::new(move |vars: &BTreeMap<String, Option<String>>| save_env(slug.clone(), vars.clone()));
    // Loaded in the browser once the page is interactive (values are never part of the HTML).
    Effect::new(move |_| {
        untrack(|| load.dispatch(false));
    });
    Effect::new(move |_| {
        if let Some((reveal, r)) = load.value().get() {
            result(r, reveal);
        }
    });
    Effect::new(move |_| {
        if let Some(r) = save.value().get() {
            saved.set(r.is_ok());
            result(r, false);
        }
    });
    let add = move |_| {
        let r = rows.row(String::new(), String::new(), false);
        rows.rows.update(|rs| rs.push(r));
        saved.set(false);
    };
    view! {
        <section class=format!("{CARD} space-y-3") data-testid="env-editor">
            <div class="flex flex-wrap items-center gap-2">
                <h2 class="font-semibold">"Environment variables"</h2>
                {editable.then(|| view! {
                    <button class=format!("{BUTTON_GHOST} ml-auto") data-testid="env-reveal" on:click=move |_| { load.dispatch(true); }>"Reveal values"</button>
                })}
            </div>
            <p class="text-xs text-gray-500">
                {if editable {
                    "Saved encrypted; a change applies at the next restart or deploy. PORT is set by Rhone."
                } else {
                    "Your role shows the names only; admins see and change the values."
                }}
            </p>
            <ErrorBox error/>
            {move || (raw.with(Option::is_none) && rows.rows.with(Vec::is_empty)).then(|| view! {
                <p class="text-sm text-gray-500" data-testid="env-empty">"No variables yet."</p>
            })}
            <div class="space-y-2" class:hidden=move || raw.with(Option::is_some)>
                <For each=move || rows.rows.get() key=|r| r.id let:row>
                    <EnvRow row rows editable/>
                </For>
            </div>
            {move || raw.get().map(|text| view! {
                <label class="block text-sm">
                    <span class="mb-1 block font-medium text-gray-700">".env text (KEY=value per line; masked values are kept as they are)"</span>
                    <textarea class=format!("{INPUT} h-48 font-mono") data-testid="env-text" spellcheck="false"
                        prop:value=text on:input=move |ev| raw.set(Some(event_target_value(&ev)))></textarea>
                </label>
            })}
            <div class="flex flex-wrap items-center gap-2" class:hidden=!editable>
                <button class=BUTTON_GHOST data-testid="env-add" on:click=add class:hidden=move || raw.with(Option::is_some)>"Add variable"</button>
                <button class=BUTTON_GHOST data-testid="env-text-mode"
                    on:click=move |_| match raw.get_untracked() {
                        None => raw.set(Some(rows.text())),
                        Some(text) => match rows.apply_text(&text) {
                            Ok(()) => { raw.set(None); error.set(None); }
                            Err(e) => error.set(Some(e)),
                        },
                    }>
                    {move || if raw.with(Option::is_some) { "Edit as rows" } else { "Edit as .env" }}
                </button>
                <button class=format!("{BUTTON} ml-auto") data-testid="env-save" disabled=move || save.pending().get()
                    on:click=move |_| {
                        saved.set(false);
                        if let Some(text) = raw.get_untracked() {
                            if let Err(e) = rows.apply_text(&text) {
                                error.set(Some(e));
                                return;
                            }
                            raw.set(None);
                        }
                        match rows.changes() {
                            Ok(changes) => { error.set(None); save.dispatch(changes); }
                            Err(e) => error.set(Some(e)),
                        }
                    }>"Save"</button>
            </div>
            {move || saved.get().then(|| {
                let slug = restart_slug.clone();
                view! {
                    <div class="flex flex-wrap items-center gap-2 rounded border border-green-300 bg-green-50 p-2 text-sm" data-testid="env-saved" role="status">
                        <span class="text-green-800">"Saved. Apply it:"</span>
                        {restart.map(|r| view! {
                            <button class=BUTTON_GHOST data-testid="env-apply-now" disabled=move || r.pending().get()
                                on:click=move |_| { r.dispatch(RestartApp { slug: slug.clone() }); saved.set(false); }>"Now (restart, no build)"</button>
                        })}
                        <button class=BUTTON_GHOST data-testid="env-apply-later" on:click=move |_| saved.set(false)>"With the next deploy"</button>
                    </div>
                }
            })}
        </section>
    }
}

#[component]
fn EnvRow(row: Row, rows: Rows, editable: bool) -> impl IntoView {
    let on_delete = move |_| rows.remove(row);
    view! {
        <div class="flex flex-wrap items-center gap-2 sm:flex-nowrap" data-testid="env-row">
            <input class=format!("{INPUT} font-mono sm:w-1/3") placeholder="KEY" data-testid="env-key" aria-label="Variable name"
                readonly=row.existing prop:value=move || row.key.get() on:input=move |ev| row.key.set(event_target_value(&ev))/>
            // a masked value is not editable until revealed (typing over the mask would lose nothing
            // visible but replace a secret nobody saw)
            <input class=format!("{INPUT} font-mono min-w-0 flex-1") placeholder="value" data-testid="env-value"
                aria-label=move || format!("Value of {}", row.key.get())
                readonly=move || !editable || (row.existing && row.value.get() == MASK)
                title=move || (row.existing && row.value.get() == MASK).then_some("Reveal the values to edit it")
                prop:value=move || row.value.get() on:input=move |ev| row.value.set(event_target_value(&ev))/>
            {editable.then(|| view! { <button class=BUTTON_DANGER data-testid="env-delete" on:click=on_delete>"Delete"</button> })}
        </div>
    }
}

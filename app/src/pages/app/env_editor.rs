//! The environment-variable editor: masked values, reveal, add/edit/delete rows, and Save as a merge
//! (deleted keys are sent as `null`, untouched masked values are sent as the mask and kept). Not
//! `editable` (members): the keys only, masked, nothing to reveal or change.

use std::collections::BTreeMap;

use leptos::prelude::*;

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

    fn changes(self) -> BTreeMap<String, Option<String>> {
        let mut out: BTreeMap<_, _> = self.deleted.get_untracked().into_iter().map(|k| (k, None)).collect();
        for r in self.rows.get_untracked() {
            let key = r.key.get_untracked().trim().to_string();
            if !key.is_empty() {
                out.insert(key, Some(r.value.get_untracked()));
            }
        }
        out
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
pub fn EnvEditor(slug: String, editable: bool) -> impl IntoView {
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
                    "Saved encrypted; a change takes effect at the next deploy. PORT is set by Rhone."
                } else {
                    "Your role shows the names only; admins see and change the values."
                }}
            </p>
            <ErrorBox error/>
            {move || rows.rows.with(Vec::is_empty).then(|| view! {
                <p class="text-sm text-gray-500" data-testid="env-empty">"No variables yet."</p>
            })}
            <div class="space-y-2">
                <For each=move || rows.rows.get() key=|r| r.id let:row>
                    <EnvRow row rows editable/>
                </For>
            </div>
            <div class="flex flex-wrap items-center gap-2" class:hidden=!editable>
                <button class=BUTTON_GHOST data-testid="env-add" on:click=add>"Add variable"</button>
                <button class=format!("{BUTTON} ml-auto") data-testid="env-save" disabled=move || save.pending().get()
                    on:click=move |_| { saved.set(false); save.dispatch(rows.changes()); }>"Save"</button>
                {move || saved.get().then(|| view! { <span class="text-sm text-green-700" data-testid="env-saved">"Saved"</span> })}
            </div>
        </section>
    }
}

#[component]
fn EnvRow(row: Row, rows: Rows, editable: bool) -> impl IntoView {
    let on_delete = move |_| rows.remove(row);
    view! {
        <div class="flex flex-wrap items-center gap-2 sm:flex-nowrap" data-testid="env-row">
            <input class=format!("{INPUT} font-mono sm:w-1/3") placeholder="KEY" data-testid="env-key"
                readonly=row.existing prop:value=move || row.key.get() on:input=move |ev| row.key.set(event_target_value(&ev))/>
            <input class=format!("{INPUT} font-mono min-w-0 flex-1") placeholder="value" data-testid="env-value" readonly=!editable
                prop:value=move || row.value.get() on:input=move |ev| row.value.set(event_target_value(&ev))/>
            {editable.then(|| view! { <button class=BUTTON_DANGER data-testid="env-delete" on:click=on_delete>"Delete"</button> })}
        </div>
    }
}

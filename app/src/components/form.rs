//! A labelled text input of the app form that shows the server's message for its field.

use leptos::prelude::*;

use super::{INPUT, LABEL};
use crate::error::AppError;

#[component]
pub fn Field(
    /// The field of [`crate::types::AppFields`] (= the domain's field name in errors); the input is
    /// named `fields[<name>]`.
    name: &'static str,
    label: &'static str,
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(into, optional)] value: String,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] help: &'static str,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let msg = move || error.get().and_then(|e| e.field_msg(name));
    let id = format!("field-{name}");
    view! {
        <div class="space-y-1">
            <label for=id.clone() class=LABEL>{label}</label>
            <input
                id=id
                name=format!("fields[{name}]")
                type="text"
                value=value
                placeholder=placeholder
                required=required
                data-testid=format!("input-{name}")
                class=INPUT
                class=("border-red-500", move || msg().is_some())
            />
            {(!help.is_empty()).then(|| view! { <p class="text-xs text-gray-500">{help}</p> })}
            {move || msg().map(|m| view! {
                <p class="text-xs font-medium text-red-700" data-testid=format!("field-error-{name}")>{m}</p>
            })}
        </div>
    }
}

/// A labelled select of the app form; `options` are `(value, label)` pairs.
#[component]
pub fn SelectField(
    name: &'static str,
    label: &'static str,
    #[prop(into)] error: Signal<Option<AppError>>,
    options: Vec<(&'static str, &'static str)>,
    #[prop(into, optional)] value: String,
    #[prop(optional)] help: &'static str,
) -> impl IntoView {
    let msg = move || error.get().and_then(|e| e.field_msg(name));
    let id = format!("field-{name}");
    view! {
        <div class="space-y-1">
            <label for=id.clone() class=LABEL>{label}</label>
            <select id=id name=format!("fields[{name}]") data-testid=format!("input-{name}") class=INPUT
                class=("border-red-500", move || msg().is_some())>
                {options.into_iter().map(|(v, l)| view! { <option value=v selected=v == value>{l}</option> }).collect_view()}
            </select>
            {(!help.is_empty()).then(|| view! { <p class="text-xs text-gray-500">{help}</p> })}
            {move || msg().map(|m| view! {
                <p class="text-xs font-medium text-red-700" data-testid=format!("field-error-{name}")>{m}</p>
            })}
        </div>
    }
}

/// A checkbox of the app form (sent as `on` when checked).
#[component]
pub fn CheckField(name: &'static str, label: &'static str, checked: bool, #[prop(optional)] help: &'static str) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="space-y-1">
            <label for=format!("field-{name}") class="flex items-center gap-2 text-sm font-medium text-gray-700">
                <input id=id type="checkbox" name=format!("fields[{name}]") checked=checked data-testid=format!("input-{name}")/>
                {label}
            </label>
            {(!help.is_empty()).then(|| view! { <p class="text-xs text-gray-500">{help}</p> })}
        </div>
    }
}

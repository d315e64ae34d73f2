//! Labelled inputs of the app form, each showing the server's message for its field (once, next to
//! the field, after its label: "Name is required").

use leptos::prelude::*;

use super::{INPUT, LABEL};
use crate::error::{field_label, AppError};

/// The error of a form that no field of `placed` shows (the form's own error box shows it then).
pub fn unplaced(error: Signal<Option<AppError>>, placed: &'static [&'static str]) -> Signal<Option<AppError>> {
    Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Invalid { field, .. } if placed.contains(&field.as_str()))))
}

/// `Name is required`: the field's message after its label.
fn field_error(error: Signal<Option<AppError>>, name: &'static str) -> impl Fn() -> Option<String> + Copy {
    move || error.get().and_then(|e| e.field_msg(name)).map(|m| format!("{} {m}", field_label(name)))
}

#[component]
pub fn Field(
    /// The field of [`crate::types::AppFields`] (= the domain's field name in errors); the input is
    /// named `fields[<name>]`.
    name: &'static str,
    label: &'static str,
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(into, optional)] value: String,
    /// Bound to this signal instead of a fixed `value` (the form reads or sets it as one types).
    #[prop(optional)] bind: Option<RwSignal<String>>,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] help: &'static str,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let msg = field_error(error, name);
    let id = format!("field-{name}");
    let help_id = format!("field-{name}-help");
    let input = match bind {
        Some(sig) => view! {
            <input id=id.clone() name=format!("fields[{name}]") type="text" placeholder=placeholder required=required
                aria-describedby=help_id.clone() aria-invalid=move || msg().is_some().to_string()
                data-testid=format!("input-{name}") class=INPUT class=("border-red-500", move || msg().is_some())
                prop:value=move || sig.get() on:input=move |ev| sig.set(event_target_value(&ev))/>
        }
        .into_any(),
        None => view! {
            <input id=id.clone() name=format!("fields[{name}]") type="text" value=value placeholder=placeholder required=required
                aria-describedby=help_id.clone() aria-invalid=move || msg().is_some().to_string()
                data-testid=format!("input-{name}") class=INPUT class=("border-red-500", move || msg().is_some())/>
        }
        .into_any(),
    };
    view! {
        <div class="space-y-1">
            <label for=id class=LABEL>{label}</label>
            {input}
            <div id=help_id>
                {(!help.is_empty()).then(|| view! { <p class="text-xs text-gray-500">{help}</p> })}
                {move || msg().map(|m| view! {
                    <p class="text-xs font-medium text-red-700" role="alert" data-testid=format!("field-error-{name}")>{m}</p>
                })}
            </div>
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
    let msg = field_error(error, name);
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

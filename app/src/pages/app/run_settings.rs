//! The runtime part of the settings form: runtime, CPU and memory limits, replicas, drain and stop
//! timeouts, sticky sessions, Dockerfile. Changes apply to the next deploy.

use leptos::prelude::*;

use crate::components::form::{CheckField, Field, SelectField};
use crate::error::AppError;


#[component]
pub fn RunFields(a: wire::App, #[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <h3 class="pt-2 text-sm font-semibold text-gray-800">"Runtime and scaling"</h3>
        <p class="text-xs text-gray-500">"These apply to versions started after you save: deploy to apply them."</p>
        <div class="grid gap-4 sm:grid-cols-2" data-testid="run-settings">
            <SelectField name="runtime" label="Runtime" error value=a.runtime.as_str().to_string()
                options=vec![("process", "Process"), ("docker", "Docker"), ("auto", "Installation default (auto)")]/>
            <Field name="dockerfile_path" label="Dockerfile" error value=a.dockerfile_path.clone().unwrap_or_default()
                placeholder="Dockerfile (or generated)" help="Relative to the repository root (Docker runtime)."/>
            <Field name="cpu_limit" label="CPU limit (cores)" error value=a.cpu_limit_text() placeholder="no limit" help="0.01 to 64, e.g. 0.5."/>
            <Field name="memory_limit_mb" label="Memory limit (MiB)" error value=a.memory_limit_mb.map(|m| m.to_string()).unwrap_or_default()
                placeholder="no limit" help="16 to 1048576."/>
            <Field name="replicas" label="Replicas" error value=a.replicas.to_string() required=true help="Instances of each version, 1 to 20."/>
            <Field name="drain_timeout_secs" label="Drain timeout (s)" error value=a.drain_timeout_secs.to_string() required=true
                help="How long open requests and connections may finish on an old version (1 to 3600)."/>
            <Field name="stop_timeout_secs" label="Stop timeout (s)" error value=a.stop_timeout_secs.to_string() required=true
                help="From SIGTERM to SIGKILL (1 to 600)."/>
            <CheckField name="sticky_sessions" label="Sticky sessions" checked=a.sticky_sessions
                help="A visitor keeps reaching the same instance (cookie affinity)."/>
        </div>
    }
}

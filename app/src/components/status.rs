//! The coloured badge for a deployment status (or a runtime state: running, restarting, crashed).

use leptos::prelude::*;

fn colours(status: &str) -> &'static str {
    match status {
        "live" | "running" | "static" => "bg-green-100 text-green-800 border-green-300",
        "failed" | "crashed" => "bg-red-100 text-red-800 border-red-300",
        "pending" | "queued" | "building" | "deploying" | "restarting" => "bg-amber-100 text-amber-800 border-amber-300 animate-pulse",
        "cancelled" | "superseded" => "bg-gray-100 text-gray-600 border-gray-300",
        _ => "bg-gray-50 text-gray-500 border-gray-200",
    }
}

/// `status`: a deployment status name, or `None` for an app that was never deployed.
#[component]
pub fn StatusBadge(status: Option<String>, #[prop(into, optional)] testid: Option<String>) -> impl IntoView {
    let text = status.clone().unwrap_or_else(|| "not deployed".into());
    let class = format!("inline-block rounded-full border px-2 py-0.5 text-xs font-medium {}", colours(&text));
    view! {
        <span class=class data-testid=testid data-status=text.clone()>
            {text.clone()}
        </span>
    }
}

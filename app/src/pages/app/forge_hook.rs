//! "GitLab and Gitea webhooks": makes the app's webhook secret and shows it once, with the URL
//! each forge posts to.

use leptos::prelude::*;

use crate::api::github::MakeWebhookSecret;
use crate::components::{action_error, ErrorBox, BUTTON_GHOST, CARD};

#[component]
pub fn ForgeHook(slug: String) -> impl IntoView {
    let make = ServerAction::<MakeWebhookSecret>::new();
    let error = action_error(make);
    view! {
        <section class=format!("{CARD} space-y-2") data-testid="forge-hook">
            <h2 class="font-semibold">"GitLab and Gitea webhooks"</h2>
            <p class="text-sm text-gray-600">"For a repository on GitLab, Gitea or Forgejo: make a secret, then add a push webhook there with this app's URL and the secret. Making a new secret replaces the old one."</p>
            <ErrorBox error/>
            <ActionForm action=make>
                <input type="hidden" name="slug" value=slug/>
                <button type="submit" class=BUTTON_GHOST data-testid="make-webhook-secret" disabled=move || make.pending().get()>"Make a webhook secret"</button>
            </ActionForm>
            {move || make.value().get().and_then(Result::ok).map(|h| view! {
                <dl class="space-y-1 text-sm" data-testid="webhook-secret">
                    <dt class="font-medium text-gray-700">"Secret (shown once)"</dt>
                    <dd><code class="break-all" data-testid="webhook-secret-value">{h.secret}</code></dd>
                    <dt class="font-medium text-gray-700">"GitLab URL (Secret token)"</dt>
                    <dd><code class="break-all">{h.gitlab_url}</code></dd>
                    <dt class="font-medium text-gray-700">"Gitea / Forgejo URL (Secret)"</dt>
                    <dd><code class="break-all">{h.gitea_url}</code></dd>
                </dl>
            })}
        </section>
    }
}

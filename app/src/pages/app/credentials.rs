//! "Repository access": the app's credential for a private repository. An access token is typed in
//! and never shown again; a deploy key is generated on the server and only its public key is shown.

use leptos::prelude::*;

use crate::api::credentials::{generate_deploy_key, get_credential, remove_credential, set_access_token, CredentialView, TokenInput};
use crate::components::browser::confirm;
use crate::components::{ErrorBox, BUTTON, BUTTON_DANGER, BUTTON_GHOST, CARD, INPUT, LABEL};
use crate::error::AppError;

#[derive(Clone)]
enum Change {
    Token { token: String, username: String },
    NewKey,
    Remove,
}

#[component]
pub fn RepoAccess(slug: String) -> impl IntoView {
    let current = RwSignal::new(None::<CredentialView>);
    let error = RwSignal::new(None::<AppError>);
    let token = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let s = slug.clone();
    let load = Action::new(move |_: &()| get_credential(s.clone()));
    let change = Action::new(move |c: &Change| {
        let slug = slug.clone();
        let c = c.clone();
        async move {
            match c {
                Change::Token { token, username } => set_access_token(slug, TokenInput(token), username).await,
                Change::NewKey => generate_deploy_key(slug).await,
                Change::Remove => remove_credential(slug).await,
            }
        }
    });
    // Loaded in the browser once the page is interactive, like the env editor.
    Effect::new(move |_| {
        untrack(|| load.dispatch(()));
    });
    Effect::new(move |_| {
        let r = change.value().get().or_else(|| load.value().get());
        match r {
            Some(Ok(v)) => {
                current.set(Some(v));
                error.set(None);
                token.set(String::new());
            }
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        }
    });
    let kind = move || current.with(|c| c.as_ref().and_then(|c| c.kind.clone()));
    let save_token = move |_| {
        change.dispatch(Change::Token { token: token.get_untracked(), username: username.get_untracked() });
    };
    let new_key = move |_| {
        let replacing = kind().is_some();
        if !replacing || confirm("Replace the app's credential with a new deploy key? The current one stops working for Rhone.") {
            change.dispatch(Change::NewKey);
        }
    };
    let remove = move |_| {
        if confirm("Remove the app's repository credential? Deploys of a private repository will fail until you add one.") {
            change.dispatch(Change::Remove);
        }
    };
    let busy = move || change.pending().get();
    view! {
        <section class=format!("{CARD} space-y-3") data-testid="repo-access">
            <h2 class="font-semibold">"Repository access"</h2>
            <p class="text-xs text-gray-500">
                "For a private repository: an access token (HTTPS URLs) or a deploy key (SSH URLs). Stored encrypted; the token is never shown again."
            </p>
            <ErrorBox error/>
            <p class="text-sm" data-testid="credential-kind">
                {move || match kind().as_deref() {
                    Some("token") => format!("Access token set (user name {}).", current.with(|c| c.as_ref().and_then(|c| c.username.clone()).unwrap_or_default())),
                    Some("deploy_key") => "Deploy key: add this public key to the repository (read-only is enough).".to_string(),
                    _ => "None: the repository is fetched without credentials.".to_string(),
                }}
            </p>
            {move || current.with(|c| c.as_ref().and_then(|c| c.public_key.clone())).map(|k| view! {
                <pre class="whitespace-pre-wrap break-all rounded bg-gray-50 p-2 font-mono text-xs" data-testid="deploy-public-key">{k}</pre>
            })}
            <div class="grid gap-2 sm:grid-cols-[2fr_1fr_auto] sm:items-end">
                <div class="space-y-1">
                    <label for="access-token" class=LABEL>"Access token"</label>
                    <input id="access-token" type="password" autocomplete="off" class=format!("{INPUT} font-mono") data-testid="access-token"
                        prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))/>
                </div>
                <div class="space-y-1">
                    <label for="access-username" class=LABEL>"User name"</label>
                    <input id="access-username" type="text" placeholder="x-access-token" class=INPUT data-testid="access-username"
                        prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/>
                </div>
                <button class=BUTTON data-testid="save-token" disabled=move || busy() || token.with(String::is_empty) on:click=save_token>"Save token"</button>
            </div>
            <div class="flex flex-wrap items-center gap-2">
                <button class=BUTTON_GHOST data-testid="generate-deploy-key" disabled=busy on:click=new_key>
                    {move || if kind().as_deref() == Some("deploy_key") { "Regenerate deploy key" } else { "Generate deploy key" }}
                </button>
                {move || kind().is_some().then(|| view! {
                    <button class=BUTTON_DANGER data-testid="remove-credential" disabled=busy on:click=remove>"Remove credential"</button>
                })}
            </div>
        </section>
    }
}

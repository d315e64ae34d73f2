//! `/tokens`: API tokens for the REST API and the CLI (`Authorization: Bearer <token>`). A new
//! token's secret is shown once, with a Copy button and an example `curl` line, and is cleared from
//! the page as soon as that token is revoked.

use leptos::prelude::*;

use crate::api::tokens::{list_tokens, CreateToken, RevokeToken};
use crate::components::browser::{confirm, copy_text};
use crate::components::fmt::datetime;
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_DANGER, BUTTON_GHOST, CARD, INPUT};
use crate::types::ApiToken;

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let create_error = action_error(create);
    let revoke_error = action_error(revoke);
    // the new token's secret, until that very token is revoked
    let revoked = RwSignal::new(Vec::<i64>::new());
    let secret = move || {
        let issued = create.value().get().and_then(Result::ok)?;
        (!revoked.with(|r| r.contains(&issued.token.id))).then_some(issued.secret)
    };
    let origin = RwSignal::new(String::from("http://localhost:8080"));
    Effect::new(move |_| origin.set(crate::components::browser::origin()));
    let copied = RwSignal::new(false);
    view! {
        <leptos_meta::Title text="API tokens · Rhone"/>
        <h1 class="mb-4 text-2xl font-semibold">"API tokens"</h1>
        <section class=format!("{CARD} mb-4 space-y-3")>
            <ActionForm action=create attr:class="flex flex-wrap items-end gap-2">
                <label class="flex-1 text-sm">
                    <span class="mb-1 block font-medium text-gray-700">"New token name"</span>
                    <input name="name" required placeholder="ci" class=INPUT data-testid="token-name"/>
                </label>
                <button type="submit" class=BUTTON data-testid="create-token">"Create token"</button>
            </ActionForm>
            <ErrorBox error=create_error/>
            {move || secret().map(|s| {
                let to_copy = s.clone();
                let curl = format!("curl -H 'Authorization: Bearer {s}' {}/api/v1/apps", origin.get());
                view! {
                    <div class="space-y-2 rounded border border-green-300 bg-green-50 p-3 text-sm" data-testid="token-issued">
                        <p class="font-medium text-green-900">"Copy this token now: it is not shown again."</p>
                        <div class="flex items-start gap-2">
                            <code class="block min-w-0 flex-1 break-all rounded bg-white p-2 font-mono text-xs" data-testid="token-secret">{s}</code>
                            <button type="button" class=BUTTON_GHOST data-testid="copy-token"
                                on:click=move |_| { copy_text(&to_copy); copied.set(true); }>
                                {move || if copied.get() { "Copied" } else { "Copy" }}
                            </button>
                        </div>
                        <p class="text-xs text-gray-700">"Try it:"</p>
                        <code class="block break-all rounded bg-white p-2 font-mono text-xs" data-testid="token-curl">{curl}</code>
                    </div>
                }
            })}
        </section>
        <ErrorBox error=revoke_error/>
        <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading tokens…"</p> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) if list.is_empty() => view! { <p class="text-sm text-gray-500">"No tokens yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white" data-testid="token-list">
                            {list.into_iter().map(|t| row(t, revoke, revoked)).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn row(t: ApiToken, revoke: ServerAction<RevokeToken>, revoked: RwSignal<Vec<i64>>) -> impl IntoView {
    let (id, name) = (t.id, t.name.clone());
    let on_revoke = move |_| {
        if confirm(&format!("Revoke the token \"{name}\"? Programs using it will stop working.")) {
            revoked.update(|r| r.push(id));
            revoke.dispatch(RevokeToken { id });
        }
    };
    let used = t.last_used_at.map(|u| format!("last used {}", datetime(u))).unwrap_or_else(|| "never used".into());
    view! {
        <li class="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-3" data-testid=format!("token-row-{}", t.id)>
            <span class="font-medium">{t.name}</span>
            <code class="text-xs text-gray-500">{t.prefix}"…"</code>
            <span class="text-xs text-gray-500">"created " {datetime(t.created_at)} ", " {used}</span>
            <button class=format!("{BUTTON_DANGER} ml-auto") on:click=on_revoke data-testid="revoke-token">"Revoke"</button>
        </li>
    }
}

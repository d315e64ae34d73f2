//! `/tokens`: API tokens for the REST API and the CLI (`Authorization: Bearer <token>`).

use leptos::prelude::*;

use crate::api::tokens::{list_tokens, CreateToken, RevokeToken};
use crate::components::browser::confirm;
use crate::components::fmt::datetime;
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_DANGER, CARD, INPUT};
use crate::types::ApiToken;

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let create_error = action_error(create);
    let revoke_error = action_error(revoke);
    let secret = move || create.value().get().and_then(Result::ok).map(|t| t.secret);
    view! {
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
            {move || secret().map(|s| view! {
                <div class="rounded border border-green-300 bg-green-50 p-3 text-sm">
                    <p class="mb-1 font-medium text-green-900">"Copy this token now: it is not shown again."</p>
                    <code class="block break-all rounded bg-white p-2 font-mono text-xs" data-testid="token-secret">{s}</code>
                </div>
            })}
        </section>
        <ErrorBox error=revoke_error/>
        <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading tokens…"</p> }>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) if list.is_empty() => view! { <p class="text-sm text-gray-500">"No tokens yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white" data-testid="token-list">
                            {list.into_iter().map(|t| row(t, revoke)).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn row(t: ApiToken, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let (id, name) = (t.id, t.name.clone());
    let on_revoke = move |_| {
        if confirm(&format!("Revoke the token \"{name}\"? Programs using it will stop working.")) {
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

//! `/invite/:token`: what an invitation offers, and accepting it (a plain form posted to
//! `/auth/accept`, which works before the page is interactive): signed in, you join; signed out, you
//! choose a password for the invited email's new account (or log in first if you have one).

use leptos::prelude::*;
use wire::InvitationState;

use crate::api::teams::{get_invitation, InvitationOffer};
use crate::components::{BUTTON, INPUT, LABEL};
use crate::pages::{AuthCard, QueryError};

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let offer = Resource::new(move || token.get(), get_invitation);
    view! {
        <leptos_meta::Title text="Invitation · Rhone"/>
        <AuthCard title="Invitation">
            <Suspense fallback=|| view! { <p class="text-sm text-gray-500">"Loading the invitation…"</p> }>
                {move || Suspend::new(async move {
                    match offer.await {
                        Ok(o) => view! { <Offer offer=o token=token.get_untracked()/> }.into_any(),
                        Err(_) => view! {
                            <p class="text-sm text-gray-700" data-testid="invite-unknown">"This invitation link is not valid. Ask for a new one."</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </AuthCard>
    }
}

#[component]
fn Offer(offer: InvitationOffer, token: String) -> impl IntoView {
    let by = offer.invited_by.clone().map(|b| format!(" by {b}")).unwrap_or_default();
    let summary = format!("You are invited{by} to join {} as {}.", offer.team_name, offer.role.as_str());
    if offer.state != InvitationState::Pending {
        let why = match offer.state {
            InvitationState::Accepted => "has already been used",
            InvitationState::Revoked => "was revoked",
            _ => "has expired",
        };
        return view! { <p class="text-sm text-gray-700" data-testid="invite-gone">"This invitation " {why} ". Ask for a new one."</p> }.into_any();
    }
    let login = format!("/login?next=/invite/{token}");
    view! {
        <p class="mb-3 text-sm" data-testid="invite-summary">{summary}</p>
        <QueryError/>
        <form method="post" action="/auth/accept" class="space-y-3" data-testid="accept-form">
            <input type="hidden" name="token" value=token/>
            {match offer.signed_in_as {
                Some(me) => view! {
                    <p class="text-sm text-gray-600">"You are signed in as " <b>{me}</b> "."</p>
                    <input type="hidden" name="password" value=""/>
                    <button type="submit" class=format!("{BUTTON} w-full") data-testid="accept">"Join the team"</button>
                }.into_any(),
                None => view! {
                    <p class="text-sm text-gray-600">"Create the account " <b>{offer.email}</b> " with a password:"</p>
                    <div class="space-y-1">
                        <label for="password" class=LABEL>"Password"</label>
                        <input id="password" name="password" type="password" required minlength="8" autocomplete="new-password" class=INPUT data-testid="password"/>
                        <p class="text-xs text-gray-500">"At least 8 characters."</p>
                    </div>
                    <button type="submit" class=format!("{BUTTON} w-full") data-testid="accept">"Create account and join"</button>
                    <p class="text-xs text-gray-500">"Already have an account? " <a class="underline" href=login>"Log in"</a> " first, then open this link again."</p>
                }.into_any(),
            }}
        </form>
    }.into_any()
}

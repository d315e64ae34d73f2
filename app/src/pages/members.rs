//! `/t/:team/members`: who is in the team with which role; owners and admins change roles, remove
//! members, invite (the single-use link is shown once, with a copy button) and revoke invitations.

use leptos::prelude::*;
use wire::{Invitation, InvitationState, Member, MyTeam, Role};

use crate::api::teams::{get_team, list_invitations, list_members, ChangeMemberRole, InviteMember, RemoveMember, RevokeInvitation};
use crate::components::browser::{confirm, copy_text};
use crate::components::fmt::datetime;
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_DANGER, BUTTON_GHOST, CARD, INPUT};

#[derive(Clone, Copy)]
struct Actions {
    role: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvitation>,
}

#[component]
pub fn MembersPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let team = Memo::new(move |_| params.read().get("team").unwrap_or_default());
    let acts = Actions { role: ServerAction::new(), remove: ServerAction::new(), invite: ServerAction::new(), revoke: ServerAction::new() };
    let changed = move || (acts.role.version().get(), acts.remove.version().get(), acts.invite.version().get(), acts.revoke.version().get());
    let me = Resource::new(move || team.get(), get_team);
    let members = Resource::new(move || (team.get(), changed()), |(t, _)| list_members(t));
    view! {
        <leptos_meta::Title text="Members · Rhone"/>
        <Suspense fallback=|| view! { <p class="text-sm text-gray-500">"Loading members…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) => view! { <Members me members acts/> }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Members(me: MyTeam, members: Resource<Result<Vec<Member>, crate::AppError>>, acts: Actions) -> impl IntoView {
    let slug = me.team.slug.clone();
    let manage = me.role.can_manage();
    let errors = [action_error(acts.role), action_error(acts.remove), action_error(acts.revoke)];
    let error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    let slug_rows = slug.clone();
    view! {
        <h1 class="mb-4 text-2xl font-semibold">{me.team.name.clone()} " · Members"</h1>
        <ErrorBox error/>
        <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading members…"</p> }>
            {move || {
                let slug = slug_rows.clone();
                Suspend::new(async move {
                    match members.await {
                        Ok(list) => view! {
                            <ul class="mb-4 divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white" data-testid="member-list">
                                {list.into_iter().map(|m| member_row(&slug, m, me.role, acts)).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                    }
                })
            }}
        </Transition>
        {manage.then(|| view! { <Invitations slug=slug.clone() my_role=me.role acts/> })}
        {manage.then(|| view! { <TwoFactorPolicy slug=slug.clone() required=me.team.require_2fa/> })}
    }
}

fn member_row(team: &str, m: Member, my_role: Role, acts: Actions) -> impl IntoView {
    let (team, id, email) = (team.to_string(), m.user_id, m.email.clone());
    // owners manage everyone; admins everyone below owner
    let editable = my_role.can_manage() && (my_role == Role::Owner || m.role < Role::Owner);
    let choices: Vec<Role> = Role::ALL.into_iter().filter(|r| my_role == Role::Owner || *r < Role::Owner).collect();
    let team_for_role = team.clone();
    let on_role = move |ev: leptos::ev::Event| {
        if let Some(role) = Role::parse(&event_target_value(&ev)) {
            acts.role.dispatch(ChangeMemberRole { team: team_for_role.clone(), user_id: id, role });
        }
    };
    let on_remove = move |_| {
        if confirm(&format!("Remove {email} from the team? Their access ends at once.")) {
            acts.remove.dispatch(RemoveMember { team: team.clone(), user_id: id });
        }
    };
    view! {
        <li class="flex flex-wrap items-center gap-3 px-4 py-3" data-testid=format!("member-{}", m.email)>
            <span class="font-medium">{m.email.clone()}</span>
            <span class="text-xs text-gray-500">"joined " {datetime(m.joined_at)}</span>
            <span class="ml-auto">
                {if editable {
                    view! {
                        <select class="rounded border border-gray-300 px-2 py-1 text-sm" on:change=on_role aria-label=format!("Role of {}", m.email) data-testid="member-role">
                            {choices.into_iter().map(|r| view! { <option value=r.as_str() selected=r == m.role>{r.as_str()}</option> }).collect_view()}
                        </select>
                    }.into_any()
                } else {
                    view! { <span class="rounded bg-gray-100 px-2 py-0.5 text-xs" data-testid="member-role-text">{m.role.as_str()}</span> }.into_any()
                }}
            </span>
            {editable.then(|| view! { <button class=BUTTON_DANGER on:click=on_remove data-testid="remove-member">"Remove"</button> })}
        </li>
    }
}

#[component]
fn Invitations(slug: String, my_role: Role, acts: Actions) -> impl IntoView {
    let team = slug.clone();
    let list = Resource::new(move || (acts.invite.version().get(), acts.revoke.version().get()), move |_| list_invitations(team.clone()));
    let error = action_error(acts.invite);
    let issued = move || acts.invite.value().get().and_then(Result::ok);
    let roles: Vec<Role> = Role::ALL.into_iter().filter(|r| my_role == Role::Owner || *r < Role::Owner).collect();
    let slug_rows = slug.clone();
    view! {
        <section class=format!("{CARD} space-y-3")>
            <h2 class="font-semibold">"Invite"</h2>
            <ErrorBox error/>
            <ActionForm action=acts.invite attr:class="flex flex-wrap items-end gap-2" attr:data-testid="invite-form">
                <input type="hidden" name="team" value=slug.clone()/>
                <label class="flex min-w-48 flex-1 flex-col gap-1 text-sm">
                    <span class="font-medium">"Email"</span>
                    <input name="email" type="email" required placeholder="teammate@example.com" class=INPUT data-testid="invite-email"/>
                </label>
                <label class="flex flex-col gap-1 text-sm">
                    <span class="font-medium">"Role"</span>
                    <select name="role" class="rounded border border-gray-300 px-2 py-2 text-sm" data-testid="invite-role">
                        {roles.into_iter().map(|r| view! { <option value=r.as_str() selected=r == Role::Member>{r.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit" class=BUTTON data-testid="invite">"Invite"</button>
            </ActionForm>
            {move || issued().map(|i| {
                let url = i.url.clone();
                view! {
                    <div class="rounded border border-green-300 bg-green-50 p-3 text-sm">
                        <p class="mb-1 font-medium text-green-900">
                            {if i.emailed { "Emailed to " } else { "Send this link to " }} {i.invitation.email.clone()}
                            ". It works once, until " {datetime(i.invitation.expires_at)} ", and is not shown again."
                        </p>
                        {i.email_error.clone().map(|e| view! { <p class="mb-1 text-amber-800" data-testid="invite-email-error">{e}</p> })}
                        <div class="flex items-center gap-2">
                            <code class="block flex-1 break-all rounded bg-white p-2 font-mono text-xs" data-testid="invite-link">{i.url.clone()}</code>
                            <button class=BUTTON_GHOST on:click=move |_| copy_text(&url) data-testid="copy-invite">"Copy"</button>
                        </div>
                    </div>
                }
            })}
            <Transition fallback=|| ()>
                {move || {
                    let slug = slug_rows.clone();
                    Suspend::new(async move {
                        list.await.ok().map(|l| {
                            let pending: Vec<Invitation> = l.into_iter().filter(|i| i.state == InvitationState::Pending).collect();
                            (!pending.is_empty()).then(|| view! {
                                <h3 class="text-sm font-medium text-gray-700">"Pending invitations"</h3>
                                <ul class="divide-y divide-gray-100 text-sm" data-testid="pending-invitations">
                                    {pending.into_iter().map(|i| invitation_row(&slug, i, acts)).collect_view()}
                                </ul>
                            })
                        })
                    })
                }}
            </Transition>
        </section>
    }
}

/// Whether the team's members must use two-factor sign-in.
#[component]
fn TwoFactorPolicy(slug: String, required: bool) -> impl IntoView {
    let set = ServerAction::<crate::api::two_factor::SetTeamTwoFactor>::new();
    let error = action_error(set);
    let saved = RwSignal::new(required);
    Effect::new(move |_| {
        if let Some(Ok(())) = set.value().get() {
            saved.set(!saved.get_untracked());
        }
    });
    view! {
        <section class=format!("{CARD} mt-4 space-y-2")>
            <h2 class="font-semibold">"Two-factor sign-in"</h2>
            <ErrorBox error/>
            <p class="text-sm text-gray-600" data-testid="team-2fa-state">
                {move || if saved.get() { "Required: members without it cannot reach this team's apps." } else { "Optional for members of this team." }}
            </p>
            <button class=BUTTON_GHOST data-testid="team-2fa-toggle" on:click=move |_| {
                set.dispatch(crate::api::two_factor::SetTeamTwoFactor { team: slug.clone(), required: !saved.get_untracked() });
            }>{move || if saved.get() { "Make it optional" } else { "Require it" }}</button>
        </section>
    }
}

fn invitation_row(team: &str, i: Invitation, acts: Actions) -> impl IntoView {
    let (team, id, email) = (team.to_string(), i.id, i.email.clone());
    let on_revoke = move |_| {
        if confirm(&format!("Revoke the invitation of {email}? Its link stops working.")) {
            acts.revoke.dispatch(RevokeInvitation { team: team.clone(), id });
        }
    };
    view! {
        <li class="flex flex-wrap items-center gap-3 py-2" data-testid=format!("invitation-{}", i.email)>
            <span>{i.email.clone()}</span>
            <span class="rounded bg-gray-100 px-2 py-0.5 text-xs">{i.role.as_str()}</span>
            <span class="text-xs text-gray-500">"expires " {datetime(i.expires_at)}</span>
            <button class=format!("{BUTTON_DANGER} ml-auto") on:click=on_revoke data-testid="revoke-invitation">"Revoke"</button>
        </li>
    }
}

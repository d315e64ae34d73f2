//! Who is logged in. Pages that need a user sit under a `ProtectedParentRoute` whose condition reads
//! [`UserResource`]: anonymous visitors are redirected to `/login` before anything of the page (or
//! any of its data) is rendered.

use leptos::prelude::*;
use leptos_router::components::Outlet;

use super::nav::Nav;
use crate::api::session::current_user;
use crate::error::AppError;
use crate::types::SignedIn;

/// The current user, loaded once per page load (login and logout are full page loads).
#[derive(Clone, Copy)]
pub struct UserResource(pub Resource<Result<Option<SignedIn>, AppError>>);

impl UserResource {
    pub fn load() -> UserResource {
        UserResource(Resource::new_blocking(|| (), |_| current_user()))
    }

    /// `None` while loading, then whether someone is logged in.
    pub fn logged_in(self) -> Option<bool> {
        self.0.get().map(|r| matches!(r, Ok(Some(_))))
    }

    pub fn user(self) -> Option<SignedIn> {
        self.0.get().and_then(|r| r.ok().flatten())
    }
}

/// Where an anonymous visitor is sent: `/login`, with the page they asked for as `next` (the login
/// takes them there afterwards).
pub fn login_redirect() -> String {
    let location = leptos_router::hooks::use_location();
    let (path, search) = (location.pathname.get_untracked(), location.search.get_untracked());
    let asked = if search.is_empty() { path } else { format!("{path}?{search}") };
    if asked == "/" || asked.is_empty() {
        return "/login".into();
    }
    format!("/login?next={}", encode_component(&asked))
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The frame of every logged-in page: the top navigation and the page below it.
#[component]
pub fn Layout() -> impl IntoView {
    let user = expect_context::<UserResource>();
    view! {
        {move || user.user().map(|user| view! { <Nav user/> })}
        <div class="mx-auto max-w-5xl px-3 py-4 sm:px-4">
            <Outlet/>
        </div>
    }
}

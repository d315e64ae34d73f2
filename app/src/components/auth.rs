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

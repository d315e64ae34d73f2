//! Rhone's dashboard: Leptos pages, their server functions and the wire types they share.

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
pub mod types;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ProtectedParentRoute, Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

pub use error::AppError;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-gray-50 text-gray-900">
                <App/>
            </body>
        </html>
    }
}

/// Routes. Pages that need a user are only rendered for a logged-in user (others are redirected to
/// `/login`); every page renders completely on the server before the response starts
/// (`SsrMode::Async`), so a redirect is a real 302.
#[component]
pub fn App() -> impl IntoView {
    use pages::*;
    use components::auth::{Layout, UserResource};
    provide_meta_context();
    let user = UserResource::load();
    provide_context(user);
    provide_context(components::clock::Clock::start());
    let ssr = SsrMode::Async;
    view! {
        <Stylesheet id="leptos" href="/pkg/rhone.css"/>
        <Title text="Rhone"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p class="p-4">"Page not found. " <a class="underline" href="/">"Go to your apps"</a></p> }>
                    <Route path=StaticSegment("login") view=login::LoginPage ssr=ssr.clone()/>
                    <Route path=(StaticSegment("login"), StaticSegment("code")) view=login_code::LoginCodePage ssr=ssr.clone()/>
                    <Route path=StaticSegment("setup") view=setup::SetupPage ssr=ssr.clone()/>
                    <Route path=(StaticSegment("invite"), ParamSegment("token")) view=invite::InvitePage ssr=ssr.clone()/>
                    <ProtectedParentRoute path=StaticSegment("") view=Layout ssr=ssr.clone()
                        condition=move || user.logged_in() redirect_path=|| "/login">
                        <Route path=StaticSegment("") view=apps::AppsPage ssr=ssr.clone()/>
                        <Route path=(StaticSegment("apps"), StaticSegment("new")) view=new_app::NewAppPage ssr=ssr.clone()/>
                        <Route path=(StaticSegment("apps"), ParamSegment("slug")) view=app::AppPage ssr=ssr.clone()/>
                        <Route path=StaticSegment("teams") view=teams::TeamsPage ssr=ssr.clone()/>
                        <Route path=(StaticSegment("admin"), StaticSegment("users")) view=admin::AdminUsersPage ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team")) view=apps::AppsPage ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("apps"), StaticSegment("new")) view=new_app::NewAppPage ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("apps"), ParamSegment("slug")) view=app::AppPage ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("members")) view=members::MembersPage ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("audit")) view=audit::AuditPage ssr=ssr.clone()/>
                        <Route path=StaticSegment("builds") view=builds::BuildsPage ssr=ssr.clone()/>
                        <Route path=StaticSegment("tokens") view=tokens::TokensPage ssr=ssr.clone()/>
                        <Route path=StaticSegment("account") view=account::AccountPage ssr/>
                    </ProtectedParentRoute>
                </Routes>
            </main>
        </Router>
    }
}

pub mod server {
    /// Whether session cookies are `Secure` and so named `__Host-rhone_session` (provided as context
    /// by `rhone`; server functions read the session cookie by that name).
    #[derive(Clone, Copy, Debug)]
    pub struct CookieSecurity(pub bool);

    /// The port the app proxy listens on (provided as context by `rhone`), for links to live apps.
    #[derive(Clone, Copy, Debug)]
    pub struct ProxyPort(pub u16);

    /// The dashboard's own URL (`public_url`, else the listener's address), for links Rhone hands
    /// out, such as invitations.
    #[derive(Clone, Debug)]
    pub struct DashboardUrl(pub String);
}

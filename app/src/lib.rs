//! Rhone's dashboard: Leptos pages, their server functions and the wire types they share.

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
pub mod routes;
pub mod types;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, ProtectedParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, ParamSegment, SsrMode, StaticSegment};

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
                <HashedStylesheet options=options.clone() id="leptos"/>
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
    use routes::*;
    use components::auth::{Layout, UserResource};
    provide_meta_context();
    let user = UserResource::load();
    provide_context(user);
    provide_context(components::clock::Clock::start());
    // Effects run only in the browser, once the page is hydrated (its lazy chunks loaded): the mark
    // browser tests wait for before they type into a page
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
    let ssr = SsrMode::Async;
    view! {
        <Title text="Rhone"/>
        <Router>
            <main>
                <Routes fallback=pages::NotFoundPage>
                    <Route path=StaticSegment("login") view={Lazy::<LoginRoute>::new()} ssr=ssr.clone()/>
                    <Route path=(StaticSegment("login"), StaticSegment("code")) view={Lazy::<LoginCodeRoute>::new()} ssr=ssr.clone()/>
                    <Route path=StaticSegment("setup") view={Lazy::<SetupRoute>::new()} ssr=ssr.clone()/>
                    <Route path=(StaticSegment("invite"), ParamSegment("token")) view={Lazy::<InviteRoute>::new()} ssr=ssr.clone()/>
                    <ProtectedParentRoute path=StaticSegment("") view=Layout ssr=ssr.clone()
                        condition=move || user.logged_in() redirect_path=components::auth::login_redirect>
                        <Route path=StaticSegment("") view={Lazy::<AppsRoute>::new()} ssr=ssr.clone()/>
                        <Route path=(StaticSegment("apps"), StaticSegment("new")) view={Lazy::<NewAppRoute>::new()} ssr=ssr.clone()/>
                        <ParentRoute path=(StaticSegment("apps"), ParamSegment("slug")) view={Lazy::<AppRoute>::new()} ssr=ssr.clone()>
                            <Route path=StaticSegment("") view={Lazy::<OverviewRoute>::new()} ssr=SsrMode::Async/>
                            <Route path=StaticSegment("deployments") view={Lazy::<DeploymentsRoute>::new()} ssr=SsrMode::Async/>
                            <Route path=StaticSegment("logs") view={Lazy::<LogsRoute>::new()} ssr=SsrMode::Async/>
                            <Route path=StaticSegment("env") view={Lazy::<EnvRoute>::new()} ssr=SsrMode::Async/>
                            <Route path=StaticSegment("settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                        </ParentRoute>
                        <Route path=StaticSegment("teams") view={Lazy::<TeamsRoute>::new()} ssr=ssr.clone()/>
                        <Route path=(StaticSegment("admin"), StaticSegment("users")) view={Lazy::<AdminUsersRoute>::new()} ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team")) view={Lazy::<AppsRoute>::new()} ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("apps"), StaticSegment("new")) view={Lazy::<NewAppRoute>::new()} ssr=ssr.clone()/>
                        <ParentRoute path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("apps"), ParamSegment("slug")) view={Lazy::<AppRoute>::new()} ssr=ssr.clone()>
                            <Route path=StaticSegment("") view={Lazy::<OverviewRoute>::new()} ssr=SsrMode::Async/>
                            <Route path=StaticSegment("deployments") view={Lazy::<DeploymentsRoute>::new()} ssr=SsrMode::Async/>
                            <Route path=StaticSegment("logs") view={Lazy::<LogsRoute>::new()} ssr=SsrMode::Async/>
                            <Route path=StaticSegment("env") view={Lazy::<EnvRoute>::new()} ssr=SsrMode::Async/>
                            <Route path=StaticSegment("settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                        </ParentRoute>
                        <Route path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("members")) view={Lazy::<MembersRoute>::new()} ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("audit")) view={Lazy::<AuditRoute>::new()} ssr=ssr.clone()/>
                        <Route path=(StaticSegment("t"), ParamSegment("team"), StaticSegment("billing")) view={Lazy::<BillingRoute>::new()} ssr=ssr.clone()/>
                        <Route path=StaticSegment("builds") view={Lazy::<BuildsRoute>::new()} ssr=ssr.clone()/>
                        <Route path=StaticSegment("tokens") view={Lazy::<TokensRoute>::new()} ssr=ssr.clone()/>
                        <Route path=StaticSegment("account") view={Lazy::<AccountRoute>::new()} ssr/>
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

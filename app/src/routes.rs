//! The pages as lazily loaded routes. A release build made with `cargo leptos build --split` (`make
//! run`) cuts each page's code (its views and the client side of its server functions) out of the
//! main wasm into a chunk of its own, fetched when the page is first opened; the page the server
//! rendered has its chunk preloaded by the hydration scripts. Debug builds (no `--split`) keep one
//! wasm, and the server renders these pages like any other.
//!
//! Each page fetches its own data when it renders, so `data()` holds nothing.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::pages;

macro_rules! lazy_pages {
    ($($(#[$doc:meta])* $name:ident => $page:path;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        #[lazy_route]
        impl LazyRoute for $name {
            fn data() -> Self {
                $name
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_pages! {
    /// `/login`.
    LoginRoute => pages::login::LoginPage;
    /// `/` and `/t/:team`: a team's apps.
    AppsRoute => pages::apps::AppsPage;
    /// `/login/code`: the second step of a login.
    LoginCodeRoute => pages::login_code::LoginCodePage;
    /// `/setup`: the installation's first account.
    SetupRoute => pages::setup::SetupPage;
    /// `/invite/:token`.
    InviteRoute => pages::invite::InvitePage;
    /// `/apps/new` (and under a team).
    NewAppRoute => pages::new_app::NewAppPage;
    /// An app's page: header, controls and tabs (each tab below is a route of its own).
    AppRoute => pages::app::AppPage;
    OverviewRoute => pages::app::OverviewTab;
    DeploymentsRoute => pages::app::DeploymentsTab;
    LogsRoute => pages::app::LogsTab;
    EnvRoute => pages::app::EnvTab;
    SettingsRoute => pages::app::SettingsTab;
    TeamsRoute => pages::teams::TeamsPage;
    AdminUsersRoute => pages::admin::AdminUsersPage;
    MembersRoute => pages::members::MembersPage;
    AuditRoute => pages::audit::AuditPage;
    /// `/t/:team/billing`.
    BillingRoute => pages::billing::BillingPage;
    BuildsRoute => pages::builds::BuildsPage;
    TokensRoute => pages::tokens::TokensPage;
    AccountRoute => pages::account::AccountPage;
}

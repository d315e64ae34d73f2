//! The wasm entry point: hydrates the server-rendered dashboard. Pages are lazily loaded routes (see
//! `app::routes`), so hydration waits for the current page's chunk (preloaded by the page's head).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}

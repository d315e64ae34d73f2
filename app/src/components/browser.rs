//! The few browser calls the pages make, with harmless server-side stand-ins (event handlers never run
//! on the server).

/// `window.confirm(msg)`; false when it cannot be asked.
pub fn confirm(msg: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window().confirm_with_message(msg).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = msg;
        false
    }
}

/// `location.protocol` (`http:` or `https:`).
pub fn protocol() -> String {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window().location().protocol().unwrap_or_else(|_| "http:".into())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        "http:".into()
    }
}

/// `location.origin` (`https://rhone.example.com`).
pub fn origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// Copies `text` to the clipboard (`navigator.clipboard.writeText`); nothing where it is not offered.
pub fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
    }
}

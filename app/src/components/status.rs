//! The coloured badge of a state: a deployment's status, a live version's runtime state, a build's
//! place in the queue. Each state enum says its label and its tone.

use leptos::prelude::*;
use wire::{AppState, DeploymentStatus, QueueState, RunState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Busy,
    Quiet,
}

impl Tone {
    fn classes(self) -> &'static str {
        match self {
            Tone::Good => "bg-green-100 text-green-800 border-green-300",
            Tone::Bad => "bg-red-100 text-red-800 border-red-300",
            Tone::Busy => "bg-amber-100 text-amber-800 border-amber-300 animate-pulse",
            Tone::Quiet => "bg-gray-100 text-gray-600 border-gray-300",
        }
    }
}

/// A state the badge can show.
pub trait Badged {
    fn label(&self) -> &'static str;
    fn tone(&self) -> Tone;
}

impl Badged for DeploymentStatus {
    fn label(&self) -> &'static str {
        self.as_str()
    }

    fn tone(&self) -> Tone {
        match self {
            DeploymentStatus::Live => Tone::Good,
            DeploymentStatus::Failed => Tone::Bad,
            DeploymentStatus::Pending | DeploymentStatus::Building | DeploymentStatus::Deploying => Tone::Busy,
            DeploymentStatus::Cancelled | DeploymentStatus::Superseded => Tone::Quiet,
        }
    }
}

impl Badged for RunState {
    fn label(&self) -> &'static str {
        self.as_str()
    }

    fn tone(&self) -> Tone {
        match self {
            RunState::Running | RunState::Static => Tone::Good,
            RunState::Crashed => Tone::Bad,
            RunState::Restarting => Tone::Busy,
            RunState::Stopped => Tone::Quiet,
        }
    }
}

impl Badged for AppState {
    fn label(&self) -> &'static str {
        AppState::label(*self)
    }

    fn tone(&self) -> Tone {
        match self {
            AppState::Running => Tone::Good,
            AppState::Crashed => Tone::Bad,
            AppState::Deploying => Tone::Busy,
            AppState::NotDeployed | AppState::Stopped => Tone::Quiet,
        }
    }
}

impl Badged for QueueState {
    fn label(&self) -> &'static str {
        self.as_str()
    }

    fn tone(&self) -> Tone {
        Tone::Busy
    }
}

/// `state`: what to show; `None` for an app that was never deployed.
#[component]
pub fn StatusBadge<S: Badged + 'static>(state: Option<S>, #[prop(into, optional)] testid: Option<String>) -> impl IntoView {
    let (text, tone) = state.as_ref().map_or(("not deployed", Tone::Quiet), |s| (s.label(), s.tone()));
    let class = format!("inline-block rounded-full border px-2 py-0.5 text-xs font-medium {}", tone.classes());
    view! {
        <span class=class data-testid=testid data-status=text>
            {text}
        </span>
    }
}

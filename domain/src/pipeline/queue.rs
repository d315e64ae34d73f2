//! Build slots: at most `max_concurrent_builds` deployments are in their build phase (clone + build
//! steps or image build) at once, whatever the number of deploy workers, so builds never take the
//! whole machine from the apps that serve. Waiting deployments are served strictly in arrival order;
//! each one knows how many are ahead of it. A waiter that is cancelled leaves the queue.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::model::{Deployment, DeploymentStatus as S};
use crate::Services;

#[derive(Default)]
struct Slots {
    /// Deployments holding a slot, in the order they got it.
    building: Vec<i64>,
    /// Deployments waiting for a slot, first come first served.
    waiting: VecDeque<i64>,
}

/// The build slots of this Rhone process (cheap to clone).
#[derive(Clone)]
pub struct BuildSlots {
    max: usize,
    slots: Arc<Mutex<Slots>>,
    /// Bumped whenever a slot frees or a waiter leaves.
    changed: Arc<watch::Sender<u64>>,
}

/// Where a deployment stands in the build queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// It holds a build slot (the n-th, in the order the slots were taken).
    Building(usize),
    /// It waits behind this many deployments (those building included).
    Waiting { ahead: usize },
}

impl BuildSlots {
    pub fn new(max: usize) -> BuildSlots {
        BuildSlots { max: max.max(1), slots: Arc::default(), changed: Arc::new(watch::channel(0).0) }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins the queue. The ticket leaves it (and frees its slot) when dropped.
    pub fn join(&self, deployment_id: i64) -> Ticket {
        self.lock().waiting.push_back(deployment_id);
        Ticket { slots: self.clone(), id: deployment_id }
    }

    /// Where `deployment_id` is, if it is building or waiting.
    pub fn place(&self, deployment_id: i64) -> Option<Place> {
        let s = self.lock();
        if let Some(i) = s.building.iter().position(|d| *d == deployment_id) {
            return Some(Place::Building(i));
        }
        s.waiting.iter().position(|d| *d == deployment_id).map(|i| Place::Waiting { ahead: s.building.len() + i })
    }

    /// Takes a slot for `id` if one is free and `id` is first in line (then the next in line may
    /// find a free slot too: it is woken).
    fn try_take(&self, id: i64) -> bool {
        {
            let mut s = self.lock();
            if s.building.len() >= self.max || s.waiting.front() != Some(&id) {
                return false;
            }
            s.waiting.pop_front();
            s.building.push(id);
        }
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        true
    }

    fn leave(&self, id: i64) {
        {
            let mut s = self.lock();
            s.building.retain(|d| *d != id);
            s.waiting.retain(|d| *d != id);
        }
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A deployment's place in the build queue; dropping it leaves the queue or frees the slot.
pub struct Ticket {
    slots: BuildSlots,
    id: i64,
}

impl Ticket {
    /// How many deployments are ahead (0 once it holds a slot).
    pub fn ahead(&self) -> usize {
        match self.slots.place(self.id) {
            Some(Place::Waiting { ahead }) => ahead,
            _ => 0,
        }
    }

    /// Waits until this deployment holds a build slot (cancel-safe: dropping the future keeps the
    /// ticket's place; dropping the ticket leaves the queue).
    pub async fn slot(&self) {
        let mut changed = self.slots.changed.subscribe();
        loop {
            if self.slots.try_take(self.id) {
                return;
            }
            if changed.changed().await.is_err() {
                return; // the slots are gone with their owner: nothing to wait for
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.slots.leave(self.id);
    }
}

pub use wire::{QueueState, QueuedBuild};

impl Services {
    /// Deployments in their build phase, then those waiting, in the order they will build. Positions
    /// count every team's builds (they share the slots); the deployments of apps the actor cannot
    /// see are left out.
    pub async fn build_queue(&self, actor: &crate::access::Actor) -> crate::Result<Vec<QueuedBuild>> {
        let visible: std::collections::HashSet<i64> = self.list_apps(actor, None).await?.into_iter().map(|a| a.id).collect();
        let slots = &self.pipeline.builds;
        let mut all: Vec<((u8, i64), QueueState, Deployment)> = Vec::new();
        for d in self.store.deployments_with_status(S::Building).await? {
            let key = match slots.place(d.id) {
                Some(Place::Building(i)) => (0, i as i64),
                _ => (1, d.id), // a rollback (it builds nothing) or a build Rhone no longer tracks
            };
            all.push((key, QueueState::Building, d));
        }
        for d in self.store.deployments_with_status(S::Pending).await? {
            let key = match slots.place(d.id) {
                Some(Place::Waiting { ahead }) => (2, ahead as i64),
                _ => (3, d.id), // not yet claimed by a worker
            };
            all.push((key, QueueState::Queued, d));
        }
        all.sort_by_key(|(key, _, _)| *key);
        Ok(all
            .into_iter()
            .enumerate()
            .map(|(position, (_, state, deployment))| QueuedBuild {
                position,
                state,
                ahead: if state == QueueState::Building { 0 } else { position },
                deployment,
            })
            .filter(|q| visible.contains(&q.deployment.app_id))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn holds_slot(t: &Ticket) -> bool {
        tokio::time::timeout(Duration::from_millis(50), t.slot()).await.is_ok()
    }

    #[tokio::test]
    async fn one_slot_is_handed_out_in_arrival_order() {
        let slots = BuildSlots::new(1);
        let a = slots.join(1);
        let b = slots.join(2);
        let c = slots.join(3);
        assert_eq!((a.ahead(), b.ahead(), c.ahead()), (0, 1, 2));
        assert!(holds_slot(&a).await);
        assert!(!holds_slot(&c).await, "the third waits even when it asks before the second");
        assert!(!holds_slot(&b).await, "the slot is taken");
        assert_eq!(slots.place(2), Some(Place::Waiting { ahead: 1 }));
        drop(a);
        assert!(!holds_slot(&c).await, "the second is first in line");
        assert!(holds_slot(&b).await);
        assert_eq!(slots.place(2), Some(Place::Building(0)));
        assert_eq!(c.ahead(), 1);
    }

    #[tokio::test]
    async fn a_waiter_that_leaves_lets_the_next_one_move_up() {
        let slots = BuildSlots::new(1);
        let a = slots.join(1);
        assert!(holds_slot(&a).await);
        let b = slots.join(2);
        let c = slots.join(3);
        drop(b);
        assert_eq!(slots.place(2), None);
        assert_eq!(c.ahead(), 1);
        let waiter = tokio::spawn(async move {
            c.slot().await;
            c
        });
        tokio::task::yield_now().await;
        drop(a);
        let c = tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("woken when the slot frees").expect("task");
        assert_eq!(slots.place(3), Some(Place::Building(0)));
        drop(c);
        assert_eq!(slots.place(3), None);
    }

    #[tokio::test]
    async fn the_next_in_line_is_woken_when_the_first_takes_one_of_two_free_slots() {
        let slots = BuildSlots::new(2);
        let (a, b) = (slots.join(1), slots.join(2));
        let second = tokio::spawn(async move {
            b.slot().await;
            b
        });
        tokio::task::yield_now().await;
        assert!(holds_slot(&a).await);
        let b = tokio::time::timeout(Duration::from_secs(5), second).await.expect("the second gets the other slot").expect("task");
        assert_eq!(slots.place(b.id), Some(Place::Building(1)));
    }

    #[tokio::test]
    async fn several_slots_run_that_many_builds_at_once() {
        let slots = BuildSlots::new(2);
        let (a, b, c) = (slots.join(1), slots.join(2), slots.join(3));
        assert!(holds_slot(&a).await);
        assert!(holds_slot(&b).await);
        assert!(!holds_slot(&c).await);
        assert_eq!(c.ahead(), 2);
    }

    #[test]
    fn zero_slots_means_one() {
        assert_eq!(BuildSlots::new(0).max(), 1);
    }
}

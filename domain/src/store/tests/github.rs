//! GitHub deliveries: each handled once, a stale unfinished claim taken over, a failed one released;
//! an app's repository id recorded once.

use super::app_named;
use super::backends::{both, Db};
use crate::github::Claim;

both!(a_delivery_is_claimed_once_finished_for_good_and_a_stale_or_released_claim_is_taken_over, the_first_repository_id_of_an_app_stays,);

async fn a_delivery_is_claimed_once_finished_for_good_and_a_stale_or_released_claim_is_taken_over(db: Db) {
    let s = &db.store;
    let stale = 300_000;
    assert_eq!(s.claim_delivery("d1", "push", 1_000, stale).await.unwrap(), Claim::New);
    assert_eq!(s.claim_delivery("d1", "push", 2_000, stale).await.unwrap(), Claim::Busy, "being handled");
    // the handler stopped half-way: a redelivery after the stale time takes it over, once
    assert_eq!(s.claim_delivery("d1", "push", 1_000 + stale + 1, stale).await.unwrap(), Claim::New);
    assert_eq!(s.claim_delivery("d1", "push", 1_000 + stale + 2, stale).await.unwrap(), Claim::Busy);
    s.finish_delivery("d1", "{}").await.unwrap();
    assert_eq!(s.claim_delivery("d1", "push", 10 * stale, stale).await.unwrap(), Claim::Done, "finished for good");
    s.release_delivery("d1").await.unwrap();
    assert_eq!(s.claim_delivery("d1", "push", 10 * stale, stale).await.unwrap(), Claim::Done, "a finished one is never released");
    // a failed handling releases its claim: the next redelivery is handled at once
    assert_eq!(s.claim_delivery("d2", "push", 1_000, stale).await.unwrap(), Claim::New);
    s.release_delivery("d2").await.unwrap();
    assert_eq!(s.claim_delivery("d2", "push", 1_001, stale).await.unwrap(), Claim::New);
}

async fn the_first_repository_id_of_an_app_stays(db: Db) {
    let s = &db.store;
    let app = app_named(s, "linked").await.id;
    assert_eq!(s.app_github_repo(app).await.unwrap(), None);
    s.link_app_github_repo(app, 186853002).await.unwrap();
    s.link_app_github_repo(app, 999).await.unwrap();
    assert_eq!(s.app_github_repo(app).await.unwrap(), Some(186853002));
}

//! GitHub deliveries: each handled once, a stale unfinished claim taken over, a failed one released;
//! an app's repository id recorded once.

use super::app_named;
use super::backends::{both, Db};
use crate::github::Claim;
use crate::model::DeploymentStatus as S;

both!(
    a_delivery_is_claimed_once_finished_for_good_and_a_stale_or_released_claim_is_taken_over,
    the_first_repository_id_of_an_app_stays,
    each_status_change_of_an_app_installation_deployment_queues_one_status_job,
    an_installation_belongs_to_one_team_and_lists_its_repositories,
    a_browser_flow_state_is_taken_once_and_expires,
    a_deployment_made_for_a_delivery_is_found_by_it_and_never_made_twice,
);

async fn a_delivery_is_claimed_once_finished_for_good_and_a_stale_or_released_claim_is_taken_over(db: Db) {
    let s = &db.store;
    let stale = 300_000;
    assert_eq!(s.claim_delivery("d1", "push", 1_000, stale, "p-d1").await.unwrap(), Claim::New);
    assert_eq!(s.claim_delivery("d1", "push", 2_000, stale, "p-d1").await.unwrap(), Claim::Busy, "being handled");
    // the handler stopped half-way: a redelivery after the stale time takes it over, once
    assert_eq!(s.claim_delivery("d1", "push", 1_000 + stale + 1, stale, "p-d1").await.unwrap(), Claim::New);
    assert_eq!(s.claim_delivery("d1", "push", 1_000 + stale + 2, stale, "p-d1").await.unwrap(), Claim::Busy);
    s.finish_delivery("d1", "{}").await.unwrap();
    assert_eq!(s.claim_delivery("d1", "push", 10 * stale, stale, "p-d1").await.unwrap(), Claim::Done, "finished for good");
    s.release_delivery("d1").await.unwrap();
    assert_eq!(s.claim_delivery("d1", "push", 10 * stale, stale, "p-d1").await.unwrap(), Claim::Done, "a finished one is never released");
    // a failed handling releases its claim: the next redelivery is handled at once
    assert_eq!(s.claim_delivery("d2", "push", 1_000, stale, "p-d2").await.unwrap(), Claim::New);
    s.release_delivery("d2").await.unwrap();
    assert_eq!(s.claim_delivery("d2", "push", 1_001, stale, "p-d2").await.unwrap(), Claim::New);
    // what a restart handles again: the unfinished claims, with their payloads (a finished one
    // keeps none)
    assert_eq!(s.unfinished_deliveries().await.unwrap(), vec![("d2".to_string(), Some("p-d2".to_string()))]);
    // retention drops old handled ones only
    assert_eq!(s.prune_deliveries(100 * stale).await.unwrap(), 1);
    assert_eq!(s.claim_delivery("d1", "push", 100 * stale, stale, "again").await.unwrap(), Claim::New, "d1's record is gone");
    assert_eq!(s.unfinished_deliveries().await.unwrap().len(), 2, "unfinished ones stay");
}

async fn a_deployment_made_for_a_delivery_is_found_by_it_and_never_made_twice(db: Db) {
    use crate::model::DeploymentKind;
    use crate::store::deployments::NewDeployment;
    let s = &db.store;
    let app = app_named(s, "pushed").await.id;
    let job = |id| crate::jobs::new_job(&crate::pipeline::DeployJob { deployment_id: id }, 0);
    let new = NewDeployment { app_id: app, git_ref: "abc", kind: DeploymentKind::Deploy, rollback_of: None, delivery: Some("d-1") };
    let made = s.insert_deployment_with_job(new, job).await.unwrap();
    assert_eq!(s.deployment_for_delivery(app, "d-1").await.unwrap().map(|d| d.id), Some(made.id));
    assert_eq!(s.deployment_for_delivery(app, "d-2").await.unwrap().map(|d| d.id), None);
    assert!(s.insert_deployment_with_job(new, job).await.is_err(), "a second deployment for one delivery is refused");
    // deployments of no delivery are not limited
    let plain = NewDeployment { delivery: None, ..new };
    s.insert_deployment_with_job(plain, job).await.unwrap();
    s.insert_deployment_with_job(plain, job).await.unwrap();
}

async fn the_first_repository_id_of_an_app_stays(db: Db) {
    let s = &db.store;
    let app = app_named(s, "linked").await.id;
    assert_eq!(s.app_github_repo(app).await.unwrap(), None);
    s.link_app_github_repo(app, 186853002).await.unwrap();
    s.link_app_github_repo(app, 999).await.unwrap();
    assert_eq!(s.app_github_repo(app).await.unwrap(), Some(186853002));
}

async fn each_status_change_of_an_app_installation_deployment_queues_one_status_job(db: Db) {
    let s = &db.store;
    let plain = app_named(s, "plain-hook").await.id;
    let via_app = app_named(s, "via-app").await.id;
    s.link_app_github_repo(plain, 1).await.unwrap();
    s.link_app_github_repo(via_app, 2).await.unwrap();
    s.set_app_github_source(plain, Some("o/plain"), None).await.unwrap();
    s.set_app_github_source(via_app, Some("o/via"), Some(77)).await.unwrap();
    s.set_app_github_source(via_app, None, None).await.unwrap();
    let link = s.app_github(via_app).await.unwrap().unwrap();
    assert_eq!((link.full_name.as_deref(), link.installation_id), (Some("o/via"), Some(77)), "a push without them keeps what is known");

    // a plain repository webhook: no statuses to post
    let d = s.insert_deployment(plain, "main", None).await.unwrap();
    assert!(s.transition(d.id, &[S::Pending], S::Building, None).await.unwrap());
    assert!(s.jobs_of_kind(crate::github::status::KIND).await.unwrap().is_empty());

    let d = s.insert_deployment(via_app, "main", None).await.unwrap();
    s.set_commit(d.id, &"a".repeat(40), "Octo", "first").await.unwrap();
    assert!(s.transition(d.id, &[S::Pending], S::Building, None).await.unwrap());
    assert!(!s.transition(d.id, &[S::Pending], S::Building, None).await.unwrap(), "no change, no job");
    assert!(s.transition(d.id, &[S::Building], S::Failed, Some("boom")).await.unwrap());
    let jobs = s.jobs_of_kind(crate::github::status::KIND).await.unwrap();
    assert_eq!(jobs.len(), 4, "pending, commit known, building, failed: {jobs:?}");
    assert!(jobs.iter().all(|j| j.max_attempts == crate::github::status::STATUS_ATTEMPTS));

    // what became of it: the last state stays when a later attempt fails
    s.record_github_status(d.id, Some("pending"), None).await.unwrap();
    s.record_github_status(d.id, None, Some("GitHub answered 502: Server Error")).await.unwrap();
    let shown = s.deployment(d.id).await.unwrap().github_status.unwrap();
    assert_eq!((shown.state.as_deref(), shown.error.as_deref()), (Some("pending"), Some("GitHub answered 502: Server Error")));
    s.record_github_status(d.id, Some("failure"), None).await.unwrap();
    let shown = s.deployment(d.id).await.unwrap().github_status.unwrap();
    assert_eq!((shown.state.as_deref(), shown.error), (Some("failure"), None));
    assert_eq!(s.deployment(d.id - 1).await.unwrap().github_status, None, "nothing posted for the plain one");
}

async fn an_installation_belongs_to_one_team_and_lists_its_repositories(db: Db) {
    use crate::github::installations::RepoRef;
    let s = &db.store;
    let owner = s.insert_user("gh-owner@example.com", "h", "owner").await.unwrap().id;
    let acme = s.insert_team("gh-acme", "Acme", owner).await.unwrap().id;
    let other = s.insert_team("gh-other", "Other", owner).await.unwrap().id;
    let repo = |id: i64, name: &str| RepoRef { id, full_name: name.into(), private: true };
    s.upsert_installation(77, "octo-org", 1077, "Organization", false).await.unwrap();
    s.set_installation_repos(77, &[repo(1, "octo-org/a"), repo(2, "octo-org/b")]).await.unwrap();
    assert!(s.team_repos(acme).await.unwrap().is_empty(), "not connected yet");
    assert!(s.connect_installation(77, acme).await.unwrap());
    assert!(s.connect_installation(77, acme).await.unwrap(), "again for the same team: fine");
    assert!(!s.connect_installation(77, other).await.unwrap(), "never taken over by another team");
    let names = |v: Vec<crate::github::installations::TeamRepo>| v.into_iter().map(|r| r.full_name).collect::<Vec<_>>();
    assert_eq!(names(s.team_repos(acme).await.unwrap()), ["octo-org/a", "octo-org/b"]);
    assert!(s.team_repos(other).await.unwrap().is_empty());
    // webhooks: renamed, added, removed; a re-sent installation keeps its team
    s.add_installation_repos(77, &[repo(2, "octo-org/b-renamed"), repo(3, "octo-org/c")]).await.unwrap();
    s.remove_installation_repos(77, &[1]).await.unwrap();
    s.upsert_installation(77, "octo-org", 1077, "Organization", false).await.unwrap();
    assert_eq!(names(s.team_repos(acme).await.unwrap()), ["octo-org/b-renamed", "octo-org/c"]);
    // suspended: nothing to deploy from it until unsuspended
    s.upsert_installation(77, "octo-org", 1077, "Organization", true).await.unwrap();
    assert!(s.team_repos(acme).await.unwrap().is_empty());
    s.upsert_installation(77, "octo-org", 1077, "Organization", false).await.unwrap();
    assert_eq!(s.installations_of_team(acme).await.unwrap().len(), 1);
    s.delete_installation(77).await.unwrap();
    assert!(s.team_repos(acme).await.unwrap().is_empty() && s.installation_repos(77).await.unwrap().is_empty());
    assert_eq!(s.installation(77).await.unwrap(), None);
}

async fn a_browser_flow_state_is_taken_once_and_expires(db: Db) {
    use crate::store::github_installations::OAuthState;
    let s = &db.store;
    let now = crate::store::now_ms();
    let st = |at: i64| OAuthState { purpose: "install".into(), user_id: None, team_id: None, verifier: Some("v".into()), next: None, nonce: Some("n".into()), created_at: at };
    s.put_oauth_state("fresh", &st(now)).await.unwrap();
    s.put_oauth_state("old", &st(now - 20 * 60 * 1000)).await.unwrap();
    let ttl = 10 * 60 * 1000;
    let fresh = s.take_oauth_state("fresh", ttl).await.unwrap().expect("fresh state");
    assert_eq!((fresh.verifier.as_deref(), fresh.nonce.as_deref()), (Some("v"), Some("n")));
    assert_eq!(s.take_oauth_state("fresh", ttl).await.unwrap(), None, "once");
    assert_eq!(s.take_oauth_state("old", ttl).await.unwrap(), None, "expired");
    assert_eq!(s.take_oauth_state("never", ttl).await.unwrap(), None);
}

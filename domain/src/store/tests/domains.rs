//! Custom domains: a domain is verified for one app at most, whatever the order of claims; removing
//! the app removes its domains.

use super::app_named;
use super::backends::{both, Db};

both!(a_domain_is_verified_for_one_app_at_most_and_goes_with_its_app, a_certificate_is_stored_sealed_and_replaced_on_renewal,);

async fn a_domain_is_verified_for_one_app_at_most_and_goes_with_its_app(db: Db) {
    let s = &db.store;
    let (a, b) = (app_named(s, "first").await, app_named(s, "second").await);
    let mine = s.insert_domain(a.id, "shop.example.com", "t-a").await.unwrap();
    let theirs = s.insert_domain(b.id, "shop.example.com", "t-b").await.unwrap();
    assert!(s.insert_domain(a.id, "shop.example.com", "again").await.is_err(), "once per app");
    assert_eq!((mine.app_slug.as_str(), mine.token.as_str(), mine.verified_at), ("first", "t-a", None));
    assert!(s.verified_domain("shop.example.com").await.unwrap().is_none());
    assert!(s.mark_domain_verified(theirs.id, 10).await.unwrap(), "the first to verify wins");
    assert!(!s.mark_domain_verified(mine.id, 11).await.unwrap(), "a verified domain cannot be verified again elsewhere");
    assert_eq!(s.verified_domain("shop.example.com").await.unwrap().map(|d| d.app_slug), Some("second".into()));
    s.set_domain_check(mine.id, 12, Some("no TXT record"), 2).await.unwrap();
    let mine = s.domain(mine.id).await.unwrap();
    assert_eq!((mine.checked_at, mine.last_error.as_deref(), mine.failed_checks), (Some(12), Some("no TXT record"), 2));
    // unverified: free for the other claim
    s.unverify_domain(theirs.id).await.unwrap();
    assert!(s.mark_domain_verified(mine.id, 13).await.unwrap());
    assert_eq!(s.verified_domains().await.unwrap().iter().map(|d| d.id).collect::<Vec<_>>(), vec![mine.id]);
    s.delete_app(a.id).await.unwrap();
    assert!(s.verified_domain("shop.example.com").await.unwrap().is_none(), "the app's domains went with it");
    assert_eq!(s.all_domains().await.unwrap().len(), 1);
}

async fn a_certificate_is_stored_sealed_and_replaced_on_renewal(db: Db) {
    let s = &db.store;
    assert_eq!(s.certificate("shop.example.com").await.unwrap(), None);
    s.set_certificate_status("shop.example.com", "pending", None).await.unwrap();
    assert!(s.issued_certificates().await.unwrap().is_empty(), "nothing to serve while pending");
    s.put_certificate("shop.example.com", "CHAIN-1", &[1; 12], &[2, 3], 1_000, 4_000).await.unwrap();
    s.set_certificate_status("shop.example.com", "issued", Some("renewal failed: rate limited")).await.unwrap();
    let c = s.certificate("shop.example.com").await.unwrap().unwrap();
    assert_eq!((c.status.as_str(), c.not_before, c.not_after, c.last_error.as_deref()), ("issued", Some(1_000), Some(4_000), Some("renewal failed: rate limited")));
    s.put_certificate("shop.example.com", "CHAIN-2", &[4; 12], &[5], 3_000, 9_000).await.unwrap();
    let served = s.issued_certificates().await.unwrap();
    assert_eq!(served, vec![("shop.example.com".to_string(), "CHAIN-2".to_string(), vec![4; 12], vec![5])]);
    assert_eq!(s.certificate("shop.example.com").await.unwrap().unwrap().last_error, None, "a renewal clears the error");
    assert_eq!(s.acme_account("https://ca.example/dir").await.unwrap(), None);
    s.put_acme_account("https://ca.example/dir", &[7; 12], &[8]).await.unwrap();
    assert_eq!(s.acme_account("https://ca.example/dir").await.unwrap(), Some((vec![7; 12], vec![8])));
    s.delete_certificate("shop.example.com").await.unwrap();
    assert!(s.certificates().await.unwrap().is_empty());
}

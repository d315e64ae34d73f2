//! Static sites are served from their own root only: no symlink out of it, no dotfiles.

use http::{Request, StatusCode};
use http_body_util::Full;

use super::{connect, get, send, start};
use domain::routing::Target;

/// A site at `<root>/builds/1/site` with a secret two levels above it (like `secret.key` above a
/// build directory) and a repository's worth of hostile links and dotfiles.
fn hostile_site() -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::symlink;
    let root = tempfile::tempdir().unwrap();
    let site = root.path().join("builds/1/site");
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::create_dir_all(site.join(".git")).unwrap();
    std::fs::write(root.path().join("secret.key"), "TOP-SECRET-KEY").unwrap();
    std::fs::write(site.join("index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(site.join("docs/index.html"), "docs home").unwrap();
    std::fs::write(site.join("docs/guide.html"), "the guide").unwrap();
    std::fs::write(site.join("style.css"), "body{}").unwrap();
    std::fs::write(site.join(".git/config"), "[remote] url=https://TOP-SECRET-KEY@example.com").unwrap();
    std::fs::write(site.join(".env"), "TOP-SECRET-KEY").unwrap();
    symlink("../../..", site.join("d")).unwrap();
    symlink(root.path(), site.join("abs")).unwrap();
    symlink(root.path().join("secret.key"), site.join("key.txt")).unwrap();
    symlink("../../../secret.key", site.join("leak.txt")).unwrap();
    symlink(".git", site.join("git-alias")).unwrap();
    symlink("docs/guide.html", site.join("guide-link.html")).unwrap();
    (root, site)
}

#[tokio::test]
async fn a_static_site_serves_nothing_outside_its_root_and_no_dotfiles() {
    let (_root, site) = hostile_site();
    let (_, proxy) = start(&[("site", Target::Static { root: site, spa: false })]).await;
    let refused = [
        "/d/secret.key",
        "/abs/secret.key",
        "/key.txt",
        "/leak.txt",
        "/.git/config",
        "/.env",
        "/git-alias/config",
        "/../secret.key",
        "/docs/../../../../secret.key",
        "/%2e%2e/%2e%2e/%2e%2e/secret.key",
        "/%2E%2e/secret.key",
        "/docs/%2e%2e/.env",
        "/%2egit/config",
        "/%2eenv",
        "/docs%2f..%2f.env",
        "/..%2f..%2f..%2fsecret.key",
        "/d%2fsecret.key",
    ];
    for path in refused {
        let (status, _, body) = get(proxy, "site.localhost", path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains("TOP-SECRET-KEY"), "{path} leaked the secret: {body}");
        assert!(body.contains("no such page"), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_static_site_serves_files_indexes_content_types_and_inner_links() {
    let (_root, site) = hostile_site();
    let (_, proxy) = start(&[("site", Target::Static { root: site, spa: false })]).await;
    let (status, headers, body) = get(proxy, "site.localhost", "/").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "<h1>home</h1>"));
    assert_eq!(headers["content-type"], "text/html");
    assert_eq!(get(proxy, "site.localhost", "/docs/").await.2, "docs home");
    assert_eq!(get(proxy, "site.localhost", "/docs/guide.html").await.2, "the guide");
    assert_eq!(get(proxy, "site.localhost", "/docs/my%67uide.html").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(proxy, "site.localhost", "/docs/%67uide.html").await.2, "the guide");
    assert_eq!(get(proxy, "site.localhost", "/guide-link.html").await.2, "the guide", "a link inside the site is served");
    let (status, headers, body) = get(proxy, "site.localhost", "/style.css").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "body{}"));
    assert_eq!(headers["content-type"], "text/css");
    let (status, headers, _) = get(proxy, "site.localhost", "/docs?x=1").await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(headers["location"], "/docs/?x=1");
    assert_eq!(get(proxy, "site.localhost", "/missing.html").await.0, StatusCode::NOT_FOUND);
    let post = Request::post("/index.html").header("host", "site.localhost").body(Full::default()).unwrap();
    let (status, headers, _) = send(&mut connect(proxy).await, post).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET, HEAD");
}

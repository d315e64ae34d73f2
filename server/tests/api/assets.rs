//! The dashboard's built assets: a hashed file is served with a year of caching and the precompressed
//! copy the client accepts; an unhashed one is revalidated; nothing outside the pkg directory leaks.

use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use reqwest::StatusCode;

use crate::helpers::{config, TestApp};

const HASHED: &str = "rhone.Ab3_xYz9-Qw12Er34Ty56u.wasm";

#[tokio::test]
async fn hashed_assets_are_immutable_and_precompressed_copies_are_served() {
    let site = tempfile::tempdir().expect("site dir");
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    std::fs::write(pkg.join(HASHED), b"\0asm plain").expect("wasm");
    std::fs::write(pkg.join(format!("{HASHED}.br")), b"brotli bytes").expect("br");
    std::fs::write(pkg.join(format!("{HASHED}.gz")), b"gzip bytes").expect("gz");
    std::fs::write(pkg.join("rhone.css"), b"body{}").expect("css");
    std::fs::write(site.path().join("secret.txt"), b"outside pkg").expect("outside");
    let settings = rhone::site::SiteSettings {
        output_name: "rhone".into(),
        site_root: site.path().to_string_lossy().into_owned(),
        site_pkg_dir: "pkg".into(),
        env: "PROD".into(),
        hash_files: false,
    };
    let data = tempfile::tempdir().expect("data dir");
    let running = rhone::start(config(data.path(), &[]), settings).await.expect("rhone starts");
    let app = TestApp::from_running(running, data).await;
    let get = |path: String, encoding: &'static str| {
        let req = app.client.get(format!("{}{path}", app.base)).header(ACCEPT_ENCODING, encoding);
        async move { req.send().await.expect("request") }
    };

    let br = get(format!("/pkg/{HASHED}"), "gzip, br").await;
    assert_eq!(br.status(), StatusCode::OK);
    let h = br.headers().clone();
    assert_eq!((h.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap()), h.get(CONTENT_TYPE).map(|v| v.to_str().unwrap())), (Some("br"), Some("application/wasm")));
    assert_eq!(h.get(CACHE_CONTROL).map(|v| v.to_str().unwrap()), Some("public, max-age=31536000, immutable"));
    assert!(h.get(VARY).is_some_and(|v| v.to_str().unwrap().contains("accept-encoding")), "{h:?}");
    assert_eq!(br.bytes().await.expect("body").as_ref(), b"brotli bytes");

    let gz = get(format!("/pkg/{HASHED}"), "gzip").await;
    assert_eq!(gz.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap()), Some("gzip"));
    let plain = get(format!("/pkg/{HASHED}"), "identity").await;
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(plain.bytes().await.expect("body").as_ref(), b"\0asm plain");

    let css = get("/pkg/rhone.css".into(), "gzip").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers().get(CACHE_CONTROL).map(|v| v.to_str().unwrap()), Some("no-cache"), "an unhashed name is revalidated");

    // (`/pkg/../` and `/pkg/%2e%2e/` are resolved by the client before they are sent)
    for path in [ "/pkg/..%2fsecret.txt", "/pkg/missing.Ab3_xYz9-Qw12Er34Ty56u.js"] {
        let res = get(path.into(), "identity").await;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert!(!body.contains("outside pkg"), "{path}: {status}");
        assert_ne!(status, StatusCode::OK, "{path}");
    }
    app.stop().await;
}

//! HTTPS for custom domains against a real ACME CA: Debian's `pebble` (its own DNS server is the
//! test's `pebble-challtestsrv`, so it resolves the domain to this machine and validates the http-01
//! challenge on Rhone's proxy port). A verified domain gets a certificate by itself; the HTTPS
//! listener serves it (chain checked against pebble's root, fetched from its management port, since
//! pebble makes a new root at each start), with ALPN h2; removing the domain stops serving it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use rustls::pki_types::pem::PemObject;
use serde_json::{json, Value};

use crate::domains::{free_port, FakeDns};
use crate::github_stub::openssl;
use crate::helpers::{files, python_app, spawn_app_with, Repo};

/// A running pebble, with the CA that signed its own HTTPS certificate.
struct Pebble {
    child: Child,
    directory: String,
    management: String,
    ca_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl Pebble {
    /// Pebble validating http-01 on `http_port` and resolving names at `dns`.
    async fn start(http_port: u16, tls_port: u16, dns: SocketAddr) -> Pebble {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ca_key, ca, key, csr, cert, ext) = (d.join("ca.key"), d.join("ca.pem"), d.join("key.pem"), d.join("req.csr"), d.join("cert.pem"), d.join("ext.cnf"));
        openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path(&ca_key), "-out", path(&ca), "-days", "2", "-subj", "/CN=pebble test CA"]);
        openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path(&key), "-out", path(&csr), "-subj", "/CN=localhost"]);
        std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
        openssl(&["x509", "-req", "-in", path(&csr), "-CA", path(&ca), "-CAkey", path(&ca_key), "-CAcreateserial", "-out", path(&cert), "-days", "2", "-extfile", path(&ext)]);
        let (acme_port, mgmt_port) = (free_port(), free_port());
        let config = json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
            "certificate": path(&cert), "privateKey": path(&key),
            "httpPort": http_port, "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": false,
        }});
        let config_file = d.join("pebble.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let child = Command::new("pebble")
            .args(["-config", path(&config_file), "-dnsserver", &dns.to_string()])
            // no random sleeps before validations, no random bad nonces
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble runs (make setup installs Debian's pebble)");
        let pebble = Pebble { child, directory: format!("https://127.0.0.1:{acme_port}/dir"), management: format!("https://127.0.0.1:{mgmt_port}"), ca_file: ca, _dir: dir };
        let client = pebble.client();
        for _ in 0..100 {
            if client.get(&pebble.directory).send().await.is_ok_and(|r| r.status().is_success()) {
                return pebble;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("pebble did not start");
    }

    fn client(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(&self.ca_file).unwrap()).unwrap();
        reqwest::Client::builder().add_root_certificate(ca).build().unwrap()
    }

    /// The root pebble issues under (new at each start).
    async fn root(&self) -> Vec<u8> {
        self.client().get(format!("{}/roots/0", self.management)).send().await.unwrap().bytes().await.unwrap().to_vec()
    }
}

#[tokio::test]
async fn a_verified_domain_gets_a_certificate_by_itself_and_is_served_over_https() {
    let dns = FakeDns::start().await;
    let (proxy_port, https_port) = (free_port(), free_port());
    let pebble = Pebble::start(proxy_port, https_port, dns.dns).await;
    let proxy_addr = format!("127.0.0.1:{proxy_port}");
    let https_addr = format!("127.0.0.1:{https_port}");
    let app = spawn_app_with(&[
        ("RHONE_DNS_RESOLVERS", &dns.dns.to_string()),
        ("RHONE_PUBLIC_IPS", "127.0.0.1"),
        ("RHONE_PROXY_ADDR", &proxy_addr),
        ("RHONE_HTTPS_ADDR", &https_addr),
        ("RHONE_ACME_DIRECTORY", &pebble.directory),
        ("RHONE_ACME_EMAIL", "ops@example.com"),
        ("RHONE_ACME_CA_FILE", pebble.ca_file.to_str().unwrap()),
    ])
    .await;
    let repo = Repo::new(&files(&python_app("secure v1")));
    app.create_app("secure", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("secure").await["status"], "live");

    // verified by its A record (this machine): the certificate comes by itself
    let domain = "secure.example.com";
    dns.set_a(domain, &["127.0.0.1"]).await;
    let (status, added) = app.json(Method::POST, "/apps/secure/domains", json!({"domain": domain})).await;
    assert_eq!((status, added["certificate"].as_str()), (StatusCode::CREATED, Some("none")), "{added}");
    let (status, v) = app.json(Method::POST, &format!("/apps/secure/domains/{domain}/verify"), json!({})).await;
    assert_eq!((status, v["verified"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let mut shown = Value::Null;
    for _ in 0..300 {
        shown = app.get(&format!("/apps/secure/domains/{domain}")).await.1;
        if shown["certificate"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(shown["certificate"], "issued", "{shown}");
    let expires = shown["expires_at"].as_i64().expect("expires_at");
    assert!(expires > chrono::Utc::now().timestamp_millis() + 24 * 3600 * 1000, "{shown}");

    // served over HTTPS with a chain to pebble's root, the app behind it
    let root = reqwest::Certificate::from_pem(&pebble.root().await).unwrap();
    let https = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .resolve(domain, https_addr.parse().unwrap())
        .build()
        .unwrap();
    let res = https.get(format!("https://{domain}:{https_port}/")).send().await.expect("https request");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "secure v1");
    // plain HTTP redirects to HTTPS now that there is a certificate (the app's default)
    let plain = &app.client;
    let res = plain.get(format!("http://127.0.0.1:{proxy_port}/cart?x=1")).header("Host", format!("{domain}:{proxy_port}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], format!("https://{domain}:{https_port}/cart?x=1").as_str());
    assert!(res.headers().get("strict-transport-security").is_none());
    let res = plain.get(format!("http://127.0.0.1:{proxy_port}/")).header("Host", format!("secure.localhost:{proxy_port}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{{slug}}.{{base_domain}} has no certificate: served over HTTP");
    // HSTS on, redirect off
    let (status, h) = app.json(Method::PATCH, "/apps/secure/https", json!({"hsts": true})).await;
    assert_eq!((status, h["redirect"].as_bool(), h["hsts"].as_bool()), (StatusCode::OK, Some(true), Some(true)), "{h}");
    let res = https.get(format!("https://{domain}:{https_port}/")).send().await.unwrap();
    assert_eq!(res.headers().get("strict-transport-security").map(|v| v.to_str().unwrap()), Some("max-age=31536000"));
    app.json(Method::PATCH, "/apps/secure/https", json!({"redirect": false, "hsts": false})).await;
    let res = plain.get(format!("http://127.0.0.1:{proxy_port}/")).header("Host", domain).send().await.unwrap();
    assert_eq!((res.status(), res.text().await.unwrap().as_str()), (StatusCode::OK, "secure v1"), "redirect off: served over HTTP");
    let res = https.get(format!("https://{domain}:{https_port}/")).send().await.unwrap();
    assert!(res.headers().get("strict-transport-security").is_none(), "HSTS off");

    // a client that offers h2 gets it
    let pem = pebble.root().await;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(&https_addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(domain.try_into().unwrap(), tcp).await.expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
    // a host without a certificate: not trusted (a self-signed stand-in), and it says why
    let other = reqwest::Client::builder().resolve("nocert.example.com", https_addr.parse().unwrap()).build().unwrap();
    assert!(other.get(format!("https://nocert.example.com:{https_port}/")).send().await.is_err(), "the stand-in certificate is not trusted");
    let insecure = reqwest::Client::builder().danger_accept_invalid_certs(true).resolve("nocert.example.com", https_addr.parse().unwrap()).build().unwrap();
    let res = insecure.get(format!("https://nocert.example.com:{https_port}/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(res.text().await.unwrap().contains("no certificate for <code>nocert.example.com</code> yet"));

    // removed: no longer served, and its certificate is gone
    let res = app.api(Method::DELETE, &format!("/apps/secure/domains/{domain}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = https.get(format!("https://{domain}:{https_port}/")).send().await.expect("the open connection answers");
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no longer routed");
    let fresh = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pebble.root().await).unwrap())
        .resolve(domain, https_addr.parse().unwrap())
        .build()
        .unwrap();
    assert!(fresh.get(format!("https://{domain}:{https_port}/")).send().await.is_err(), "a new connection gets no certificate for it");
    app.stop().await;
}

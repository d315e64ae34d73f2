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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::domains::{free_port, FakeDns};
use crate::github_stub::openssl;
use crate::helpers::{files, python_app, spawn_app_with, Repo, TestApp};

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
        self.kill();
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl Pebble {
    /// Pebble validating http-01 on `http_port` and resolving names at `dns`.
    /// `extra`: more settings for pebble's config (e.g. `certificateValidityPeriod`).
    async fn start(http_port: u16, tls_port: u16, dns: SocketAddr, extra: &[(&str, Value)]) -> Pebble {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ca_key, ca, key, csr, cert, ext) = (d.join("ca.key"), d.join("ca.pem"), d.join("key.pem"), d.join("req.csr"), d.join("cert.pem"), d.join("ext.cnf"));
        openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path(&ca_key), "-out", path(&ca), "-days", "2", "-subj", "/CN=pebble test CA"]);
        openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path(&key), "-out", path(&csr), "-subj", "/CN=localhost"]);
        std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
        openssl(&["x509", "-req", "-in", path(&csr), "-CA", path(&ca), "-CAkey", path(&ca_key), "-CAcreateserial", "-out", path(&cert), "-days", "2", "-extfile", path(&ext)]);
        let (acme_port, mgmt_port) = (free_port(), free_port());
        let mut config = json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
            "certificate": path(&cert), "privateKey": path(&key),
            "httpPort": http_port, "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": false,
        }});
        for (k, v) in extra {
            config["pebble"][*k] = v.clone();
        }
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

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Rhone with ACME against a fresh pebble, an app `slug` deployed, and the DNS server both use.
struct Setup {
    dns: FakeDns,
    pebble: Pebble,
    app: TestApp,
    proxy_port: u16,
    https_port: u16,
    https_addr: String,
}

impl Setup {
    /// `pebble_http_port`: where pebble looks for http-01 answers (`None`: Rhone's proxy).
    async fn start(slug: &str, body: &str, env: &[(&str, &str)], pebble_http_port: Option<u16>) -> Setup {
        Self::start_with(slug, body, env, pebble_http_port, &[]).await
    }

    async fn start_with(slug: &str, body: &str, env: &[(&str, &str)], pebble_http_port: Option<u16>, pebble_config: &[(&str, Value)]) -> Setup {
        let dns = FakeDns::start().await;
        let (proxy_port, https_port) = (free_port(), free_port());
        let pebble = Pebble::start(pebble_http_port.unwrap_or(proxy_port), https_port, dns.dns, pebble_config).await;
        Self::with(dns, pebble, proxy_port, https_port, slug, body, env).await
    }

    async fn with(dns: FakeDns, pebble: Pebble, proxy_port: u16, https_port: u16, slug: &str, body: &str, env: &[(&str, &str)]) -> Setup {
        Self::with_files(dns, pebble, proxy_port, https_port, slug, &python_app(body), env).await
    }

    async fn with_files(dns: FakeDns, pebble: Pebble, proxy_port: u16, https_port: u16, slug: &str, app_files: &[(&'static str, String)], env: &[(&str, &str)]) -> Setup {
        let mut vars = vec![("RHONE_PUBLIC_IPS", "127.0.0.1")];
        vars.extend_from_slice(env);
        let app = acme_rhone(&pebble, dns.dns, proxy_port, https_port, &vars).await;
        let https_addr = format!("127.0.0.1:{https_port}");
        let repo = Repo::new(&files(app_files));
        app.create_app(slug, &repo.path(), json!({})).await;
        assert_eq!(app.deploy_and_wait(slug).await["status"], "live");
        Setup { dns, pebble, app, proxy_port, https_port, https_addr }
    }

    /// Adds `domain` (pointed at this machine) to app `slug`, verifies it, and waits until its
    /// certificate is no longer pending.
    async fn add_domain(&self, slug: &str, domain: &str) -> Value {
        self.dns.set_a(domain, &["127.0.0.1"]).await;
        let (status, added) = self.app.json(Method::POST, &format!("/apps/{slug}/domains"), json!({"domain": domain})).await;
        assert_eq!((status, added["certificate"].as_str()), (StatusCode::CREATED, Some("none")), "{added}");
        let (status, v) = self.app.json(Method::POST, &format!("/apps/{slug}/domains/{domain}/verify"), json!({})).await;
        assert_eq!((status, v["verified"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
        wait_certificate(&self.app, slug, domain, |shown| shown["certificate"] != "pending").await
    }

    /// A client trusting only pebble's root, reaching `domain` at Rhone's HTTPS listener.
    async fn https_client(&self, domain: &str) -> reqwest::Client {
        let root = reqwest::Certificate::from_pem(&self.pebble.root().await).unwrap();
        reqwest::Client::builder().tls_built_in_root_certs(false).add_root_certificate(root).resolve(domain, self.https_addr.parse().unwrap()).build().unwrap()
    }
}

/// Polls `domain`'s state until `done` (at most a minute).
async fn wait_certificate(app: &TestApp, slug: &str, domain: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut shown = Value::Null;
    for _ in 0..300 {
        shown = app.get(&format!("/apps/{slug}/domains/{domain}")).await.1;
        if done(&shown) {
            return shown;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("{domain} never reached the state wanted: {shown}");
}

/// The leaf certificate the HTTPS listener presents for `domain` (DER), over a new connection
/// verified against `root`.
async fn served_leaf(https_addr: &str, domain: &str, root: &[u8]) -> Vec<u8> {
    let tcp = tokio::net::TcpStream::connect(https_addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(root, &[b"http/1.1"])));
    let tls = connector.connect(domain.to_string().try_into().unwrap(), tcp).await.expect("a trusted handshake");
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// A TLS client config trusting `pem`'s certificates and offering `alpn`.
fn client_config(pem: &[u8], alpn: &[&[u8]]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

#[tokio::test]
async fn a_verified_domain_gets_a_certificate_by_itself_and_is_served_over_https() {
    let s = Setup::start("secure", "secure v1", &[], None).await;
    let (app, proxy_port, https_port, https_addr) = (&s.app, s.proxy_port, s.https_port, s.https_addr.clone());

    // verified by its A record (this machine): the certificate comes by itself
    let domain = "secure.example.com";
    let shown = s.add_domain("secure", domain).await;
    assert_eq!(shown["certificate"], "issued", "{shown}");
    let expires = shown["expires_at"].as_i64().expect("expires_at");
    assert!(expires > chrono::Utc::now().timestamp_millis() + 24 * 3600 * 1000, "{shown}");

    // served over HTTPS with a chain to pebble's root, the app behind it
    let https = s.https_client(domain).await;
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
    let config = client_config(&s.pebble.root().await, &[b"h2", b"http/1.1"]);
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
    let fresh = s.https_client(domain).await;
    assert!(fresh.get(format!("https://{domain}:{https_port}/")).send().await.is_err(), "a new connection gets no certificate for it");
    s.app.stop().await;
}

#[tokio::test]
async fn tls_alpn_01_is_answered_by_the_https_listener_alone() {
    // pebble looks for http-01 answers on a port where nothing listens: only tls-alpn-01 can pass
    let s = Setup::start("alpn", "alpn v1", &[("RHONE_ACME_CHALLENGE", "tls-alpn-01")], Some(free_port())).await;
    let domain = "alpn.example.com";
    let shown = s.add_domain("alpn", domain).await;
    assert_eq!(shown["certificate"], "issued", "{shown}");
    let res = s.https_client(domain).await.get(format!("https://{domain}:{}/", s.https_port)).send().await.expect("https request");
    assert_eq!((res.status(), res.text().await.unwrap().as_str()), (StatusCode::OK, "alpn v1"));

    // a client posing as a validator when no validation is under way gets no certificate at all
    // (neither the issued one nor the stand-in)
    let root = s.pebble.root().await;
    let validator = tokio_rustls::TlsConnector::from(Arc::new(client_config(&root, &[domain::tls::ACME_TLS_ALPN])));
    let mut insecure = client_config(&root, &[domain::tls::ACME_TLS_ALPN]);
    insecure.dangerous().set_certificate_verifier(Arc::new(AnyCertificate(rustls::crypto::ring::default_provider())));
    for connector in [validator, tokio_rustls::TlsConnector::from(Arc::new(insecure))] {
        let tcp = tokio::net::TcpStream::connect(&s.https_addr).await.unwrap();
        assert!(connector.connect(domain.try_into().unwrap(), tcp).await.is_err(), "no acme-tls/1 handshake without a pending challenge");
    }
    s.app.stop().await;
}

#[tokio::test]
async fn a_certificate_is_renewed_by_itself_and_a_failing_renewal_is_said_loudly() {
    // pebble issues certificates valid for 15 s: due for renewal at two thirds, 10 s in
    let validity = 15;
    let s = Setup::start_with("renew", "renew v1", &[("RHONE_DOMAIN_CHECK_INTERVAL_SECS", "1")], None, &[("certificateValidityPeriod", json!(validity))]).await;
    let domain = "renew.example.com";
    let first = s.add_domain("renew", domain).await;
    assert_eq!(first["certificate"], "issued", "{first}");
    assert!(first["certificate_warning"].is_null(), "{first}");
    let first_expiry = first["expires_at"].as_i64().unwrap();
    let root = s.pebble.root().await;
    let first_leaf = served_leaf(&s.https_addr, domain, &root).await;

    // renewed without anyone asking, and the new certificate is what is served
    let renewed = wait_certificate(&s.app, "renew", domain, |d| d["expires_at"].as_i64().is_some_and(|e| e > first_expiry)).await;
    assert_eq!(renewed["certificate"], "issued", "{renewed}");
    assert!(renewed["certificate_error"].is_null() && renewed["certificate_warning"].is_null(), "{renewed}");
    let second_leaf = served_leaf(&s.https_addr, domain, &root).await;
    assert_ne!(first_leaf, second_leaf, "the renewed certificate is served to new connections");
    let res = s.https_client(domain).await.get(format!("https://{domain}:{}/", s.https_port)).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "renew v1");

    // the CA goes away: the next renewal fails, the certificate is still served (and said so),
    // and the domain carries a warning naming the expiry and the error
    let mut s = s;
    s.pebble.kill();
    let failing = wait_certificate(&s.app, "renew", domain, |d| !d["certificate_warning"].is_null()).await;
    assert_eq!(failing["certificate"], "issued", "still valid, still served: {failing}");
    let warning = failing["certificate_warning"].as_str().unwrap();
    assert!(warning.contains("could not be renewed") && warning.contains("could not be reached"), "{warning}");
    assert!(failing["certificate_error"].as_str().is_some_and(|e| e.contains("could not be reached")), "{failing}");
    assert_eq!(served_leaf(&s.https_addr, domain, &root).await, second_leaf);

    // expired: failed, and the warning says browsers refuse it
    let expired = wait_certificate(&s.app, "renew", domain, |d| d["certificate"] == "failed").await;
    assert!(expired["certificate_warning"].as_str().is_some_and(|w| w.contains("expired on")), "{expired}");
    s.app.stop().await;
}

/// Accepts any server certificate (to see what a host presents, trusted or not).
#[derive(Debug)]
struct AnyCertificate(rustls::crypto::CryptoProvider);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, m: &[u8], c: &rustls::pki_types::CertificateDer<'_>, d: &rustls::DigitallySignedStruct) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, m: &[u8], c: &rustls::pki_types::CertificateDer<'_>, d: &rustls::DigitallySignedStruct) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Rhone with ACME against `pebble`, its proxy and HTTPS listener on these ports, asking
/// `resolver` for DNS, with `extra` settings.
async fn acme_rhone(pebble: &Pebble, resolver: SocketAddr, proxy_port: u16, https_port: u16, extra: &[(&str, &str)]) -> TestApp {
    let (proxy_addr, https_addr, resolver) = (format!("127.0.0.1:{proxy_port}"), format!("127.0.0.1:{https_port}"), resolver.to_string());
    let mut vars = vec![
        ("RHONE_DNS_RESOLVERS", resolver.as_str()),
        ("RHONE_PROXY_ADDR", &proxy_addr),
        ("RHONE_HTTPS_ADDR", &https_addr),
        ("RHONE_ACME_DIRECTORY", &pebble.directory),
        ("RHONE_ACME_EMAIL", "ops@example.com"),
        ("RHONE_ACME_CA_FILE", pebble.ca_file.to_str().unwrap()),
    ];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// Rhone on base domain `base` with ACME against `pebble` and DNS-01 through `provider_env`.
async fn wildcard_rhone(pebble: &Pebble, resolver: SocketAddr, base: &str, provider_env: &[(&str, &str)]) -> (TestApp, String, u16) {
    let (proxy_port, https_port) = (free_port(), free_port());
    let mut vars = vec![("RHONE_BASE_DOMAIN", base)];
    vars.extend_from_slice(provider_env);
    let app = acme_rhone(pebble, resolver, proxy_port, https_port, &vars).await;
    (app, format!("127.0.0.1:{https_port}"), https_port)
}

/// Deploys app `slug`, then waits until its `{slug}.{base_domain}` certificate is issued.
async fn deploy_and_await_host_certificate(app: &TestApp, slug: &str) -> Value {
    let repo = Repo::new(&files(&python_app(&format!("{slug} v1"))));
    app.create_app(slug, &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait(slug).await["status"], "live");
    let mut shown = Value::Null;
    for _ in 0..300 {
        shown = app.get(&format!("/apps/{slug}/https")).await.1;
        if shown["certificate"] != "pending" && shown["certificate"] != "none" {
            return shown;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("{slug}'s certificate never came: {shown}");
}

#[tokio::test]
async fn the_base_domain_gets_a_wildcard_certificate_by_dns_01_through_rfc_2136() {
    let base = "apps.example.test";
    let named = crate::dns01::bind::Named::start_zone(&format!("{base}."), "* IN A 127.0.0.1");
    // pebble asks bind9: the only proof of *.apps.example.test is the TXT record Rhone writes there
    let pebble = Pebble::start(free_port(), free_port(), named.addr(), &[]).await;
    let (server, secret) = (named.addr().to_string(), named.secret_base64());
    let (app, https_addr, https_port) = wildcard_rhone(
        &pebble,
        named.addr(),
        base,
        &[("RHONE_DNS_PROVIDER", "rfc2136"), ("RHONE_DNS_RFC2136_SERVER", &server), ("RHONE_DNS_RFC2136_KEY_NAME", "rhone-key"), ("RHONE_DNS_RFC2136_KEY_SECRET", &secret)],
    )
    .await;
    let shown = deploy_and_await_host_certificate(&app, "wild").await;
    assert_eq!((shown["certificate"].as_str(), shown["covered_by"].as_str(), shown["host"].as_str()), (Some("issued"), Some("*.apps.example.test"), Some("wild.apps.example.test")), "{shown}");
    let root = reqwest::Certificate::from_pem(&pebble.root().await).unwrap();
    let client = |host: &str| reqwest::Client::builder().tls_built_in_root_certs(false).add_root_certificate(root.clone()).resolve(host, https_addr.parse().unwrap()).build().unwrap();
    let res = client("wild.apps.example.test").get(format!("https://wild.apps.example.test:{https_port}/")).send().await.expect("https");
    assert_eq!(res.text().await.unwrap(), "wild v1");

    // a second app is covered by the same certificate at once
    let repo = Repo::new(&files(&python_app("tame v1")));
    app.create_app("tame", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("tame").await["status"], "live");
    let (_, h) = app.get("/apps/tame/https").await;
    assert_eq!((h["certificate"].as_str(), h["covered_by"].as_str()), (Some("issued"), Some("*.apps.example.test")), "{h}");
    let res = client("tame.apps.example.test").get(format!("https://tame.apps.example.test:{https_port}/")).send().await.expect("https");
    assert_eq!(res.text().await.unwrap(), "tame v1");
    // plain HTTP to {slug}.{base_domain} now redirects to HTTPS (the app's default)
    let res = app.client.get(format!("http://127.0.0.1:{}/x?y=1", app.proxy_port)).header("Host", "tame.apps.example.test").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], format!("https://tame.apps.example.test:{https_port}/x?y=1").as_str());
    // the challenge record is taken back out of the zone
    let challenge = format!("_acme-challenge.{base}");
    for _ in 0..50 {
        if named.txt(&challenge).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(named.txt(&challenge).is_empty(), "{:?}", named.txt(&challenge));
    app.stop().await;
}

#[tokio::test]
async fn the_wildcard_certificate_also_comes_through_the_cloudflare_api() {
    let base = "apps.example.test";
    let dns = FakeDns::start().await;
    let pebble = Pebble::start(free_port(), free_port(), dns.dns, &[]).await;
    // the stand-in mirrors its records into challtestsrv, the DNS server pebble and Rhone ask
    let (api, state) = crate::dns01::cloudflare::start_mirroring(Some(dns.management.clone())).await;
    let (app, https_addr, https_port) = wildcard_rhone(
        &pebble,
        dns.dns,
        base,
        &[("RHONE_DNS_PROVIDER", "cloudflare"), ("RHONE_CLOUDFLARE_API_TOKEN", crate::dns01::cloudflare::TOKEN), ("RHONE_CLOUDFLARE_API_URL", &api)],
    )
    .await;
    let shown = deploy_and_await_host_certificate(&app, "cloudy").await;
    assert_eq!((shown["certificate"].as_str(), shown["covered_by"].as_str()), (Some("issued"), Some("*.apps.example.test")), "{shown}");
    let root = reqwest::Certificate::from_pem(&pebble.root().await).unwrap();
    let https = reqwest::Client::builder().tls_built_in_root_certs(false).add_root_certificate(root).resolve("cloudy.apps.example.test", https_addr.parse().unwrap()).build().unwrap();
    let res = https.get(format!("https://cloudy.apps.example.test:{https_port}/")).send().await.expect("https");
    assert_eq!(res.text().await.unwrap(), "cloudy v1");
    // the record was created through the API and deleted afterwards
    for _ in 0..50 {
        if crate::dns01::cloudflare::contents(&state).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(crate::dns01::cloudflare::contents(&state).is_empty());
    let log = crate::dns01::cloudflare::requests(&state);
    assert!(log.iter().any(|l| l.starts_with("POST /client/v4/zones/")), "{log:?}");
    assert!(log.iter().any(|l| l.starts_with("DELETE /client/v4/zones/")), "{log:?}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_dns_provider_each_app_gets_its_own_certificate_by_http_01_and_the_dashboard_too() {
    let base = "apps.example.test";
    let dns = FakeDns::start().await;
    let (proxy_port, https_port) = (free_port(), free_port());
    let pebble = Pebble::start(proxy_port, https_port, dns.dns, &[]).await;
    for host in ["solo.apps.example.test", "rhone.example.test"] {
        dns.set_a(host, &["127.0.0.1"]).await;
    }
    let https_addr = format!("127.0.0.1:{https_port}");
    // (a real install's HTTPS listener is on 443, and its public_url has no port)
    let public_url = format!("https://rhone.example.test:{https_port}");
    let app = acme_rhone(&pebble, dns.dns, proxy_port, https_port, &[("RHONE_BASE_DOMAIN", base), ("RHONE_PUBLIC_URL", &public_url)]).await;
    let shown = deploy_and_await_host_certificate(&app, "solo").await;
    assert_eq!((shown["certificate"].as_str(), shown["covered_by"].as_str()), (Some("issued"), Some("solo.apps.example.test")), "{shown}");
    let root = reqwest::Certificate::from_pem(&pebble.root().await).unwrap();
    let client = |host: &str| reqwest::Client::builder().tls_built_in_root_certs(false).add_root_certificate(root.clone()).resolve(host, https_addr.parse().unwrap()).build().unwrap();
    let res = client("solo.apps.example.test").get(format!("https://solo.apps.example.test:{https_port}/")).send().await.expect("https");
    assert_eq!(res.text().await.unwrap(), "solo v1");
    // another app's host is not covered by solo's certificate
    assert!(client("other.apps.example.test").get(format!("https://other.apps.example.test:{https_port}/")).send().await.is_err());

    // the dashboard's public host gets one too, and the proxy serves the dashboard there
    let dashboard = client("rhone.example.test");
    let mut status = None;
    for _ in 0..300 {
        if let Ok(res) = dashboard.get(format!("https://rhone.example.test:{https_port}/healthz")).send().await {
            status = Some(res.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, Some(StatusCode::OK), "the dashboard over HTTPS at its public host");

    // deleting the app deletes its certificate
    let res = app.api(Method::DELETE, "/apps/solo").send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert!(client("solo.apps.example.test").get(format!("https://solo.apps.example.test:{https_port}/")).send().await.is_err(), "no longer served");
    app.stop().await;
}

/// A Python app answering `GET /proto` with the `X-Forwarded-Proto` it was sent, and any
/// `Upgrade` request with 101 and then its bytes echoed back raw.
fn proto_and_echo_app() -> Vec<(&'static str, String)> {
    let app = r#"import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "websocket")
            self.end_headers()
            self.wfile.flush()
            while True:
                b = self.connection.recv(4096)
                if not b:
                    break
                self.connection.sendall(b)
            self.close_connection = True
            return
        body = self.headers.get("X-Forwarded-Proto", "none").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;
    vec![("requirements.txt", String::new()), ("app.py", app.to_string())]
}

#[tokio::test]
async fn websockets_pass_through_the_tls_listener_and_apps_are_told_https() {
    let dns = FakeDns::start().await;
    let (proxy_port, https_port) = (free_port(), free_port());
    let pebble = Pebble::start(proxy_port, https_port, dns.dns, &[]).await;
    let s = Setup::with_files(dns, pebble, proxy_port, https_port, "sockets", &proto_and_echo_app(), &[]).await;
    let domain = "sockets.example.com";
    assert_eq!(s.add_domain("sockets", domain).await["certificate"], "issued");

    // the app learns the request came over HTTPS, whatever the client claims
    let https = s.https_client(domain).await;
    let res = https.get(format!("https://{domain}:{}/proto", s.https_port)).header("X-Forwarded-Proto", "http").send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "https");
    let res = s.app.client.get(format!("http://127.0.0.1:{}/proto", s.proxy_port)).header("Host", "sockets.localhost").send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "http");

    // a WebSocket over TLS: upgraded, then bytes both ways
    let root = s.pebble.root().await;
    let tcp = tokio::net::TcpStream::connect(&s.https_addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(&root, &[b"http/1.1"])));
    let mut ws = connector.connect(domain.try_into().unwrap(), tcp).await.expect("handshake");
    let handshake = format!("GET /ws HTTP/1.1\r\nHost: {domain}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    ws.write_all(handshake.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(ws.read(&mut byte).await.unwrap(), 1, "cut: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    for msg in [b"ping over tls".as_slice(), b"and again".as_slice()] {
        ws.write_all(msg).await.unwrap();
        let mut back = vec![0u8; msg.len()];
        ws.read_exact(&mut back).await.unwrap();
        assert_eq!(back, msg);
    }
    s.app.stop().await;
}

//! RFC 2136 against a real bind9 `named` started for each test (`make setup` installs Debian's
//! `bind9` and `bind9-dnsutils` for `named` and `dig`); also the DNS server of the wildcard
//! certificate test (`tls.rs`), which is why the zone is a parameter.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use domain::dns01::{DnsError, DnsProvider, Rfc2136, TsigAlgorithm};

const ZONE: &str = "example.test.";
const NAME: &str = "_acme-challenge.example.test";

pub struct Named {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    zone: String,
    secret256: Vec<u8>,
    secret512: Vec<u8>,
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut buf)
        .unwrap();
    buf
}

/// A port free for TCP and UDP, never handed out twice in this process: named binds with
/// SO_REUSEPORT, so two test servers on one port would silently share the traffic.
fn free_port() -> u16 {
    static USED: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut used = USED.lock().unwrap();
        if !used.contains(&port) && UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            used.push(port);
            return port;
        }
    }
}

impl Named {
    fn start() -> Named {
        Self::start_zone(ZONE, "")
    }

    /// `named` serving `zone` (e.g. "apps.example.test.") with `extra` records in its zone file.
    pub fn start_zone(zone: &str, extra: &str) -> Named {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dns01-named-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let (secret256, secret512) = (random_bytes(32), random_bytes(64));
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let d = dir.display();
        // Lets the readiness check make sure it reached this very server.
        let instance: String = random_bytes(8).iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(
            dir.join("zone.db"),
            format!(
                "$TTL 300\n\
             $ORIGIN {zone}\n\
             @ IN SOA ns hostmaster 1 3600 600 86400 60\n\
             @ IN NS ns\n\
             ns IN A 127.0.0.1\n\
             instance IN TXT {instance}\n\
             {extra}\n"
            ),
        )
        .unwrap();
        let conf = format!(
            r#"options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
}};
controls {{ }};
key "rhone-key" {{ algorithm hmac-sha256; secret "{s256}"; }};
key "not-allowed-key" {{ algorithm hmac-sha256; secret "{s256}"; }};
key "rhone-key-512" {{ algorithm hmac-sha512; secret "{s512}"; }};
zone "{zone}" {{
    type primary;
    file "{d}/zone.db";
    allow-update {{ key "rhone-key"; key "rhone-key-512"; }};
}};
"#,
            s256 = b64(&secret256),
            s512 = b64(&secret512),
        );
        let conf_path = dir.join("named.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = std::fs::File::create(dir.join("named.log")).unwrap();
        let child = Command::new("named")
            .arg("-g")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("`named` not found: apt-get install -y bind9 bind9-dnsutils");
        let mut named = Named {
            child,
            dir,
            port,
            zone: zone.to_string(),
            secret256,
            secret512,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = named.child.try_wait().unwrap() {
                panic!("named exited ({status}):\n{}", named.log());
            }
            if named.txt(&format!("instance.{zone}")) == [instance.as_str()] {
                return named;
            }
            assert!(
                Instant::now() < deadline,
                "named did not come up:\n{}",
                named.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("named.log")).unwrap_or_default()
    }

    fn dig(&self, args: &[&str]) -> String {
        let out = Command::new("dig")
            .args([
                "@127.0.0.1",
                "-p",
                &self.port.to_string(),
                "+tcp",
                "+time=2",
                "+tries=1",
            ])
            .args(args)
            .output()
            .expect("`dig` not found: apt-get install -y bind9-dnsutils");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The TXT values at `name`, sorted, as seen by a plain query to this server.
    pub fn txt(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .dig(&["+short", "TXT", name])
            .lines()
            .map(|l| l.trim().trim_matches('"').to_string())
            .collect();
        v.sort();
        v
    }

    /// The secret of `rhone-key` (hmac-sha256), as BIND's key statement writes it.
    pub fn secret_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.secret256)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn provider(&self, algorithm: TsigAlgorithm) -> DnsProvider {
        let (key_name, secret) = match algorithm {
            TsigAlgorithm::HmacSha256 => ("rhone-key", self.secret256.clone()),
            TsigAlgorithm::HmacSha512 => ("rhone-key-512", self.secret512.clone()),
        };
        DnsProvider::Rfc2136(Rfc2136 {
            server: SocketAddr::from(([127, 0, 0, 1], self.port)),
            zone: self.zone.clone(),
            key_name: key_name.into(),
            algorithm,
            secret,
        })
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("named log ({}):\n{}", self.dir.display(), self.log());
        }
    }
}

#[tokio::test]
async fn set_two_values_then_remove_one() {
    let named = Named::start();
    let dns = named.provider(TsigAlgorithm::HmacSha256);
    assert!(named.txt(NAME).is_empty());

    dns.set_txt(NAME, "first-value").await.unwrap();
    assert_eq!(named.txt(NAME), ["first-value"]);
    let ttl = named.dig(&["+noall", "+answer", "TXT", NAME]);
    assert_eq!(
        ttl.split_whitespace().nth(1),
        Some("60"),
        "TTL should be 60: {ttl}"
    );

    dns.set_txt(&format!("{NAME}."), "second-value")
        .await
        .unwrap();
    assert_eq!(named.txt(NAME), ["first-value", "second-value"]);

    dns.remove_txt(NAME, "first-value").await.unwrap();
    assert_eq!(named.txt(NAME), ["second-value"]);

    // Removing what is not there is fine.
    dns.remove_txt(NAME, "first-value").await.unwrap();
    dns.remove_txt("_acme-challenge.nothing.example.test", "x")
        .await
        .unwrap();
    assert_eq!(named.txt(NAME), ["second-value"]);

    dns.remove_txt(NAME, "second-value").await.unwrap();
    assert!(named.txt(NAME).is_empty());
}

#[tokio::test]
async fn hmac_sha512_key_works() {
    let named = Named::start();
    let dns = named.provider(TsigAlgorithm::HmacSha512);
    dns.set_txt(NAME, "sha512-value").await.unwrap();
    assert_eq!(named.txt(NAME), ["sha512-value"]);
    dns.remove_txt(NAME, "sha512-value").await.unwrap();
    assert!(named.txt(NAME).is_empty());
}

#[tokio::test]
async fn wrong_secret_is_refused_and_changes_nothing() {
    let named = Named::start();
    let good = named.provider(TsigAlgorithm::HmacSha256);
    good.set_txt(NAME, "keep-me").await.unwrap();

    let wrong_secret = random_bytes(32);
    let DnsProvider::Rfc2136(mut cfg) = good.clone() else {
        unreachable!()
    };
    cfg.secret = wrong_secret.clone();
    let bad = DnsProvider::Rfc2136(cfg);

    for result in [
        bad.set_txt(NAME, "intruder").await,
        bad.remove_txt(NAME, "keep-me").await,
    ] {
        let err = result.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DnsError::Refused { .. }), "{err:?}");
        assert!(
            msg.starts_with("the DNS server refused the update: NOTAUTH (TSIG key not accepted"),
            "{msg}"
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(&wrong_secret);
        assert!(!msg.contains(&b64) && !format!("{err:?}").contains(&b64));
    }
    assert_eq!(named.txt(NAME), ["keep-me"]);

    // A valid key that allow-update does not list.
    let DnsProvider::Rfc2136(mut cfg) = good.clone() else {
        unreachable!()
    };
    cfg.key_name = "not-allowed-key".into();
    let err = DnsProvider::Rfc2136(cfg)
        .set_txt(NAME, "intruder")
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "the DNS server refused the update: REFUSED (the server does not allow this key"
        ),
        "{err}"
    );
    assert_eq!(named.txt(NAME), ["keep-me"]);

    // An unknown key name is refused too.
    let DnsProvider::Rfc2136(mut cfg) = good.clone() else {
        unreachable!()
    };
    cfg.key_name = "no-such-key".into();
    let err = DnsProvider::Rfc2136(cfg)
        .set_txt(NAME, "intruder")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("NOTAUTH (TSIG key not accepted"),
        "{err}"
    );
    assert_eq!(named.txt(NAME), ["keep-me"]);
}

#[tokio::test]
async fn names_outside_the_zone_and_unserved_zones_are_clear_errors() {
    let named = Named::start();
    let dns = named.provider(TsigAlgorithm::HmacSha256);
    let err = dns
        .set_txt("_acme-challenge.other.test", "v")
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::NotInZone { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "_acme-challenge.other.test is not inside the zone example.test."
    );

    // Configured for a zone this server does not serve.
    let DnsProvider::Rfc2136(mut cfg) = dns.clone() else {
        unreachable!()
    };
    cfg.zone = "other.test.".into();
    let err = DnsProvider::Rfc2136(cfg)
        .set_txt("_acme-challenge.other.test", "v")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "the DNS server refused the update: NOTAUTH (the server is not authoritative"
        ),
        "{msg}"
    );

    // Nothing listening.
    let DnsProvider::Rfc2136(mut cfg) = dns.clone() else {
        unreachable!()
    };
    cfg.server = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let err = DnsProvider::Rfc2136(cfg)
        .set_txt(NAME, "v")
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::Network { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("could not talk to the DNS server at 127.0.0.1:"),
        "{err}"
    );
}

//! Real git servers on loopback for the private-repository tests: git's smart HTTP (`git
//! http-backend`) behind HTTP Basic auth, and OpenSSH's `sshd` serving a repository to one authorised
//! key. Both serve a bare clone of a [`Repo`].

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::helpers::Repo;

/// A bare clone of `repo` at `<dir>/app.git`.
pub fn bare_clone(repo: &Repo, dir: &Path) -> PathBuf {
    let bare = dir.join("app.git");
    let ok = Command::new("git").arg("clone").arg("--bare").arg("-q").arg(repo.path()).arg(&bare).status().expect("git runs").success();
    assert!(ok, "bare clone");
    bare
}

/// Serves `<root>/*.git` over git's smart HTTP; every request without `Authorization: Basic
/// user:token` gets a 401. Each request line is written to `requests.log` (`OK` or `DENIED` first).
const GIT_HTTP: &str = r#"
import base64, os, subprocess, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
ROOT, USER, TOKEN, LOG = sys.argv[1:5]
EXPECTED = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))
    def git(self):
        ok = self.headers.get("Authorization") == EXPECTED
        with open(LOG, "a") as f:
            f.write(("OK " if ok else "DENIED ") + self.requestline + "\n")
        if not ok:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.read_body()
        path, _, query = self.path.partition("?")
        env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": ROOT, "GIT_HTTP_EXPORT_ALL": "1",
               "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "REMOTE_USER": USER, "REMOTE_ADDR": "127.0.0.1"}
        for header, var in (("Content-Encoding", "HTTP_CONTENT_ENCODING"), ("Git-Protocol", "HTTP_GIT_PROTOCOL")):
            if self.headers.get(header):
                env[var] = self.headers[header]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status, headers = 200, []
        for line in head.decode().splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
    do_GET = git
    do_POST = git
    def log_message(self, *a):
        pass
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

pub struct GitHttp {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl GitHttp {
    /// Serves a bare clone of `repo` as `http://127.0.0.1:<port>/app.git` to `user:token` only.
    pub fn start(repo: &Repo, user: &str, token: &str) -> GitHttp {
        let dir = tempfile::tempdir().expect("server dir");
        bare_clone(repo, dir.path());
        let script = dir.path().join("server.py");
        std::fs::write(&script, GIT_HTTP).expect("write server");
        let log = dir.path().join("requests.log");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(dir.path())
            .args([user, token])
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("port line");
        let port = line.trim().parse().unwrap_or_else(|_| panic!("git http server did not start: {line:?}"));
        GitHttp { child, port, log, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/app.git", self.port)
    }

    pub fn requests(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// OpenSSH's sshd in inetd mode (`sshd -i`, one process per connection) behind a listener this test
/// binds on port 0, so no port is guessed. It lets `root` in with a key from `authorized_keys` only.
pub struct Sshd {
    pub port: u16,
    pub bare: PathBuf,
    pub authorized_keys: PathBuf,
    pub log: PathBuf,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

impl Sshd {
    pub fn start(repo: &Repo) -> Sshd {
        let dir = tempfile::tempdir().expect("sshd dir");
        let d = dir.path();
        let bare = bare_clone(repo, d);
        let host_key = d.join("host_key");
        let ok = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&host_key).status().expect("ssh-keygen runs").success();
        assert!(ok, "host key");
        let authorized_keys = d.join("authorized_keys");
        std::fs::write(&authorized_keys, "").expect("authorized_keys");
        let config = d.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "HostKey {}\nAuthorizedKeysFile {}\nPubkeyAuthentication yes\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nAllowUsers root\nStrictModes no\n\
                 UsePAM no\nPidFile none\nLogLevel VERBOSE\n",
                host_key.display(),
                authorized_keys.display()
            ),
        )
        .expect("sshd_config");
        // Debian's sshd refuses to start without its privilege separation directory
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let sshd = "/usr/sbin/sshd";
        let check = Command::new(sshd).arg("-t").arg("-f").arg(&config).output().expect("sshd is installed (openssh-server)");
        assert!(check.status.success(), "sshd -t: {}", String::from_utf8_lossy(&check.stderr));
        let log = d.join("sshd.log");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, config2, log2) = (stop.clone(), config.clone(), log.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let Ok(out) = conn.try_clone() else { continue };
                let Ok(err) = std::fs::OpenOptions::new().create(true).append(true).open(&log2) else { continue };
                let child = Command::new(sshd)
                    .arg("-i")
                    .arg("-e")
                    .arg("-f")
                    .arg(&config2)
                    .stdin(Stdio::from(OwnedFd::from(conn)))
                    .stdout(Stdio::from(OwnedFd::from(out)))
                    .stderr(err)
                    .spawn();
                // reap each session in the background (sshd -i exits when its connection closes)
                if let Ok(mut c) = child {
                    std::thread::spawn(move || c.wait());
                }
            }
        });
        Sshd { port, bare, authorized_keys, log, stop, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("ssh://root@127.0.0.1:{}{}", self.port, self.bare.display())
    }

    pub fn authorize(&self, public_key: &str) {
        std::fs::write(&self.authorized_keys, format!("{public_key}\n")).expect("write authorized_keys");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

"""A local stand-in for github.com and its API, for the browser tests (stdlib only).

It speaks the documented endpoints Rhone uses, for one App installation (id 77, account
`octo-org`) covering one private repository `octo-org/private`, served over git's smart HTTP by the
real `git http-backend` and only to an installation token this stand-in minted:

- `GET /apps/{slug}/installations/new?state=S` plays GitHub's install page: the user "installs" and
  is sent back to Rhone's callback with the installation id, a one-use OAuth code and the state;
- `GET /login/oauth/authorize` plays GitHub's sign-in page: the user `e2e-octo` approves and is sent
  back with a code bound to the PKCE challenge;
- `POST /login/oauth/access_token` (checks the PKCE verifier), `GET /user`, `GET /user/installations`;
- `GET /app`, `GET /app/installations/77`, `POST /app/installations/77/access_tokens` (the App JWT is
  checked for shape here; `server/tests/api/github_stub.rs` verifies its signature);
- `GET /installation/repositories`, `GET /repos/octo-org/private/branches`,
  `POST /repos/{owner}/{repo}/statuses/{sha}`.

usage: github_standin.py <port> <rhone base url> <git root>
"""

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, RHONE, GIT_ROOT = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
SLUG, INSTALLATION, REPO = "rhone-e2e", 77, "octo-org/private"
CLIENT_ID, CLIENT_SECRET = "Iv1.e2e", "e2e-client-secret"
codes = {}  # code -> user token (one use)
challenges = {}  # code -> PKCE challenge it was handed out against
GITHUB_USER = {"id": 5150, "login": "e2e-octo", "email": None}
user_tokens = set()
installation_tokens = set()


class GitHub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        print("github: " + fmt % args, flush=True)

    def reply(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        # every request's body is read (at its start): unread bytes would be taken for the next
        # request on the kept-alive connection, which this same handler object serves
        n = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(n) if n else b""

    def body(self):
        return self._body

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        for prefix in ("Bearer ", "token "):
            if auth.startswith(prefix):
                return auth[len(prefix):]
        return ""

    def app_jwt_ok(self):
        parts = self.bearer().split(".")
        if len(parts) != 3:
            return False
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return str(claims.get("iss")) == os.environ.get("APP_ID", "4242")

    def do_GET(self):
        self.read_body()
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        if path == f"/apps/{SLUG}/installations/new":
            code = secrets.token_hex(8)
            codes[code] = "ghu_" + secrets.token_hex(8)
            back = f"{RHONE}/api/v1/github/callback?" + urllib.parse.urlencode(
                {"installation_id": INSTALLATION, "setup_action": "install", "code": code, "state": q.get("state", "")})
            self.send_response(302)
            self.send_header("Location", back)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/login/oauth/authorize":
            # GitHub's authorize page, approved at once by the user e2e-octo
            if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
                return self.reply(400, {"message": "bad authorize request"})
            code = secrets.token_hex(8)
            codes[code] = "ghu_" + secrets.token_hex(8)
            challenges[code] = q.get("code_challenge", "")
            back = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
            self.send_response(302)
            self.send_header("Location", back)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/user":
            if self.bearer() not in user_tokens:
                return self.reply(401, {"message": "Bad credentials"})
            self.reply(200, GITHUB_USER)
        elif path == "/app":
            if not self.app_jwt_ok():
                return self.reply(401, {"message": "A JSON web token could not be decoded"})
            self.reply(200, {"id": 4242, "slug": SLUG, "name": "Rhone (e2e)"})
        elif path == f"/app/installations/{INSTALLATION}":
            if not self.app_jwt_ok():
                return self.reply(401, {"message": "A JSON web token could not be decoded"})
            self.reply(200, {"id": INSTALLATION, "account": {"login": "octo-org", "id": 1077, "type": "Organization"}, "suspended_at": None})
        elif path == "/user/installations":
            if self.bearer() not in user_tokens:
                return self.reply(401, {"message": "Bad credentials"})
            self.reply(200, {"total_count": 1, "installations": [{"id": INSTALLATION}]})
        elif path == "/installation/repositories":
            if self.bearer() not in installation_tokens:
                return self.reply(401, {"message": "Bad credentials"})
            self.reply(200, {"total_count": 1, "repositories": [{"id": 501, "full_name": REPO, "private": True}]})
        elif path == f"/repos/{REPO}/branches":
            if self.bearer() not in installation_tokens:
                return self.reply(401, {"message": "Bad credentials"})
            self.reply(200, [{"name": "main", "protected": False}])
        elif path.startswith(f"/{REPO}.git/"):
            self.git("GET", url)
        else:
            self.reply(404, {"message": "Not Found"})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        self.read_body()
        if path == "/login/oauth/access_token":
            form = json.loads(self.body() or b"{}")
            code = form.get("code", "")
            token = codes.pop(code, None)
            challenge = challenges.pop(code, None)
            if challenge is not None:
                verifier = form.get("code_verifier", "")
                got = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if got != challenge:
                    return self.reply(200, {"error": "invalid_grant", "error_description": "The code_verifier does not match the code_challenge."})
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET or token is None:
                return self.reply(200, {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})
            user_tokens.add(token)
            self.reply(200, {"access_token": token, "token_type": "bearer", "scope": ""})
        elif path == f"/app/installations/{INSTALLATION}/access_tokens":
            if not self.app_jwt_ok():
                return self.reply(401, {"message": "A JSON web token could not be decoded"})
            token = "ghs_" + secrets.token_hex(12)
            installation_tokens.add(token)
            self.reply(201, {"token": token, "expires_at": "2099-01-01T00:00:00Z", "permissions": {"contents": "read"}})
        elif path.startswith("/repos/") and "/statuses/" in path:
            if self.bearer() not in installation_tokens:
                return self.reply(401, {"message": "Bad credentials"})
            self.body()
            self.reply(201, {"id": 1})
        elif path.startswith(f"/{REPO}.git/"):
            self.git("POST", url)
        else:
            self.reply(404, {"message": "Not Found"})

    def git(self, method, url):
        auth = self.headers.get("Authorization", "")
        user, _, token = base64.b64decode(auth[6:]).decode(errors="replace").partition(":") if auth.startswith("Basic ") else ("", "", "")
        body = self.body()
        if user != "x-access-token" or token not in installation_tokens:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        env = dict(os.environ, GIT_PROJECT_ROOT=GIT_ROOT, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=url.path,
                   QUERY_STRING=url.query, REQUEST_METHOD=method, CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   GIT_PROTOCOL=self.headers.get("Git-Protocol", ""))
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n") if b"\r\n\r\n" in out else out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode().splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k.strip(), v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


ThreadingHTTPServer(("127.0.0.1", PORT), GitHub).serve_forever()

"""A local stand-in for Stripe, for the browser tests (stdlib only).

It speaks the endpoints Rhone calls, answering with Stripe's own example objects
(`server/tests/fixtures/stripe/objects.json`) given the ids and fields of the request:
`POST /v1/customers`, `POST /v1/checkout/sessions`, `POST /v1/billing_portal/sessions`,
`POST /v1/billing/meter_events`, `GET /v1/prices/{id}`, `GET /v1/invoices?customer=`.

And it plays the pages a customer sees:
- `GET /pay/{session}`: the Checkout page, with Pay and Cancel. Pay sends Rhone the events Stripe
  would (`checkout.session.completed`, then `invoice.paid`), each signed like Stripe signs them
  (`Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")`), then sends the browser to the
  session's success URL; Cancel to its cancel URL.
- `GET /portal/{session}`: the Billing Portal, with the way back.

usage: stripe_standin.py <port> <rhone base url> <webhook secret> <objects.json>
"""

import hashlib
import hmac
import html
import json
import sys
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, RHONE, WEBHOOK_SECRET, OBJECTS = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3], sys.argv[4]
SECRET_KEY = "sk_test_rhone_e2e"
with open(OBJECTS) as f:
    EXAMPLES = json.load(f)["resources"]
BASE = f"http://127.0.0.1:{PORT}"
sessions = {}  # id -> the Checkout session as created
portals = {}  # id -> return url
invoices = {}  # customer -> [invoice]
counter = [0]


def example(kind):
    return json.loads(json.dumps(EXAMPLES[kind]))


def next_id(prefix):
    counter[0] += 1
    return f"{prefix}_e2e_{counter[0]}"


def metadata(form, prefix):
    out = {}
    for k, v in form.items():
        if k.startswith(prefix + "[") and k.endswith("]"):
            out[k[len(prefix) + 1 : -1]] = v
    return out


def deliver(kind, obj):
    """Sends Rhone one signed event; returns its status."""
    event = example("event")
    event.update({"id": next_id("evt"), "type": kind, "created": int(time.time()), "data": {"object": obj}})
    body = json.dumps(event).encode()
    t = int(time.time())
    v1 = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"{RHONE}/api/v1/webhooks/stripe",
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={v1}"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        print(f"stripe: delivered {kind}: {res.status} {res.read().decode()}", flush=True)
        return res.status


class Stripe(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        print("stripe: " + fmt % args, flush=True)

    def send(self, status, data, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def json(self, status, body):
        self.send(status, json.dumps(body).encode(), "application/json")

    def page(self, title, inner):
        doc = f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{inner}</body></html>"
        self.send(200, doc.encode(), "text/html; charset=utf-8")

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode() if n else ""
        return dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))

    def api_allowed(self):
        if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            self.json(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
            return False
        return True

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        if path.startswith("/pay/") and path[5:] in sessions:
            s = sessions[path[5:]]
            plan = html.escape(s["metadata"].get("rhone_plan", "?"))
            self.page(
                "Stripe Checkout (stand-in)",
                f"<p>Subscribe to <strong data-testid=checkout-plan>{plan}</strong> for $20.00 a month.</p>"
                f"<form method=post action='/pay/{html.escape(s['id'])}'><button type=submit data-testid=pay>Pay</button></form>"
                f"<p><a href='{html.escape(s['cancel_url'])}' data-testid=cancel>Back without paying</a></p>",
            )
        elif path.startswith("/portal/") and path[8:] in portals:
            self.page("Stripe Billing Portal (stand-in)", f"<p><a href='{html.escape(portals[path[8:]])}' data-testid=portal-back>Return to Rhone</a></p>")
        elif not self.api_allowed():
            return
        elif path.startswith("/v1/prices/"):
            price = example("price")
            price["id"] = path[len("/v1/prices/") :]
            self.json(200, price)
        elif path == "/v1/invoices":
            self.json(200, {"object": "list", "data": invoices.get(query.get("customer"), []), "has_more": False, "url": "/v1/invoices"})
        else:
            self.json(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})"}})

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        form = self.form()
        if path.startswith("/pay/") and path[5:] in sessions:
            s = sessions[path[5:]]
            done = example("checkout.session")
            done.update({k: s[k] for k in ("id", "customer", "client_reference_id", "metadata", "success_url", "cancel_url")})
            done.update({"mode": "subscription", "status": "complete", "payment_status": "paid", "subscription": next_id("sub")})
            deliver("checkout.session.completed", done)
            invoice = example("invoice")
            invoice.update({"id": next_id("in"), "customer": s["customer"], "status": "paid", "number": f"E2E-{counter[0]:04}", "amount_paid": 2000, "amount_due": 2000, "created": int(time.time())})
            invoice["hosted_invoice_url"] = f"{BASE}/invoice/{invoice['id']}"
            invoices.setdefault(s["customer"], []).insert(0, invoice)
            deliver("invoice.paid", invoice)
            self.send(303, b"", "text/plain", [("Location", s["success_url"])])
            return
        if not self.api_allowed():
            return
        if path == "/v1/customers":
            c = example("customer")
            c.update({"id": next_id("cus"), "email": form.get("email"), "name": form.get("name"), "metadata": metadata(form, "metadata")})
            self.json(200, c)
        elif path == "/v1/checkout/sessions":
            s = example("checkout.session")
            sid = next_id("cs")
            s.update({"id": sid, "url": f"{BASE}/pay/{sid}", "mode": form.get("mode"), "customer": form.get("customer"), "client_reference_id": form.get("client_reference_id")})
            s.update({"metadata": metadata(form, "metadata"), "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url")})
            sessions[sid] = s
            self.json(200, s)
        elif path == "/v1/billing_portal/sessions":
            p = example("billing_portal.session")
            pid = next_id("bps")
            p.update({"id": pid, "url": f"{BASE}/portal/{pid}", "customer": form.get("customer"), "return_url": form.get("return_url")})
            portals[pid] = form.get("return_url")
            self.json(200, p)
        elif path == "/v1/billing/meter_events":
            e = example("billing.meter_event")
            e.update({"event_name": form.get("event_name"), "identifier": form.get("identifier"), "payload": metadata(form, "payload")})
            self.json(200, e)
        else:
            self.json(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})"}})


ThreadingHTTPServer(("127.0.0.1", PORT), Stripe).serve_forever()

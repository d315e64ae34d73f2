"""A tiny client for Rhone's REST API, shared by the benchmark drivers. Standard library only."""
import json, urllib.request


def call(base, method, path, body=None, token=None):
    """`method` `base`/api/v1`path` with a JSON body; returns the decoded JSON answer."""
    req = urllib.request.Request(base + "/api/v1" + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")

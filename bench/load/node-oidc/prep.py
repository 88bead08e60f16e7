#!/usr/bin/python3
"""Signs in to handoffd (the demo tenant) or to server.mjs and prints what the compared requests
carry: the browser session's Cookie header and a refresh token for the web client, one per line.

  prep.py handoff|node PORT VERIFIER

handoffd: the hosted login page with the demo user, then a code for demo-web (scope openid profile
email offline_access) exchanged for its refresh token. node: /auth with prompt=consent, whose
interactions server.mjs finishes at once, then the same exchange for bench-web.
"""
import base64
import hashlib
import html
import http.client
import json
import re
import sys
import urllib.parse

kind, port, verifier = sys.argv[1], int(sys.argv[2]), sys.argv[3]
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
callback = "http://127.0.0.1:3000/callback"
client, secret, authorize_path, token_path = {
    "handoff": ("demo-web", "demo-web-secret", "/authorize", "/oauth/token"),
    "node": ("bench-web", "bench-web-secret", "/auth", "/token"),
}[kind]
jar = {}


def req(method, target, form=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = {"Host": "127.0.0.1:%d" % port}
    if jar:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in jar.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, target, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    headers = {}
    for k, v in r.getheaders():
        headers[k.lower()] = v
        if k.lower() == "set-cookie":
            name, _, rest = v.partition("=")
            value = rest.partition(";")[0].strip()
            if value:
                jar[name.strip()] = value
            else:
                jar.pop(name.strip(), None)
    c.close()
    return r.status, headers, data


def local(location):  # a Location on this server, as a request target
    u = urllib.parse.urlsplit(location)
    return u.path + ("?" + u.query if u.query else "")


def authorize(extra):
    q = {"client_id": client, "redirect_uri": callback, "response_type": "code",
         "scope": "openid profile email offline_access", "state": "bench-state", "nonce": "bench-nonce",
         "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return authorize_path + "?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote)


if kind == "handoff":
    s, h, _ = req("GET", authorize({}))
    assert s == 302 and "/u/login" in h["location"], "authorize without a session: %d" % s
    s, h, page = req("GET", h["location"])
    page = page.decode()
    f = {n: html.unescape(re.search(r'name="%s"[^>]*value="([^"]*)"' % n, page).group(1)) for n in ("csrf", "q")}
    s, h, _ = req("POST", "/u/login", {**f, "email": "demo@example.com", "password": "demo-password"})
    assert s in (302, 303), "login answered %d" % s
    s, h, _ = req("GET", local(h["location"]))
else:
    target = authorize({"prompt": "consent"})
    for _ in range(8):  # /auth → /interaction/… (login) → /auth/… → /interaction/… (consent) → … → callback
        s, h, _ = req("GET", target)
        assert s in (302, 303), "%s answered %d" % (target, s)
        if h["location"].startswith(callback):
            break
        target = local(urllib.parse.urljoin("http://127.0.0.1:%d%s" % (port, target), h["location"]))
assert h["location"].startswith(callback), "no code: %s" % h.get("location")
code = urllib.parse.parse_qs(urllib.parse.urlsplit(h["location"]).query)["code"][0]
s, _, body = req("POST", token_path, {"grant_type": "authorization_code", "client_id": client, "client_secret": secret,
                                      "code": code, "redirect_uri": callback, "code_verifier": verifier})
assert s == 200, "code exchange answered %d %s" % (s, body[:300])
refresh = json.loads(body).get("refresh_token")
assert refresh, "no refresh token: %s" % body[:300]
session = {k: v for k, v in jar.items() if k.startswith("_session") or k == "handoff_session"}
assert session, "no browser session cookie in %s" % sorted(jar)
print("; ".join("%s=%s" % kv for kv in session.items()))
print(refresh)

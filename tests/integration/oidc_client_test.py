#!/usr/bin/python3
"""End to end with a standard OIDC client library (Authlib, Debian's python3-authlib) against a
real handoffd on 127.0.0.1: discovery, the hosted login form, the code flow with PKCE, ID token
signature and claim validation against the JWKS, /userinfo, refresh with rotation, reuse
detection and revocation.

usage: oidc_client_test.py PATH_TO_HANDOFFD   (prints "N passed, M failed"; exit 1 on failure)
"""
import html
import re
import subprocess
import sys
import tempfile
import traceback
from urllib.parse import urljoin

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

WEB_CALLBACK = "http://127.0.0.1:3000/callback"
NATIVE_CALLBACK = "com.example.handoff://callback"


def start_server(handoffd, data_dir):
    proc = subprocess.Popen([handoffd, "--listen", "127.0.0.1:0", "--threads", "2", "--no-pin",
                             "--data-dir", data_dir, "--log-level", "warn"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError("handoffd did not start: %r" % line)
    return proc, "http://127.0.0.1:%s" % m.group(1)


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    assert m, "no hidden field %s in the login page" % name
    return html.unescape(m.group(1))


def browser_login(base, authorize_url, email="demo@example.com", password="demo-password"):
    """Plays the browser: /authorize → login form → POST → /authorize → redirect with code."""
    browser = requests.Session()
    r = browser.get(authorize_url, allow_redirects=False)
    assert r.status_code == 302, r.text
    login = browser.get(urljoin(base, r.headers["Location"]), allow_redirects=False)
    assert login.status_code == 200 and "<form" in login.text
    assert login.headers.get("X-Frame-Options") == "DENY"
    r = browser.post(base + "/u/login", allow_redirects=False, data={
        "csrf": hidden(login.text, "csrf"), "q": hidden(login.text, "q"), "email": email, "password": password})
    assert r.status_code in (302, 303), r.text
    r = browser.get(urljoin(base, r.headers["Location"]), allow_redirects=False)
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def validate_id_token(id_token, disc, client_id, nonce):
    keys = JsonWebKey.import_key_set(requests.get(disc["jwks_uri"]).json())
    claims = jwt.decode(id_token, keys, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": disc["issuer"]},
                                        "aud": {"essential": True, "value": client_id}},
                        claims_params={"nonce": nonce, "client_id": client_id})
    claims.validate(leeway=5)
    assert claims["sub"] == "auth0|demo"
    assert claims["nonce"] == nonce and claims.get("sid") and claims.get("auth_time")
    return claims


def test_discovery(base, ctx):
    disc = requests.get(base + "/.well-known/openid-configuration").json()
    assert disc["issuer"] == base + "/"
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint"):
        assert disc[key].startswith(base + "/"), key
    assert "S256" in disc["code_challenge_methods_supported"]
    ctx["disc"] = disc


def test_web_code_flow_with_pkce(base, ctx):
    disc = ctx["disc"]
    client = OAuth2Session("demo-web", "demo-web-secret", scope="openid profile email offline_access",
                           redirect_uri=WEB_CALLBACK, code_challenge_method="S256",
                           token_endpoint_auth_method="client_secret_basic")
    verifier, nonce = generate_token(48), generate_token(16)
    url, state = client.create_authorization_url(disc["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    callback = browser_login(base, url)
    assert callback.startswith(WEB_CALLBACK + "?") and ("iss=" in callback)
    token = client.fetch_token(disc["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    claims = validate_id_token(token["id_token"], disc, "demo-web", nonce)
    assert claims["email"] == "demo@example.com"
    info = client.get(disc["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["email"] == "demo@example.com"
    # demo-web does not rotate: the same refresh token keeps working.
    refreshed = client.refresh_token(disc["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]


def native_tokens(base, disc):
    client = OAuth2Session("demo-native", scope="openid offline_access", redirect_uri=NATIVE_CALLBACK,
                           code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier, nonce = generate_token(48), generate_token(16)
    url, _ = client.create_authorization_url(disc["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    callback = browser_login(base, url)
    token = client.fetch_token(disc["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    validate_id_token(token["id_token"], disc, "demo-native", nonce)
    return client, token


def expect_invalid_grant(client, disc, refresh_token):
    try:
        client.refresh_token(disc["token_endpoint"], refresh_token=refresh_token)
    except Exception as e:  # authlib raises OAuthError with the server's error code
        assert "invalid_grant" in str(e), e
        return
    raise AssertionError("refresh succeeded with %s" % refresh_token[:6])


def test_native_rotation_and_reuse_detection(base, ctx):
    disc = ctx["disc"]
    client, token = native_tokens(base, disc)
    first = token["refresh_token"]
    rotated = client.refresh_token(disc["token_endpoint"], refresh_token=first)
    second = rotated["refresh_token"]
    assert second and second != first, "demo-native rotates refresh tokens"
    expect_invalid_grant(client, disc, first)   # reuse of the rotated-out token...
    expect_invalid_grant(client, disc, second)  # ...revoked the whole family


def test_revocation(base, ctx):
    disc = ctx["disc"]
    client, token = native_tokens(base, disc)
    r = requests.post(disc["revocation_endpoint"], data={"client_id": "demo-native", "token": token["refresh_token"]})
    assert r.status_code == 200, r.text
    expect_invalid_grant(client, disc, token["refresh_token"])


def test_code_is_single_use(base, ctx):
    disc = ctx["disc"]
    client = OAuth2Session("demo-web", "demo-web-secret", scope="openid", redirect_uri=WEB_CALLBACK,
                           code_challenge_method="S256")
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(disc["authorization_endpoint"], code_verifier=verifier, nonce="n1")
    callback = browser_login(base, url)
    client.fetch_token(disc["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    try:
        client.fetch_token(disc["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    except Exception as e:
        assert "invalid_grant" in str(e), e
        return
    raise AssertionError("a code worked twice")


def test_api_audience_gives_a_jwt_access_token(base, ctx):
    disc = ctx["disc"]
    audience = base + "/api/v2/"
    client = OAuth2Session("demo-web", "demo-web-secret", scope="openid email", redirect_uri=WEB_CALLBACK,
                           code_challenge_method="S256")
    verifier = generate_token(48)
    url, _ = client.create_authorization_url(disc["authorization_endpoint"], code_verifier=verifier, nonce="n2",
                                             audience=audience)
    token = client.fetch_token(disc["token_endpoint"], authorization_response=browser_login(base, url),
                               code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(disc["jwks_uri"]).json())
    claims = jwt.decode(token["access_token"], keys)
    claims.validate(leeway=5)
    assert audience in claims["aud"] and disc["issuer"] + "userinfo" in claims["aud"], claims
    assert claims["sub"] == "auth0|demo" and claims["azp"] == "demo-web"
    info = client.get(disc["userinfo_endpoint"]).json()
    assert info["sub"] == "auth0|demo", info
    tampered = token["access_token"][:-4] + ("AAAA" if not token["access_token"].endswith("AAAA") else "BBBB")
    r = requests.get(disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + tampered})
    assert r.status_code == 401 and "invalid_token" in r.headers.get("WWW-Authenticate", "")


def main():
    handoffd = sys.argv[1]
    tests = [test_discovery, test_web_code_flow_with_pkce, test_native_rotation_and_reuse_detection,
             test_revocation, test_code_is_single_use, test_api_audience_gives_a_jwt_access_token]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as data_dir:
        proc, base = start_server(handoffd, data_dir)
        ctx = {}
        try:
            for t in tests:
                try:
                    t(base, ctx)
                    passed += 1
                    print("ok   %s" % t.__name__)
                except Exception:
                    failed += 1
                    print("FAIL %s" % t.__name__)
                    traceback.print_exc()
                    if t is test_discovery:
                        break
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/<name>.

The files are committed; run this again after changing a seed here. The MMDB seeds are the
build's test databases (geo-data/), copied from a build directory given as the first argument
(default build-fuzz). Every seed follows its target's input format (see each *_fuzz.cc header).
"""
import base64
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def b64url(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# ── http_session: flags, two split-seed bytes, then the client's bytes ───────────────────────
def http(name, flags, seed, raw):
    write("http_session", name, bytes([flags, seed >> 8, seed & 255]) + raw.encode())


GET = "GET /echo?client_id=abc&state=x%20y HTTP/1.1\r\nHost: a\r\nCookie: sid=1; b=\"2\"\r\n\r\n"
POST = ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 29\r\n\r\ngrant_type=password&username")
CHUNKED = ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
           "8\r\n{\"a\":[1,\r\n5;ext=1\r\n2.5]}\r\n0\r\n\r\n")
http("get", 0, 1, GET)
http("get_bytewise", 1, 7, GET)
http("post_form", 2, 99, POST)
http("post_chunked", 3, 1234, CHUNKED)
http("pipelined", 0, 5, GET + "GET /later HTTP/1.1\r\nHost: a\r\n\r\n" + "GET /inline HTTP/1.1\r\nHost: a\r\n\r\n" + POST)
http("pipelined_tight", 4 | 64, 77, GET + GET + GET + "HEAD /echo HTTP/1.1\r\nHost: a\r\n\r\n")
http("silent_500", 0, 3, "GET /silent HTTP/1.1\r\nHost: a\r\n\r\nGET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
http("expect_continue", 2, 11, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
http("http10", 8, 12, "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /echo HTTP/1.0\r\n\r\n")
http("bare_cr", 0, 13, "GET /echo HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\nGET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
http("cl_and_te", 0, 14, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
http("te_gzip", 0, 15, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n")
http("bad_version", 0, 16, "GET /echo HTTP/1.9\r\nHost: a\r\n\r\n")
http("no_host", 0, 17, "GET /echo HTTP/1.1\r\n\r\n")
http("two_hosts", 0, 18, "GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
http("absolute_target", 0, 19, "GET http://a/echo HTTP/1.1\r\nHost: a\r\n\r\n")
http("not_found_405", 0, 20, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\nPUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
http("api_prefix_413", 6, 21, "DELETE /api/v2/users/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 300\r\n\r\n" + "x" * 40)
http("close_then_more", 16, 22, "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + GET)
http("long_headers", 4, 23, "GET /echo HTTP/1.1\r\nHost: a\r\n" + "X-Pad: " + "p" * 90 + "\r\n\r\n")
http("obs_fold", 0, 24, "GET /echo HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n")
http("later_then_eof", 8 | 32, 25, "GET /later HTTP/1.1\r\nHost: a\r\n\r\nGET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
http("chunked_trailer", 1, 26, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")

# Flag 128: a PROXY protocol listener; the bytes start with the header (v1 text or v2 binary).
V2_TCP4 = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11, 0, 12, 203, 0, 113, 7, 10, 0, 0, 1, 0xdc, 0x04, 0x01, 0xbb]))
http("proxy_v1", 128, 31, "PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n" + GET + GET)
http("proxy_v1_bytewise", 128 | 1, 32, "PROXY TCP6 2001:db8::7 ::1 1 2\r\n" + POST)
write("http_session", "proxy_v2", bytes([128 | 2, 0, 33]) + V2_TCP4 + (GET + CHUNKED).encode())
write("http_session", "proxy_v2_tight", bytes([128 | 4, 0, 34]) + V2_TCP4 + (GET * 3).encode())
http("proxy_bad", 128, 35, "PROXY TCP4 999.0.0.1 10.0.0.1 1 2\r\n" + GET)

# ── params: byte 0 = parameter cap, then the text ────────────────────────────────────────────
P = lambda name, cap, text: write("params", name, bytes([cap]) + text.encode("latin-1"))
P("authorize", 63, "response_type=code&client_id=demo-native&redirect_uri=com.example.handoff%3A%2F%2Fcallback"
  "&scope=openid+profile+offline_access&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
  "&code_challenge_method=S256")
P("token_form", 63, "grant_type=authorization_code&code=cd_0_AAAAAAAAAAAAAAAAAAAAAA&code_verifier=abc&client_id=x")
P("duplicate", 63, "a=1&b=2&a=3")
P("bad_escape", 63, "a=%zz&b=%4")
P("nul", 63, "a=%00&b")
P("empty_pairs", 2, "&&a&=b&c=&&d=%41%42+%2B")
P("cookies", 63, "sid=sid_0_AAAAAAAAAAAAAAAAAAAAAA; theme=\"dark\";  x = y ;;=z; noeq")
P("utf8", 63, "n%C3%A9=%E2%82%AC&%FF=%fe")

# ── json: byte 0 = maxDepth, then the document ───────────────────────────────────────────────
J = lambda name, text: write("json", name, bytes([32]) + text.encode("utf-8"))
J("object", '{"client_id":"demo-native","scope":"openid","n":12,"f":-1.5e-3,"t":true,"z":null,"a":[1,[2,[3]]]}')
J("escapes", '["\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/", "\\u0000", "\u00e9\u20ac"]')
J("numbers", '[0, -0, 1e308, 1e309, 123456789012345678901234567890, 0.1, 2E-400, -9223372036854775808]')
J("duplicate", '{"a":1,"a":2}')
J("deep", "[" * 40 + "]" * 40)
J("bad", '{"a":1,}')
J("lone_surrogate", '"\\ud800"')
J("jwks", '{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",'
  '"y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1","use":"sig","alg":"ES256"}]}')

# ── auth_headers: header value, then optionally "\n" and a form body ──────────────────────────
A = lambda name, text: write("auth_headers", name, text)
A("basic", "Basic " + base64.b64encode(b"basic-app:s3cr%3At").decode())
A("basic_lower", "basic   " + base64.b64encode(b"post+app:s3cr%3At").decode() + "\nclient_id=post+app")
A("basic_bad_pad", "Basic YWJj=")
A("basic_no_colon", "Basic " + base64.b64encode(b"justid").decode())
A("post", "\nclient_id=post+app&client_secret=s3cr%3At")
A("none", "\nclient_id=native")
A("both", "Basic " + base64.b64encode(b"basic-app:s3cr%3At").decode() + "\nclient_secret=x")
A("bearer", "Bearer " + b64url('{"alg":"RS256"}') + "." + b64url('{"sub":"x"}') + ".c2ln")
A("bearer_case", "bEaReR   tok")
A("b64url", b64url(bytes(range(0, 40))))

# ── redirect_uri: the query, then registered callbacks and logout URLs, one a line ───────────
R = lambda name, lines: write("redirect_uri", name, "\n".join(lines))
R("match", ["redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&returnTo=https%3A%2F%2Fapp.example.com%2F",
            "https://app.example.com/callback", "https://app.example.com/"])
R("native", ["redirect_uri=com.example.handoff%3A%2F%2Fcallback", "com.example.handoff://callback", "http://localhost:3000/"])
R("near_miss", ["redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback%2F", "https://app.example.com/callback",
                "https://APP.example.com/", "https://app.example.com:443/callback"])
R("refused", ["redirect_uri=x", "javascript:alert(1)", "https://user@evil.example/", "https://a/#frag", "http:///nohost",
              "data:text/html,x", "https://:80/"])
R("many", ["redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback", "http://127.0.0.1:3000/callback",
           "http://localhost:3000/", "http://localhost:3000/callback", "https://[::1]:8443/cb"])

# ── token_codec: byte 0 = kind (low 3 bits mod 5) and shard count (high bits), then the text ──
T = lambda name, b0, text: write("token_codec", name, bytes([b0]) + text.encode())
T("code", 0 | (1 << 3), "cd_0_AAAAAAAAAAAAAAAAAAAAAA")
T("refresh", 1 | (3 << 3), "rt_1_PA4mtJ3vT9PqmjW6e-UP3A")
T("access", 2 | (7 << 3), "at_1023_PA4mtJ3vT9PqmjW6e-UP3A")
T("stt", 3, "stt_12_-_-_-_-_-_-_-_-_-_-_-Q")
T("sid", 4 | (31 << 3), "sid_7_zzzzzzzzzzzzzzzzzzzzzw")
T("leading_zero", 1, "rt_01_PA4mtJ3vT9PqmjW6e-UP3A")
T("wrong_kind", 0, "rt_1_PA4mtJ3vT9PqmjW6e-UP3A")

# ── jwt: byte 0 = mode, byte 1 = key (0 EdDSA, 1 ES256, 2 RS256), then text ───────────────────
W = lambda name, mode, key, text: write("jwt", name, bytes([mode, key]) + text.encode())
CLAIMS = '{"iss":"https://auth.example.com/","sub":"auth0|demo","aud":"demo-native","exp":1900000000,"iat":1700000000}'
W("verify_shape", 0, 0, b64url('{"alg":"EdDSA","typ":"JWT","kid":"k"}') + "." + b64url(CLAIMS) + "." + b64url(b"\0" * 64))
W("verify_none", 0, 0, b64url('{"alg":"none"}') + "." + b64url(CLAIMS) + ".")
W("jwk", 0, 0, '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}')
W("jwk_rsa", 0, 0, '{"kty":"RSA","e":"AQAB","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1Wl"}')
W("sign_eddsa", 1, 0, CLAIMS)
W("sign_es256", 1, 1, CLAIMS)
W("sign_rs256", 1, 2, '{"sub":"x"}')
W("header_eddsa", 2, 0, '{"alg":"EdDSA","typ":"JWT","kid":"KID"}\n' + CLAIMS)
W("header_es256", 2, 1, '{"kid":"KID","alg":"ES256"}\n{}')
W("header_crit", 2, 0, '{"alg":"EdDSA","kid":"KID","crit":["exp"]}\n{}')
W("header_typ", 2, 1, '{"alg":"ES256","kid":"KID","typ":1}\n{}')
W("header_alg_mismatch", 2, 2, '{"alg":"HS256","kid":"KID"}\n{}')
W("verbatim_claims", 2, 0, '{"alg":"EdDSA","kid":"KID"}\n!' + b64url(CLAIMS) + "A")

# ── client_ip: a PROXY header (or none), then an X-Forwarded-For line ──────────────────────────
SIG = b"\r\n\r\n\x00\r\nQUIT\n"
def v2(cmd, fam, payload):
    return SIG + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(payload)) + payload
ip4 = bytes([203, 0, 113, 7]) + bytes([10, 0, 0, 1]) + struct.pack(">HH", 56324, 443)
ip6 = bytes.fromhex("20010db8000000000000000000000007") + bytes.fromhex("00000000000000000000000000000001") + struct.pack(">HH", 1, 2)
tlv = bytes([0x04, 0x00, 0x03]) + b"abc"
C = lambda name, data: write("client_ip", name, data)
C("v1_tcp4", b"PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n203.0.113.9, 10.0.0.2\n")
C("v1_tcp6", b"PROXY TCP6 2001:db8::7 ::1 56324 443\r\nGET / HTTP/1.1\r\n")
C("v1_unknown", b"PROXY UNKNOWN ffff:f...f ffff:f...f 65535 65535\r\n")
C("v2_tcp4", v2(1, 0x11, ip4) + b"198.51.100.1,10.0.0.3\n")
C("v2_tcp6_tlv", v2(1, 0x21, ip6 + tlv))
C("v2_local", v2(0, 0x00, b""))
C("v2_unix", v2(1, 0x31, b"/tmp/a".ljust(108, b"\0") + b"/tmp/b".ljust(108, b"\0")))
C("v2_udp", v2(1, 0x12, ip4))
C("v2_short", v2(1, 0x21, ip4))
C("xff_only", b"198.51.100.4, 10.1.1.1, 192.168.1.9\n")
C("xff_v6", b"2001:db8::1, ::ffff:10.0.0.1, fd00::5\n")
C("xff_cidr", b"10.0.0.0/8\n")
C("xff_garbage", b"unknown, 1.2.3, ::ffff:1.2.3.4.5, [::1]\n")

# ── config: TOML files ───────────────────────────────────────────────────────────────────────
F = lambda name, text: write("config", name, text)
F("full", """[server]
listen = ["127.0.0.1:8080"]
threads = 2
data_dir = "/tmp/handoff"
log_level = "info"

[limits]
max_request_line = 8192
max_header_bytes = 16384
max_body_bytes = 65536
idle_timeout_ms = 60000
max_pipelined = 64

[tenant]
domain = "auth.example.com"
custom_domains = ["login.example.com"]
signing_alg = "ES256"

[proxy]
trusted = ["10.0.0.0/8", "::1"]

[policy]
session_transfer_max_lifetime_s = 28800
deny_country_change = false
deny_asns = [64500]

[store]
durable = true
sync = false
snapshot_after_mb = 64

[events]
ring_capacity = 10000

[[clients]]
client_id = "web"
client_secret = "s"
app_type = "regular_web"
grant_types = ["authorization_code", "refresh_token"]
callbacks = ["https://app.example.com/callback"]
[clients.session_transfer]
can_create_session_transfer_token = false
allowed_authentication_methods = ["cookie", "query"]
enforce_device_binding = "asn"
[clients.refresh_token]
rotation_type = "rotating"
leeway = 0

[[users]]
user_id = "auth0|1"
email = "someone@example.com"
password = "pw"
email_verified = true
""")
F("minimal", "[tenant]\nsigning_alg = \"EdDSA\"\n")
F("unknown_key", "[server]\nlisten = [\"127.0.0.1:8080\"]\nbogus = 1\n")
F("wrong_type", "[limits]\nmax_pipelined = \"many\"\n")
F("out_of_range", "[limits]\nmax_headers = -1\n")
F("bad_toml", "[server\nlisten = [\n")
F("inline_tables", "clients = [{client_id = \"a\", callbacks = ['x:y']}]\nusers = [{user_id = \"u\", email = \"e\"}]\n")
F("dates_and_floats", "[policy]\nsession_transfer_idle_timeout_s = 1.5\nx = 1979-05-27T07:32:00Z\n")

# ── mmdb: the build's test databases ─────────────────────────────────────────────────────────
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build-fuzz")
for db in ("test-asn.mmdb", "test-country.mmdb"):
    src = os.path.join(build, "geo-data", db)
    if os.path.exists(src):
        os.makedirs(os.path.join(CORPUS, "mmdb"), exist_ok=True)
        shutil.copyfile(src, os.path.join(CORPUS, "mmdb", db))
    else:
        print(f"make_corpus: {src} missing (build it first); the mmdb seeds were not refreshed", file=sys.stderr)

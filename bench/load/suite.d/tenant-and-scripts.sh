# bench/load/suite.d/tenant-and-scripts.sh — sourced by bench/load/suite (not run on its own): the tenant file it gives handoffd and the wrk Lua scripts (checkers, feeders, producers).
# Shares the suite's shell: its variables ($work, $store, $conns, …) and helpers.

tenant() {  # $1: signing algorithm. The demo tenant (src/config/demo.cc) plus bench-native.
  cat <<CONF
[server]
listen = ["127.0.0.1:0"]

[tenant]
signing_alg = "$1"
$([ "$store" = memory ] && printf '\n[store]\ndurable = false\n' || true)

[rate_limits]
login_burst = 1000  # the setup logs in until it has a session on every shard, all from 127.0.0.1

[[users]]
user_id = "auth0|demo"
email = "demo@example.com"
password = "demo-password"
name = "Demo User"
email_verified = true

[[clients]]
client_id = "demo-native"
name = "Demo Native App"
app_type = "native"
token_endpoint_auth_method = "none"
grant_types = ["authorization_code", "refresh_token", "password"]
callbacks = ["com.example.handoff://callback"]
refresh_token = { rotation_type = "rotating", leeway = 0 }
[clients.session_transfer]
can_create_session_transfer_token = true

[[clients]]
client_id = "bench-native"
name = "Bench Native App (demo-native, non-rotating)"
app_type = "native"
token_endpoint_auth_method = "none"
grant_types = ["authorization_code", "refresh_token", "password"]
callbacks = ["com.example.handoff://callback"]
refresh_token = { rotation_type = "non-rotating" }
[clients.session_transfer]
can_create_session_transfer_token = true

[[clients]]
client_id = "demo-web"
client_secret = "demo-web-secret"
name = "Demo Web App"
app_type = "regular_web"
grant_types = ["authorization_code", "refresh_token"]
callbacks = ["http://127.0.0.1:3000/callback", "http://localhost:3000/callback"]
allowed_logout_urls = ["http://127.0.0.1:3000/", "http://localhost:3000/"]
[clients.session_transfer]
allowed_authentication_methods = ["cookie", "query"]
enforce_device_binding = "ip"
allow_refresh_token = true
enforce_online_refresh_tokens = true

[[clients]]
client_id = "demo-web-asn"
client_secret = "demo-web-asn-secret"
name = "Demo Web App (ASN binding)"
app_type = "regular_web"
grant_types = ["authorization_code", "refresh_token"]
callbacks = ["http://127.0.0.1:3000/callback", "http://localhost:3000/callback"]
allowed_logout_urls = ["http://127.0.0.1:3000/", "http://localhost:3000/"]
[clients.session_transfer]
allowed_authentication_methods = ["cookie", "query"]
enforce_device_binding = "asn"
allow_refresh_token = true
enforce_online_refresh_tokens = true

[[clients]]
client_id = "demo-m2m"
client_secret = "demo-m2m-secret"
name = "Demo Management Client"
app_type = "non_interactive"
grant_types = ["client_credentials"]
CONF
}
for a in RS256 ES256 EdDSA; do tenant "$a" > "$work/tenant-$a.toml"; done

verifier=bench-pkce-verifier-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFG
challenge=$(/usr/bin/python3 -c 'import base64, hashlib, sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b"=").decode())' "$verifier")
cb=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback
authq="/authorize?client_id=demo-web&redirect_uri=$cb&response_type=code&scope=openid%20profile%20email%20offline_access&state=bench-state&nonce=bench-nonce&code_challenge=$challenge&code_challenge_method=S256"

# The browser and the apps, once per server: per shard, a hosted login (a browser session on that
# shard), the web app's code exchange in it (demo-web's refresh token), and bench-native's code
# flow in it twice (a refresh token granted openid…, one granted only offline_access). Prints
# one line per shard: SESSION WEB_RT NATIVE_RT_OPENID NATIVE_RT_NOID.
cat > "$work/prep.py" <<'PY'
import base64, hashlib, html, http.client, json, re, sys, urllib.parse

port, nshards, verifier = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def req(jar, method, target, form=None):
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
            jar[name.strip()] = rest.partition(";")[0].strip()
    c.close()
    return r.status, headers, data


def authorize(jar, client, callback, scope):
    q = urllib.parse.urlencode({"client_id": client, "redirect_uri": callback, "response_type": "code",
                                "scope": scope, "state": "bench-state", "nonce": "bench-nonce",
                                "code_challenge": challenge, "code_challenge_method": "S256"},
                               quote_via=urllib.parse.quote)
    return req(jar, "GET", "/authorize?" + q)


def code_of(status, headers):
    assert status == 302, "authorize answered %d" % status
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["location"]).query)
    assert "code" in q, "no code in %s" % headers["location"]
    return q["code"][0]


def exchange(client, secret, callback, code):
    form = {"grant_type": "authorization_code", "client_id": client, "code": code, "redirect_uri": callback,
            "code_verifier": verifier}
    if secret:
        form["client_secret"] = secret
    s, _, body = req({}, "POST", "/oauth/token", form)
    assert s == 200, "code exchange answered %d %s" % (s, body[:300])
    return json.loads(body)["refresh_token"]


got = {}
for attempt in range(3 * nshards + 6):
    jar = {}
    s, h, _ = authorize(jar, "demo-web", "http://127.0.0.1:3000/callback", "openid")
    assert s == 302 and "/u/login" in h["location"], "authorize without a session: %d %s" % (s, h.get("location"))
    s, h, page = req(jar, "GET", h["location"])
    page = page.decode()
    f = {n: html.unescape(re.search(r'name="%s"[^>]*value="([^"]*)"' % n, page).group(1)) for n in ("csrf", "q")}
    s, h, _ = req(jar, "POST", "/u/login", {**f, "email": "demo@example.com", "password": "demo-password"})
    assert s in (302, 303), "login answered %d" % s
    sid = jar["handoff_session"]
    shard = int(sid.split("_")[1])
    if shard in got:
        continue
    web = exchange("demo-web", "demo-web-secret", "http://127.0.0.1:3000/callback",
                   code_of(*authorize(jar, "demo-web", "http://127.0.0.1:3000/callback",
                                      "openid profile email offline_access")[:2]))
    native = [exchange("bench-native", None, "com.example.handoff://callback",
                       code_of(*authorize(jar, "bench-native", "com.example.handoff://callback", scope)[:2]))
              for scope in ("openid profile email offline_access", "offline_access")]
    got[shard] = (sid, web, native[0], native[1])
    if len(got) == nshards:
        break
assert len(got) == nshards, "sessions on shards %s only after %d logins" % (sorted(got), attempt + 1)
for shard in sorted(got):
    print(" ".join(got[shard]))
PY

# The measured client, for handoffd and nginx alike. Env: BENCH_FLOW, BENCH_FEED (a file of STTs
# or codes; empty: a made-up one, for nginx), BENCH_THREADS, BENCH_RTS (one per shard; a wrk
# thread uses number tid mod count), BENCH_VERIFIER, BENCH_AUTHQ.
cat > "$work/client.lua" <<'LUA'
local flow = os.getenv("BENCH_FLOW")
local feedfile = os.getenv("BENCH_FEED") or ""
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local authq = os.getenv("BENCH_AUTHQ")
local rts = {}
for t in string.gmatch(os.getenv("BENCH_RTS") or "", "%S+") do table.insert(rts, t) end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

ok, bad, exhausted, nfeed, firstbad = 0, 0, 0, 0, ""
local feed, pos, fake, pat, make, check = {}, 0, nil, nil, nil, nil
local function has(s, x) return s ~= nil and string.find(s, x, 1, true) ~= nil end

if flow == "redeem" then
  fake, pat = "stt_0_AAAAAAAAAAAAAAAAAAAAAA", "^stt_%d+_" .. string.rep("[%w_-]", 22) .. "$"
  make = function(tok) return wrk.format("GET", authq .. "&session_transfer_token=" .. tok) end
  check = function(status, headers, body)
    local loc = headers["Location"]
    return status == 302 and has(loc, "code=cd_") and not has(loc, "error=")
  end
elseif flow == "code" then
  fake, pat = "cd_0_AAAAAAAAAAAAAAAAAAAAAA", "^cd_%d+_" .. string.rep("[%w_-]", 22) .. "$"
  local hdrs = {["Content-Type"] = "application/x-www-form-urlencoded"}
  local pre = "grant_type=authorization_code&client_id=demo-web&client_secret=demo-web-secret" ..
              "&redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Fcallback&code_verifier=" ..
              os.getenv("BENCH_VERIFIER") .. "&code="
  make = function(tok) return wrk.format("POST", "/oauth/token", hdrs, pre .. tok) end
  check = function(status, headers, body)
    return status == 200 and has(body, '"id_token":"eyJ') and has(body, '"access_token":"') and
           has(body, '"refresh_token":"')
  end
elseif flow == "mint" then
  check = function(status, headers, body)
    return status == 200 and has(body, '"access_token":"stt_') and has(body, '"id_token":"eyJ')
  end
elseif flow == "refresh" then
  check = function(status, headers, body)
    return status == 200 and has(body, '"access_token":"') and has(body, '"id_token":"eyJ')
  end
elseif flow == "discovery" then
  check = function(status, headers, body) return status == 200 and has(body, '"jwks_uri":"') end
elseif flow == "jwks" then
  check = function(status, headers, body) return status == 200 and has(body, '"keys":[{') end
else
  check = function(status, headers, body) return status == 200 and has(body, '"status":"ok"') end
end

function init(args)
  local rt = rts[(tid % math.max(#rts, 1)) + 1] or ""
  if flow == "mint" then
    wrk.method, wrk.path = "POST", "/oauth/token"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = '{"client_id":"bench-native","refresh_token":"' .. rt ..
               '","grant_type":"refresh_token","audience":"urn:127.0.0.1:session_transfer"}'
  elseif flow == "refresh" then
    wrk.method, wrk.path = "POST", "/oauth/token"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    wrk.body = "grant_type=refresh_token&client_id=demo-web&client_secret=demo-web-secret&refresh_token=" .. rt
  end
  if make and feedfile ~= "" then
    local i = 0
    for line in io.lines(feedfile) do
      if string.match(line, pat) then
        if i % nthreads == tid then nfeed = nfeed + 1; feed[nfeed] = line end
        i = i + 1
      end
    end
  end
end

if make then
  function request()
    local tok = fake
    if feedfile ~= "" then
      pos = pos + 1
      if pos <= nfeed then tok = feed[pos] else exhausted = exhausted + 1 end
    end
    return make(tok)
  end
end

function response(status, headers, body)
  if check(status, headers, body) then
    ok = ok + 1
  else
    bad = bad + 1
    if firstbad == "" then
      firstbad = status .. " " .. (headers["Location"] or "") .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local o, b, e, f, fb = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    o, b, e, f = o + t:get("ok"), b + t:get("bad"), e + t:get("exhausted"), f + t:get("nfeed")
    if fb == "" then fb = t:get("firstbad") end
  end
  io.write(string.format("BENCH ok=%d bad=%d exhausted=%d fed=%d\n", o, b, e, f))
  io.write("BENCH_FIRSTBAD " .. string.gsub(fb, "%c", " ") .. "\n")
end
LUA

# The producer of single-use artifacts: STTs (the mint, with a refresh token granted only
# offline_access: no ID token) or codes (/authorize with a browser session cookie). Each wrk thread
# appends what it got to BENCH_OUT.<tid>; the suite stops wrk once the files hold its target.
cat > "$work/produce.lua" <<'LUA'
local kind = os.getenv("BENCH_KIND")
local prefix = os.getenv("BENCH_OUT")
local authq = os.getenv("BENCH_AUTHQ")
local rts, sessions = {}, {}
for t in string.gmatch(os.getenv("BENCH_RTS") or "", "%S+") do table.insert(rts, t) end
for t in string.gmatch(os.getenv("BENCH_SESSIONS") or "", "%S+") do table.insert(sessions, t) end
local count = 0
function setup(thread) thread:set("tid", count); count = count + 1 end
function init(args)
  if kind == "stt" then
    wrk.method, wrk.path = "POST", "/oauth/token"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = '{"client_id":"bench-native","refresh_token":"' .. rts[(tid % #rts) + 1] ..
               '","grant_type":"refresh_token","audience":"urn:127.0.0.1:session_transfer"}'
  else
    wrk.method, wrk.path = "GET", authq
    wrk.headers["Cookie"] = "handoff_session=" .. sessions[(tid % #sessions) + 1]
  end
  out = assert(io.open(prefix .. "." .. tid, "w"))
  n = 0
end
function response(status, headers, body)
  local tok
  if kind == "stt" then
    if status == 200 then tok = string.match(body, '"access_token":"(stt_[%w_-]+)"') end
  elseif status == 302 and headers["Location"] then
    tok = string.match(headers["Location"], "[?&]code=(cd_[%w_-]+)")
  end
  if tok then
    out:write(tok, "\n")
    n = n + 1
    if n % 256 == 0 then out:flush() end
  end
end
LUA

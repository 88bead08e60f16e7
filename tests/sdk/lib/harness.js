'use strict';
// What every SDK test shares: a handoffd of its own over HTTPS on 127.0.0.1 (a port it picks),
// the tenant it serves (written to a config file here), the native app's side of Native to Web
// SSO, a small browser stand-in (fetch + a cookie jar) and a test runner.
//
// tests/sdk/run-node sets HANDOFFD, HANDOFF_TEST_CERTS (tools/gen-test-certs output),
// HANDOFF_TEST_WORK (a temporary directory removed afterwards) and NODE_EXTRA_CA_CERTS.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const readline = require('node:readline');

// ── the tenant ──────────────────────────────────────────────────────────────────────────────

// The user the native app logs in as, and another one (so that a sub check can tell them apart).
const USER = { id: 'auth0|sdk-user-42', email: 'native.user@example.com', password: 'native-user-password', name: 'Native User' };
const OTHER = { id: 'auth0|sdk-user-7', email: 'other.user@example.com', password: 'other-user-password', name: 'Other User' };

// A native client with a secret (the `auth0` Node SDK's AuthenticationClient refuses to send a
// grant without client authentication), and a public one, as Auth0.swift/Auth0.Android use.
const NATIVE = { id: 'sdk-native', secret: 'sdk-native-secret-0123456789' };
const NATIVE_PUBLIC = { id: 'sdk-native-public' };
// A machine client for the management API (ManagementClient: client_credentials, no scope asked).
const M2M = { id: 'sdk-m2m', secret: 'sdk-m2m-secret-0123456789' };
const WEB = { id: 'sdk-web', secret: 'sdk-web-secret-0123456789abcdef' };
// A single-page app (public, PKCE), present when startHandoff gets spaOrigin.
const SPA = { id: 'sdk-spa' };
const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const STT_TYPE = 'urn:auth0:params:oauth:token-type:session_transfer_token';
const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';

function toml(s) {
  return JSON.stringify(s);  // a TOML basic string is a JSON string for what we write
}

// The tenant: the two native clients may mint STTs (rotating refresh tokens, as Auth0 mobile
// apps are usually configured), the web client accepts them by query and by cookie. With
// `spaOrigin`, an SPA client too: callback SPAORIGIN/, web_origins [SPAORIGIN] (CORS).
function tenantConfig(webCallbacks, webLogoutUrls, spaOrigin) {
  const nativeGrants = ['authorization_code', 'refresh_token', 'password', PASSWORD_REALM];
  const native = (id, secret) => [
    '[[clients]]',
    `client_id = ${toml(id)}`,
    secret ? `client_secret = ${toml(secret)}` : '',
    'app_type = "native"',
    `token_endpoint_auth_method = ${toml(secret ? 'client_secret_post' : 'none')}`,
    `grant_types = [${nativeGrants.map(toml).join(', ')}]`,
    'callbacks = ["com.example.handoff://callback"]',
    'refresh_token = { rotation_type = "rotating", leeway = 0 }',
    '[clients.session_transfer]',
    'can_create_session_transfer_token = true',
    '',
  ].join('\n');
  return [
    native(NATIVE.id, NATIVE.secret),
    native(NATIVE_PUBLIC.id, null),
    '[[clients]]',
    `client_id = ${toml(M2M.id)}`,
    `client_secret = ${toml(M2M.secret)}`,
    'app_type = "non_interactive"',
    'grant_types = ["client_credentials"]',
    '',
    '[[clients]]',
    `client_id = ${toml(WEB.id)}`,
    `client_secret = ${toml(WEB.secret)}`,
    'app_type = "regular_web"',
    'grant_types = ["authorization_code", "refresh_token"]',
    `callbacks = [${webCallbacks.map(toml).join(', ')}]`,
    `allowed_logout_urls = [${(webLogoutUrls || []).map(toml).join(', ')}]`,
    'refresh_token = { rotation_type = "rotating", leeway = 0 }',
    '[clients.session_transfer]',
    'allowed_authentication_methods = ["cookie", "query"]',
    'enforce_device_binding = "ip"',
    'allow_refresh_token = true',
    '',
    ...(spaOrigin ? [
      '[[clients]]',
      `client_id = ${toml(SPA.id)}`,
      'app_type = "spa"',
      'token_endpoint_auth_method = "none"',
      'grant_types = ["authorization_code", "refresh_token"]',
      `callbacks = [${toml(spaOrigin + '/')}]`,
      `web_origins = [${toml(spaOrigin)}]`,
      '[clients.session_transfer]',
      'allowed_authentication_methods = ["cookie", "query"]',
      '',
    ] : []),
    ...[OTHER, USER].map((u) => [
      '[[users]]',
      `user_id = ${toml(u.id)}`,
      `email = ${toml(u.email)}`,
      `password = ${toml(u.password)}`,
      `name = ${toml(u.name)}`,
      'email_verified = true',
      '',
    ].join('\n')),
  ].join('\n');
}

// ── the server ──────────────────────────────────────────────────────────────────────────────

// Starts handoffd over HTTPS on 127.0.0.1:0 with the tenant above. Resolves to
// { issuer: 'https://127.0.0.1:PORT/', base, host, port, stop() }.
async function startHandoff({ webCallbacks, webLogoutUrls, spaOrigin } = {}) {
  const work = process.env.HANDOFF_TEST_WORK;
  const certs = process.env.HANDOFF_TEST_CERTS;
  assert.ok(process.env.HANDOFFD && work && certs, 'run me through tests/sdk/run-node');
  const dir = fs.mkdtempSync(path.join(work, 'handoffd-'));
  const configFile = path.join(dir, 'handoff.toml');
  fs.writeFileSync(configFile, tenantConfig(webCallbacks || ['http://127.0.0.1:3000/callback'], webLogoutUrls, spaOrigin));
  const args = ['--config', configFile, '--listen-tls', '127.0.0.1:0',
    '--tls-cert', path.join(certs, 'server.pem'), '--tls-key', path.join(certs, 'server.key'),
    '--threads', '2', '--no-pin', '--data-dir', path.join(dir, 'data'), '--log-level', 'warn'];
  const proc = spawn(process.env.HANDOFFD, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-8000); });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('handoffd did not start in 20 s:\n' + stderr)), 20000);
    const lines = readline.createInterface({ input: proc.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`handoffd said ${JSON.stringify(line)}:\n${stderr}`));
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`handoffd exited ${code}:\n${stderr}`)); });
  });
  proc.stdout.resume();
  const host = `127.0.0.1:${port}`;
  return {
    issuer: `https://${host}/`,
    base: `https://${host}`,
    host,
    port,
    stderr: () => stderr,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve(proc.exitCode);
      proc.once('exit', (code) => resolve(code));
      proc.kill('SIGTERM');
    }),
  };
}

// ── the native app ──────────────────────────────────────────────────────────────────────────

async function postJson(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
}

// Auth0.swift's login(usernameOrEmail:password:realmOrConnection:audience:scope:) and
// Auth0.Android's login(usernameOrEmail, password, realmOrConnection): a JSON password-realm
// grant from the public native client.
async function nativeLogin(server, user = USER) {
  const r = await postJson(server.base + '/oauth/token', {
    grant_type: PASSWORD_REALM, client_id: NATIVE_PUBLIC.id, username: user.email, password: user.password,
    realm: 'Username-Password-Authentication', scope: 'openid profile email offline_access',
  });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.refresh_token, 'a refresh token for offline_access');
  return r.json;
}

// Auth0.swift's ssoExchange(withRefreshToken:) — the exact body it sends (Auth0.Android's
// ssoExchange sends the same fields): a refresh-token grant whose audience is
// "urn:" + the host of the domain (no port, Swift uses URL.host) + ":session_transfer".
async function mintStt(server, refreshToken) {
  const r = await postJson(server.base + '/oauth/token', {
    client_id: NATIVE_PUBLIC.id, grant_type: 'refresh_token', refresh_token: refreshToken,
    audience: 'urn:127.0.0.1:session_transfer',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.issued_token_type, STT_TYPE);
  assert.equal(r.json.token_type, 'N_A');
  return r.json;
}

// A logged-in native app's fresh STT.
async function nativeStt(server, user = USER) {
  const login = await nativeLogin(server, user);
  return (await mintStt(server, login.refresh_token)).access_token;
}

// ── the browser stand-in ────────────────────────────────────────────────────────────────────

// fetch with a cookie jar, one request at a time (no redirects followed by fetch itself).
class Browser {
  constructor() { this.jar = new Map(); }  // "host|name" → value (enough for 127.0.0.1 tests)

  cookieHeader(url) {
    const host = new URL(url).host;
    const pairs = [];
    for (const [key, value] of this.jar) {
      const [h, name] = key.split('|');
      if (h === host) pairs.push(`${name}=${value}`);
    }
    return pairs.join('; ');
  }

  setCookie(url, name, value) { this.jar.set(`${new URL(url).host}|${name}`, value); }
  cookie(url, name) { return this.jar.get(`${new URL(url).host}|${name}`); }

  async request(url, { method = 'GET', form } = {}) {
    const headers = {};
    const cookies = this.cookieHeader(url);
    if (cookies) headers.Cookie = cookies;
    let body;
    if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) ||
        (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
      const key = `${new URL(url).host}|${name}`;
      if (expired) this.jar.delete(key);
      else this.jar.set(key, value);
    }
    return { status: res.status, location: res.headers.get('location'), headers: res.headers, text: await res.text() };
  }

  // Follows redirects from `url` while they stay on `origin`; returns the first answer that is
  // not a redirect there, or the redirect that leaves it (the callback, with its URL in .url).
  async follow(url, origin, maxHops = 10) {
    for (let i = 0; i < maxHops; i++) {
      const r = await this.request(url);
      if (r.status < 300 || r.status >= 400 || !r.location) return { ...r, url };
      const next = new URL(r.location, url).toString();
      if (!next.startsWith(origin)) return { ...r, url: next };
      url = next;
    }
    throw new Error('too many redirects from ' + url);
  }
}

function hiddenField(page, name) {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(page);
  assert.ok(m, `no hidden field ${name} in the login page`);
  return m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

// Plays a user at handoff's hosted login page: /authorize → /u/login form → POST → /authorize →
// the redirect to the client. Returns the callback URL (with code, state, iss).
async function loginThroughPage(server, browser, authorizeUrl, user = USER) {
  const page = await browser.follow(authorizeUrl, server.base);
  assert.equal(page.status, 200, `expected the login page, got ${page.status} ${page.url}`);
  assert.ok(new URL(page.url).pathname === '/u/login' && page.text.includes('<form'), 'the hosted login form');
  const post = await browser.request(server.base + '/u/login', {
    method: 'POST',
    form: { csrf: hiddenField(page.text, 'csrf'), q: hiddenField(page.text, 'q'), email: user.email, password: user.password },
  });
  assert.ok(post.status === 302 || post.status === 303, `login POST answered ${post.status}: ${post.text}`);
  const back = await browser.follow(new URL(post.location, server.base).toString(), server.base);
  assert.ok(back.status >= 300 && back.status < 400, `expected a redirect to the client, got ${back.status}`);
  return back.url;
}

function decodeJwt(jwt) {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
}

// The base64 SHA-256 of a certificate's SubjectPublicKeyInfo (chromium's
// --ignore-certificate-errors-spki-list takes these).
function spkiHash(pemFile) {
  const cert = new crypto.X509Certificate(fs.readFileSync(pemFile));
  const der = cert.publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

// Debian's chromium through playwright-core, trusting only this run's test server key.
async function launchChromium() {
  const { chromium } = require('playwright-core');
  const spki = spkiHash(path.join(process.env.HANDOFF_TEST_CERTS, 'server.pem'));
  return chromium.launch({
    executablePath: process.env.HANDOFF_CHROMIUM || '/usr/bin/chromium',
    args: [`--ignore-certificate-errors-spki-list=${spki}`],
    timeout: 30000,
  });
}

// ── the runner ──────────────────────────────────────────────────────────────────────────────

// Runs the named async tests in order with a shared context; prints "ok"/"FAIL" per test and
// "N passed, M failed"; exits 1 on any failure. `setup` returns the context; `teardown` gets it.
// A test marked `critical` that fails ends the run (the rest depend on it).
async function run(name, tests, { setup, teardown } = {}) {
  const started = Date.now();
  let passed = 0;
  let failed = 0;
  let ctx;
  try {
    ctx = setup ? await setup() : {};
  } catch (e) {
    console.log(`FAIL ${name}: setup`);
    console.log(e && e.stack || e);
    process.exit(1);
  }
  for (const t of tests) {
    const t0 = Date.now();
    try {
      await t(ctx);
      passed++;
      console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}`);
      console.log(e && e.stack || e);
      if (t.critical) break;
    }
  }
  try {
    if (teardown) await teardown(ctx);
  } catch (e) {
    failed++;
    console.log('FAIL teardown');
    console.log(e && e.stack || e);
  }
  console.log(`${name}: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exit(failed ? 1 : 0);
}

module.exports = {
  USER, OTHER, NATIVE, NATIVE_PUBLIC, M2M, WEB, SPA, PASSWORD_REALM, STT_TYPE, REFRESH_TOKEN_TYPE,
  startHandoff, postJson, nativeLogin, mintStt, nativeStt, Browser, loginThroughPage, decodeJwt, spkiHash, launchChromium, run,
};

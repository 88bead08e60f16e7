#!/usr/bin/env node
'use strict';
// A native-app simulator for Native to Web SSO against handoff: it sends what Auth0.swift /
// Auth0.Android send, then opens the web app (examples/web-app.js) logged in.
//
//   node examples/native-app.js [--issuer URL] [--web URL] [--open [--transport query|cookie]]
//
//  1. logs in: Auth0.swift's loginDefaultDirectory (a JSON `password` grant) as
//     demo@example.com, or with --realm NAME a `password-realm` grant (Auth0.swift's
//     login(usernameOrEmail:password:realmOrConnection:)), scope openid profile email
//     offline_access: access, ID and refresh tokens;
//  2. trades the refresh token for a session transfer token (STT), byte for byte Auth0.swift's
//     ssoExchange: {"client_id","grant_type":"refresh_token","refresh_token",
//     "audience":"urn:<issuer host>:session_transfer"};
//  3. prints the web app's login URL carrying the STT (single use, 60 s, bound to this machine's
//     IP: open it on this machine), or with --open opens it in chromium (playwright-core, Debian's
//     /usr/bin/chromium, headless unless --headed) and prints whom the web app says is logged in.
//     --transport cookie sets the STT as the `auth0_session_transfer_token` cookie on handoff's
//     domain, as a native app does in its WebView, and opens the plain /login.
//
// Options: --client-id (demo-native), --username (demo@example.com), --password (demo-password),
// --realm NAME, --web (http://127.0.0.1:3000), --tls-cert FILE (with an https issuer and --open:
// the server certificate chromium should accept, e.g. tools/gen-test-certs' server.pem; node
// itself trusts a test CA through NODE_EXTRA_CA_CERTS=CA.pem).
// Exits 0 when every step answered as expected (with --open: when the web app is logged in as
// the native app's user).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const flag = (name) => process.argv.includes(name);

const issuer = option('--issuer', 'http://127.0.0.1:8080').replace(/\/$/, '');
const web = option('--web', 'http://127.0.0.1:3000').replace(/\/$/, '');
const clientId = option('--client-id', 'demo-native');
const username = option('--username', 'demo@example.com');
const password = option('--password', 'demo-password');
const realm = option('--realm', null);
const transport = option('--transport', 'query');
const short = (t) => (t ? `${t.slice(0, 10)}…` : String(t));

async function tokenRequest(body) {
  const res = await fetch(`${issuer}/oauth/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (res.status !== 200) throw new Error(`/oauth/token answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
}

async function main() {
  console.log(`== 1. The native app logs in (${clientId}, ${username})`);
  const login = await tokenRequest(realm
    ? { grant_type: 'http://auth0.com/oauth/grant-type/password-realm', client_id: clientId, username, password, realm,
      scope: 'openid profile email offline_access' }
    : { grant_type: 'password', client_id: clientId, username, password, scope: 'openid profile email offline_access' });
  const user = claims(login.id_token);
  console.log(`   sub ${user.sub}; refresh token ${short(login.refresh_token)}`);

  console.log('== 2. It trades its refresh token for a session transfer token');
  const host = new URL(issuer).hostname;
  const stt = await tokenRequest({
    client_id: clientId, grant_type: 'refresh_token', refresh_token: login.refresh_token,
    audience: `urn:${host}:session_transfer`,
  });
  if (stt.issued_token_type !== 'urn:auth0:params:oauth:token-type:session_transfer_token' || stt.token_type !== 'N_A') {
    throw new Error(`not a session transfer token: ${JSON.stringify(stt)}`);
  }
  console.log(`   STT ${short(stt.access_token)} (expires in ${stt.expires_in} s, single use)` +
    (stt.refresh_token ? `; rotated refresh token ${short(stt.refresh_token)}` : ''));

  const loginUrl = transport === 'cookie'
    ? `${web}/login`
    : `${web}/login?session_transfer_token=${encodeURIComponent(stt.access_token)}`;
  if (!flag('--open')) {
    console.log('== 3. Open this within 60 s in a browser on this machine:');
    console.log(`   ${loginUrl}`);
    return;
  }

  console.log(`== 3. A browser opens the web app (STT by ${transport})`);
  const sdkRequire = createRequire(path.join(__dirname, '..', 'tests', 'sdk', 'package.json'));
  const { chromium } = sdkRequire('playwright-core');
  const args = [];
  const cert = option('--tls-cert', null);
  if (cert) {
    const der = new crypto.X509Certificate(fs.readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
    args.push(`--ignore-certificate-errors-spki-list=${crypto.createHash('sha256').update(der).digest('base64')}`);
  }
  const browser = await chromium.launch({
    executablePath: process.env.HANDOFF_CHROMIUM || '/usr/bin/chromium', headless: !flag('--headed'), args,
  });
  try {
    const context = await browser.newContext();
    if (transport === 'cookie') {
      await context.addCookies([{
        name: 'auth0_session_transfer_token', value: stt.access_token, domain: host, path: '/',
        secure: issuer.startsWith('https:'), sameSite: issuer.startsWith('https:') ? 'None' : 'Lax',
      }]);
    }
    const page = await context.newPage();
    await page.goto(loginUrl);
    const status = (await page.textContent('#status').catch(() => null)) || `(no status; at ${page.url()})`;
    console.log(`   ${page.url()}: ${status.trim()}`);
    const who = await page.evaluate(() => fetch('/whoami').then((r) => r.json())).catch(() => null);
    if (!who || who.sub !== user.sub) throw new Error(`the web app is not logged in as ${user.sub}`);
    console.log(`   the web app is logged in as the native app's user: ${who.sub}`);
    if (flag('--headed')) await page.waitForEvent('close', { timeout: 0 });
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`native-app: ${e.message}`);
  process.exit(1);
});

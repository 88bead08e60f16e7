'use strict';
// auth0-spa-js (Auth0's SPA SDK, its browser bundle unchanged) in chromium against handoff over
// HTTPS: the SPA runs the code flow with PKCE and exchanges the code itself, with a cross-origin
// fetch to /oauth/token (an Auth0-Client header, so a CORS preflight first). handoff answers CORS
// for origins a client lists in web_origins / allowed_origins.
//
//  1. the STT through loginWithRedirect({authorizationParams: {session_transfer_token}});
//  2. the STT as the auth0_session_transfer_token cookie on handoff's domain, plain loginWithRedirect;
//  3. CORS itself: the preflight and the answers carry Access-Control-Allow-Origin for the SPA's
//     origin only.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const h = require('./lib/harness');

const BUNDLE = require.resolve('@auth0/auth0-spa-js/dist/auth0-spa-js.production.js');

// The SPA: ?stt=… logs in with that STT, ?login=1 logs in plainly, ?code&state finishes a login;
// #user then shows getUser() as JSON ("anonymous" when not logged in), #error any failure.
function page(domain) {
  return `<!doctype html><meta charset="utf-8"><title>spa</title>
<pre id="user"></pre><pre id="error"></pre>
<script src="/auth0-spa-js.js"></script>
<script>
(async () => {
  const params = new URLSearchParams(location.search);
  try {
    const client = await auth0.createAuth0Client({
      domain: ${JSON.stringify(domain)}, clientId: ${JSON.stringify(h.SPA.id)},
      authorizationParams: { redirect_uri: location.origin + '/', scope: 'openid profile email' },
    });
    if (params.has('code') && params.has('state')) {
      await client.handleRedirectCallback();
      history.replaceState({}, '', '/');
    } else if (params.has('stt')) {
      return client.loginWithRedirect({ authorizationParams: { session_transfer_token: params.get('stt') } });
    } else if (params.has('login')) {
      return client.loginWithRedirect();
    }
    const user = await client.getUser();
    document.getElementById('user').textContent = user ? JSON.stringify(user) : 'anonymous';
  } catch (e) {
    document.getElementById('error').textContent = String((e && (e.error_description || e.message)) || e);
    document.getElementById('user').textContent = 'error';
  }
})();
</script>`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function open(ctx, url, setup) {
  const context = await ctx.browser.newContext();
  if (setup) await setup(context);
  const p = await context.newPage();
  const seen = { loginPages: [], tokenAnswers: [] };
  p.on('request', (r) => { if (r.url().startsWith(ctx.server.base + '/u/login')) seen.loginPages.push(r.url()); });
  p.on('response', (r) => {
    if (r.url() === ctx.server.base + '/oauth/token' && r.request().method() === 'POST') {
      seen.tokenAnswers.push({ status: r.status(), acao: r.headers()['access-control-allow-origin'] });
    }
  });
  await p.goto(url);
  await p.waitForFunction(() => document.getElementById('user').textContent !== '', null, { timeout: 20000 });
  const text = await p.textContent('#user');
  const error = await p.textContent('#error');
  await context.close();
  return { user: text.startsWith('{') ? JSON.parse(text) : null, text, error, ...seen };
}

async function stt_through_login_with_redirect(ctx) {
  const stt = await h.nativeStt(ctx.server);
  const r = await open(ctx, `${ctx.spaOrigin}/?stt=${encodeURIComponent(stt)}`);
  assert.ok(r.user, `the SPA is logged in (${r.text} ${r.error})`);
  assert.equal(r.user.sub, h.USER.id, 'as the native user');
  assert.equal(r.user.email, h.USER.email);
  assert.deepEqual(r.loginPages, [], 'no login page on the way');
  assert.deepEqual(r.tokenAnswers, [{ status: 200, acao: ctx.spaOrigin }], 'one code exchange, readable by the SPA');
}

async function stt_in_a_cookie_on_handoffs_domain(ctx) {
  const stt = await h.nativeStt(ctx.server);
  const r = await open(ctx, `${ctx.spaOrigin}/?login=1`, (context) => context.addCookies([{
    name: 'auth0_session_transfer_token', value: stt, domain: '127.0.0.1', path: '/', secure: true, sameSite: 'None',
  }]));
  assert.ok(r.user, `the SPA is logged in (${r.text} ${r.error})`);
  assert.equal(r.user.sub, h.USER.id, 'as the native user');
  assert.deepEqual(r.loginPages, [], 'no login page on the way');
}

async function cors_for_listed_origins_only(ctx) {
  const preflight = (origin) => fetch(ctx.server.base + '/oauth/token', {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'auth0-client,content-type' },
  });
  const ok = await preflight(ctx.spaOrigin);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), ctx.spaOrigin);
  assert.match(ok.headers.get('access-control-allow-methods'), /POST/);
  assert.match(ok.headers.get('access-control-allow-headers').toLowerCase(), /auth0-client/);
  const other = await preflight('http://127.0.0.1:1');
  assert.equal(other.headers.get('access-control-allow-origin'), null);
  // An error answer is readable by the SPA too (it shows the error), not by another origin.
  const post = (origin) => fetch(ctx.server.base + '/oauth/token', {
    method: 'POST', headers: { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: h.SPA.id, code: 'nope', code_verifier: 'x'.repeat(43), redirect_uri: ctx.spaOrigin + '/' }),
  });
  const bad = await post(ctx.spaOrigin);
  assert.equal(bad.status, 403);
  assert.equal(bad.headers.get('access-control-allow-origin'), ctx.spaOrigin);
  assert.equal((await post('http://127.0.0.1:1')).headers.get('access-control-allow-origin'), null);
}

h.run('auth0-spa-js (chromium)', [
  stt_through_login_with_redirect,
  stt_in_a_cookie_on_handoffs_domain,
  cors_for_listed_origins_only,
], {
  setup: async () => {
    const port = await freePort();
    const spaOrigin = `http://127.0.0.1:${port}`;
    const server = await h.startHandoff({ spaOrigin });
    const bundle = fs.readFileSync(BUNDLE);
    const html = page(server.host);
    const spa = http.createServer((req, res) => {
      if (req.url.startsWith('/auth0-spa-js.js')) {
        res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
      } else if (req.url === '/' || req.url.startsWith('/?')) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise((resolve) => spa.listen(port, '127.0.0.1', resolve));
    return { server, spa, spaOrigin, browser: await h.launchChromium() };
  },
  teardown: async (ctx) => {
    await ctx.browser.close();
    await new Promise((resolve) => ctx.spa.close(resolve));
    assert.equal(await ctx.server.stop(), 0, 'handoffd exits 0 on SIGTERM');
  },
});

'use strict';
// Native to Web SSO in a real browser: Debian's chromium, driven by playwright-core, opens a web
// app built on express-openid-connect (Auth0's Express SDK; it runs the code flow with PKCE and
// validates the ID token server side) whose login route passes a session transfer token on to
// handoff's /authorize, as Auth0's documentation shows. The native app's side — password-realm
// login and the mint, as Auth0.swift sends them — is played by this test in node.
//
//  1. the STT as the `session_transfer_token` query parameter (authorizationParams);
//  2. the STT as the `auth0_session_transfer_token` cookie on handoff's domain (what a native app
//     sets in its WebView's cookie store), the web app's login route untouched;
//  3. a used STT: the browser stops at handoff's login page (nobody is logged in);
//  4. a browser already logged in to handoff as someone else: the STT ends that session and the
//     login page is shown (SPEC.md §3).
//
// Chromium trusts handoff's certificate by its public key only
// (--ignore-certificate-errors-spki-list with the hash of this run's test leaf): nothing else is
// relaxed. The web app itself is plain http on 127.0.0.1, a secure context for browsers.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const express = require('express');
const { auth } = require('express-openid-connect');
const h = require('./lib/harness');

// The web app: /login (optionally with ?session_transfer_token=…), /callback (the SDK's),
// /profile (who is logged in, as JSON in #user; "anonymous" otherwise).
function webApp({ issuer, baseURL }) {
  const app = express();
  app.use(auth({
    issuerBaseURL: issuer,
    baseURL,
    clientID: h.WEB.id,
    clientSecret: h.WEB.secret,
    secret: crypto.randomBytes(32).toString('hex'),
    authRequired: false,
    idpLogout: false,
    routes: { login: false, callback: '/callback' },
    authorizationParams: { response_type: 'code', scope: 'openid profile email' },
  }));
  app.get('/login', (req, res) => {
    const stt = req.query.session_transfer_token;
    // Auth0's documented way: pass the STT through authorizationParams on the login call.
    res.oidc.login({ returnTo: '/profile', authorizationParams: stt ? { session_transfer_token: String(stt) } : {} });
  });
  app.get('/profile', (req, res) => {
    const user = req.oidc.isAuthenticated() ? JSON.stringify(req.oidc.user) : 'anonymous';
    res.type('html').send(`<!doctype html><title>web app</title><h1>Profile</h1><pre id="user">${
      user.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>`);
  });
  app.use((err, req, res, next) => {  // eslint-disable-line no-unused-vars
    res.status(500).type('text').send(`web app error: ${err && err.message}`);
  });
  return app;
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

async function newPage(ctx) {
  const context = await ctx.browser.newContext();
  const page = await context.newPage();
  const loginPages = [];
  page.on('request', (r) => { if (r.url().startsWith(ctx.server.base + '/u/login')) loginPages.push(r.url()); });
  return { context, page, loginPages };
}

async function profileOf(page) {
  const text = await page.textContent('#user');
  return text === 'anonymous' ? null : JSON.parse(text);
}

async function stt_in_the_query(ctx) {
  const stt = await h.nativeStt(ctx.server);
  const { context, page, loginPages } = await newPage(ctx);
  await page.goto(`${ctx.webBase}/login?session_transfer_token=${encodeURIComponent(stt)}`);
  assert.equal(page.url(), `${ctx.webBase}/profile`);
  const user = await profileOf(page);
  assert.ok(user, 'the page is logged in');
  assert.equal(user.sub, h.USER.id, 'as the native user');
  assert.equal(user.email, h.USER.email);
  assert.deepEqual(loginPages, [], 'no login page on the way');
  const cookies = await context.cookies(ctx.server.base);
  assert.ok(cookies.some((c) => c.name === 'handoff_session' && c.secure && c.httpOnly), 'a handoff session of its own');
  await context.close();
}

async function stt_in_a_cookie_on_handoffs_domain(ctx) {
  const stt = await h.nativeStt(ctx.server);
  const { context, page, loginPages } = await newPage(ctx);
  await context.addCookies([{
    name: 'auth0_session_transfer_token', value: stt, domain: '127.0.0.1', path: '/', secure: true, sameSite: 'None',
  }]);
  await page.goto(`${ctx.webBase}/login`);
  assert.equal(page.url(), `${ctx.webBase}/profile`);
  const user = await profileOf(page);
  assert.ok(user, 'the page is logged in');
  assert.equal(user.sub, h.USER.id, 'as the native user');
  assert.deepEqual(loginPages, [], 'no login page on the way');
  const left = (await context.cookies(ctx.server.base)).filter((c) => c.name === 'auth0_session_transfer_token');
  assert.deepEqual(left, [], 'handoff cleared the STT cookie');
  await context.close();
}

async function used_stt_shows_the_login_page(ctx) {
  const login = await h.nativeLogin(ctx.server);
  const stt = (await h.mintStt(ctx.server, login.refresh_token)).access_token;
  const first = await newPage(ctx);
  await first.page.goto(`${ctx.webBase}/login?session_transfer_token=${encodeURIComponent(stt)}`);
  assert.equal((await profileOf(first.page)).sub, h.USER.id);
  await first.context.close();

  const { context, page } = await newPage(ctx);
  await page.goto(`${ctx.webBase}/login?session_transfer_token=${encodeURIComponent(stt)}`);
  assert.ok(page.url().startsWith(ctx.server.base + '/u/login?'), `expected handoff's login page, got ${page.url()}`);
  assert.ok(await page.isVisible('input[name="password"]'), 'a login form');
  await context.close();
}

async function stt_for_another_user_ends_the_existing_session(ctx) {
  const { context, page } = await newPage(ctx);
  // Log the browser in to handoff as OTHER through the web app's login page.
  await page.goto(`${ctx.webBase}/login`);
  assert.ok(page.url().startsWith(ctx.server.base + '/u/login?'));
  await page.fill('input[name="email"]', h.OTHER.email);
  await page.fill('input[name="password"]', h.OTHER.password);
  await Promise.all([page.waitForURL(`${ctx.webBase}/profile`), page.click('[type="submit"]')]);
  assert.equal((await profileOf(page)).sub, h.OTHER.id);
  const before = (await context.cookies(ctx.server.base)).find((c) => c.name === 'handoff_session');
  assert.ok(before);

  // The native user's STT in the same browser: handoff revokes OTHER's session, shows the login page.
  const stt = await h.nativeStt(ctx.server);
  await page.goto(`${ctx.webBase}/login?session_transfer_token=${encodeURIComponent(stt)}`);
  assert.ok(page.url().startsWith(ctx.server.base + '/u/login?'), `expected handoff's login page, got ${page.url()}`);
  // The old session no longer gives SSO: a fresh login attempt asks for credentials again.
  await page.goto(`${ctx.webBase}/login`);
  assert.ok(page.url().startsWith(ctx.server.base + '/u/login?'), `the old session still worked: ${page.url()}`);
  await context.close();
}

h.run('browser (chromium + express-openid-connect)', [
  stt_in_the_query,
  stt_in_a_cookie_on_handoffs_domain,
  used_stt_shows_the_login_page,
  stt_for_another_user_ends_the_existing_session,
], {
  setup: async () => {
    let app = null;
    const web = http.createServer((req, res) => app(req, res));
    const webPort = await listen(web);
    const webBase = `http://127.0.0.1:${webPort}`;
    const server = await h.startHandoff({ webCallbacks: [`${webBase}/callback`], webLogoutUrls: [`${webBase}/`] });
    app = webApp({ issuer: server.issuer, baseURL: webBase });
    const browser = await h.launchChromium();
    return { server, web, webBase, browser };
  },
  teardown: async (ctx) => {
    await ctx.browser.close();
    await new Promise((resolve) => ctx.web.close(resolve));
    assert.equal(await ctx.server.stop(), 0, 'handoffd exits 0 on SIGTERM');
  },
});

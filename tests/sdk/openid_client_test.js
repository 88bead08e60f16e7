'use strict';
// openid-client (npm, the OpenID Foundation certified relying-party library; v5, which runs on
// Debian 12's node 18 too) against handoff over HTTPS: discovery, the authorization code flow
// with PKCE through the hosted login page, ID token validation by the library (signature from
// the JWKS, iss, aud, nonce, exp, the RFC 9207 iss parameter), userinfo, refresh and revocation;
// then the same web client redeeming a session transfer token minted by the native app.
//
// The browser is played with plain HTTP requests (lib/harness.js Browser: fetch + cookies).

const assert = require('node:assert/strict');
const { Issuer, generators } = require('openid-client');
const h = require('./lib/harness');

const CALLBACK = 'http://127.0.0.1:3000/callback';

function newClient(issuer) {
  return new issuer.Client({
    client_id: h.WEB.id, client_secret: h.WEB.secret, redirect_uris: [CALLBACK], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  });
}

function authRequest(client, extra = {}) {
  const checks = { code_verifier: generators.codeVerifier(), state: generators.state(), nonce: generators.nonce() };
  const url = client.authorizationUrl({
    scope: 'openid profile email offline_access', code_challenge: generators.codeChallenge(checks.code_verifier),
    code_challenge_method: 'S256', state: checks.state, nonce: checks.nonce, ...extra,
  });
  return { url, checks };
}

async function discovery(ctx) {
  const issuer = await Issuer.discover(ctx.server.issuer);
  assert.equal(issuer.issuer, ctx.server.issuer);
  assert.equal(issuer.token_endpoint, ctx.server.base + '/oauth/token');
  assert.equal(issuer.authorization_endpoint, ctx.server.base + '/authorize');
  assert.ok(issuer.code_challenge_methods_supported.includes('S256'));
  const jwks = await (await fetch(issuer.jwks_uri)).json();
  assert.ok(jwks.keys.length >= 1 && jwks.keys[0].kid, 'JWKS has a signing key');
  ctx.issuer = issuer;
  ctx.client = newClient(issuer);
}

async function code_flow_with_pkce(ctx) {
  const { url, checks } = authRequest(ctx.client);
  const browser = new h.Browser();
  const callback = await h.loginThroughPage(ctx.server, browser, url);
  assert.ok(callback.startsWith(CALLBACK + '?'), callback);
  const params = ctx.client.callbackParams(callback);
  assert.equal(params.iss, ctx.server.issuer, 'RFC 9207 iss in the redirect');
  // callback() validates the ID token (signature, iss, aud, azp, nonce, exp, iat) and PKCE.
  const tokens = await ctx.client.callback(CALLBACK, params, checks);
  const claims = tokens.claims();
  assert.equal(claims.sub, h.USER.id);
  assert.equal(claims.email, h.USER.email);
  assert.equal(claims.nonce, checks.nonce);
  assert.ok(claims.sid && claims.auth_time);
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  const info = await ctx.client.userinfo(tokens.access_token);
  assert.equal(info.sub, h.USER.id);
  assert.equal(info.email, h.USER.email);
  ctx.tokens = tokens;
  ctx.loggedIn = browser;
}

async function sso_for_a_second_request(ctx) {
  // The browser keeps handoff's session cookie: no login page the second time.
  const { url, checks } = authRequest(ctx.client);
  const r = await ctx.loggedIn.follow(url, ctx.server.base);
  assert.ok(r.url.startsWith(CALLBACK + '?code='), `expected a code at once, got ${r.status} ${r.url}`);
  const tokens = await ctx.client.callback(CALLBACK, ctx.client.callbackParams(r.url), checks);
  assert.equal(tokens.claims().sub, h.USER.id);
}

async function wrong_nonce_is_rejected_by_the_library(ctx) {
  const { url, checks } = authRequest(ctx.client);
  const r = await ctx.loggedIn.follow(url, ctx.server.base);
  await assert.rejects(ctx.client.callback(CALLBACK, ctx.client.callbackParams(r.url), { ...checks, nonce: 'another' }),
    /nonce mismatch/);
}

async function refresh(ctx) {
  const refreshed = await ctx.client.refresh(ctx.tokens.refresh_token);
  assert.ok(refreshed.access_token && refreshed.access_token !== ctx.tokens.access_token);
  assert.equal(refreshed.claims().sub, h.USER.id);  // the new ID token, validated by the library
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== ctx.tokens.refresh_token, 'rotation');
  ctx.tokens = refreshed;
}

async function revoke(ctx) {
  await ctx.client.revoke(ctx.tokens.refresh_token, 'refresh_token');
  await assert.rejects(ctx.client.refresh(ctx.tokens.refresh_token), (e) => e.error === 'invalid_grant');
}

// Native to Web SSO with a certified RP: the STT rides in the authorization request, a fresh
// browser gets a code without a login page, and the ID token is the native user's.
async function session_transfer_token_in_the_authorization_request(ctx) {
  const login = await h.nativeLogin(ctx.server);
  const minted = await h.mintStt(ctx.server, login.refresh_token);
  const { url, checks } = authRequest(ctx.client, { session_transfer_token: minted.access_token });
  const browser = new h.Browser();
  const r = await browser.follow(url, ctx.server.base);
  assert.ok(r.url.startsWith(CALLBACK + '?code='), `expected a code without a login page, got ${r.status} ${r.url}`);
  assert.ok(browser.cookie(ctx.server.base, 'handoff_session'), 'a browser session of its own');
  const tokens = await ctx.client.callback(CALLBACK, ctx.client.callbackParams(r.url), checks);
  const claims = tokens.claims();
  const native = h.decodeJwt(login.id_token).payload;
  assert.equal(claims.sub, h.USER.id);
  assert.equal(claims.sub, native.sub);
  assert.equal(claims.auth_time, native.auth_time, 'auth_time comes from the native login');
  assert.notEqual(claims.sid, native.sid);
  assert.ok(tokens.refresh_token, 'allow_refresh_token and offline_access');

  // Single use: the same STT in another fresh browser lands on the login page.
  const replay = authRequest(ctx.client, { session_transfer_token: minted.access_token });
  const again = await new h.Browser().follow(replay.url, ctx.server.base);
  assert.equal(new URL(again.url).pathname, '/u/login');

  // Cascade: revoking the native refresh token family revokes the web session's refresh token.
  const res = await fetch(ctx.server.base + '/oauth/revoke', {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: h.NATIVE_PUBLIC.id, token: minted.refresh_token }),
  });
  assert.equal(res.status, 200);
  await assert.rejects(ctx.client.refresh(tokens.refresh_token), (e) => e.error === 'invalid_grant');
}

discovery.critical = true;  // nothing else can run without it

h.run('openid-client', [
  discovery,
  code_flow_with_pkce,
  sso_for_a_second_request,
  wrong_nonce_is_rejected_by_the_library,
  refresh,
  revoke,
  session_transfer_token_in_the_authorization_request,
], {
  setup: async () => ({ server: await h.startHandoff({ webCallbacks: [CALLBACK] }) }),
  teardown: async (ctx) => { assert.equal(await ctx.server.stop(), 0, 'handoffd exits 0 on SIGTERM'); },
});

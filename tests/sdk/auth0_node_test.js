'use strict';
// The `auth0` Node SDK (v4, npm `auth0`) against handoff over HTTPS: AuthenticationClient's
// password-realm login and refresh, each ID token validated by the SDK itself (RS256 against
// https://DOMAIN/.well-known/jwks.json, iss, aud, exp…); then the session transfer token mint,
// both as the SDK sends a refresh grant with an audience and byte for byte as Auth0.swift and
// Auth0.Android send it, plus the RFC 8693 token-exchange form through the SDK's tokenExchange.
//
// ManagementClient (the /api/v2 management API): see the placeholder at the end.

const assert = require('node:assert/strict');
const { AuthenticationClient } = require('auth0');
const h = require('./lib/harness');

function auth0Client(server) {
  // Only the domain changes: the SDK builds https://DOMAIN/oauth/token etc. from it.
  return new AuthenticationClient({ domain: server.host, clientId: h.NATIVE.id, clientSecret: h.NATIVE.secret });
}

async function password_realm_login(ctx) {
  const { data, status } = await ctx.auth.oauth.passwordGrant({
    username: h.USER.email, password: h.USER.password, realm: 'Username-Password-Authentication',
    scope: 'openid profile email offline_access',
  });
  assert.equal(status, 200);
  assert.equal(data.token_type, 'Bearer');
  assert.equal(typeof data.expires_in, 'number');
  assert.ok(data.access_token && data.refresh_token && data.id_token);
  // The SDK validated the ID token already (it throws otherwise); check whose it is.
  const id = h.decodeJwt(data.id_token).payload;
  assert.equal(id.sub, h.USER.id);
  assert.equal(id.aud, h.NATIVE.id);
  assert.equal(id.iss, ctx.server.issuer);
  assert.equal(id.email, h.USER.email);
  assert.equal(id.name, h.USER.name);
  ctx.refreshToken = data.refresh_token;
}

async function password_realm_wrong_password_is_invalid_grant(ctx) {
  await assert.rejects(
    ctx.auth.oauth.passwordGrant({ username: h.USER.email, password: 'not-it', realm: 'Username-Password-Authentication' }),
    (e) => e.statusCode === 403 && e.error === 'invalid_grant' && typeof e.error_description === 'string');
}

async function refresh_token_grant(ctx) {
  const { data } = await ctx.auth.oauth.refreshTokenGrant({ refresh_token: ctx.refreshToken });
  assert.ok(data.access_token && data.id_token);
  assert.equal(h.decodeJwt(data.id_token).payload.sub, h.USER.id);
  // The client rotates refresh tokens: a new one replaces the old.
  assert.ok(data.refresh_token && data.refresh_token !== ctx.refreshToken);
  ctx.refreshToken = data.refresh_token;
}

// What a Node backend holding the user's refresh token does to mint (express-openid-connect's
// requestSessionTransferToken does the same): refreshTokenGrant with the reserved audience. The
// SDK validates the id_token of the answer too.
async function mint_through_refresh_token_grant(ctx) {
  const { data, headers } = await ctx.auth.oauth.refreshTokenGrant({
    refresh_token: ctx.refreshToken, audience: `urn:127.0.0.1:session_transfer`,
  });
  assert.match(data.access_token, /^stt_/);
  assert.equal(data.issued_token_type, h.STT_TYPE);
  assert.equal(data.token_type, 'N_A');
  assert.equal(data.expires_in, 60);
  assert.equal(h.decodeJwt(data.id_token).payload.sub, h.USER.id);
  assert.ok(data.refresh_token && data.refresh_token !== ctx.refreshToken, 'rotation: the successor comes back');
  assert.equal(headers.get('cache-control'), 'no-store');
  ctx.refreshToken = data.refresh_token;
}

// Auth0.swift ssoExchange / Auth0.Android ssoExchange, exactly: JSON, public client, no scope.
async function mint_as_auth0_swift_and_android_send_it(ctx) {
  const login = await h.nativeLogin(ctx.server);
  const r = await h.postJson(ctx.server.base + '/oauth/token', {
    client_id: h.NATIVE_PUBLIC.id, grant_type: 'refresh_token', refresh_token: login.refresh_token,
    audience: 'urn:127.0.0.1:session_transfer',
  }, { 'Auth0-Client': Buffer.from(JSON.stringify({ name: 'Auth0.swift', version: '2.13.0' })).toString('base64url') });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  // SSOCredentials: access_token (the STT), issued_token_type, expires_in (an integer: Android
  // needs an Int), id_token (Swift decodes it as non-optional), refresh_token (rotation is on).
  const keys = Object.keys(r.json).sort();
  assert.deepEqual(keys, ['access_token', 'expires_in', 'id_token', 'issued_token_type', 'refresh_token', 'token_type']);
  assert.match(r.json.access_token, /^stt_/);
  assert.equal(r.json.issued_token_type, h.STT_TYPE);
  assert.equal(r.json.token_type, 'N_A');
  assert.ok(Number.isInteger(r.json.expires_in) && r.json.expires_in === 60);
  const id = h.decodeJwt(r.json.id_token).payload;
  assert.equal(id.sub, h.USER.id);
  assert.equal(id.aud, h.NATIVE_PUBLIC.id);
  assert.notEqual(r.json.refresh_token, login.refresh_token);
  // The rotated successor keeps working: the app stores it (CredentialsManager does).
  const again = await h.mintStt(ctx.server, r.json.refresh_token);
  assert.notEqual(again.access_token, r.json.access_token);
}

async function mint_form_encoded(ctx) {
  const login = await h.nativeLogin(ctx.server);
  const res = await fetch(ctx.server.base + '/oauth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: h.NATIVE_PUBLIC.id, grant_type: 'refresh_token', refresh_token: login.refresh_token,
      audience: 'urn:127.0.0.1:session_transfer',
    }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.issued_token_type, h.STT_TYPE);
}

// RFC 8693's form, through the SDK's CustomTokenExchange (it adds client_id and the secret).
async function mint_through_sdk_token_exchange(ctx) {
  const { data } = await ctx.auth.oauth.passwordGrant({
    username: h.USER.email, password: h.USER.password, realm: 'Username-Password-Authentication',
    scope: 'openid offline_access',
  });
  const out = await ctx.auth.tokenExchange.exchangeToken({
    subject_token: data.refresh_token, subject_token_type: h.REFRESH_TOKEN_TYPE,
    requested_token_type: h.STT_TYPE,
  });
  assert.match(out.access_token, /^stt_/);
  assert.equal(out.issued_token_type, h.STT_TYPE);
  assert.equal(out.token_type, 'N_A');
  assert.equal(out.expires_in, 60);
  assert.equal(h.decodeJwt(out.id_token).payload.sub, h.USER.id);
}

async function mint_with_another_host_is_refused(ctx) {
  const { data } = await ctx.auth.oauth.passwordGrant({
    username: h.USER.email, password: h.USER.password, realm: 'Username-Password-Authentication',
    scope: 'openid offline_access',
  });
  await assert.rejects(
    ctx.auth.oauth.refreshTokenGrant({ refresh_token: data.refresh_token, audience: 'urn:evil.example:session_transfer' }),
    (e) => e.statusCode === 403 && e.error === 'access_denied');
}

async function mint_with_a_revoked_refresh_token_is_invalid_grant(ctx) {
  const { data } = await ctx.auth.oauth.passwordGrant({
    username: h.USER.email, password: h.USER.password, realm: 'Username-Password-Authentication',
    scope: 'openid offline_access',
  });
  await ctx.auth.oauth.revokeRefreshToken({ token: data.refresh_token });
  await assert.rejects(
    ctx.auth.oauth.refreshTokenGrant({ refresh_token: data.refresh_token, audience: 'urn:127.0.0.1:session_transfer' }),
    (e) => e.statusCode === 403 && e.error === 'invalid_grant');
}

// ── ManagementClient ────────────────────────────────────────────────────────────────────────
// The management API (/api/v2: clients with session_transfer, users, sessions, refresh tokens,
// logs) is issue 9's other half. Its ManagementClient tests go here, e.g.
//   const { ManagementClient } = require('auth0');
//   const mgmt = new ManagementClient({ domain: server.host, clientId: 'sdk-m2m', clientSecret: … });
//   await mgmt.clients.get({ client_id: h.NATIVE.id })  → data.session_transfer…
// with an m2m client (client_credentials, audience https://DOMAIN/api/v2/) added to
// lib/harness.js's tenantConfig. Add the functions to `managementTests` below.
const managementTests = [];

h.run('auth0 Node SDK', [
  password_realm_login,
  password_realm_wrong_password_is_invalid_grant,
  refresh_token_grant,
  mint_through_refresh_token_grant,
  mint_as_auth0_swift_and_android_send_it,
  mint_form_encoded,
  mint_through_sdk_token_exchange,
  mint_with_another_host_is_refused,
  mint_with_a_revoked_refresh_token_is_invalid_grant,
  ...managementTests,
], {
  setup: async () => {
    const server = await h.startHandoff();
    return { server, auth: auth0Client(server) };
  },
  teardown: async (ctx) => { assert.equal(await ctx.server.stop(), 0, 'handoffd exits 0 on SIGTERM'); },
});

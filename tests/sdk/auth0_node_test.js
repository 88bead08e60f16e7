'use strict';
// The `auth0` Node SDK (v4, npm `auth0`) against handoff over HTTPS: AuthenticationClient's
// password-realm login and refresh, each ID token validated by the SDK itself (RS256 against
// https://DOMAIN/.well-known/jwks.json, iss, aud, exp…); then the session transfer token mint,
// both as the SDK sends a refresh grant with an audience and byte for byte as Auth0.swift and
// Auth0.Android send it, plus the RFC 8693 token-exchange form through the SDK's tokenExchange.
//
// ManagementClient (the /api/v2 management API): clients with session_transfer, users, a user's
// refresh tokens and sessions, with the SDK's own token fetching (see the end).

const assert = require('node:assert/strict');
const { AuthenticationClient, ManagementClient } = require('auth0');
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
// The management API through the SDK's ManagementClient, configured as an app configures it
// against Auth0 (domain, m2m client id and secret): it fetches its own token (client_credentials,
// audience https://DOMAIN/api/v2/, no scope) and calls /api/v2 with Auth0's paths and shapes.

function managementClient(server) {
  return new ManagementClient({ domain: server.host, clientId: h.M2M.id, clientSecret: h.M2M.secret });
}

async function management_reads_a_client_with_session_transfer(ctx) {
  const { data, status } = await ctx.mgmt.clients.get({ client_id: h.NATIVE_PUBLIC.id });
  assert.equal(status, 200);
  assert.equal(data.client_id, h.NATIVE_PUBLIC.id);
  assert.equal(data.app_type, 'native');
  assert.equal(data.token_endpoint_auth_method, 'none');
  assert.deepEqual(data.session_transfer, {
    can_create_session_transfer_token: true, enforce_cascade_revocation: true, allowed_authentication_methods: [],
    enforce_device_binding: 'ip', allow_refresh_token: false, enforce_online_refresh_tokens: true,
  });
  const list = await ctx.mgmt.clients.getAll({ include_totals: true, per_page: 2, page: 0 });
  assert.equal(list.data.clients.length, 2);
  assert.ok(list.data.total >= 4);
}

async function management_client_lifecycle_and_unknown_session_transfer_keys(ctx) {
  const created = await ctx.mgmt.clients.create({
    name: 'SDK-made web app', app_type: 'regular_web', callbacks: ['http://127.0.0.1:3000/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    session_transfer: { allowed_authentication_methods: ['query'], enforce_device_binding: 'asn', future_key: { a: 1 } },
  });
  assert.equal(created.status, 201);
  const id = created.data.client_id;
  assert.match(id, /^[A-Za-z0-9]{32}$/);
  assert.equal(created.data.client_secret.length, 64);
  assert.deepEqual(created.data.session_transfer.future_key, { a: 1 });
  const updated = await ctx.mgmt.clients.update({ client_id: id },
    { session_transfer: { can_create_session_transfer_token: false, allow_refresh_token: true } });
  assert.equal(updated.data.session_transfer.allow_refresh_token, true);
  assert.equal(updated.data.session_transfer.enforce_device_binding, 'asn');
  assert.deepEqual(updated.data.session_transfer.future_key, { a: 1 });
  const rotated = await ctx.mgmt.clients.rotateClientSecret({ client_id: id });
  assert.notEqual(rotated.data.client_secret, created.data.client_secret);
  await assert.rejects(ctx.mgmt.clients.update({ client_id: id }, { not_a_field: true }),
    (e) => e.statusCode === 400 && /Payload validation error/.test(e.message));
  await ctx.mgmt.clients.delete({ client_id: id });
  await assert.rejects(ctx.mgmt.clients.get({ client_id: id }), (e) => e.statusCode === 404);
}

async function management_user_lifecycle_and_their_tokens(ctx) {
  const user = { email: 'sdk-made@example.com', password: 'sdk-made-password-1' };
  const created = await ctx.mgmt.users.create({ connection: 'Username-Password-Authentication', ...user, name: 'SDK Made' });
  assert.equal(created.status, 201);
  const id = created.data.user_id;
  assert.match(id, /^auth0\|[0-9a-f]{24}$/);
  assert.equal(created.data.identities[0].connection, 'Username-Password-Authentication');
  await assert.rejects(ctx.mgmt.users.create({ connection: 'Username-Password-Authentication', ...user }),
    (e) => e.statusCode === 409);
  // The new user logs in through the SDK's own password-realm grant, at once.
  const login = await ctx.auth.oauth.passwordGrant({ username: user.email, password: user.password,
    realm: 'Username-Password-Authentication', scope: 'openid offline_access' });
  assert.ok(login.data.refresh_token);
  const tokens = await ctx.mgmt.users.getRefreshTokens({ user_id: id });
  assert.equal(tokens.data.tokens.length, 1);
  assert.equal(tokens.data.tokens[0].client_id, h.NATIVE.id);
  assert.ok(!JSON.stringify(tokens.data).includes(login.data.refresh_token), 'a token leaked');
  assert.deepEqual((await ctx.mgmt.users.getSessions({ user_id: id })).data.sessions, []);
  const blocked = await ctx.mgmt.users.update({ id }, { blocked: true });
  assert.equal(blocked.data.blocked, true);
  await assert.rejects(ctx.auth.oauth.refreshTokenGrant({ refresh_token: login.data.refresh_token }),
    (e) => e.statusCode === 403 && e.error === 'invalid_grant');
  await ctx.mgmt.users.delete({ id });
  await assert.rejects(ctx.mgmt.users.get({ id }), (e) => e.statusCode === 404);
}

const managementTests = [
  management_reads_a_client_with_session_transfer,
  management_client_lifecycle_and_unknown_session_transfer_keys,
  management_user_lifecycle_and_their_tokens,
];

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
    return { server, auth: auth0Client(server), mgmt: managementClient(server) };
  },
  teardown: async (ctx) => { assert.equal(await ctx.server.stop(), 0, 'handoffd exits 0 on SIGTERM'); },
});

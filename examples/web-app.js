#!/usr/bin/env node
'use strict';
// A minimal web app on Auth0's Express SDK (express-openid-connect) that accepts Native to Web
// SSO from handoff: exactly what an Auth0 app does, with handoff's address as the issuer.
//
//   node examples/web-app.js [--issuer URL] [--port N] [--client-id ID] [--client-secret S]
//
// Defaults fit handoffd's demo tenant (`build/src/handoffd --listen 127.0.0.1:8080`): issuer
// http://127.0.0.1:8080, client demo-web / demo-web-secret, http://127.0.0.1:3000 (its callback
// http://127.0.0.1:3000/callback is registered in the demo tenant). Over HTTPS, start node with
// NODE_EXTRA_CA_CERTS=CA.pem to trust a test CA (tools/gen-test-certs).
//
// Routes: /            who is logged in (the ID token's claims) or "not logged in"
//         /login       starts the login; ?session_transfer_token=STT passes a session transfer
//                      token on to handoff's /authorize (Auth0's documented way), so a user who
//                      is logged in to the native app arrives logged in, without a login page
//         /callback    the SDK's (code flow with PKCE, ID token validated server side)
//         /logout      ends the app's session
//
// The npm packages are those of tests/sdk (tools/setup installs them there with npm ci).

const path = require('node:path');
const crypto = require('node:crypto');
const { createRequire } = require('node:module');
const sdkRequire = createRequire(path.join(__dirname, '..', 'tests', 'sdk', 'package.json'));
const express = sdkRequire('express');
const { auth } = sdkRequire('express-openid-connect');

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const issuer = option('--issuer', 'http://127.0.0.1:8080').replace(/\/?$/, '/');
const port = Number(option('--port', '3000'));
const baseURL = `http://127.0.0.1:${port}`;

const app = express();
app.use(auth({
  issuerBaseURL: issuer,
  baseURL,
  clientID: option('--client-id', 'demo-web'),
  clientSecret: option('--client-secret', 'demo-web-secret'),
  secret: crypto.randomBytes(32).toString('hex'),  // seals the app's session cookie
  authRequired: false,
  idpLogout: false,
  routes: { login: false, logout: '/logout', callback: '/callback' },
  authorizationParams: { response_type: 'code', scope: 'openid profile email' },
}));

app.get('/login', (req, res) => {
  const stt = req.query.session_transfer_token;
  res.oidc.login({
    returnTo: '/',
    authorizationParams: stt ? { session_transfer_token: String(stt) } : {},
  });
});

const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

app.get('/', (req, res) => {
  const user = req.oidc.isAuthenticated() ? req.oidc.user : null;
  res.type('html').send(`<!doctype html><meta charset="utf-8"><title>handoff example web app</title>
<h1>Example web app</h1>
${user
    ? `<p id="status">Logged in as <b>${escape(user.email || user.sub)}</b> (${escape(user.sub)}).</p>
<pre id="user">${escape(JSON.stringify(user, null, 2))}</pre><p><a href="/logout">Log out</a></p>`
    : '<p id="status">Not logged in.</p><p><a href="/login">Log in</a></p>'}`);
});

app.get('/whoami', (req, res) => res.json(req.oidc.isAuthenticated() ? req.oidc.user : null));

app.use((err, req, res, next) => {  // eslint-disable-line no-unused-vars
  res.status(500).type('text').send(`error: ${err && err.message}`);
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`web app on ${baseURL} (issuer ${issuer})`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

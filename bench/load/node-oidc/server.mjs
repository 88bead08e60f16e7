// node-oidc-provider configured like the demo tenant's web client, for the load suite's
// "versus node-oidc-provider, same request" comparison (PERFORMANCE.md).
//
//   node server.mjs PORT [RS256|ES256|EdDSA]
//
// One confidential client (bench-web, secret in the body, PKCE required, non-rotating refresh
// tokens), one user, a signing key of the algorithm made at start. Sign-in needs no page: the
// interaction URL signs the user in at once (and, asked with prompt=consent, grants openid
// profile email offline_access), so a script gets a browser session and a refresh token with
// plain HTTP. Storage is a Map (the package's own memory adapter is an LRU of 1000 entries,
// which would drop records under load, and keeps a per-grant index that grows with every token
// of the single bench grant).
// Prints "listening PORT" once it serves.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const alg = process.argv[3] ?? 'RS256';
const keyPair = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
}[alg];
if (!Number.isInteger(port) || port <= 0 || !keyPair) {
  console.error('usage: node server.mjs PORT [RS256|ES256|EdDSA]');
  process.exit(2);
}

const stores = new Map();  // model name → Map(id → { payload, expiresAt })
class MapAdapter {
  constructor(name) {
    if (!stores.has(name)) stores.set(name, new Map());
    this.store = stores.get(name);
  }

  async upsert(id, payload, expiresIn) {
    this.store.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
  }

  async find(id) {
    const e = this.store.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.store.delete(id);
      return undefined;
    }
    return e.payload;
  }

  async findByUid(uid) {
    for (const [id, e] of this.store) if (e.payload.uid === uid) return this.find(id);
    return undefined;
  }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const e = this.store.get(id);
    if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { this.store.delete(id); }

  async revokeByGrantId(grantId) {
    for (const [id, e] of this.store) if (e.payload.grantId === grantId) this.store.delete(id);
  }
}

const userId = 'auth0|demo';
const provider = new Provider(`http://127.0.0.1:${port}`, {
  adapter: MapAdapter,
  clients: [{
    client_id: 'bench-web',
    client_secret: 'bench-web-secret',
    redirect_uris: ['http://127.0.0.1:3000/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: alg,
  }],
  jwks: { keys: [{ ...keyPair().privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: 'bench' }] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: 'demo@example.com', email_verified: true, name: 'Demo User' }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The documented way to skip consent for a first-party client: a grant made on first use.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email offline_access');
    await grant.save();
    return grant;
  },
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  rotateRefreshToken: false,
  pkce: { required: () => true },
  cookies: { keys: ['bench-cookie-key-not-a-secret'] },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    try {
      const details = await provider.interactionDetails(req, res);
      let result = { login: { accountId: userId } };
      if (details.prompt.name === 'consent') {  // prompt=consent: how offline_access is asked for
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        grant.addOIDCScope('openid profile email offline_access');
        result = { consent: { grantId: await grant.save() } };
      }
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
    }
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));

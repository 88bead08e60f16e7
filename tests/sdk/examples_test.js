'use strict';
// examples/ keep working: examples/web-app.js and examples/native-app.js --open (chromium) run
// against a handoffd over HTTPS, once per STT transport, and the web app must end logged in as
// the native app's user (native-app.js checks /whoami and exits 1 otherwise).

const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { spawn, execFile } = require('node:child_process');
const readline = require('node:readline');
const h = require('./lib/harness');

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function nativeApp(ctx, transport) {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(EXAMPLES, 'native-app.js'),
      '--issuer', ctx.server.base, '--web', ctx.webBase, '--client-id', h.NATIVE_PUBLIC.id,
      '--username', h.USER.email, '--password', h.USER.password, '--realm', 'Username-Password-Authentication',
      '--open', '--transport', transport, '--tls-cert', path.join(process.env.HANDOFF_TEST_CERTS, 'server.pem')],
    { timeout: 60000 }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

async function native_app_prints_a_login_url(ctx) {
  const out = await new Promise((resolve) => execFile(process.execPath, [path.join(EXAMPLES, 'native-app.js'),
    '--issuer', ctx.server.base, '--web', ctx.webBase, '--client-id', h.NATIVE_PUBLIC.id,
    '--username', h.USER.email, '--password', h.USER.password], { timeout: 30000 },
  (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr })));
  assert.equal(out.code, 0, out.stdout + out.stderr);
  assert.match(out.stdout, new RegExp(`${ctx.webBase}/login\\?session_transfer_token=stt_`));
  assert.match(out.stdout, new RegExp(`sub ${h.USER.id.replace('|', '\\|')}`));
}

async function query_transport(ctx) {
  const out = await nativeApp(ctx, 'query');
  assert.equal(out.code, 0, out.stdout + out.stderr);
  assert.ok(out.stdout.includes(`logged in as the native app's user: ${h.USER.id}`), out.stdout);
}

async function cookie_transport(ctx) {
  const out = await nativeApp(ctx, 'cookie');
  assert.equal(out.code, 0, out.stdout + out.stderr);
  assert.ok(out.stdout.includes(`logged in as the native app's user: ${h.USER.id}`), out.stdout);
}

h.run('examples', [native_app_prints_a_login_url, query_transport, cookie_transport], {
  setup: async () => {
    const webPort = await freePort();
    const webBase = `http://127.0.0.1:${webPort}`;
    const server = await h.startHandoff({ webCallbacks: [`${webBase}/callback`] });
    const web = spawn(process.execPath, [path.join(EXAMPLES, 'web-app.js'), '--issuer', server.base,
      '--port', String(webPort), '--client-id', h.WEB.id, '--client-secret', h.WEB.secret],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      readline.createInterface({ input: web.stdout }).once('line', (line) => {
        if (line.startsWith(`web app on ${webBase}`)) resolve(); else reject(new Error(line));
      });
      web.once('exit', (code) => reject(new Error(`web-app.js exited ${code}`)));
    }).catch(async (e) => { web.kill('SIGKILL'); await server.stop(); throw e; });
    web.stdout.resume();
    return { server, web, webBase };
  },
  teardown: async (ctx) => {
    ctx.web.kill('SIGTERM');
    assert.equal(await ctx.server.stop(), 0, 'handoffd exits 0 on SIGTERM');
  },
});

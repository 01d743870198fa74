// Authentication as users meet it (docs/security.md): a server run with --auth-secret, two
// Chromium participants who join by links carrying tokens made by `switchboard token` and see
// each other, under the names their tokens give; a page without a token (or with another room's)
// is told it may not join; hostile attempts beside the call (joins without or with bad tokens, a
// WebSocket from a foreign page, the admin API without its token) change nothing for it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  startServer,
  launchBrowser,
  waitForState,
  waitForFrames,
  videoFrom,
  connectClient,
  sleep,
  repoRoot,
} from './harness.mjs';

const SECRET = 'e2e-auth-secret-0123456789abcdef0123456789';
const ROOM = 'e2e-auth';
const buildDir = process.env.SB_BUILD_DIR ?? join(repoRoot, 'build');
const switchboard = join(buildDir, 'signaling', 'switchboard');

let server;
let browser;
const pages = [];

// A token as an operator makes one.
function token(...args) {
  return execFileSync(switchboard, ['token', `--secret=${SECRET}`, ...args], { encoding: 'utf8' }).trim();
}

before(async () => {
  server = await startServer([`--auth-secret=${SECRET}`]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  // Fails the file if the server crashed or a worker died (harness.mjs).
  await server?.stop();
});

// A page on the web app opened by `query` (the share link's part after '?').
async function openLink(name, query) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}/?${query}`);
  const participant = { name, context, page, errors };
  pages.push(participant);
  return participant;
}

async function adminGet(path, authorization) {
  const headers = authorization ? { Authorization: authorization } : {};
  return fetch(`${server.url}${path}`, { headers });
}

async function authFailures() {
  const res = await adminGet('/metrics', `Bearer ${token('--admin', '--ttl=60')}`);
  assert.equal(res.status, 200);
  const out = {};
  for (const m of (await res.text()).matchAll(/^switchboard_auth_failures_total\{reason="(\w+)"\} (\d+)$/gm)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

test('participants with tokens from `switchboard token` call each other; without one a page may not join', async () => {
  // Ada's link names no one: her name is the token's. Grace's link says "Mallory": the token wins.
  const adaToken = token(`--room=${ROOM}`, '--identity=ada', '--name=Ada Lovelace');
  const graceToken = token(`--room=${ROOM}`, '--identity=grace', '--name=Grace Hopper');
  const ada = await openLink('Ada', `room=${ROOM}&token=${encodeURIComponent(adaToken)}&autojoin=1`);
  const grace = await openLink(
    'Grace',
    `room=${ROOM}&name=Mallory&token=${encodeURIComponent(graceToken)}&autojoin=1`,
  );
  for (const p of [ada, grace]) {
    assert.equal(await waitForState(p, ['joined', 'error']), 'joined', `${p.name}: ${await statusOf(p)}`);
    p.id = await p.page.evaluate(() => document.body.dataset.selfId);
  }
  const adaSeesGrace = await waitForFrames(ada, grace.id);
  const graceSeesAda = await waitForFrames(grace, ada.id);
  console.log(`Ada decodes ${adaSeesGrace.framesDecoded} frames from Grace, Grace ${graceSeesAda.framesDecoded} from Ada`);
  // The names on the tiles and in the status line are the tokens'.
  assert.equal(await tileName(ada, grace.id), 'Grace Hopper');
  assert.equal(await tileName(grace, ada.id), 'Ada Lovelace');
  assert.match(await statusOf(grace), /as Grace Hopper/);
  // The address bar keeps the token, so a reload rejoins.
  assert.ok((await ada.page.evaluate(() => location.search)).includes(`token=${encodeURIComponent(adaToken)}`));

  const before = await authFailures();
  // A page whose link has no token is told, and joins nothing.
  const eve = await openLink('Eve', `room=${ROOM}&name=Eve&autojoin=1`);
  assert.equal(await waitForState(eve, ['joined', 'error']), 'error');
  assert.match(await statusOf(eve), /Could not join e2e-auth: .*token/);
  // Nor does a link with another room's token.
  const mallory = await openLink(
    'Mallory',
    `room=${ROOM}&name=Mallory&token=${encodeURIComponent(token('--room=elsewhere', '--identity=mallory'))}&autojoin=1`,
  );
  assert.equal(await waitForState(mallory, ['joined', 'error']), 'error');
  assert.match(await statusOf(mallory), /another room/);

  // Hostile clients beside the call.
  const hostile = await connectClient(server);
  for (const [what, join] of [
    ['no token', { type: 'join', room: ROOM, name: 'Eve' }],
    ['forged token', { type: 'join', room: ROOM, name: 'Eve', token: `${adaToken.slice(0, -4)}AAAA` }],
    ['expired-looking garbage', { type: 'join', room: ROOM, name: 'Eve', token: 'eyJhbGciOiJub25lIn0.e30.' }],
  ]) {
    const reply = await hostile.request(join, (m) => ['joined', 'error'].includes(m.type));
    assert.equal(reply.type, 'error', `${what}: ${JSON.stringify(reply)}`);
    assert.equal(reply.code, 'unauthorized', `${what}: ${JSON.stringify(reply)}`);
  }
  await hostile.close();
  // A foreign page's WebSocket is refused at the upgrade.
  const status = await new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { origin: 'http://evil.example' });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
    ws.on('open', () => resolve('open'));
    ws.on('error', () => {});
  });
  assert.equal(status, 403);
  // The admin API without its token.
  assert.equal((await adminGet('/api/rooms')).status, 401);
  assert.equal((await adminGet('/api/rooms', `Bearer ${adaToken}`)).status, 403);

  const after = await authFailures();
  const delta = (reason) => (after[reason] ?? 0) - (before[reason] ?? 0);
  assert.equal(delta('missing'), 3, JSON.stringify(after)); // Eve's page, the hostile join, /api/rooms
  assert.equal(delta('invalid'), 2);
  assert.equal(delta('wrong_room'), 1);
  assert.equal(delta('origin'), 1);
  assert.equal(delta('not_admin'), 1);

  // The call lost nothing: both still in the room, alone together, and decoding more frames.
  const rooms = await (await adminGet('/api/rooms', `Bearer ${token('--admin', '--ttl=60')}`)).json();
  assert.deepEqual(
    rooms.rooms.map((r) => [r.name, r.participants.map((p) => p.name).sort()]),
    [[ROOM, ['Ada Lovelace', 'Grace Hopper']]],
  );
  for (const [viewer, publisher, earlier] of [[ada, grace, adaSeesGrace], [grace, ada, graceSeesAda]]) {
    let now;
    for (let i = 0; i < 20; i++) {
      now = await videoFrom(viewer, publisher.id);
      if (now.framesDecoded > earlier.framesDecoded + 30) break;
      await sleep(250);
    }
    assert.ok(now.framesDecoded > earlier.framesDecoded + 30, `${viewer.name} keeps decoding: ${JSON.stringify(now)}`);
    assert.equal(await viewer.page.evaluate(() => document.body.dataset.state), 'joined');
    assert.equal(await viewer.page.evaluate(() => document.querySelectorAll('video[data-participant-id]').length), 1);
  }
  for (const p of pages) assert.deepEqual(p.errors, [], `${p.name}: page errors`);
});

async function statusOf(p) {
  return p.page.evaluate(() => document.querySelector('#status').textContent);
}

async function tileName(p, participantId) {
  return p.page.evaluate(
    (id) => document.querySelector(`[data-peer="${id}"] .name`)?.textContent ?? null,
    participantId,
  );
}

// The web app over HTTPS and its signaling over WSS, served by switchboard itself with a
// certificate it generated at startup (--tls-self-signed, docs/security.md): two Chromium
// participants, which accept the self-signed certificate as a user would after the warning,
// join one room through https:// and decode each other's video.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  launchBrowser,
  openParticipant,
  waitForState,
  waitForFrames,
} from './harness.mjs';

const ROOM = 'e2e-tls';
let server;
let browser;

before(async () => {
  server = await startServer(['--tls-self-signed']);
  browser = await launchBrowser(['--ignore-certificate-errors']);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('two participants call each other over https:// and wss://', async () => {
  assert.match(server.url, /^https:\/\//);
  assert.match(server.log, /SHA-256 fingerprint .* is ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  const people = [];
  for (const name of ['Ada', 'Grace']) {
    const p = await openParticipant(browser, server, ROOM, name);
    assert.equal(await waitForState(p, ['joined', 'full', 'error']), 'joined', `${name} joins`);
    p.id = await p.page.evaluate(() => document.body.dataset.selfId);
    // A secure context (camera access) on a page that is not localhost, over a WSS socket.
    assert.equal(await p.page.evaluate(() => location.protocol), 'https:');
    assert.equal(await p.page.evaluate(() => window.isSecureContext), true);
    people.push(p);
  }
  const [ada, grace] = people;
  const adaSees = await waitForFrames(ada, grace.id, 30000);
  const graceSees = await waitForFrames(grace, ada.id, 30000);
  console.log(
    `Ada <- Grace: ${adaSees.framesDecoded} frames ${adaSees.frameWidth}x${adaSees.frameHeight}; ` +
      `Grace <- Ada: ${graceSees.framesDecoded} frames ${graceSees.frameWidth}x${graceSees.frameHeight}`,
  );
  assert.ok(adaSees.frameWidth > 0 && graceSees.frameWidth > 0);
  for (const p of people) assert.deepEqual(p.errors, [], `${p.name}: no page errors`);
  for (const p of people) await p.context.close();
});

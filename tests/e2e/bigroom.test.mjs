// A room of 100 where everyone publishes audio and video: every subscriber's connection has
// about 200 m-lines. 98 participants are protocol clients publishing a real Chromium offer
// (their media never flows: no ICE), two are Chromium pages through the web app. The page
// that joined first applies offers that grow to 198 m-lines as the others arrive, answers
// every one, and still decodes the other page's video.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startServer,
  launchBrowser,
  openParticipant,
  waitForState,
  waitForFrames,
  joinRoom,
  repoRoot,
} from './harness.mjs';

const ROOM = 'big';
const SIZE = 100;
const publishOffer = readFileSync(join(repoRoot, 'tests', 'data', 'chromium_publish_offer.sdp'), 'utf8');

let server;
let browser;
const clients = [];

before(async () => {
  // The protocol clients never answer their own offers: keep the server from re-offering.
  server = await startServer([`--room-capacity=${SIZE}`, '--workers=1', '--answer-timeout=300']);
  browser = await launchBrowser();
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await browser?.close();
  await server?.stop();
});

const metric = (text, name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);

test(`a room of ${SIZE} where everyone publishes: ~200 m-lines per subscriber`, async () => {
  const first = await openParticipant(browser, server, ROOM, 'First');
  await waitForState(first, 'joined');
  const started = Date.now();
  for (let i = 0; i < SIZE - 2; i++) {
    const m = await joinRoom(server, ROOM, `Bot${i}`);
    clients.push(m.client);
    const answer = await m.client.request({ type: 'publish', sdp: publishOffer }, (x) =>
      ['publish-answer', 'error'].includes(x.type),
    );
    assert.equal(answer.type, 'publish-answer', `Bot${i}: ${JSON.stringify(answer).slice(0, 200)}`);
  }
  const last = await openParticipant(browser, server, ROOM, 'Last');
  await waitForState(last, 'joined');
  const lastId = await last.page.evaluate(() => document.body.dataset.selfId);
  await waitForFrames(first, lastId, 30000);
  const wanted = 2 * (SIZE - 1);
  await first.page.waitForFunction((n) => window.switchboardTest.subscribeMlines() === n, wanted, {
    timeout: 30000,
  });
  console.log(`room of ${SIZE}: the first page has ${wanted} m-lines and decodes the last one ` +
    `${Date.now() - started} ms after the others started arriving`);
  // The last page got the whole room in one offer and applied it.
  await last.page.waitForFunction((n) => window.switchboardTest.subscribeMlines() === n, wanted, {
    timeout: 30000,
  });
  const firstId = await first.page.evaluate(() => document.body.dataset.selfId);
  await waitForFrames(last, firstId, 15000);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.equal(metric(metrics, 'switchboard_participants'), SIZE);
  assert.equal(metric(metrics, 'switchboard_tracks_not_forwarded_total'), 0);
  for (const p of [first, last]) await p.context.close();
});

// The web app works in Firefox too: Debian's Firefox ESR (driven over WebDriver BiDi with
// puppeteer-core) and Debian's Chromium join one room by link, and each decodes the other's
// video and receives the other's audio through the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, launchFirefox, openParticipant, waitForState, sleep } from './harness.mjs';

let server;
let chromium;
let firefox;

before(async () => {
  server = await startServer();
  [chromium, firefox] = await Promise.all([launchBrowser(), launchFirefox()]);
});

after(async () => {
  await firefox?.close();
  await chromium?.close();
  await server?.stop();
});

// Polls a page's inbound statistics until `check` accepts them or the time runs out.
async function pollStats(name, getStats, check, timeout) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await getStats();
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`${name}: timed out; last stats ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

const from = (stats, id, kind) => stats.find((s) => s.participantId === id && s.kind === kind);

test('Firefox and Chromium see and hear each other through the web app', async () => {
  const t0 = Date.now();
  const room = `ff${Math.floor(Math.random() * 1e6)}`;

  // Firefox participant, on its own page in puppeteer.
  const ffPage = await firefox.newPage();
  const ffErrors = [];
  ffPage.on('pageerror', (e) => ffErrors.push(String(e)));
  await ffPage.goto(`${server.url}/?room=${room}&name=Fox&autojoin=1`);
  await ffPage.waitForFunction(
    () => ['joined', 'full', 'error'].includes(document.body.dataset.state),
    { timeout: 15000, polling: 100 },
  );
  assert.equal(await ffPage.evaluate(() => document.body.dataset.state), 'joined', 'Firefox joined');
  const ffId = await ffPage.evaluate(() => document.body.dataset.selfId);

  const chrome = await openParticipant(chromium, server, room, 'Chrome');
  assert.equal(await waitForState(chrome, ['joined', 'full', 'error'], 15000), 'joined', 'Chromium joined');
  const chId = await chrome.page.evaluate(() => document.body.dataset.selfId);

  const ffStats = () => ffPage.evaluate(() => window.switchboardTest.inboundStats());
  const chStats = () => chrome.page.evaluate(() => window.switchboardTest.inboundStats());
  const flowing = (id) => (s) =>
    from(s, id, 'video')?.framesDecoded > 0 && from(s, id, 'audio')?.packetsReceived > 0;

  await Promise.all([
    pollStats('Firefox <- Chromium', ffStats, flowing(chId), 20000),
    pollStats('Chromium <- Firefox', chStats, flowing(ffId), 20000),
  ]);
  const tFlow = Date.now() - t0;

  const [ff1, ch1] = await Promise.all([ffStats(), chStats()]);
  await sleep(3000);
  const [ff2, ch2] = await Promise.all([ffStats(), chStats()]);

  const report = (who, a, b, id) => {
    const v1 = from(a, id, 'video');
    const v2 = from(b, id, 'video');
    const a1 = from(a, id, 'audio');
    const a2 = from(b, id, 'audio');
    const r = {
      video: v2.mimeType,
      fps: (v2.framesDecoded - v1.framesDecoded) / 3,
      size: `${v2.frameWidth}x${v2.frameHeight}`,
      videoLost: v2.packetsLost,
      audio: a2.mimeType,
      audioPps: (a2.packetsReceived - a1.packetsReceived) / 3,
      audioBytes: a2.bytesReceived - a1.bytesReceived,
      audioSamples: (a2.totalSamplesReceived ?? 0) - (a1.totalSamplesReceived ?? 0),
    };
    console.log(`${who}: ${JSON.stringify(r)}`);
    return r;
  };
  const ffGets = report('Firefox <- Chromium', ff1, ff2, chId);
  const chGets = report('Chromium <- Firefox', ch1, ch2, ffId);
  console.log(`media flowing both ways ${tFlow} ms after Firefox opened the link`);

  assert.ok(ffGets.fps > 5, `Firefox decodes Chromium's video (${ffGets.fps} fps)`);
  assert.ok(chGets.fps > 5, `Chromium decodes Firefox's video (${chGets.fps} fps)`);
  assert.ok(ffGets.audioPps > 20, `Firefox receives Chromium's audio (${ffGets.audioPps} packets/s)`);
  assert.ok(chGets.audioPps > 20, `Chromium receives Firefox's audio (${chGets.audioPps} packets/s)`);
  assert.deepEqual(ffErrors, [], 'no page errors in Firefox');
  await ffPage.close();
  await chrome.context.close();
});

// Newcomers in the churn test (SB_CHURN_N shortens a local run).
const CHURNERS = Number(process.env.SB_CHURN_N ?? 50);

test(`Firefox stays while ${CHURNERS} Chromium participants come, publish and go: each plays within 2 s`, async () => {
  const room = `ffchurn${Math.floor(Math.random() * 1e6)}`;
  const ffPage = await firefox.newPage();
  const ffErrors = [];
  ffPage.on('pageerror', (e) => ffErrors.push(String(e)));
  await ffPage.goto(`${server.url}/?room=${room}&name=Fox&autojoin=1`);
  await ffPage.waitForFunction(() => document.body.dataset.state === 'joined', { timeout: 15000, polling: 100 });
  const ffStats = () => ffPage.evaluate(() => window.switchboardTest.inboundStats());
  const times = [];
  let previous = null;
  for (let i = 0; i < CHURNERS; i++) {
    const guest = await openParticipant(chromium, server, room, `Guest${i}`);
    await waitForState(guest, 'joined', 15000);
    guest.id = await guest.page.evaluate(() => document.body.dataset.selfId);
    const start = Date.now();
    await pollStats(`Firefox <- Guest${i}`, ffStats, (s) => from(s, guest.id, 'video')?.framesDecoded > 0, 15000);
    const ms = Date.now() - start;
    times.push(ms);
    assert.ok(ms <= 2000, `Guest${i}'s video played in Firefox after ${ms} ms`);
    if (previous) {
      if (i % 2 === 0) {
        await previous.page.click('#leave');
        await waitForState(previous, 'left');
      }
      await previous.context.close();
      await ffPage.waitForFunction(
        (id) => !document.querySelector(`video[data-participant-id="${id}"]`),
        { timeout: 5000, polling: 100 },
        previous.id,
      );
    }
    previous = guest;
  }
  // The one who stays keeps sending too: the last newcomer decodes Firefox.
  const ffId = await ffPage.evaluate(() => document.body.dataset.selfId);
  const lastStats = () => previous.page.evaluate(() => window.switchboardTest.inboundStats());
  await pollStats('last guest <- Firefox', lastStats, (s) => from(s, ffId, 'video')?.framesDecoded > 0, 10000);
  const mlines = await ffPage.evaluate(() => window.switchboardTest.subscribeMlines());
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`Firefox churn: ${CHURNERS} newcomers, time to video (ms) p50 ${sorted[Math.floor(sorted.length / 2)]}, ` +
    `max ${sorted[sorted.length - 1]}; Firefox's m-lines at the end: ${mlines}`);
  assert.ok(mlines <= 4, `Firefox's subscribing connection has ${mlines} m-lines`);
  assert.deepEqual(ffErrors, [], 'no page errors in Firefox');
  await previous.context.close();
  await ffPage.close();
});

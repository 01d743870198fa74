// Screen sharing (issue 11): a participant's screen (getDisplayMedia) is a second video track of
// it, marked as a screen share, shown large to everyone and served first when a subscriber's
// bandwidth is short. Three Chromium participants, each in its own network namespace with the
// server in another (netns.mjs), so one downlink can be shaped.
//
// 1. Through the web app: Ada presses "Share screen" (headless Chromium's getDisplayMedia, with
//    harness.launchBrowser's --use-fake-ui-for-media-stream and --use-fake-device-for-media-stream,
//    captures a fake 1280x720 screen without a picker). Bob and Cy receive it as a track with
//    source 'screen', decode it, and show it in the large tile figure[data-source="screen"],
//    above everyone else, while Ada's camera keeps coming. Stopping (the button, then the
//    browser's own "stop sharing") removes it everywhere; sharing again works on the same
//    m-lines; leaving while sharing removes it too.
// 2. Priority: Carol's downlink goes through a 500 kbit/s token bucket. Alice sends her camera
//    and her screen, Bob his camera (one 640x360 encoding each, capped at 300 kbit/s): the three
//    do not fit. The server keeps the screen share flowing, at the size it is sent, and pauses
//    cameras instead. (With the screen share's priority taken out of the control process, the
//    server paused the share here and the test failed: 0.4 fps against the cameras' 19 and 9.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openParticipant, waitForState, inboundStats, joinWithLibrary, getJson, serverBandwidth, sleep } from './harness.mjs';
import { createNetwork } from './netns.mjs';

const CAROL = 2;
const CAROL_KBIT = 500;
// The priority test's senders: one encoding each, capped so that any two fit in Carol's link and
// all three do not.
const CAMERA_BPS = 300_000;
const SCREEN_BPS = 300_000;
// The allocation settles (the estimate ramps from 300 kbit/s, the single-encoding cameras are
// paused once a probe finds no more room) before the window is judged.
const SETTLE_MS = 12_000;
const WINDOW_MS = 10_000;

let net;
let server;
const browsers = [];

before(async () => {
  net = createNetwork(3);
  server = await net.startServer(['--workers=1']);
  for (let i = 0; i < 3; ++i) browsers[i] = await net.launchBrowser(i, { server });
}, { timeout: 60_000 });

after(async () => {
  try {
    await Promise.all(browsers.map((b) => b?.close()));
    // Fails the file if the server crashed or a worker died (harness.mjs).
    await server?.stop();
  } finally {
    net?.destroy();
  }
});

// The inbound statistics of `publisherId`'s track from `source` at `p` (undefined: none).
async function trackOf(p, publisherId, source) {
  const stats = await inboundStats(p);
  return stats.find((s) => s.participantId === publisherId && s.source === source);
}

// The width `p` sends its screen share at now (its encoder may scale the captured screen down).
async function sentScreenWidth(p) {
  const stats = await p.page.evaluate(() =>
    window.sb ? window.sb.getSenderStats() : window.switchboardTest.outboundStats(),
  );
  return stats.find((s) => s.source === 'screen')?.frameWidth;
}

// Polls until `p` decodes `publisher`'s screen share at the width it is sent with; returns
// { received, sent }, the last widths seen.
async function waitForScreenWidth(p, publisher, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const received = (await trackOf(p, publisher.id, 'screen'))?.frameWidth;
    const sent = await sentScreenWidth(publisher);
    if ((received && received === sent) || Date.now() > deadline) return { received, sent };
    await sleep(250);
  }
}

// Polls until `p` decodes new frames of `publisherId`'s `source` track; returns its statistics.
async function waitForDecoding(p, publisherId, source, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  let first;
  for (;;) {
    const s = await trackOf(p, publisherId, source);
    if (s?.framesDecoded > 0) {
      if (first && s.framesDecoded > first.framesDecoded) return s;
      first ??= s;
    }
    if (Date.now() > deadline) {
      throw new Error(`${p.name} decodes no ${source} frames from ${publisherId}: ${JSON.stringify(s)}`);
    }
    await sleep(250);
  }
}

// `publisherId`'s screen tile at `p`, measured against the other tiles (null: none shown).
function screenTile(p, publisherId) {
  return p.page.evaluate((id) => {
    const tile = document.querySelector(`figure.tile[data-source="screen"][data-screen-of="${id}"]`);
    if (!tile) return null;
    const box = tile.getBoundingClientRect();
    const others = [...document.querySelectorAll('#grid > figure.tile')]
      .filter((t) => t !== tile && !t.hidden)
      .map((t) => t.getBoundingClientRect());
    const video = tile.querySelector('video');
    return {
      width: box.width,
      area: box.width * box.height,
      top: box.top,
      gridWidth: document.querySelector('#grid').getBoundingClientRect().width,
      largestOther: Math.max(...others.map((o) => o.width * o.height)),
      highestOther: Math.min(...others.map((o) => o.top)),
      videoWidth: video.videoWidth,
      name: tile.querySelector('.name').textContent,
    };
  }, publisherId);
}

async function waitForNoScreen(p, publisherId, timeout = 10_000) {
  await p.page.waitForFunction(
    (id) => !document.querySelector(`[data-source="screen"][data-screen-of="${id}"]`),
    publisherId,
    { timeout },
  );
  assert.equal(await trackOf(p, publisherId, 'screen'), undefined, `${p.name} receives no screen track`);
}

// Waits until `p` has decoded `frames` more frames of `publisher`'s camera (the camera goes on
// beside the share); fails after `timeout` with both ends' statistics. 40 s: with three Chromiums
// encoding on CI's two cores, a subscriber's send-side estimate can sit below the share plus
// the camera's lowest layer for many seconds (queueing from the busy machine reads as a
// congested path, issue 11), and the camera is paused until it grows (CI runs saw 4 frames in
// 10 s, and none in 20 s once).
async function cameraFlows(p, publisher, what, { frames = 5, timeout = 40_000 } = {}) {
  // With the share shown large, the camera tile may sit below the fold, and the app pauses a
  // tile nobody can see (its data-paused, then a paused subscription): look at it, as a user
  // would scroll to it. The point here is that the share does not displace it on bandwidth.
  await p.page.evaluate((id) => {
    document.querySelector(`video[data-participant-id="${id}"]`)?.scrollIntoView({ block: 'center' });
  }, publisher.id);
  const since = Date.now();
  const first = await trackOf(p, publisher.id, 'camera');
  for (;;) {
    const now = await trackOf(p, publisher.id, 'camera');
    if ((now?.framesDecoded ?? 0) - (first?.framesDecoded ?? 0) >= frames) {
      await p.page.evaluate(() => window.scrollTo(0, 0));  // back to the share
      return Date.now() - since;
    }
    if (Date.now() - since > timeout) {
      const sent = await publisher.page.evaluate(() => window.switchboardTest.outboundStats());
      // Why: the app's own preference for the tile, and the server's allocation for `p`.
      const tile = await p.page.evaluate((id) => {
        const el = document.querySelector(`video[data-participant-id="${id}"]`)?.closest('[data-peer]');
        return el ? { paused: el.dataset.paused, maxLayer: el.dataset.maxLayer } : null;
      }, publisher.id);
      const [bandwidth] = await serverBandwidth(server, [p]);
      const why = JSON.stringify({ first, now, sent, tile, bandwidth });
      assert.fail(`${p.name} decodes fewer than ${frames} frames of ${publisher.name}'s camera in ` +
        `${timeout} ms ${what}: ${why}`);
    }
    await sleep(250);
  }
}

test('the web app: a shared screen is shown large to everyone; stopped, shared again, and gone when its sharer leaves', async () => {
  const names = ['Ada', 'Bob', 'Cy'];
  const [ada, bob, cy] = await Promise.all(
    names.map((name, i) => openParticipant(browsers[i], server, 'screenshare', name)),
  );
  const viewers = [bob, cy];
  try {
    for (const p of [ada, bob, cy]) {
      await waitForState(p, 'joined');
      p.id = await p.page.evaluate(() => window.switchboardTest.selfId());
    }
    for (const p of viewers) await waitForDecoding(p, ada.id, 'camera', 20_000);

    const share = async (how) => {
      await ada.page.click('#share');
      await ada.page.waitForSelector('body[data-sharing="true"]', { timeout: 10_000 });
      for (const p of viewers) {
        const s = await waitForDecoding(p, ada.id, 'screen');
        assert.equal(s.kind, 'video');
        const { received, sent } = await waitForScreenWidth(p, ada);
        assert.equal(received, sent, `${p.name} decodes the screen at the width Ada sends it (${how})`);
        await p.page.waitForFunction(
          (id) => document.querySelector(`[data-source="screen"][data-screen-of="${id}"] video`)?.videoWidth > 0,
          ada.id,
          { timeout: 10_000 },
        );
        const tile = await screenTile(p, ada.id);
        console.log(`${p.name}, ${how}: ${JSON.stringify(tile)}`);
        assert.equal(tile.name, "Ada's screen");
        assert.ok(tile.width >= 0.95 * tile.gridWidth, `${p.name}: the screen tile spans the grid (${how})`);
        assert.ok(tile.area > 1.5 * tile.largestOther, `${p.name}: larger than any other tile (${how})`);
        assert.ok(tile.top <= tile.highestOther, `${p.name}: above every other tile (${how})`);
        // Frames, not a frame rate: the point is that the share does not displace the camera.
        await cameraFlows(p, ada, `during the ${how}`);
      }
    };
    const mlines = () => bob.page.evaluate(() => window.switchboardTest.subscribeMlines());

    await share('first share');
    const mlinesSharing = await mlines();
    // The others' participant object of Ada says so.
    const participant = (p) => p.page.evaluate((id) => window.switchboardTest.participants()
      .find((q) => q.id === id), ada.id);
    assert.equal((await participant(bob)).screen, true, 'Bob is told Ada shares her screen');

    // The button stops it, for everyone; the camera goes on.
    await ada.page.click('#share');
    assert.equal(await ada.page.evaluate(() => document.body.dataset.sharing), undefined);
    assert.equal(await ada.page.textContent('#share'), 'Share screen');
    for (const p of viewers) {
      await waitForNoScreen(p, ada.id);
      await cameraFlows(p, ada, 'after the share');
    }
    assert.equal((await participant(cy)).screen, false, 'Cy is told Ada stopped sharing');

    // Again: the same m-lines carry it (Ada's publishing one, Bob's subscribing one).
    await share('second share');
    assert.equal(await mlines(), mlinesSharing, 'Bob\'s m-lines do not grow with a second share');

    // The browser's own "stop sharing" ends the captured track: the app and the library stop the
    // share. Headless Chromium has no such button; a track stopped by the page fires no 'ended'
    // (Media Capture and Streams, MediaStreamTrack.stop()), so the test stops the track and
    // fires the event the browser would.
    await ada.page.evaluate(() => {
      const track = document.querySelector('#local-screen-video').srcObject.getVideoTracks()[0];
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    await ada.page.waitForFunction(() => document.body.dataset.sharing === undefined, null, { timeout: 5000 });
    assert.equal(await ada.page.isHidden('#local-screen-tile'), true, 'Ada\'s preview is gone');
    for (const p of viewers) await waitForNoScreen(p, ada.id);

    // Leaving while sharing takes the share with it.
    await share('third share');
    await ada.page.click('#leave');
    await waitForState(ada, 'left');
    for (const p of viewers) await waitForNoScreen(p, ada.id);
    for (const p of [ada, bob, cy]) assert.deepEqual(p.errors, [], `${p.name}: no page errors`);
  } finally {
    await Promise.all([ada, bob, cy].map((p) => p.context.close()));
  }
});

test(`priority: on a ${CAROL_KBIT} kbit/s downlink the screen share keeps flowing and cameras give way`, async () => {
  net.shape(CAROL, CAROL_KBIT);
  const env = (i) => ({ server, browser: browsers[i] });
  const alice = await joinWithLibrary(env(0), 'priority', 'Alice');
  const bob = await joinWithLibrary(env(1), 'priority', 'Bob');
  const carol = await joinWithLibrary(env(CAROL), 'priority', 'Carol');
  const publishCamera = (p) =>
    p.page.evaluate(async (maxBitrate) => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 } });
      await window.sb.publish(stream, { videoEncodings: [{ maxBitrate }] });
    }, CAMERA_BPS);
  await publishCamera(alice);
  await publishCamera(bob);
  // The screen at the cameras' size, so that the server's choice is not about sizes.
  await alice.page.evaluate(async (maxBitrate) => {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { width: { max: 640 }, height: { max: 360 }, frameRate: { max: 15 } },
    });
    const track = stream.getVideoTracks()[0];
    track.contentHint = 'detail'; // as the web app shares: the size kept, the frame rate given up
    await window.sb.shareScreen(track, { maxBitrate });
  }, SCREEN_BPS);
  const publishedAt = Date.now();
  const videos = [[alice, 'screen'], [alice, 'camera'], [bob, 'camera']];
  const read = async () => {
    const stats = await inboundStats(carol);
    const at = Date.now();
    return videos.map(([p, source]) => ({
      at, ...stats.find((s) => s.participantId === p.id && s.source === source),
    }));
  };
  const rate = (a, b) => {
    const seconds = (b.at - a.at) / 1000;
    return {
      fps: ((b.framesDecoded ?? 0) - (a.framesDecoded ?? 0)) / seconds,
      kbps: Math.round((((b.bytesReceived ?? 0) - (a.bytesReceived ?? 0)) * 8) / seconds / 1000),
      width: b.frameWidth,
      freezes: (b.freezeCount ?? 0) - (a.freezeCount ?? 0),
    };
  };
  const label = (i) => `${videos[i][0].name}'s ${videos[i][1]}`;
  const fmt = (r) => `${r.width ?? '-'} px ${r.fps.toFixed(1)} fps ${r.kbps} kbit/s +${r.freezes} freezes`;
  const carolBandwidth = async () => {
    const { rooms } = await getJson(server, '/api/rooms');
    const bw = rooms.find((r) => r.name === 'priority')?.participants.find((p) => p.id === carol.id)?.bandwidth;
    return bw ? `estimate ${Math.round(bw.estimateBps / 1000)}, allocated ${Math.round(bw.allocatedBps / 1000)}, desired ${Math.round(bw.desiredBps / 1000)} kbit/s` : '-';
  };
  try {
    await waitForDecoding(carol, alice.id, 'screen', 20_000);
    let previous = await read();
    while (Date.now() - publishedAt < SETTLE_MS) {
      await sleep(2000);
      const now = await read();
      console.log(`settling +${((Date.now() - publishedAt) / 1000).toFixed(0)} s: ` +
        `${videos.map((_, i) => `${label(i)} ${fmt(rate(previous[i], now[i]))}`).join('; ')}; ${await carolBandwidth()}`);
      previous = now;
    }
    const start = await read();
    previous = start;
    let slowestScreen = Infinity; // the screen's lowest frame rate over one sample
    while (Date.now() - start[0].at < WINDOW_MS) {
      await sleep(2500);
      const now = await read();
      slowestScreen = Math.min(slowestScreen, rate(previous[0], now[0]).fps);
      console.log(`window: ${videos.map((_, i) => `${label(i)} ${fmt(rate(previous[i], now[i]))}`).join('; ')}; ` +
        `${await carolBandwidth()}; tbf ${JSON.stringify(net.qdiscStats(CAROL))}`);
      previous = now;
    }
    const [screen, aliceCamera, bobCamera] = previous.map((end, i) => rate(start[i], end));
    const what = `over ${WINDOW_MS / 1000} s: screen ${fmt(screen)} (at least ` +
      `${slowestScreen.toFixed(1)} fps in every 2.5 s); Alice's camera ${fmt(aliceCamera)}; ` +
      `Bob's camera ${fmt(bobCamera)}`;
    console.log(what);
    const { received, sent } = await waitForScreenWidth(carol, alice);
    assert.equal(received, sent, `Carol decodes the screen share at the size Alice sends it (${sent} px): ${what}`);
    assert.ok(screen.fps >= 10, `the screen share keeps flowing (≥ 10 of its 15 fps): ${what}`);
    // Never paused: a pause of a second or more would show in one of the 2.5 s samples.
    assert.ok(slowestScreen >= 5, `the screen share is never paused (≥ 5 fps in every sample): ${what}`);
    // Not everything fits: the server gives up camera frames, not the screen's. (Freezes are
    // logged, not judged: when a probe raises the estimate past the link, the allocator resumes
    // a camera for a moment and the overflow costs every stream a few frames.)
    assert.ok(Math.min(aliceCamera.fps, bobCamera.fps) < 0.5 * screen.fps,
      `a camera gets less than half the screen's frame rate (the link carries two of the three ` +
      `videos at most): ${what}`);
  } finally {
    await Promise.all([alice, bob, carol].map((p) => p.context.close()));
    net.unshape(CAROL);
  }
});

// Captures real Chromium SDP for the signaling/sdp tests and checks that Chromium accepts
// the SDP Switchboard builds. Runs offline (a page Playwright serves itself, fake devices).
//
//   mkdir -p /tmp/pw && cd /tmp/pw && npm init -y && npm install playwright-core
//   unshare -n sh -c 'ip link set lo up && exec env NODE_PATH=/tmp/pw/node_modules \
//     node tests/data/capture_chromium_sdp.mjs --out tests/data \
//     [--tool build-sdp/tests/signaling/sdp/sdp_tool]'
//
// Without --tool it writes chromium_publish_offer.sdp, chromium_simulcast_offer.sdp and
// chromium_datachannel_offer.sdp (audio + video + data channel).
// With --tool (the sdp_tool test helper) it also: answers these offers
// with BuildAnswer and feeds them to the offering RTCPeerConnection's setRemoteDescription;
// feeds BuildOffer offers (all tracks, then m-lines closed) to a subscribing RTCPeerConnection
// and saves Chromium's first answer as chromium_subscribe_answer.sdp. Outcomes are printed as
// JSON lines.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
let pw;
try {
  pw = require('playwright-core');
} catch {
  pw = require('/tmp/pw/node_modules/playwright-core');
}

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const outDir = opt('--out') ?? '.';
const tool = opt('--tool');

// Playwright gives the browser a fresh temporary profile (it refuses --user-data-dir).
const browser = await pw.chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
  ],
});
const report = (o) => console.log(JSON.stringify(o));

try {
  const page = await browser.newPage();
  // about:blank is not a secure context (no getUserMedia); http://127.0.0.1 is. Playwright
  // serves the page itself, so nothing listens or is fetched.
  await page.route('http://127.0.0.1/**', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>sdp</title>' }),
  );
  await page.goto('http://127.0.0.1/');
  report({ chromium: browser.version() });

  // Creates a publishing PC (sendonly audio + video, optional simulcast), keeps it in
  // window.pcs[name] and returns its local offer.
  const makeOffer = (name, simulcast, dataChannel = false) =>
    page.evaluate(
      async ({ name, simulcast, dataChannel }) => {
        window.pcs = window.pcs || {};
        const stream = await navigator.mediaDevices.getUserMedia({
          audio: true,
          video: { width: 1280, height: 720 },
        });
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
        const init = { direction: 'sendonly', streams: [stream] };
        if (simulcast) {
          init.sendEncodings = [
            { rid: 'q', scaleResolutionDownBy: 4 },
            { rid: 'h', scaleResolutionDownBy: 2 },
            { rid: 'f' },
          ];
        }
        pc.addTransceiver(stream.getVideoTracks()[0], init);
        if (dataChannel) pc.createDataChannel('chat');
        await pc.setLocalDescription(await pc.createOffer());
        // Wait for host candidates so the offer looks like what a client sends.
        await new Promise((resolve) => {
          if (pc.iceGatheringState === 'complete') return resolve();
          pc.addEventListener('icegatheringstatechange', () => {
            if (pc.iceGatheringState === 'complete') resolve();
          });
          setTimeout(resolve, 3000);
        });
        window.pcs[name] = pc;
        return pc.localDescription.sdp;
      },
      { name, simulcast, dataChannel },
    );

  const applyAnswer = (name, sdp) =>
    page.evaluate(
      async ({ name, sdp }) => {
        const pc = window.pcs[name];
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp });
          const t = pc.getTransceivers().map((t) => ({
            mid: t.mid,
            direction: t.direction,
            current: t.currentDirection,
          }));
          const codecs = pc.getSenders().map((s) => s.getParameters().codecs.map((c) => c.mimeType));
          // Simulcast survives negotiation only if the answer accepted the rids.
          const rids = pc.getSenders().map((s) => s.getParameters().encodings.map((e) => e.rid ?? ''));
          return { ok: true, signalingState: pc.signalingState, transceivers: t, codecs, rids };
        } catch (e) {
          return { ok: false, error: String(e) };
        }
      },
      { name, sdp },
    );

  // Applies a server offer to the subscribing PC window.pcs[name] (created on first use) and
  // answers it, as a client does on every subscribe-offer.
  const answerOffer = (name, sdp) =>
    page.evaluate(
      async ({ name, sdp }) => {
        window.pcs = window.pcs || {};
        const pc = (window.pcs[name] ||= new RTCPeerConnection({ bundlePolicy: 'max-bundle' }));
        try {
          await pc.setRemoteDescription({ type: 'offer', sdp });
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          const t = pc.getTransceivers().map((t) => ({
            mid: t.mid,
            kind: t.receiver.track.kind,
            current: t.currentDirection,
            codecs: t.receiver.getParameters().codecs.map((c) => `${c.mimeType}/${c.payloadType}`),
          }));
          const tracks = pc.getReceivers().map((r) => r.track.id);
          return { ok: true, sdp: pc.localDescription.sdp, transceivers: t, tracks };
        } catch (e) {
          return { ok: false, error: String(e) };
        }
      },
      { name, sdp },
    );

  const publish = await makeOffer('publish', false);
  writeFileSync(join(outDir, 'chromium_publish_offer.sdp'), publish);
  const simulcast = await makeOffer('simulcast', true);
  writeFileSync(join(outDir, 'chromium_simulcast_offer.sdp'), simulcast);
  const withData = await makeOffer('datachannel', false, true);
  writeFileSync(join(outDir, 'chromium_datachannel_offer.sdp'), withData);
  report({
    captured: [
      'chromium_publish_offer.sdp',
      'chromium_simulcast_offer.sdp',
      'chromium_datachannel_offer.sdp',
    ],
  });

  if (tool) {
    const offers = [
      ['publish', publish],
      ['simulcast', simulcast],
      ['datachannel', withData],
    ];
    for (const [name, offer] of offers) {
      const answer = execFileSync(tool, ['answer'], { input: offer }).toString();
      report({ step: `BuildAnswer(${name} offer) -> setRemoteDescription`, ...(await applyAnswer(name, answer)) });
    }
    // The subscribing connection over a session: all tracks, then the audio m-line closed,
    // then both closed; and a fresh connection whose first offer has everything closed.
    const steps = [
      ['subscribe', '2', '', 'chromium_subscribe_answer.sdp'],
      ['subscribe', '3', '0'],
      ['subscribe', '4', '0,1'],
      ['fresh', '2', '0,1'],
    ];
    for (const [pc, version, closed, file] of steps) {
      const offer = execFileSync(tool, ['offer', version, closed]).toString();
      const { sdp, ...rest } = await answerOffer(pc, offer);
      if (rest.ok && file) writeFileSync(join(outDir, file), sdp);
      const ports = rest.ok ? sdp.split('\r\n').filter((l) => l.startsWith('m=')) : undefined;
      report({ step: `BuildOffer(v${version}, closed: [${closed}]) on '${pc}' PC -> setRemoteDescription + createAnswer`, ...rest, answerMLines: ports });
    }
  }
} finally {
  await browser.close();
}

// Shared pieces of the end-to-end tests: a real switchboard process and Debian's Chromium.
// The tests run inside a network namespace that has only loopback (scripts/test.sh).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { before, after } from 'node:test';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
const buildDir = process.env.SB_BUILD_DIR ?? join(repoRoot, 'build');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One switchboard (with `flags` and startServer's `options`) and one Chromium for a test file:
// started before its tests, stopped after them; the `after` hook fails the file when the server
// crashed or a worker died (see startServer). The returned object's `server` and `browser` are
// set once `before` ran.
export function serverAndBrowser(flags = [], options = {}) {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    env.server = await startServer(flags, options);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

// How long the server may take to shut down on SIGTERM before it is killed (and that counted
// as a failure): it closes its workers' pipes and waits for them, about a second at most.
const STOP_TIMEOUT_MS = 5000;

// What went wrong with a switchboard process, from how it exited and its log; [] when nothing.
// `exit` is { code, signal, stopping } (stopping: we had sent SIGTERM), `killedPids` the worker
// pids a test killed on purpose (server.killWorker), `allowWorkerDeaths` the blanket opt-out.
function serverProblems(exit, log, { killedPids, allowWorkerDeaths, forced }) {
  const problems = [];
  if (!exit.stopping) {
    problems.push(`exited on its own during the tests (status ${exit.code}, signal ${exit.signal})`);
  } else if (forced) {
    problems.push(`did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM and was killed`);
  } else if (exit.signal !== null) {
    problems.push(`died of ${exit.signal} instead of shutting down on SIGTERM`);
  } else if (exit.code !== 0) {
    problems.push(`exited with status ${exit.code} on SIGTERM (0 expected)`);
  }
  // signaling/workers: "worker 1 (pid 123) exited: status 0, signal 9" for every exit, then
  // "worker 1 died (status 0, signal 9)" unless the pool was shutting down.
  const shutdownAt = log.search(/signal \d+: shutting down/);
  const beforeShutdown = shutdownAt < 0 ? log : log.slice(0, shutdownAt);
  const afterShutdown = shutdownAt < 0 ? '' : log.slice(shutdownAt);
  if (!allowWorkerDeaths) {
    for (const m of beforeShutdown.matchAll(/worker (\d+) \(pid (\d+)\) exited: status (-?\d+), signal (\d+)/g)) {
      if (!killedPids.has(Number(m[2]))) {
        problems.push(`worker ${m[1]} (pid ${m[2]}) died during the tests (status ${m[3]}, signal ${m[4]})`);
      }
    }
    const died = [...log.matchAll(/worker \d+ died \(status -?\d+, signal \d+\)/g)].length;
    if (died > killedPids.size) {
      problems.push(`${died} worker deaths logged, ${killedPids.size} killed on purpose`);
    }
  }
  // On shutdown every worker sees its pipe close and exits cleanly.
  for (const m of afterShutdown.matchAll(/worker (\d+) \(pid (\d+)\) exited: status (-?\d+), signal (\d+)/g)) {
    if (m[3] !== '0' || m[4] !== '0') {
      problems.push(`worker ${m[1]} (pid ${m[2]}) exited with status ${m[3]}, signal ${m[4]} on shutdown`);
    }
  }
  if (/did not exit after its pipe closed/.test(afterShutdown)) {
    problems.push('a worker did not exit when its pipe closed');
  }
  return problems;
}

// Starts build/signaling/switchboard on a free-ish port with extra flags; resolves once
// /api/health answers (200, or 401 with --auth-secret). The returned object has url, port, process, log (captured output),
// killWorker(pid) and stop(). stop() sends SIGTERM and throws (failing the `after` hook that
// calls it) when the server exited before it was asked to, died of a signal, did not exit 0 on
// SIGTERM, or when a worker died during the tests. A test that kills a worker on purpose does
// it with server.killWorker(pid); options.allowWorkerDeaths (false) tolerates any worker death.
// options.command: a prefix that must exec the server in place, e.g. ['ip', 'netns', 'exec',
// NAME] (netns.mjs), so that the child's pid stays the server's; options.host: where it listens
// (flags give --listen), for url and the health probe.
export async function startServer(
  flags = [],
  { allowWorkerDeaths = false, command = [], host = '127.0.0.1' } = {},
) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const args = [`--port=${port}`, '--log-level=info', ...flags];
  const argv = [...command, join(buildDir, 'signaling', 'switchboard'), ...args];
  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let stopping = false;
  const killedPids = new Set();
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stopping })),
  );
  // After 'close' the output pipes are drained and the log is complete; a worker that kept an
  // inherited pipe open must not hang stop() though.
  const drained = new Promise((resolve) => child.on('close', resolve));
  // With a generated certificate (--tls-self-signed) it serves HTTPS, which node's fetch would
  // refuse to trust: the health probe goes through node:https without verification.
  const tls = flags.includes('--tls-self-signed');
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      const status = tls ? await insecureStatus(`${url}/api/health`) : (await fetch(`${url}/api/health`)).status;
      // 401: it runs with --auth-secret and wants an admin token; it is up either way.
      if (status === 200 || status === 401) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`switchboard did not start:\n${log}`);
    }
    await sleep(100);
  }
  return {
    url,
    port,
    process: child,
    get log() {
      return log;
    },
    // Kills a worker process on purpose: its death does not fail the file.
    killWorker(pid, signal = 'SIGKILL') {
      killedPids.add(pid);
      process.kill(pid, signal);
    },
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let forced = false;
      const timer = setTimeout(() => {
        forced = true;
        child.kill('SIGKILL');
      }, STOP_TIMEOUT_MS);
      const result = await exited;
      clearTimeout(timer);
      await Promise.race([drained, sleep(1000)]);
      const problems = serverProblems(result, log, { killedPids, allowWorkerDeaths, forced });
      if (problems.length > 0) {
        const tail = log.split('\n').slice(-60).join('\n');
        throw new Error(`switchboard: ${problems.join('; ')}\n--- end of its log:\n${tail}`);
      }
      return result;
    },
  };
}

// The status of a GET over HTTPS whatever the certificate (a self-signed one in the tests).
function insecureStatus(url) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

// Flags checked on these machines (../shared/TESTING.md): loopback ICE needs
// --allow-loopback-in-peer-connection; the background-networking flags keep Chromium quiet.
// `extraArgs`: e.g. --ignore-certificate-errors for a server with a self-signed certificate.
// `executablePath`: another launcher, e.g. netns.mjs's wrapper that runs Chromium in a namespace.
export async function launchBrowser(extraArgs = [], { executablePath } = {}) {
  // playwright-core gives every launch a fresh temporary profile (--user-data-dir).
  const browser = await chromium.launch({
    executablePath: executablePath ?? process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
  return browser;
}

// Fake media, ICE on loopback with plain host candidates, and nothing that phones home
// (the test runs in a loopback-only network namespace anyway).
// Firefox gathers only the default route's address (none here: loopback only, no route) unless
// the page holds a camera/microphone permission; media.navigator.permission.disabled skips the
// prompt but grants nothing, so the permissions.default.* prefs allow both outright.
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.default_address_only': false,
  'app.update.enabled': false,
  'app.update.auto': false,
  'app.normandy.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.provider.google4.updateURL': '',
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.server': '',
  'services.settings.server': '',
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'browser.search.update': false,
  'geo.provider.network.url': '',
};

// Debian's Firefox ESR, headless, driven over WebDriver BiDi with puppeteer-core (a puppeteer
// Browser: browser.newPage(), page.evaluate, page.waitForFunction...).
export function launchFirefox() {
  return puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
    timeout: 20000,
  });
}

// A participant: one browser context and page on the web app, joined by link.
export async function openParticipant(browser, server, room, name) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(
    `${server.url}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}&autojoin=1`,
  );
  return { name, context, page, errors };
}

export async function waitForState(participant, states, timeout = 20000) {
  const wanted = Array.isArray(states) ? states : [states];
  await participant.page.waitForFunction(
    (w) => w.includes(document.body.dataset.state),
    wanted,
    { timeout },
  );
  return participant.page.evaluate(() => document.body.dataset.state);
}

// Inbound RTP statistics of the subscribing connection, one entry per track, with the
// publisher it belongs to (the app's test hook, window.switchboardTest; on a page that drives
// the library itself, joinWithLibrary, the same from its window.sb).
export async function inboundStats(participant) {
  return participant.page.evaluate(() =>
    window.sb ? window.sb.getReceiverStats() : window.switchboardTest.inboundStats(),
  );
}

// A signaling client without a browser: JSON objects over ws://HOST:PORT/ws (docs/protocol.md).
// Every received message is queued; next() takes (removes) the first queued or arriving message
// that matches, so messages that arrive before a test asks for them are never lost.
export async function connectClient(server, { timeout = 5000 } = {}) {
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
  const queue = [];
  const waiters = [];
  let closed = false;
  const closedPromise = new Promise((resolve) => socket.on('close', resolve));
  socket.on('message', (data, isBinary) => {
    let message;
    try {
      message = JSON.parse(isBinary ? data.toString('utf8') : String(data));
    } catch {
      message = { type: '<unparsable>', raw: String(data) };
    }
    const waiter = waiters.find((w) => w.predicate(message));
    if (waiter) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    } else {
      queue.push(message);
    }
  });
  socket.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w.reject(new Error('socket closed while waiting'));
  });
  socket.on('error', () => {});
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('WebSocket connect timed out')), timeout);
    socket.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  const matcher = (want) =>
    typeof want === 'function' ? want : typeof want === 'string' ? (m) => m.type === want : () => true;
  const client = {
    socket,
    queue,
    get closed() {
      return closed;
    },
    send(message) {
      socket.send(typeof message === 'string' ? message : JSON.stringify(message));
    },
    // Resolves with the next message matching `want` (a type string or a predicate).
    next(want, ms = timeout) {
      const predicate = matcher(want);
      const i = queue.findIndex(predicate);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
      if (closed) return Promise.reject(new Error('socket is closed'));
      return new Promise((resolve, reject) => {
        const waiter = { predicate };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(
              `no message matching ${typeof want === 'string' ? want : 'predicate'} within ${ms} ms; ` +
                `queued: ${JSON.stringify(queue.map((m) => m.type))}`,
            ),
          );
        }, ms);
        waiter.resolve = (m) => {
          clearTimeout(timer);
          resolve(m);
        };
        waiter.reject = (e) => {
          clearTimeout(timer);
          reject(e);
        };
        waiters.push(waiter);
      });
    },
    // Sends `message` and resolves with the next message matching `want`.
    request(message, want, ms = timeout) {
      const reply = client.next(want, ms);
      client.send(message);
      return reply;
    },
    // Resolves with the messages matching `want` that arrive (or are queued) within `ms`,
    // leaving them queued; an empty array means nothing came.
    async collect(want, ms) {
      await sleep(ms);
      return queue.filter(matcher(want));
    },
    async close() {
      if (!closed) socket.close();
      await Promise.race([closedPromise, sleep(2000)]);
      if (!closed) socket.terminate();
    },
  };
  return client;
}

// A client that joined `room` as `name`; resolves with { client, id, joined }.
export async function joinRoom(server, room, name, extra = {}) {
  const client = await connectClient(server);
  const joined = await client.request({ type: 'join', room, name, ...extra }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  if (joined.type !== 'joined') throw new Error(`join ${room} as ${name}: ${JSON.stringify(joined)}`);
  client.id = joined.id;
  return { client, id: joined.id, joined };
}

export async function getJson(server, path) {
  const res = await fetch(`${server.url}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return res.json();
}

// The inbound video statistics `subscriber` has for `publisherId`'s track, or undefined.
// Data channels through the client library (window.sb in the page, docs/protocol.md "Data
// channels"): what reaches the page on the channels the server opens to it goes to window.got as
// { from, label, data }, a binary message as "binary <length> <byte sum mod 65536>". Call it
// before the others open their channels (right after window.sb is made): a channel that opens
// before it is missed.
export async function collectMessages(page) {
  await page.evaluate(() => {
    window.got = [];
    window.sb.addEventListener('datachannel', (e) => {
      const { channel, from, label } = e.detail;
      channel.addEventListener('message', (m) => {
        const data = typeof m.data === 'string' ? m.data : `binary ${m.data.byteLength} ` +
          new Uint8Array(m.data).reduce((sum, b) => (sum + b) % 65536, 0);
        window.got.push({ from, label, data });
      });
    });
  });
}

// Opens a room-wide 'chat' channel on the page's client (window.chat) and waits until it is open.
export async function openChat(page) {
  await page.evaluate(() => {
    window.chat = window.sb.openDataChannel('chat');
    return new Promise((resolve) => window.chat.addEventListener('open', resolve, { once: true }));
  });
}

// `from` talks to `to` over their chat channels (openChat, collectMessages): greets until a
// greeting arrives (the receiver's channel opens a moment after the sender's), then sends 20
// texts, 64 KiB of binary and 'last', which must arrive in order, intact, from `from` on 'chat'.
// Empties `to`'s window.got; resolves with { firstMs, ms }: until the first greeting arrived,
// and from the burst's start to its last message.
export async function chatBurst(from, to, timeout = 15000) {
  const until = async (what, predicate) => {
    const started = Date.now();
    while (!(await predicate())) {
      if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
    return Date.now() - started;
  };
  const firstMs = await until(`${from.name}'s greeting at ${to.name}`, async () => {
    await from.page.evaluate(() => window.chat.send('hello'));
    return to.page.evaluate(() => window.got.length > 0);
  });
  const sentAt = Date.now();
  await from.page.evaluate(() => {
    for (let i = 0; i < 20; ++i) window.chat.send(`message ${i}`);
    window.chat.send(new Uint8Array(65536).map((_, i) => i % 251).buffer);
    window.chat.send('last');
  });
  await until(`${from.name}'s last message at ${to.name}`, () =>
    to.page.evaluate(() => window.got.some((m) => m.data === 'last')));
  const ms = Date.now() - sentAt;
  const got = await to.page.evaluate(() => window.got.filter((m) => m.data !== 'hello'));
  const expectedSum = [...Array(65536).keys()].reduce((sum, i) => (sum + (i % 251)) % 65536, 0);
  assert.deepEqual(got.map((m) => m.data), [
    ...Array.from({ length: 20 }, (_, i) => `message ${i}`), `binary 65536 ${expectedSum}`, 'last',
  ], `${to.name} got ${from.name}'s messages in order and intact`);
  assert.ok(got.every((m) => m.from === from.id && m.label === 'chat'), JSON.stringify(got[0]));
  await to.page.evaluate(() => { window.got = []; });
  return { firstMs, ms };
}

// The server's estimate and allocation for each of `participants` (by their `id`), as
// /api/rooms shows them: [{ estimateBps, desiredBps, allocatedBps } | undefined].
export async function serverBandwidth(server, participants) {
  const { rooms } = await getJson(server, '/api/rooms');
  const all = rooms.flatMap((r) => r.participants);
  return participants.map((p) => all.find((q) => q.id === p.id)?.bandwidth);
}

export async function videoFrom(subscriber, publisherId) {
  const stats = await inboundStats(subscriber);
  return stats.find((s) => s.participantId === publisherId && s.kind === 'video');
}

// Polls until `subscriber` decodes `publisherId`'s video `width` px wide, with new frames at
// that width; returns { video, ms } (ms since `since`).
export async function waitForWidth(subscriber, publisherId, width, timeout, since = Date.now()) {
  const deadline = since + timeout;
  let last;
  for (;;) {
    const video = await videoFrom(subscriber, publisherId);
    if (video?.frameWidth === width && last && video.framesDecoded > last.framesDecoded) {
      return { video, ms: Date.now() - since };
    }
    last = video?.frameWidth === width ? video : undefined;
    if (Date.now() > deadline) {
      throw new Error(`${subscriber.name} does not decode ${width} px frames within ${timeout} ms: ${JSON.stringify(video)}`);
    }
    await sleep(200);
  }
}

// Samples `subscriber`'s video of `publisherId` every 500 ms for `ms`: the widths seen, the
// frames decoded and the freezes added meanwhile.
export async function holdsVideo(subscriber, publisherId, ms) {
  const first = await videoFrom(subscriber, publisherId);
  const widths = new Set();
  let last = first;
  for (let t = 0; t < ms; t += 500) {
    await sleep(500);
    last = await videoFrom(subscriber, publisherId);
    widths.add(last.frameWidth);
  }
  return {
    widths: [...widths],
    frames: last.framesDecoded - first.framesDecoded,
    freezes: (last.freezeCount ?? 0) - (first.freezeCount ?? 0),
  };
}

// Polls (from node: an async predicate in waitForFunction would not be awaited) until
// `subscriber` has decoded video from `publisherId`; returns those statistics.
export async function waitForFrames(subscriber, publisherId, timeout = 20000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const video = await videoFrom(subscriber, publisherId);
    if (video?.framesDecoded > 0) return video;
    if (Date.now() > deadline) {
      throw new Error(
        `${subscriber.name} decodes no video from ${publisherId}: ${JSON.stringify(video)}`,
      );
    }
    await sleep(250);
  }
}

// A participant whose page on the server's origin drives the client library directly
// (window.sb), joined to `room`; `env` is what serverAndBrowser() returned.
export async function joinWithLibrary(env, room, name) {
  const context = await env.browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  const id = await page.evaluate(
    async ({ room, name }) => {
      const { SwitchboardClient } = await import('/lib/switchboard.js');
      const sb = new SwitchboardClient();
      window.sb = sb;
      await sb.connect(`ws://${location.host}/ws`);
      const reply = await sb.join(room, name);
      if (reply.type !== 'joined') throw new Error(`join: ${JSON.stringify(reply)}`);
      return reply.id;
    },
    { room, name },
  );
  return { name, context, page, id };
}

// Simulcast layers a publisher (joinWithLibrary) is sending now: rid -> frameWidth, for the
// layers whose framesSent grew over `ms`.
export async function sendingLayers(publisher, ms = 1500) {
  const stats = () => publisher.page.evaluate(() => window.sb.getSenderStats());
  const first = await stats();
  await sleep(ms);
  const second = await stats();
  const layers = {};
  for (const s of second) {
    const before = first.find((f) => f.rid === s.rid);
    if (s.kind === 'video' && s.rid && s.framesSent > (before?.framesSent ?? 0) && s.frameWidth) {
      layers[s.rid] = s.frameWidth;
    }
  }
  return layers;
}

// Publishes a 1280x720 30 fps camera through the client library (joinWithLibrary's page) as
// three simulcast layers with no bitrate caps: q, h and f at a quarter, half and full size,
// lowest first, as the web app sends its camera.
export async function publishSimulcast720(participant) {
  await participant.page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 1280, height: 720, frameRate: 30 },
    });
    await window.sb.publish(stream, {
      videoEncodings: [
        { rid: 'q', scaleResolutionDownBy: 4 },
        { rid: 'h', scaleResolutionDownBy: 2 },
        { rid: 'f' },
      ],
    });
  });
}

// Per connection (publish, subscribe): the selected pair's protocol and candidate types, and
// the DTLS state, from the browser's statistics.
export async function selectedPaths(p) {
  return p.page.evaluate(async () => {
    const out = {};
    const reports = await window.sb.getStats();
    for (const [name, report] of Object.entries(reports)) {
      for (const s of report?.values() ?? []) {
        if (s.type !== 'transport') continue;
        const pair = report.get(s.selectedCandidatePairId);
        const l = report.get(pair?.localCandidateId);
        const r = report.get(pair?.remoteCandidateId);
        out[name] = {
          protocol: r?.protocol,
          local: `${l?.protocol} ${l?.candidateType} ${l?.tcpType ?? ''}`.trim(),
          remote: `${r?.protocol} ${r?.address}:${r?.port} ${r?.candidateType} ${r?.tcpType ?? ''}`.trim(),
          dtlsState: s.dtlsState,
          remoteAddress: r?.address,
          remotePort: r?.port,
          localAddress: l?.address,
        };
      }
    }
    return out;
  });
}

// A participant (joinWithLibrary) publishes its camera (640x360) and microphone.
export async function publishCamera(p) {
  await p.page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: 640, height: 360 },
    });
    await window.sb.publish(stream);
  });
}

// A real redis-server (Debian's) for a cluster of nodes (issue 14): on `host` and a random port,
// nothing saved; `protectedMode` off when nodes reach it from other namespaces (over a test's
// own bridge). Resolves with { port, process, stop() } once it accepts connections.
export const REDIS_SERVER = '/usr/bin/redis-server';
export async function startRedis({ host = '127.0.0.1', protectedMode = true } = {}) {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const args = ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'no'];
  if (!protectedMode) args.push('--protected-mode', 'no');
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  const deadline = Date.now() + 10000;
  while (!log.includes('Ready to accept connections')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server:\n${log}`);
    await sleep(50);
  }
  return { port, process: child, stop: () => child.kill('SIGKILL') };
}

// Chat and file transfer in the web app, over data channels through the server (issue 13,
// docs/protocol.md "Data channels"), as people in a call see them:
//   (a) Chromium, Firefox and Chromium chat: each sees the other two's messages, from the right
//       sender, in the order they were typed; and a file each way between Firefox and Chromium
//       arrives byte for byte, and one dropped on the chat panel too;
//   (b) a 20 MB file of random bytes from one participant reaches two others byte for byte (the
//       download links' SHA-256 is the sender's) while the video between all three keeps being
//       decoded;
//   (c) a receiver that leaves in the middle of a transfer changes nothing for the others: the
//       other receiver gets the exact file, the chat goes on;
//   (e) a receiver whose downlink is slow (a token bucket, netns.mjs) still gets
//       a file, exactly, because the app's senders keep pace with their slowest receiver; a
//       sender that does not (a bare channel sent at 4 MB/s) has that receiver's copy closed by the
//       server, which the receiver is told ('data-channel-closed', a notice in its chat), while
//       the fast receiver gets everything;
//   (d) an unreliable channel (unordered, maxRetransmits 0) under 5 % random loss of what the
//       server sends (nftables in the test's own loopback-only namespace, as nack.test.mjs):
//       about 95 % of 1000 messages arrive (not all: the server does not retransmit them either),
//       and the chat (reliable, retransmitted) and the video keep working meanwhile;
//   (f) the room's worker dies: the app rejoins by itself and its chat channels come back.
// Every participant publishes its camera (640x360, &simulcast=0: three calls on two cores).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverAndBrowser, launchFirefox, waitForFrames, videoFrom, sleep, getJson } from './harness.mjs';
import { createNetwork } from './netns.mjs';

// The file of (b) and (c): 20 MB (issue 13).
const FILE_BYTES = 20 * 1024 * 1024;
// (d): messages, their size (one per SCTP packet: no bundling that would make the loss of one
// packet the loss of many messages), and the pace they are sent at.
const LOSS_PERCENT = 5;
const LOSS_MESSAGES = 1000;
const LOSS_MESSAGE_BYTES = 1000;
const LOSS_BATCH = 5; // messages every LOSS_BATCH_MS: 250 per second
const LOSS_BATCH_MS = 20;
const TABLE = 'sbdcloss';
// Media ports of their own, below the ephemeral range where the browsers bind (nack.test.mjs):
// the loss rule matches what leaves the server.
const RTC_PORT_MIN = 10000 + 20 * Math.floor(Math.random() * 1000);
const RTC_PORT_MAX = RTC_PORT_MIN + 19;

const env = serverAndBrowser(['--rtc-port=0', `--rtc-ports=${RTC_PORT_MIN}-${RTC_PORT_MAX}`]);

const tempDir = mkdtempSync(join(tmpdir(), 'sbdc-'));
after(() => {
  rmSync(tempDir, { recursive: true, force: true });
  spawnSync('nft', ['delete', 'table', 'inet', TABLE]);
});

const appUrl = (room, name, server = env.server) =>
  `${server.url}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}&autojoin=1&simulcast=0`;

// Polls `fn` (async) until it returns something truthy; `what()` says what was awaited.
async function until(fn, timeout, what, interval = 100) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${await what()} (after ${timeout} ms)`);
    await sleep(interval);
  }
}

// A participant on the web app in Chromium (playwright) or Firefox (puppeteer): both pages have
// evaluate(fn, arg); typing differs.
async function joinApp(browser, room, name, { firefox = false, server } = {}) {
  const context = firefox ? null : await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = firefox ? await browser.newPage() : await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(appUrl(room, name, server));
  const p = { name, page, context, errors, firefox };
  await until(() => page.evaluate(() => ['joined', 'full', 'error'].includes(document.body.dataset.state)),
    20000, () => `${name} joins ${room}`);
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'joined', `${name} joined`);
  p.id = await page.evaluate(() => document.body.dataset.selfId);
  return p;
}

async function leaveApp(p) {
  if (p.firefox) await p.page.close();
  else await p.context.close();
}

// Types `text` in the chat and presses Enter, as a person does.
async function say(p, text) {
  if (p.firefox) {
    await p.page.type('#chat-input', text);
    await p.page.keyboard.press('Enter');
  } else {
    await p.page.fill('#chat-input', text);
    await p.page.press('#chat-input', 'Enter');
  }
}

// Picks `path` in `p`'s file input, as a person does.
async function pickFile(p, path) {
  if (p.firefox) await (await p.page.$('#file-input')).uploadFile(path);
  else await p.page.setInputFiles('#file-input', path);
}

// The messages `p` shows as received: [{ from, text, name }] in the log's order.
function received(p) {
  return p.page.evaluate(() => [...document.querySelectorAll('#chat-log [data-chat-from]')].map((e) => ({
    from: e.dataset.chatFrom,
    text: e.textContent,
    name: e.closest('.chat-entry').querySelector('.chat-name').textContent,
  })));
}

// Waits until `p` has an open channel `label` from each of `senders` (the server opened them).
async function channelsFrom(p, senders, label) {
  const ids = senders.map((s) => s.id);
  await until(async () => {
    const channels = await p.page.evaluate(() => window.switchboardTest.dataChannels());
    return ids.every((id) => channels.some((c) => c.from === id && c.label === label && c.state === 'open'));
  }, 20000, async () => `${p.name} has no open '${label}' channel from each of ${ids}: ` +
    JSON.stringify(await p.page.evaluate(() => window.switchboardTest.dataChannels())));
}

// A file of `bytes` random bytes in the temp folder: { path, name, sha256 }.
function randomFile(name, bytes) {
  const data = randomBytes(bytes);
  const path = join(tempDir, name);
  writeFileSync(path, data);
  return { path, name, size: bytes, sha256: createHash('sha256').update(data).digest('hex') };
}

// What `p` shows of the file it receives from `sender`: the link (its name, size attribute and
// the SHA-256 of what its href fetches), or the state of the entry while receiving.
function fileLink(p, sender) {
  return p.page.evaluate(async (from) => {
    const link = document.querySelector(`a[download][data-file-from="${from}"]`);
    if (!link) {
      const entry = [...document.querySelectorAll('li[data-file-in]')].pop();
      return entry ? { state: entry.dataset.fileState, got: entry.querySelector('progress')?.value } : null;
    }
    const bytes = await (await fetch(link.href)).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return {
      download: link.download,
      size: Number(link.dataset.fileSize),
      fetched: bytes.byteLength,
      sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
      text: link.closest('.chat-file').textContent,
    };
  }, sender.id);
}

// The sender's entry of its last file: { state, value, max } (progress in bytes).
function sendState(p) {
  return p.page.evaluate(() => {
    const entry = [...document.querySelectorAll('li[data-file-out]')].pop();
    const bar = entry?.querySelector('progress[data-file-progress]');
    return entry ? { state: entry.dataset.fileState, value: bar.value, max: bar.max } : null;
  });
}

async function framesOf(pairs) {
  return Promise.all(pairs.map(async ([rx, tx]) => (await videoFrom(rx, tx.id))?.framesDecoded ?? 0));
}

test('Chromium, Firefox and Chromium chat (each sees the other two\'s messages, from the right sender, in order) and send files', async () => {
  const firefox = await launchFirefox();
  try {
    const room = 'dc-chat';
    const ada = await joinApp(env.browser, room, 'Ada');
    const fox = await joinApp(firefox, room, 'Fox', { firefox: true });
    const cleo = await joinApp(env.browser, room, 'Cleo');
    const all = [ada, fox, cleo];
    for (const p of all) await channelsFrom(p, all.filter((o) => o !== p), 'chat');

    // Interleaved: Ada, Fox, Cleo, Ada, ...; strings with more than ASCII in them.
    const sent = new Map(all.map((p) => [p.id, []]));
    for (let round = 1; round <= 3; round++) {
      for (const p of all) {
        const text = `${p.name} #${round}: grüße ✓ ${'·'.repeat(round)}`;
        sent.get(p.id).push(text);
        await say(p, text);
      }
    }
    for (const p of all) {
      const others = all.filter((o) => o !== p);
      await until(async () => (await received(p)).length >= 6, 10000,
        async () => `${p.name} shows ${JSON.stringify(await received(p))}`);
      const got = await received(p);
      assert.equal(got.length, 6, `${p.name} shows the others' six messages: ${JSON.stringify(got)}`);
      for (const o of others) {
        const fromO = got.filter((m) => m.from === o.id);
        assert.deepEqual(fromO.map((m) => m.text), sent.get(o.id), `${p.name} shows ${o.name}'s messages in order`);
        assert.ok(fromO.every((m) => m.name === o.name), `${p.name} names ${o.name} as their sender`);
      }
      const own = await p.page.evaluate(() =>
        [...document.querySelectorAll('#chat-log [data-chat-self]')].map((e) => e.textContent));
      assert.deepEqual(own, sent.get(p.id), `${p.name} shows its own messages, apart from the others'`);
    }
    console.log(`chat: ${all.map((p) => `${p.name} (${p.firefox ? 'Firefox' : 'Chromium'})`).join(', ')} ` +
      'each showed the 6 messages of the other two in order');

    // A file from Firefox to both Chromiums, then one from Chromium to Firefox (and Cleo).
    for (const [sender, file] of [[fox, randomFile('from-firefox.bin', 3 * 1024 * 1024 + 7)],
      [ada, randomFile('from-chromium.bin', 3 * 1024 * 1024 + 11)]]) {
      const receivers = all.filter((o) => o !== sender);
      for (const r of receivers) await channelsFrom(r, [sender], 'file');
      const start = Date.now();
      await pickFile(sender, file.path);
      const links = await until(async () => {
        const got = await Promise.all(receivers.map((r) => fileLink(r, sender)));
        return got.every((l) => l?.sha256) && got;
      }, 30000, async () => `${sender.name}'s file did not arrive: ` +
        JSON.stringify(await Promise.all(receivers.map((r) => fileLink(r, sender)))));
      console.log(`${file.name}: ${file.size} bytes from ${sender.name} to ${receivers.map((r) => r.name)} ` +
        `in ${Date.now() - start} ms`);
      for (const [i, link] of links.entries()) {
        assert.equal(link.sha256, file.sha256, `${receivers[i].name} got ${sender.name}'s exact bytes`);
        assert.equal(link.size, file.size);
      }
    }

    // A file dropped on Cleo's chat panel goes out like a picked one.
    const dropped = await cleo.page.evaluate(async () => {
      const bytes = crypto.getRandomValues(new Uint8Array(60000));
      const file = new File([bytes], 'dropped.bin', { type: 'application/octet-stream' });
      const dataTransfer = new DataTransfer();
      dataTransfer.items.add(file);
      const panel = document.querySelector('#chat');
      panel.dispatchEvent(new DragEvent('dragover', { dataTransfer, bubbles: true, cancelable: true }));
      const accepted = !panel.dispatchEvent(new DragEvent('drop', { dataTransfer, bubbles: true, cancelable: true }));
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      return { accepted, sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join('') };
    });
    assert.ok(dropped.accepted, 'the chat panel takes the drop');
    const droppedLinks = await until(async () => {
      const got = await Promise.all([fileLink(ada, cleo), fileLink(fox, cleo)]);
      return got.every((l) => l?.sha256) && got;
    }, 20000, async () => `the dropped file did not arrive: ${JSON.stringify(await fileLink(ada, cleo))}`);
    for (const link of droppedLinks) {
      assert.equal(link.sha256, dropped.sha256, 'the dropped file arrives exactly');
      assert.equal(link.download, 'dropped.bin');
    }
    for (const p of all) assert.deepEqual(p.errors, [], `no page errors at ${p.name}`);
    for (const p of all) await leaveApp(p);
  } finally {
    await firefox.close();
  }
});

test('a 20 MB file reaches two receivers byte for byte while the video keeps flowing', async () => {
  const room = 'dc-file';
  const ann = await joinApp(env.browser, room, 'Ann');
  const ben = await joinApp(env.browser, room, 'Ben');
  const cy = await joinApp(env.browser, room, 'Cy');
  const pairs = [[ben, cy], [cy, ben], [ben, ann], [cy, ann]];
  await Promise.all(pairs.map(([rx, tx]) => waitForFrames(rx, tx.id)));
  await channelsFrom(ben, [ann], 'file');
  await channelsFrom(cy, [ann], 'file');

  const file = randomFile('random-20MB.bin', FILE_BYTES);
  const start = Date.now();
  const frames0 = await framesOf(pairs);
  await ann.page.setInputFiles('#file-input', file.path);
  // Ann's progress bar, sampled as she would see it.
  const progress = [];
  let framesMid = null;
  const done = await until(async () => {
    const s = await sendState(ann);
    if (s) progress.push(s.value);
    if (!framesMid && s && s.value >= s.max / 2) framesMid = await framesOf(pairs);
    const links = await Promise.all([fileLink(ben, ann), fileLink(cy, ann)]);
    if (links.some((l) => l?.state === 'failed')) throw new Error(`a receiver failed: ${JSON.stringify(links)}`);
    return links.every((l) => l?.sha256) && s?.state === 'sent' ? links : null;
  }, 120000, async () => `the file did not arrive: Ann ${JSON.stringify(await sendState(ann))}, ` +
    `Ben ${JSON.stringify(await fileLink(ben, ann))}, Cy ${JSON.stringify(await fileLink(cy, ann))}`, 50);
  const ms = Date.now() - start;
  const frames1 = await framesOf(pairs);

  const grew = pairs.map(([rx, tx], i) => `${tx.name}->${rx.name} +${frames1[i] - frames0[i]}`);
  const between = progress.filter((v) => v > 0 && v < file.size).length;
  console.log(`20 MB to two receivers in ${ms} ms (${(FILE_BYTES / 1e6 / (ms / 1000)).toFixed(1)} MB/s); ` +
    `frames decoded meanwhile: ${grew.join(', ')}; Ann's progress bar sampled ${progress.length} times, ` +
    `${between} between 0 and the size; at half way: ${framesMid ? framesMid.map((f, i) => f - frames0[i]) : '-'}`);
  for (const [i, link] of done.entries()) {
    const who = [ben, cy][i].name;
    assert.equal(link.sha256, file.sha256, `${who}'s download has the sender's SHA-256`);
    assert.equal(link.fetched, file.size, `${who}'s download is ${file.size} bytes`);
    assert.equal(link.size, file.size, `${who}'s link says its size`);
    assert.equal(link.download, file.name, `${who}'s link downloads under the file's name`);
    assert.match(link.text, /random-20MB\.bin \(21 MB\)/, `${who} sees the name and size`);
  }
  for (const [i, [rx, tx]] of pairs.entries()) {
    assert.ok(frames1[i] > frames0[i], `${rx.name} kept decoding ${tx.name}'s video during the transfer`);
  }
  assert.ok(between >= 1, 'Ann saw her progress between nothing and all');
  for (const p of [ann, ben, cy]) assert.deepEqual(p.errors, [], `no page errors at ${p.name}`);
  for (const p of [ann, ben, cy]) await leaveApp(p);
});

function nft(...args) {
  return spawnSync('nft', args, { encoding: 'utf8' });
}

// Whether nft can add a table here (needs the nftables package and root): null, or why not.
function nftUnusable() {
  const probe = nft('add', 'table', 'inet', `${TABLE}probe`);
  if (probe.error || probe.status !== 0) {
    return `nft cannot add a table (${probe.error?.code ?? probe.stderr.trim()}): needs nftables and root`;
  }
  nft('delete', 'table', 'inet', `${TABLE}probe`);
  return null;
}

test('a receiver that leaves in the middle of a file changes nothing for the others', async () => {
  const room = 'dc-leave';
  const ann = await joinApp(env.browser, room, 'Ann');
  const dee = await joinApp(env.browser, room, 'Dee');
  const eve = await joinApp(env.browser, room, 'Eve');
  for (const p of [dee, eve]) await channelsFrom(p, [ann], 'file');
  await channelsFrom(ann, [eve], 'chat');
  await channelsFrom(eve, [ann], 'chat');

  const file = randomFile('leave-20MB.bin', FILE_BYTES);
  await ann.page.setInputFiles('#file-input', file.path);
  // Dee has some of it, then closes her tab.
  await dee.page.waitForFunction(() => document.querySelector('li[data-file-in] progress')?.value > 0,
    null, { polling: 10, timeout: 20000 });
  const deeHad = await dee.page.evaluate(() => {
    const entry = document.querySelector('li[data-file-in]');
    return { state: entry.dataset.fileState, got: entry.querySelector('progress')?.value ?? null };
  });
  await leaveApp(dee);
  const links = await until(() => fileLink(eve, ann).then((l) => (l?.sha256 ? l : null)), 60000,
    async () => `Eve has no complete file: ${JSON.stringify(await fileLink(eve, ann))}; ` +
      `Ann ${JSON.stringify(await sendState(ann))}`);
  await until(async () => (await sendState(ann))?.state === 'sent', 20000,
    async () => `Ann's file is not sent: ${JSON.stringify(await sendState(ann))}`);
  console.log(`Dee left with ${deeHad.got} of ${file.size} bytes (${deeHad.state}); Eve got the whole file`);
  assert.equal(deeHad.state, 'receiving', 'Dee left while the file was on its way');
  assert.equal(links.sha256, file.sha256, 'Eve\'s download has the sender\'s SHA-256');
  assert.equal(links.fetched, file.size);

  await say(ann, 'Dee left, did it arrive?');
  await until(async () => (await received(eve)).some((m) => m.from === ann.id && m.text === 'Dee left, did it arrive?'),
    10000, async () => `Eve shows ${JSON.stringify(await received(eve))}`);
  await say(eve, 'yes, all of it');
  await until(async () => (await received(ann)).some((m) => m.from === eve.id && m.text === 'yes, all of it'),
    10000, async () => `Ann shows ${JSON.stringify(await received(ann))}`);
  for (const p of [ann, eve]) assert.deepEqual(p.errors, [], `no page errors at ${p.name}`);
  for (const p of [ann, eve]) await leaveApp(p);
});


// (e): Ben's downlink (a token bucket, netns.mjs), and what goes through it.
const SLOW_KBIT = 8000;
// More than the app's window (2 MiB) and the server's queue for one receiver (4 MiB) together:
// without pacing by the slowest receiver, Ben would be cut off.
const SLOW_FILE_BYTES = 7 * 1024 * 1024 + 3;
const FLOOD_BYTES = 16 * 1024 * 1024;
// The flood's pace: four times what Ben's link carries (he falls 4 MiB behind within seconds),
// a third of what the server forwards on loopback (Cy keeps up even on a busy machine).
const FLOOD_BYTES_PER_SECOND = 4 * 1000 * 1000;

test('a slow receiver gets a file at its pace; a flood past it is cut off for it alone, and it is told', async () => {
  // Ann and Cy in one client namespace (one Chromium), Ben behind a SLOW_KBIT downlink in
  // another, the server on the bridge (netns.mjs): a server of its own for this test.
  const net = createNetwork(2);
  let server;
  const browsers = [];
  try {
    server = await net.startServer();
    browsers.push(await net.launchBrowser(0, { server }), await net.launchBrowser(1, { server }));
    net.shape(1, SLOW_KBIT);
    const room = 'dc-slow';
    const ann = await joinApp(browsers[0], room, 'Ann', { server });
    const ben = await joinApp(browsers[1], room, 'Ben', { server });
    const cy = await joinApp(browsers[0], room, 'Cy', { server });
    for (const p of [ben, cy]) await channelsFrom(p, [ann], 'file');
    await channelsFrom(ann, [ben, cy], 'chat');

    // 1. The app's file transfer: paced by the slowest receiver's confirmations.
    const file = randomFile('to-a-slow-link.bin', SLOW_FILE_BYTES);
    const start = Date.now();
    await pickFile(ann, file.path);
    const links = await until(async () => {
      const got = await Promise.all([fileLink(ben, ann), fileLink(cy, ann)]);
      if (got.some((l) => l?.state === 'failed')) throw new Error(`a receiver failed: ${JSON.stringify(got)}`);
      return got.every((l) => l?.sha256) && got;
    }, 90000, async () => `the file did not reach both: Ann ${JSON.stringify(await sendState(ann))}, ` +
      `Ben ${JSON.stringify(await fileLink(ben, ann))}, Cy ${JSON.stringify(await fileLink(cy, ann))}`, 250);
    const fileMs = Date.now() - start;
    assert.equal(links[0].sha256, file.sha256, 'slow Ben got the exact file');
    assert.equal(links[1].sha256, file.sha256, 'Cy got the exact file');
    const log = await ben.page.evaluate(() => document.querySelector('#chat-log').textContent);
    assert.doesNotMatch(log, /stopped forwarding/, 'the server did not cut Ben off');

    // 2. A bare reliable channel sent at a fixed rate, not the slowest receiver's: Ben cannot keep up.
    for (const p of [ben, cy]) {
      await p.page.evaluate((from) => {
        window.flood = { bytes: 0, closedEvents: [] };
        const client = window.switchboardTest.client();
        client.addEventListener('datachannel', (e) => {
          if (e.detail.label !== 'flood' || e.detail.from !== from) return;
          e.detail.channel.addEventListener('message', (m) => { window.flood.bytes += m.data.byteLength; });
        });
        client.addEventListener('data-channel-closed', (e) => window.flood.closedEvents.push(
          { from: e.detail.from, label: e.detail.label, reason: e.detail.reason, hadChannel: !!e.detail.channel }));
      }, ann.id);
    }
    await ann.page.evaluate(() => new Promise((resolve) => {
      window.floodChannel = window.switchboardTest.client().openDataChannel('flood');
      window.floodChannel.onopen = resolve;
    }));
    for (const p of [ben, cy]) await channelsFrom(p, [ann], 'flood');
    const floodStart = Date.now();
    await ann.page.evaluate(async ({ total, rate }) => {
      const channel = window.floodChannel;
      const chunk = new Uint8Array(16 * 1024).fill(7).buffer;
      const begin = performance.now();
      for (let sent = 0; sent < total; sent += chunk.byteLength) {
        // At `rate` bytes per second (and never more than 1 MiB queued here), whoever receives.
        while (sent > ((performance.now() - begin) / 1000) * rate || channel.bufferedAmount > 1024 * 1024) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        channel.send(chunk);
      }
    }, { total: FLOOD_BYTES, rate: FLOOD_BYTES_PER_SECOND });
    await until(() => cy.page.evaluate((total) => window.flood.bytes >= total, FLOOD_BYTES), 60000,
      async () => `Cy got ${JSON.stringify(await cy.page.evaluate(() => window.flood))} of ${FLOOD_BYTES} bytes, ` +
        `Ann's channel ${JSON.stringify(await ann.page.evaluate(() =>
          [window.floodChannel.readyState, window.floodChannel.bufferedAmount]))}; the server's data log:\n` +
        server.log.split('\n').filter((l) => /\[data\]|data channel/.test(l)).slice(-30).join('\n'));
    const floodMs = Date.now() - floodStart;
    const cut = await until(() => ben.page.evaluate(() => window.flood.closedEvents[0]), 20000,
      async () => `Ben was not told: ${JSON.stringify(await ben.page.evaluate(() => window.flood))}`);
    const notice = await until(() => ben.page.evaluate(() =>
      [...document.querySelectorAll('#chat-log .notice')].map((e) => e.textContent).find((t) => /stopped forwarding/.test(t))),
    5000, () => 'Ben\'s chat shows no notice');
    const benBytes = await ben.page.evaluate(() => window.flood.bytes);
    console.log(`slow Ben (${SLOW_KBIT} kbit/s): the app's ${file.size} byte file reached Ben and Cy in ${fileMs} ms; ` +
      `a ${FLOOD_BYTES} byte flood reached Cy in ${floodMs} ms, Ben got ${benBytes} bytes and ${JSON.stringify(cut)}; ` +
      `his chat says "${notice}"; tbf ${JSON.stringify(net.qdiscStats(1))}`);
    assert.deepEqual(cut, { from: ann.id, label: 'flood', reason: 'receiver-too-slow', hadChannel: true });
    assert.ok(benBytes < FLOOD_BYTES, 'Ben did not get the whole flood');
    assert.deepEqual(await cy.page.evaluate(() => window.flood.closedEvents), [], 'Cy was not cut off');

    // Ben's other channels from Ann are untouched: the chat reaches him.
    await say(ann, 'Ben, still there?');
    await until(async () => (await received(ben)).some((m) => m.from === ann.id && m.text === 'Ben, still there?'),
      10000, async () => `Ben shows ${JSON.stringify(await received(ben))}`);
    for (const p of [ann, ben, cy]) assert.deepEqual(p.errors, [], `no page errors at ${p.name}`);
  } finally {
    for (const b of browsers) await b.close();
    await server?.stop();
    net.destroy();
  }
});

// Drops LOSS_PERCENT % of the DTLS application data records (content type 23, RFC 6347 section
// 4.1: the SCTP packets of the data channels; not SRTP, not the DTLS handshake) that the server
// sends from its media ports; a first rule counts what matched.
function addLoss() {
  const match = `udp sport ${RTC_PORT_MIN}-${RTC_PORT_MAX} @th,64,8 23`;
  const script = [
    `add table inet ${TABLE}`,
    `add chain inet ${TABLE} out { type filter hook output priority 0; }`,
    `add rule inet ${TABLE} out ${match} counter`,
    `add rule inet ${TABLE} out ${match} numgen random mod 100 < ${LOSS_PERCENT} counter drop`,
  ].join('\n');
  const r = spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, `nft: ${r.stderr}`);
}

function lossCounters() {
  const r = nft('-j', 'list', 'table', 'inet', TABLE);
  assert.equal(r.status, 0, `nft: ${r.stderr}`);
  const counters = JSON.parse(r.stdout).nftables.filter((e) => e.rule)
    .map((e) => e.rule.expr.find((x) => x.counter).counter.packets);
  return { matched: counters[0], dropped: counters[1] };
}

test('an unreliable channel under 5 % loss loses about 5 % of its messages; chat and video go on', async (t) => {
  const why = nftUnusable();
  if (why) {
    t.skip(why);
    return;
  }
  const room = 'dc-loss';
  const ann = await joinApp(env.browser, room, 'Ann');
  const ben = await joinApp(env.browser, room, 'Ben');
  await waitForFrames(ben, ann.id);
  await channelsFrom(ben, [ann], 'chat');
  await channelsFrom(ann, [ben], 'chat');

  // Ben counts what arrives on Ann's 'loss' channel, and notes how it was opened to him.
  await ben.page.evaluate((from) => {
    window.loss = { seqs: new Set(), channel: null, malformed: 0 };
    window.switchboardTest.client().addEventListener('datachannel', (e) => {
      if (e.detail.label !== 'loss' || e.detail.from !== from) return;
      const channel = e.detail.channel;
      window.loss.channel = channel;
      channel.addEventListener('message', (m) => {
        const seq = typeof m.data === 'string' ? JSON.parse(m.data).seq : undefined;
        if (Number.isInteger(seq)) window.loss.seqs.add(seq);
        else window.loss.malformed++;
      });
    });
  }, ann.id);
  await ann.page.evaluate(() => {
    window.lossChannel = window.switchboardTest.client().openDataChannel('loss', { ordered: false, maxRetransmits: 0 });
  });
  await until(() => ann.page.evaluate(() => window.lossChannel.readyState === 'open'), 10000, () => 'Ann\'s loss channel opens');
  const benChannel = await until(() => ben.page.evaluate(() => {
    const c = window.loss.channel;
    return c?.readyState === 'open' && { ordered: c.ordered, maxRetransmits: c.maxRetransmits, protocol: c.protocol };
  }), 10000, () => 'Ben gets Ann\'s loss channel');
  assert.deepEqual(benChannel, { ordered: false, maxRetransmits: 0, protocol: ann.id },
    'Ben\'s copy is unordered with no retransmissions, from Ann');

  addLoss();
  const framesBefore = (await videoFrom(ben, ann.id)).framesDecoded;
  const sending = ann.page.evaluate(async ({ count, bytes, batch, batchMs }) => {
    const channel = window.lossChannel;
    for (let seq = 0; seq < count; seq++) {
      const head = JSON.stringify({ seq, pad: '' });
      channel.send(JSON.stringify({ seq, pad: 'x'.repeat(bytes - head.length) }));
      if (seq % batch === batch - 1) await new Promise((resolve) => setTimeout(resolve, batchMs));
    }
  }, { count: LOSS_MESSAGES, bytes: LOSS_MESSAGE_BYTES, batch: LOSS_BATCH, batchMs: LOSS_BATCH_MS });
  // The chat meanwhile, both ways.
  await say(ben, 'can you read me?');
  await say(ann, 'loud and clear');
  await sending;
  await until(async () => (await received(ann)).some((m) => m.from === ben.id && m.text === 'can you read me?'),
    15000, async () => `Ann shows ${JSON.stringify(await received(ann))}`);
  await until(async () => (await received(ben)).some((m) => m.from === ann.id && m.text === 'loud and clear'),
    15000, async () => `Ben shows ${JSON.stringify(await received(ben))}`);
  await sleep(2000); // the last messages on their way
  const got = await ben.page.evaluate(() => ({ count: window.loss.seqs.size, malformed: window.loss.malformed }));
  const counters = lossCounters();
  const framesAfter = (await videoFrom(ben, ann.id)).framesDecoded;
  spawnSync('nft', ['delete', 'table', 'inet', TABLE]);

  console.log(`unreliable channel under ${LOSS_PERCENT} % loss: ${got.count} of ${LOSS_MESSAGES} messages arrived; ` +
    `nft matched ${counters.matched} DTLS application data packets from the server, dropped ${counters.dropped}; ` +
    `Ben decoded ${framesAfter - framesBefore} frames of Ann's video meanwhile`);
  assert.ok(counters.dropped > 0, 'the rule dropped packets');
  assert.equal(got.malformed, 0, 'every message arrived as it was sent');
  assert.ok(got.count >= LOSS_MESSAGES * 0.8, `most messages arrive (${got.count})`);
  assert.ok(got.count <= LOSS_MESSAGES * 0.999, `lost messages stay lost, no retransmission (${got.count} arrived)`);
  assert.ok(framesAfter - framesBefore > 30, `the video kept being decoded (${framesAfter - framesBefore} frames)`);

  // After the loss: the chat still works.
  await say(ben, 'and now?');
  await until(async () => (await received(ann)).some((m) => m.from === ben.id && m.text === 'and now?'),
    10000, async () => `Ann shows ${JSON.stringify(await received(ann))}`);
  for (const p of [ann, ben]) assert.deepEqual(p.errors, [], `no page errors at ${p.name}`);
  for (const p of [ann, ben]) await leaveApp(p);
});

test('the room\'s worker dies: the app rejoins by itself and the chat works again', async () => {
  const room = 'dc-worker';
  const ann = await joinApp(env.browser, room, 'Ann');
  const ben = await joinApp(env.browser, room, 'Ben');
  await channelsFrom(ann, [ben], 'chat');
  await channelsFrom(ben, [ann], 'chat');
  await say(ann, 'before');
  await until(async () => (await received(ben)).some((m) => m.text === 'before'), 10000, () => 'Ben gets "before"');
  const { workerPid } = (await getJson(env.server, '/api/rooms')).rooms.find((r) => r.name === room);
  const start = Date.now();
  env.server.killWorker(workerPid);
  for (const p of [ann, ben]) {
    await until(() => p.page.evaluate((old) => document.body.dataset.state === 'joined' &&
      document.body.dataset.selfId !== old, p.id), 10000, () => `${p.name} rejoins`);
    p.id = await p.page.evaluate(() => document.body.dataset.selfId);
  }
  await channelsFrom(ann, [ben], 'chat');
  await channelsFrom(ben, [ann], 'chat');
  const ms = Date.now() - start;
  await say(ann, 'after');
  await say(ben, 'after too');
  await until(async () => (await received(ben)).some((m) => m.from === ann.id && m.text === 'after'), 10000,
    async () => `Ben shows ${JSON.stringify(await received(ben))}`);
  await until(async () => (await received(ann)).some((m) => m.from === ben.id && m.text === 'after too'), 10000,
    async () => `Ann shows ${JSON.stringify(await received(ann))}`);
  console.log(`worker killed: the chat's channels were back both ways after ${ms} ms`);
  // What was said before stays on the page.
  assert.ok((await received(ben)).some((m) => m.text === 'before'), 'Ben still shows the earlier message');
  for (const p of [ann, ben]) assert.deepEqual(p.errors, [], `no page errors at ${p.name}`);
  for (const p of [ann, ben]) await leaveApp(p);
});

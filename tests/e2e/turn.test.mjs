// TURN through a real relay: Debian's coturn (`turnserver`), started by this test with a shared
// secret (use-auth-secret / static-auth-secret), and a switchboard run with --turn-url and
// --turn-secret, whose `joined` hands each participant time-limited credentials for it.
//
//   server ns: br0 192.0.2.1, two switchboards (the relay's secret, and another one)
//   client ns 0: 192.0.2.10, Chromium "Remy" with the web app's &relay=1 (iceTransportPolicy
//                'relay'), and nftables dropping his UDP to the server (or all of his UDP)
//   client ns 1: 192.0.2.11, Chromium "Dora", direct (host candidates)
//   client ns 2: 192.0.2.12, coturn on 3478 (UDP and TCP) and 5349 (TLS, a certificate made
//                by this test for 192.0.2.12), relaying from 192.0.2.12
//
// The server is ICE-lite with one host candidate (192.0.2.1): the relay reaches it over the
// bridge, as a relay next to a public SFU would. Checked:
// - over UDP: Remy's connections both use a relay candidate (getStats: the selected pair's
//   local candidateType 'relay', relayProtocol 'udp'), and video flows both ways; coturn's log
//   shows the allocation under the username switchboard made, "<expiry>:<Remy's id>", a day
//   ahead; when his WebSocket breaks and resumes, `resumed` brings fresh credentials to both
//   connections (still relay-only), and an ICE restart allocates with them;
// - over TCP: with all of Remy's UDP dropped, the relay is reached by TURN over TCP
//   (relayProtocol 'tcp') and video flows both ways;
// - over TLS: with all of Remy's UDP and his TCP to 3478 dropped, only the `turns:` URL is
//   left (a network that lets only TLS out) and video flows both ways (relayProtocol 'tls');
//   his Chromium runs with --ignore-certificate-errors, as it cannot know the test's
//   certificate;
// - credentials are real: against a switchboard whose secret is not the relay's, Remy's relay
//   refuses them (icecandidateerror 401) and his connections never connect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetwork } from './netns.mjs';
import { sleep, waitForState, inboundStats } from './harness.mjs';

const REMY = 0; // relay only
const DORA = 1; // direct
const RELAY_NS = 2;
const TURN_PORT = 3478; // RFC 8489 section 18 / RFC 8656: the default STUN/TURN port
const TURNS_PORT = 5349; // the default TURN-over-TLS port (RFC 8656 section 3.1)
const SECRET = randomBytes(24).toString('hex');
const OTHER_SECRET = randomBytes(24).toString('hex');
// How long media must flow, and how long a relay-only client is given to connect with wrong
// credentials (Chromium gives up on an allocation after its first 401 with credentials).
const MEDIA_TIMEOUT_MS = 20_000;
const REFUSED_WAIT_MS = 4000;

let net;
let relay; // { process, log, stop() }
let relayIp;
let server; // shares the relay's secret
let wrongServer; // another secret
const browsers = [];
let tempDir;

// coturn in the relay's namespace, exec'd in place (ip netns exec), logging to stdout. No
// config file (-n): everything it needs is here; --verbose logs each request with its user
// (which the tests read), --userdb keeps its SQLite file in the test's temp folder.
async function startRelay(ns, ip, serverIp) {
  const argv = [
    'ip', 'netns', 'exec', ns, 'turnserver', '-n',
    `--listening-ip=${ip}`, `--relay-ip=${ip}`, `--listening-port=${TURN_PORT}`,
    '--use-auth-secret', `--static-auth-secret=${SECRET}`, '--realm=switchboard.test',
    `--tls-listening-port=${TURNS_PORT}`, `--cert=${join(tempDir, 'turn-cert.pem')}`,
    `--pkey=${join(tempDir, 'turn-key.pem')}`,
    '--no-cli', '--no-dtls', '--no-rfc5780', '--no-stun-backward-compatibility',
    '--min-port=49152', '--max-port=49999', '--log-file=stdout', '--simple-log', '--verbose',
    // As docs/deploy.md has it: the relay reaches the SFU and nothing else.
    '--denied-peer-ip=0.0.0.0-255.255.255.255', `--allowed-peer-ip=${serverIp}`,
    `--pidfile=${join(tempDir, 'turnserver.pid')}`, `--userdb=${join(tempDir, 'turndb')}`,
  ];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Up when its TCP listener accepts (the UDP one is opened with it).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const socket = connect({ host: ip, port: TURN_PORT }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`turnserver did not start:\n${log}`);
    }
    await sleep(100);
  }
  return {
    get log() {
      return log;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// Remy's firewall (nftables in his namespace): 'server-udp' drops his UDP to the server (only
// the relay can carry his media); 'relay-over-udp' that and his TCP and TLS to the relay
// (Chromium would otherwise sometimes pick its TURN-over-TCP or -TLS candidate: all are
// offered); 'all-udp' drops all of his UDP and his TLS to the relay (the relay only over plain
// TCP); 'tls-only' all of his UDP and his TCP to the relay's plain port (only TURN over TLS is
// left); 'none'.
function setFirewall(mode) {
  const ns = net.clientNs[REMY];
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'sbturn'], { stdio: 'ignore' });
  } catch {} // not there yet
  if (mode === 'none') return;
  let rule = mode === 'all-udp' ? 'meta l4proto udp counter drop'
    : `ip daddr ${net.serverIp} meta l4proto udp counter drop`;
  // TURN over TCP or TLS: only where the mode says so (Chromium may pick either when both work).
  const tcpTurn = `ip daddr ${relayIp} tcp dport ${TURN_PORT} counter drop`;
  const tlsTurn = `ip daddr ${relayIp} tcp dport ${TURNS_PORT} counter drop`;
  if (mode === 'relay-over-udp') rule += `\n  ${tcpTurn}\n  ${tlsTurn}`;
  if (mode === 'all-udp') rule += `\n  ${tlsTurn}`;
  if (mode === 'tls-only') rule = `meta l4proto udp counter drop\n  ${tcpTurn}`;
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], {
    input: `table inet sbturn {\n chain out {\n  type filter hook output priority 0;\n  ${rule}\n }\n}\n`,
  });
}

// Packets the firewall dropped so far (its nft counters).
function firewallDrops() {
  const text = execFileSync('ip', ['netns', 'exec', net.clientNs[REMY], 'nft', 'list', 'table',
    'inet', 'sbturn']).toString();
  return [...text.matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

// The web app in client namespace i's browser, joined to `room` by link (&relay=1 for Remy).
async function openApp(i, srv, room, name, { relayOnly = false } = {}) {
  const context = await browsers[i].newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${srv.url}/?room=${room}&name=${name}&autojoin=1&simulcast=0` +
    (relayOnly ? '&relay=1' : ''));
  return { name, context, page, errors };
}

const selfId = (p) => p.page.evaluate(() => window.switchboardTest.selfId());
const candidatePairs = (p) => p.page.evaluate(() => window.switchboardTest.candidatePairs());
const iceErrors = (p) => p.page.evaluate(() => window.switchboardTest.iceCandidateErrors());
const iceConfiguration = (p) => p.page.evaluate(() => window.switchboardTest.iceConfiguration());

// coturn's log line for a successful allocation under `username`.
const allocated = (username) => `user <${username}>: incoming packet ALLOCATE processed, success`;

async function framesFrom(p, publisherId) {
  const stats = await inboundStats(p);
  return stats.find((s) => s.participantId === publisherId && s.kind === 'video')?.framesDecoded ?? 0;
}

// Video from `publisher` decodes at `subscriber`, and keeps decoding (the count grows).
async function assertVideoFlows(subscriber, publisherId) {
  const deadline = Date.now() + MEDIA_TIMEOUT_MS;
  let first = 0;
  while ((first = await framesFrom(subscriber, publisherId)) === 0) {
    assert.ok(Date.now() < deadline, `${subscriber.name} decodes no video from ${publisherId}`);
    await sleep(250);
  }
  await sleep(1000);
  const later = await framesFrom(subscriber, publisherId);
  assert.ok(later > first, `${subscriber.name}: framesDecoded stuck at ${first} (then ${later})`);
  return later;
}

// Both of Remy's connections use a candidate pair through the relay, over `protocol`.
async function assertRelayed(p, protocol) {
  const deadline = Date.now() + MEDIA_TIMEOUT_MS;
  let pairs;
  for (;;) {
    pairs = await candidatePairs(p);
    if (pairs.publish?.state === 'succeeded' && pairs.subscribe?.state === 'succeeded') break;
    assert.ok(Date.now() < deadline, `no selected pairs: ${JSON.stringify(pairs)}`);
    await sleep(250);
  }
  for (const [connection, pair] of Object.entries(pairs)) {
    assert.equal(pair.local.candidateType, 'relay', `${connection}: ${JSON.stringify(pair)}`);
    assert.equal(pair.local.relayProtocol, protocol, `${connection}: ${JSON.stringify(pair)}`);
    assert.equal(pair.local.address, relayIp, `${connection}: ${JSON.stringify(pair)}`);
    assert.equal(pair.remote.address, net.serverIp, `${connection}: ${JSON.stringify(pair)}`);
  }
  return pairs;
}

before(async () => {
  tempDir = mkdtempSync(join(tmpdir(), 'sbturn-'));
  net = createNetwork(3);
  relayIp = net.clientIp(RELAY_NS);
  // The relay's TLS certificate: self-signed for its address, a day.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '1', '-subj', '/CN=turn.switchboard.test',
    '-addext', `subjectAltName=IP:${relayIp}`,
    '-keyout', join(tempDir, 'turn-key.pem'), '-out', join(tempDir, 'turn-cert.pem')], { stdio: 'ignore' });
  relay = await startRelay(net.clientNs[RELAY_NS], relayIp, net.serverIp);
  const turnUrls = `turn:${relayIp}:${TURN_PORT}?transport=udp,turn:${relayIp}:${TURN_PORT}?transport=tcp,` +
    `turns:${relayIp}:${TURNS_PORT}?transport=tcp`;
  [server, wrongServer] = await Promise.all([SECRET, OTHER_SECRET].map((secret) =>
    net.startServer(['--workers=1', `--turn-url=${turnUrls}`, `--turn-secret=${secret}`])));
  // Plain-HTTP origins on 192.0.2.1 count as secure for getUserMedia (netns.launchBrowser does
  // it for one server; these pages come from two).
  const origins = `--unsafely-treat-insecure-origin-as-secure=${server.url},${wrongServer.url}`;
  await Promise.all([REMY, DORA].map(async (i) => {
    const extraArgs = i === REMY ? [origins, '--ignore-certificate-errors'] : [origins];
    browsers[i] = await net.launchBrowser(i, { extraArgs });
  }));
});

after(async () => {
  for (const b of browsers) await b?.close();
  await server?.stop();
  await wrongServer?.stop();
  await relay?.stop();
  net?.destroy();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  // Neither secret may appear in what switchboard logs.
  for (const s of [server, wrongServer]) {
    if (!s) continue;
    assert.ok(!s.log.includes(SECRET) && !s.log.includes(OTHER_SECRET), 'a TURN secret was logged');
  }
});

test('a relay-only participant connects through coturn over UDP, video flows both ways; a resume brings fresh credentials', async () => {
  setFirewall('relay-over-udp');
  const remy = await openApp(REMY, server, 'turn-udp', 'Remy', { relayOnly: true });
  const dora = await openApp(DORA, server, 'turn-udp', 'Dora');
  try {
    assert.equal(await waitForState(remy, ['joined', 'error']), 'joined');
    assert.equal(await waitForState(dora, ['joined', 'error']), 'joined');
    const [remyId, doraId] = [await selfId(remy), await selfId(dora)];
    const pairs = await assertRelayed(remy, 'udp');
    const [fromDora, fromRemy] =
      await Promise.all([assertVideoFlows(remy, doraId), assertVideoFlows(dora, remyId)]);
    // Dora stays direct: her pair is host to host.
    const doraPairs = await candidatePairs(dora);
    assert.equal(doraPairs.publish.local.candidateType, 'host');
    // The relay knew Remy by the username switchboard made for him, and allocated for him.
    const m = new RegExp(allocated(`(\\d+):${remyId}`)).exec(relay.log);
    assert.ok(m, `coturn's log has no allocation for ${remyId}:\n${relay.log.slice(-3000)}`);
    const expiresIn = Number(m[1]) - Date.now() / 1000;
    assert.ok(expiresIn > 86400 - 120 && expiresIn <= 86400, `expiry in ${expiresIn} s`);
    assert.deepEqual((await iceErrors(remy)).filter((e) => e.errorCode === 401), []);
    console.log(`UDP relay: ${JSON.stringify(pairs.publish.local)}; frames from Dora ${fromDora}, ` +
      `from Remy ${fromRemy}; firewall drops ${firewallDrops()}`);

    // His WebSocket breaks and comes back: the resume brings fresh credentials to both
    // connections (the relay-only policy stays), and an ICE restart allocates with them.
    const before = await iceConfiguration(remy);
    assert.equal(before.publish.iceServers[0].username, `${m[1]}:${remyId}`);
    // The kernel aborts his socket (ss -K): no close frame, as when a network goes away.
    execFileSync('ip', ['netns', 'exec', net.clientNs[REMY], 'ss', '-K', 'dst', net.serverIp,
      'dport', '=', String(server.port)], { stdio: 'ignore' });
    let after;
    for (const deadline = Date.now() + 10_000; ; await sleep(100)) {
      after = await iceConfiguration(remy);
      if (after.publish.iceServers[0].username !== before.publish.iceServers[0].username) break;
      assert.ok(Date.now() < deadline, 'no fresh credentials: did the session resume?');
    }
    assert.equal(await remy.page.evaluate(() => document.body.dataset.connection), undefined);
    assert.equal(await selfId(remy), remyId, 'the same participant, resumed');
    const username = after.publish.iceServers[0].username;
    assert.match(username, new RegExp(`^\\d+:${remyId}$`));
    assert.deepEqual(after.subscribe.iceServers, after.publish.iceServers);
    assert.equal(after.publish.iceTransportPolicy, 'relay');
    assert.equal(after.subscribe.iceTransportPolicy, 'relay');
    await remy.page.evaluate(() => window.switchboardTest.restartIce());
    for (const deadline = Date.now() + MEDIA_TIMEOUT_MS; !relay.log.includes(allocated(username));) {
      assert.ok(Date.now() < deadline, `no allocation under ${username} after the ICE restart`);
      await sleep(250);
    }
    await assertRelayed(remy, 'udp');
    await Promise.all([assertVideoFlows(remy, doraId), assertVideoFlows(dora, remyId)]);
    assert.deepEqual(remy.errors, []);
  } finally {
    await remy.context.close();
    await dora.context.close();
  }
});

test('with all of its UDP dropped, the relay-only participant reaches coturn over TCP', async () => {
  setFirewall('all-udp');
  const remy = await openApp(REMY, server, 'turn-tcp', 'Remy', { relayOnly: true });
  const dora = await openApp(DORA, server, 'turn-tcp', 'Dora');
  try {
    assert.equal(await waitForState(remy, ['joined', 'error']), 'joined');
    assert.equal(await waitForState(dora, ['joined', 'error']), 'joined');
    const [remyId, doraId] = [await selfId(remy), await selfId(dora)];
    const pairs = await assertRelayed(remy, 'tcp');
    const [fromDora, fromRemy] =
      await Promise.all([assertVideoFlows(remy, doraId), assertVideoFlows(dora, remyId)]);
    const drops = firewallDrops();
    assert.ok(drops > 0, 'Remy sent no UDP at all: the TCP test proves nothing');
    console.log(`TCP relay: ${JSON.stringify(pairs.publish.local)}; frames from Dora ${fromDora}, ` +
      `from Remy ${fromRemy}; UDP packets dropped ${drops}`);
    assert.deepEqual(remy.errors, []);
  } finally {
    await remy.context.close();
    await dora.context.close();
    setFirewall('none');
  }
});

test('with UDP and plain TCP to the relay dropped, the relay-only participant reaches coturn over TLS', async () => {
  setFirewall('tls-only');
  const remy = await openApp(REMY, server, 'turn-tls', 'Remy', { relayOnly: true });
  const dora = await openApp(DORA, server, 'turn-tls', 'Dora');
  try {
    assert.equal(await waitForState(remy, ['joined', 'error']), 'joined');
    assert.equal(await waitForState(dora, ['joined', 'error']), 'joined');
    const [remyId, doraId] = [await selfId(remy), await selfId(dora)];
    const pairs = await assertRelayed(remy, 'tls');
    const [fromDora, fromRemy] =
      await Promise.all([assertVideoFlows(remy, doraId), assertVideoFlows(dora, remyId)]);
    const drops = firewallDrops();
    assert.ok(drops > 0, 'Remy tried neither UDP nor plain TCP: the TLS test proves nothing');
    console.log(`TLS relay: ${JSON.stringify(pairs.publish.local)}; frames from Dora ${fromDora}, ` +
      `from Remy ${fromRemy}; packets dropped ${drops}`);
    assert.deepEqual(remy.errors, []);
  } finally {
    await remy.context.close();
    await dora.context.close();
    setFirewall('none');
  }
});

test('credentials from another secret are refused by the relay: no connection', async () => {
  setFirewall('server-udp');
  const logFrom = relay.log.length; // participant ids repeat across the two switchboards
  const remy = await openApp(REMY, wrongServer, 'turn-wrong', 'Remy', { relayOnly: true });
  const dora = await openApp(DORA, wrongServer, 'turn-wrong', 'Dora');
  try {
    assert.equal(await waitForState(remy, ['joined', 'error']), 'joined');
    assert.equal(await waitForState(dora, ['joined', 'error']), 'joined');
    const remyId = await selfId(remy);
    const doraId = await selfId(dora);
    // The relay says 401 to the credentials (after its first 401, the nonce challenge that
    // every allocation gets, Chromium retries with them and gives up).
    const deadline = Date.now() + MEDIA_TIMEOUT_MS;
    let refused = [];
    while ((refused = (await iceErrors(remy)).filter((e) => e.errorCode === 401)).length === 0) {
      assert.ok(Date.now() < deadline, `no 401 from the relay: ${JSON.stringify(await iceErrors(remy))}`);
      await sleep(250);
    }
    // Remy never connects and decodes nothing (Dora, direct, publishes meanwhile).
    await sleep(REFUSED_WAIT_MS);
    // Both of his connections exist (he publishes; Dora's tracks were offered to him) and
    // neither has a working candidate pair.
    const config = await iceConfiguration(remy);
    assert.ok(config.publish && config.subscribe, `connections: ${JSON.stringify(config)}`);
    const pairs = await candidatePairs(remy);
    assert.equal(pairs.publish, null, `publish connected: ${JSON.stringify(pairs)}`);
    assert.equal(pairs.subscribe, null, `subscribe connected: ${JSON.stringify(pairs)}`);
    assert.equal(await framesFrom(remy, doraId), 0);
    const status = await remy.page.textContent('#status');
    assert.match(status, /TURN relay refused the credentials/);
    // The relay saw the username and refused the password made from the other secret.
    const log = relay.log.slice(logFrom);
    assert.match(log, new RegExp(`user <\\d+:${remyId}>: incoming packet .*error 401`));
    assert.doesNotMatch(log, new RegExp(`user <\\d+:${remyId}>: incoming packet ALLOCATE processed, success`));
    console.log(`wrong secret: ${refused.length} refusal(s), e.g. ${JSON.stringify(refused[0])}`);
  } finally {
    await remy.context.close();
    await dora.context.close();
    setFirewall('none');
  }
});

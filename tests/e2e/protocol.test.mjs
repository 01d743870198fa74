// The signaling protocol (docs/protocol.md) as a client sees it, without browsers: plain JSON
// over a WebSocket against a real switchboard and its worker. Fast: no media flows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { startServer, connectClient, joinRoom, getJson, repoRoot } from './harness.mjs';

const CAPACITY = 2;
// How long "nothing arrives" is watched for. The server answers in well under a millisecond
// on loopback; this is generous and still keeps the suite fast.
const QUIET_MS = 400;

const publishOffer = readFileSync(join(repoRoot, 'tests', 'data', 'chromium_publish_offer.sdp'), 'utf8');

let server;
const clients = [];

before(async () => {
  server = await startServer([`--room-capacity=${CAPACITY}`, '--workers=1']);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  // Fails the file if the server crashed or a worker died (harness.mjs).
  await server?.stop();
});

async function client() {
  const c = await connectClient(server);
  clients.push(c);
  return c;
}

async function member(room, name, extra) {
  const m = await joinRoom(server, room, name, extra);
  clients.push(m.client);
  return m;
}

// Asserts that `c` gets an `error` with `code` in reply to `message`.
async function expectError(c, message, code, what) {
  const reply = await c.request(message, (m) => m.type === 'error' || m.type === 'pong' || m.type === 'joined');
  assert.equal(reply.type, 'error', `${what}: an error (got ${JSON.stringify(reply)})`);
  assert.equal(reply.code, code, `${what}: code ${code} (got ${JSON.stringify(reply)})`);
  assert.equal(typeof reply.message, 'string', `${what}: a message`);
  assert.ok(reply.message.length > 0, `${what}: a non-empty message`);
  if (message && typeof message === 'object' && typeof message.type === 'string') {
    assert.equal(reply.inReplyTo, message.type, `${what}: inReplyTo`);
  }
  return reply;
}

async function expectPong(c, what) {
  const id = `ping-${Math.random()}`;
  const pong = await c.request({ type: 'ping', requestId: id }, (m) => m.type === 'pong' || m.type === 'error');
  assert.deepEqual(pong, { type: 'pong', requestId: id }, `${what}: ping still answered`);
}

function sections(sdp) {
  // [session, m-section, m-section, ...], each a list of lines.
  const out = [[]];
  for (const line of sdp.split(/\r\n/).filter(Boolean)) {
    if (line.startsWith('m=')) out.push([]);
    out[out.length - 1].push(line);
  }
  return out;
}

// A plausible client answer to a server subscribe-offer, made by hand the way Chromium makes
// one: same m-lines and mids, recvonly, its own ICE credentials on every m-line (rejected ones
// too), its certificate fingerprint and the DTLS client role on accepted ones. No media will
// flow (nothing answers ICE): only the signaling is tested.
const CLIENT_FINGERPRINT =
  'a=fingerprint:sha-256 36:BC:03:2D:28:04:7D:8F:F9:D9:B9:08:25:8A:D1:6B:7E:51:E1:D3:DF:97:DF:A6:5D:09:D5:00:E8:10:AA:20';
function answerFor(offer) {
  const out = [];
  for (const line of offer.split(/\r\n/).filter(Boolean)) {
    if (
      line === 'a=ice-lite' ||
      line === 'a=end-of-candidates' ||
      /^a=(candidate|ssrc|ssrc-group|msid|fingerprint|ice-ufrag|ice-pwd):/.test(line)
    ) {
      continue;
    }
    if (line.startsWith('o=')) out.push('o=- 4611686018427387 2 IN IP4 127.0.0.1');
    else if (line.startsWith('m=')) out.push(line.replace(/^m=(\w+) (\d+) /, (s, kind, port) => `m=${kind} ${port === '0' ? 0 : 9} `));
    else if (line.startsWith('c=') && out[out.length - 1].startsWith('m=')) {
      out.push('c=IN IP4 0.0.0.0', 'a=ice-ufrag:tEsT', 'a=ice-pwd:abcdefghijklmnopqrstuvwx');
    } else if (line === 'a=setup:actpass') out.push('a=setup:active', CLIENT_FINGERPRINT);
    else if (line === 'a=sendonly') out.push('a=recvonly');
    else out.push(line);
  }
  return out.join('\r\n') + '\r\n';
}

// The offer with the m-line of `mid` no longer sending (the browser removed that track).
function withoutTrack(offer, mid) {
  return sections(offer)
    .map((lines) => {
      if (!lines.includes(`a=mid:${mid}`)) return lines;
      return lines.map((l) => (l === 'a=sendonly' ? 'a=inactive' : l));
    })
    .flat()
    .join('\r\n') + '\r\n';
}

test('join: joined with an id and the participants already there; others are told', async () => {
  const a = await member('lobby', 'Ada');
  assert.equal(a.joined.room, 'lobby');
  assert.equal(typeof a.id, 'string');
  assert.ok(a.id.length > 0);
  assert.deepEqual(a.joined.participants, []);

  const b = await member('lobby', 'Grace');
  assert.notEqual(b.id, a.id, 'distinct ids');
  assert.deepEqual(b.joined.participants, [
    { id: a.id, name: 'Ada', audio: false, video: false, screen: false, audioMuted: false, videoMuted: false },
  ]);
  const joined = await a.client.next('participant-joined');
  assert.deepEqual(joined.participant, {
    id: b.id,
    name: 'Grace',
    audio: false,
    video: false,
    screen: false,
    audioMuted: false,
    videoMuted: false,
  });
  // The newcomer is not told about itself.
  assert.deepEqual(await b.client.collect('participant-joined', QUIET_MS), []);
});

test('requestId is echoed on joined, error, pong and left', async () => {
  const c = await client();
  const pong = await c.request({ type: 'ping', requestId: 'p-1' }, 'pong');
  assert.equal(pong.requestId, 'p-1');
  const joined = await c.request({ type: 'join', room: 'echo', name: 'Ada', requestId: 42 }, 'joined');
  assert.equal(joined.requestId, 42);
  const error = await c.request({ type: 'mute', kind: 'smell', muted: true, requestId: 'e-1' }, 'error');
  assert.equal(error.requestId, 'e-1');
  assert.equal(error.inReplyTo, 'mute');
  const left = await c.request({ type: 'leave', requestId: 9 }, 'left');
  assert.deepEqual(left, { type: 'left', room: 'echo', requestId: 9 });
  // Before joining, errors echo it too.
  const notJoined = await c.request({ type: 'publish', sdp: publishOffer, requestId: 7 }, 'error');
  assert.equal(notJoined.code, 'not-joined');
  assert.equal(notJoined.requestId, 7);
});

test('room capacity: one more is told full, nothing changes, and the socket stays usable', async () => {
  const a = await member('cap', 'Ada');
  const b = await member('cap', 'Grace');
  await a.client.next('participant-joined');

  const c = await client();
  const full = await c.request({ type: 'join', room: 'cap', name: 'Linus', requestId: 'j' }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  assert.deepEqual(full, { type: 'full', room: 'cap', capacity: CAPACITY, requestId: 'j' });
  assert.deepEqual(await a.client.collect('participant-joined', QUIET_MS), [], 'Ada is not told');
  assert.deepEqual(await b.client.collect('participant-joined', 0), [], 'Grace is not told');
  const rooms = await getJson(server, '/api/rooms');
  const cap = rooms.rooms.find((r) => r.name === 'cap');
  assert.deepEqual(cap.participants.map((p) => p.id).sort(), [a.id, b.id].sort());

  // The same socket may try again later (once there is room), or join another room.
  b.client.send({ type: 'leave' });
  await b.client.next('left');
  await a.client.next('participant-left');
  const again = await c.request({ type: 'join', room: 'cap', name: 'Linus' }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  assert.equal(again.type, 'joined', `retry after a leave: ${JSON.stringify(again)}`);
  assert.deepEqual(again.participants.map((p) => p.id), [a.id]);
  assert.equal((await a.client.next('participant-joined')).participant.id, again.id);

  const d = await client();
  assert.equal((await d.request({ type: 'join', room: 'cap', name: 'Dennis' }, 'full')).capacity, CAPACITY);
  const other = await d.request({ type: 'join', room: 'cap-other', name: 'Dennis' }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  assert.equal(other.type, 'joined', `another room: ${JSON.stringify(other)}`);
  assert.deepEqual(other.participants, []);
});

test('leave: left, others told participant-left; the socket can join again; closing counts as leaving', async () => {
  const a = await member('bye', 'Ada');
  const b = await member('bye', 'Grace');
  await a.client.next('participant-joined');

  const left = await b.client.request({ type: 'leave' }, (m) => m.type === 'left' || m.type === 'error');
  assert.deepEqual(left, { type: 'left', room: 'bye' });
  assert.deepEqual(await a.client.next('participant-left'), { type: 'participant-left', id: b.id });
  // Out of the room: room messages are refused, and the same socket may join again.
  await expectError(b.client, { type: 'mute', kind: 'audio', muted: true }, 'not-joined', 'mute after leave');
  await expectError(b.client, { type: 'leave' }, 'not-joined', 'leave twice');
  const rejoined = await b.client.request({ type: 'join', room: 'bye', name: 'Grace' }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  assert.equal(rejoined.type, 'joined', `join again after leave: ${JSON.stringify(rejoined)}`);
  assert.notEqual(rejoined.id, b.id, 'a new participant id');
  assert.equal((await a.client.next('participant-joined')).participant.id, rejoined.id);

  // Closing the socket counts as leaving.
  await b.client.close();
  assert.deepEqual(await a.client.next('participant-left'), { type: 'participant-left', id: rejoined.id });

  // A binary frame is not part of the protocol: the server closes the connection (1003),
  // which again counts as leaving.
  const c = await member('bye', 'Linus');
  await a.client.next('participant-joined');
  const closed = new Promise((resolve) => c.client.socket.once('close', (code) => resolve(code)));
  c.client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal(await closed, 1003);
  assert.deepEqual(await a.client.next('participant-left'), { type: 'participant-left', id: c.id });

  // The last one leaving closes the room.
  a.client.send({ type: 'leave' });
  await a.client.next('left');
  const rooms = await getJson(server, '/api/rooms');
  assert.equal(rooms.rooms.find((r) => r.name === 'bye'), undefined, 'empty room is gone');
});

test('malformed and out-of-order input: an error with the documented code, and the connection keeps working', async () => {
  const c = await client();
  // Not joined yet.
  await expectError(c, 'this is not json', 'bad-json', 'non-JSON text');
  await expectError(c, '[1,2,3]', 'bad-json', 'a JSON array');
  await expectError(c, '"join"', 'bad-json', 'a JSON string');
  await expectError(c, '{"type":"ping"', 'bad-json', 'truncated JSON');
  await expectError(c, { room: 'x' }, 'bad-message', 'missing type');
  await expectError(c, { type: 42 }, 'bad-message', 'numeric type');
  await expectError(c, { type: 'dance' }, 'unknown-type', 'unknown type');
  await expectError(c, { type: 'join', room: 'a room', name: 'Ada' }, 'bad-message', 'room with a space');
  await expectError(c, { type: 'join', room: '', name: 'Ada' }, 'bad-message', 'empty room');
  await expectError(c, { type: 'join', room: 'x'.repeat(65), name: 'Ada' }, 'bad-message', '65-char room');
  await expectError(c, { type: 'join', room: '../etc', name: 'Ada' }, 'bad-message', 'room with a slash');
  await expectError(c, { type: 'join', name: 'Ada' }, 'bad-message', 'missing room');
  await expectError(c, { type: 'join', room: 7, name: 'Ada' }, 'bad-message', 'numeric room');
  await expectError(c, { type: 'join', room: 'bad', name: '' }, 'bad-message', 'empty name');
  await expectError(c, { type: 'join', room: 'bad', name: 'n'.repeat(1000) }, 'bad-message', '1000-char name');
  await expectError(c, { type: 'join', room: 'bad' }, 'bad-message', 'missing name');
  await expectError(c, { type: 'join', room: 'bad', name: 'a\u0007b' }, 'bad-message', 'control character in name');
  await expectError(c, { type: 'join', room: 'bad', name: 'Ada', rtpCapabilities: 'vp8' }, 'bad-message', 'bad rtpCapabilities');
  await expectError(c, { type: 'publish', sdp: publishOffer }, 'not-joined', 'publish before join');
  await expectError(c, { type: 'subscribe-answer', sdp: 'v=0' }, 'not-joined', 'subscribe-answer before join');
  await expectError(c, { type: 'mute', kind: 'audio', muted: true }, 'not-joined', 'mute before join');
  await expectError(c, { type: 'leave' }, 'not-joined', 'leave before join');
  await expectPong(c, 'after errors before joining');
  // None of the refused joins created a room.
  const rooms = await getJson(server, '/api/rooms');
  assert.equal(rooms.rooms.find((r) => r.name === 'bad'), undefined, 'no room "bad"');

  // Joined.
  const joined = await c.request({ type: 'join', room: 'strict', name: 'Ada' }, (m) => m.type === 'joined' || m.type === 'error');
  assert.equal(joined.type, 'joined', JSON.stringify(joined));
  await expectError(c, { type: 'join', room: 'strict', name: 'Ada' }, 'already-joined', 'join twice');
  await expectError(c, { type: 'join', room: 'elsewhere', name: 'Ada' }, 'already-joined', 'join another room');
  await expectError(c, { type: 'subscribe-answer', sdp: 'v=0\r\n' }, 'no-offer', 'answer with no offer');
  await expectError(c, { type: 'subscribe-answer' }, 'bad-message', 'answer without sdp');
  await expectError(c, { type: 'publish' }, 'bad-message', 'publish without sdp');
  await expectError(c, { type: 'publish', sdp: 17 }, 'bad-message', 'publish with a numeric sdp');
  const badSdp = await expectError(c, { type: 'publish', sdp: 'garbage' }, 'bad-sdp', 'garbage SDP');
  assert.ok(badSdp.message.length > 3, `bad-sdp carries a reason: ${badSdp.message}`);
  const noFingerprint = publishOffer
    .split('\r\n')
    .filter((l) => !l.startsWith('a=fingerprint:'))
    .join('\r\n');
  const noFp = await expectError(c, { type: 'publish', sdp: noFingerprint }, 'bad-sdp', 'SDP without fingerprint');
  assert.match(noFp.message, /fingerprint/);
  await expectError(c, { type: 'mute', kind: 'smell', muted: true }, 'bad-message', 'mute with a bad kind');
  await expectError(c, { type: 'mute', kind: 'audio', muted: 'yes' }, 'bad-message', 'mute with a string muted');
  await expectError(c, { type: 'mute', kind: 'video' }, 'bad-message', 'mute without muted');
  await expectError(c, { type: 'mute', muted: true }, 'bad-message', 'mute without kind');
  await expectError(c, 'nope', 'bad-json', 'non-JSON while joined');
  await expectError(c, { type: 'dance' }, 'unknown-type', 'unknown type while joined');
  // Trickled candidates are ignored without a reply.
  c.send({ type: 'candidate', candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' });
  await expectPong(c, 'after errors while joined');
  assert.deepEqual(c.queue, [], 'no stray replies');

  // Still in its room: a newcomer sees it, and it sees the newcomer.
  const other = await member('strict', 'Grace');
  assert.deepEqual(other.joined.participants.map((p) => p.id), [joined.id]);
  assert.equal((await c.next('participant-joined')).participant.id, other.id);

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const errors = Number(/^switchboard_signaling_errors_total (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(errors >= 30, `errors are counted (${errors})`);
});

test('publish with a real Chromium offer; a newcomer gets one offer with both tracks; the server waits for answers', async () => {
  const a = await member('media', 'Ada');
  const answer = await a.client.request({ type: 'publish', sdp: publishOffer, requestId: 'pub' }, (m) =>
    ['publish-answer', 'error'].includes(m.type),
  );
  assert.equal(answer.type, 'publish-answer', JSON.stringify(answer));
  assert.equal(answer.requestId, 'pub');
  const [session, audio, video] = sections(answer.sdp);
  assert.ok(session.includes('a=ice-lite'), 'ICE-lite');
  assert.ok(session.includes('a=group:BUNDLE 0 1'), 'BUNDLE of both mids');
  for (const [m, mid] of [
    [audio, '0'],
    [video, '1'],
  ]) {
    assert.ok(m.includes(`a=mid:${mid}`), `mid ${mid} in offer order`);
    assert.ok(m.includes('a=setup:passive'), 'DTLS server role');
    assert.ok(m.includes('a=recvonly'), 'recvonly');
    assert.ok(m.includes('a=rtcp-mux'), 'rtcp-mux');
    assert.ok(m.some((l) => l.startsWith('a=fingerprint:sha-256 ')), 'a fingerprint');
    assert.ok(
      m.some((l) => /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/.test(l)),
      'a host candidate on 127.0.0.1',
    );
  }
  assert.match(audio[0], /^m=audio [1-9]\d* UDP\/TLS\/RTP\/SAVPF \d+$/, 'one audio codec');
  assert.ok(audio.some((l) => /^a=rtpmap:\d+ opus\/48000\/2$/.test(l)), 'Opus');
  const videoPts = video[0].split(' ').slice(3);
  assert.equal(videoPts.length, 2, `one video codec + RTX: ${video[0]}`);
  const rtpmaps = video.filter((l) => l.startsWith('a=rtpmap:'));
  assert.equal(rtpmaps.filter((l) => !/ rtx\//.test(l)).length, 1, 'one video codec');
  const rtx = rtpmaps.find((l) => / rtx\//.test(l));
  assert.ok(rtx, 'with RTX');
  const codecPt = videoPts.find((pt) => !rtx.startsWith(`a=rtpmap:${pt} `));
  assert.ok(video.includes(`a=fmtp:${rtx.split(/[: ]/)[1]} apt=${codecPt}`), 'RTX points at the codec');
  // The worker answers the transport-wide sequence numbers with transport-cc feedback: the
  // answer keeps the extension and the feedback on both kinds; no REMB (only for a publisher
  // without transport-cc: remb.test.mjs).
  for (const lines of [audio, video]) {
    assert.ok(lines.some((l) => /^a=extmap:\d+ http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01$/.test(l)),
      'the transport-wide sequence number extension');
    assert.ok(lines.some((l) => /^a=rtcp-fb:\d+ transport-cc$/.test(l)), 'transport-cc feedback');
  }
  assert.ok(!answer.sdp.includes('goog-remb'), 'no REMB beside transport-cc');

  // A newcomer sees Ada publishing both kinds and gets one offer carrying both tracks.
  const b = await member('media', 'Grace');
  assert.deepEqual(b.joined.participants, [
    { id: a.id, name: 'Ada', audio: true, video: true, screen: false, audioMuted: false, videoMuted: false },
  ]);
  await a.client.next('participant-joined');
  const offer1 = await b.client.next('subscribe-offer');
  assert.equal(offer1.streams.length, 2, `both tracks in the first offer: ${JSON.stringify(offer1.streams)}`);
  assert.deepEqual(offer1.streams.map((s) => s.kind).sort(), ['audio', 'video']);
  for (const s of offer1.streams) {
    assert.equal(s.participantId, a.id);
    assert.equal(typeof s.producerId, 'string');
  }
  const [offerSession, ...offerMedia] = sections(offer1.sdp);
  assert.ok(offerSession.includes('a=ice-lite'));
  assert.equal(offerMedia.length, 2);
  for (const m of offerMedia) {
    assert.ok(m.includes('a=sendonly'), 'sendonly');
    assert.ok(m.includes('a=setup:actpass'), 'actpass in an offer');
    assert.ok(m.some((l) => l.startsWith(`a=msid:${a.id} `)), 'msid stream id is the publisher id');
    const mid = m.find((l) => l.startsWith('a=mid:')).slice(6);
    assert.ok(offer1.streams.some((s) => s.mid === mid), `stream for mid ${mid}`);
  }
  assert.deepEqual(await b.client.collect('subscribe-offer', QUIET_MS), [], 'no second offer');

  b.client.send({ type: 'subscribe-answer', sdp: answerFor(offer1.sdp) });
  assert.deepEqual(await b.client.collect((m) => m.type === 'subscribe-offer' || m.type === 'error', QUIET_MS), []);

  // Mute reaches the others.
  a.client.send({ type: 'mute', kind: 'video', muted: true });
  const updated = await b.client.next('participant-updated');
  assert.deepEqual(updated.participant, {
    id: a.id, name: 'Ada', audio: true, video: true, screen: false, audioMuted: false, videoMuted: true,
  });
  a.client.send({ type: 'mute', kind: 'video', muted: false });
  assert.equal((await b.client.next('participant-updated')).participant.videoMuted, false);

  // Renegotiating the same tracks changes nothing for the others.
  const again = await a.client.request({ type: 'publish', sdp: publishOffer }, (m) =>
    ['publish-answer', 'error'].includes(m.type),
  );
  assert.equal(again.type, 'publish-answer');
  assert.deepEqual(await b.client.collect('subscribe-offer', QUIET_MS), []);

  // Ada stops sending video: Grace's next offer has that m-line inactive, still bundled, with
  // its port and transport (the m-line is kept for a later track of the same kind).
  const noVideo = await a.client.request({ type: 'publish', sdp: withoutTrack(publishOffer, '1') }, (m) =>
    ['publish-answer', 'error'].includes(m.type),
  );
  assert.equal(noVideo.type, 'publish-answer');
  const stopped = await b.client.next('participant-updated');
  assert.deepEqual(stopped.participant, {
    id: a.id, name: 'Ada', audio: true, video: false, screen: false, audioMuted: false, videoMuted: false,
  });
  const offer2 = await b.client.next('subscribe-offer');
  assert.deepEqual(offer2.streams.map((s) => s.kind), ['audio']);
  const videoSlot = offer1.streams.find((s) => s.kind === 'video').mid;
  const gone = sections(offer2.sdp).find((m) => m.includes(`a=mid:${videoSlot}`));
  assert.match(gone[0], /^m=video [1-9]\d* /, 'an ended m-line keeps its port');
  assert.ok(gone.includes('a=inactive'), 'and is inactive');
  assert.ok(gone.some((l) => l.startsWith('a=ice-ufrag:')), 'with its transport attributes');
  assert.ok(gone.some((l) => l.startsWith('a=rtpmap:')), 'and a codec line');
  assert.ok(!gone.some((l) => l.startsWith('a=ssrc')), 'but no ssrc');
  assert.ok(sections(offer2.sdp)[0].some((l) => l.startsWith('a=group:BUNDLE') && l.includes(` ${videoSlot}`)),
    'in the BUNDLE group');

  // Grace does not answer yet; Ada leaves. The server waits for the answer before offering again.
  a.client.send({ type: 'leave' });
  assert.equal((await b.client.next('participant-left')).id, a.id);
  assert.deepEqual(await b.client.collect('subscribe-offer', QUIET_MS), [], 'no offer while one is outstanding');
  b.client.send({ type: 'subscribe-answer', sdp: answerFor(offer2.sdp) });
  const offer3 = await b.client.next('subscribe-offer');
  assert.deepEqual(offer3.streams, []);
  const media3 = sections(offer3.sdp).slice(1);
  assert.equal(media3.length, 2, 'm-lines are never removed');
  for (const m of media3) {
    assert.match(m[0], /^m=\w+ [1-9]\d* /, `the port stays: ${m[0]}`);
    assert.ok(m.includes('a=inactive'), 'inactive');
    assert.ok(m.some((l) => l.startsWith('a=ice-ufrag:')), 'ICE credentials stay (every stack can apply it)');
    assert.ok(m.some((l) => l.startsWith('a=fingerprint:')), 'and the fingerprint');
  }
  assert.equal(offer3.offerId, offer2.offerId + 1, 'offers are numbered');
  b.client.send({ type: 'subscribe-answer', offerId: offer3.offerId, sdp: answerFor(offer3.sdp) });
  await expectPong(b.client, 'after the last answer');
  assert.deepEqual(b.client.queue.filter((m) => m.type === 'error'), []);

  // Everyone left; a newcomer publishes: Grace's m-lines are reused (mids and all), so her
  // offer does not grow and its bundle tag stays.
  const c = await member('media', 'Linus');
  await b.client.next('participant-joined');
  const published = await c.client.request({ type: 'publish', sdp: publishOffer }, (m) =>
    ['publish-answer', 'error'].includes(m.type),
  );
  assert.equal(published.type, 'publish-answer');
  const offer4 = await b.client.next('subscribe-offer');
  assert.equal(sections(offer4.sdp).length - 1, 2, 'no new m-line');
  assert.deepEqual(offer4.streams.map((s) => s.mid).sort(), offer1.streams.map((s) => s.mid).sort());
  for (const s of offer4.streams) assert.equal(s.participantId, c.id);
  for (const m of sections(offer4.sdp).slice(1)) assert.ok(m.includes('a=sendonly'), 'sendonly again');

  // A stale answer (to an earlier offer) is refused and changes nothing.
  await expectError(b.client, { type: 'subscribe-answer', offerId: offer3.offerId, sdp: answerFor(offer3.sdp) },
    'stale-answer', 'answer to an old offer');
  // A client that cannot apply an offer says so; it gets the offer again.
  b.client.send({ type: 'subscribe-answer', offerId: offer4.offerId, error: 'setRemoteDescription failed' });
  const offer5 = await b.client.next('subscribe-offer');
  assert.equal(offer5.offerId, offer4.offerId + 1);
  assert.deepEqual(offer5.streams, offer4.streams);
  b.client.send({ type: 'subscribe-answer', offerId: offer5.offerId, sdp: answerFor(offer5.sdp) });
  await expectPong(b.client, 'after answering the retried offer');
});

test('a publish while the previous one is still being answered gets busy', async () => {
  const a = await member('busy', 'Ada');
  // Both frames in one TCP write, so the server reads them together, before the worker has
  // produced the first offer's tracks.
  const tcp = a.client.socket._socket;
  tcp.cork();
  a.client.send({ type: 'publish', sdp: publishOffer, requestId: 1 });
  a.client.send({ type: 'publish', sdp: publishOffer, requestId: 2 });
  tcp.uncork();
  const first = await a.client.next((m) => m.requestId === 1);
  const second = await a.client.next((m) => m.requestId === 2);
  assert.equal(first.type, 'publish-answer');
  assert.equal(second.type, 'error');
  assert.equal(second.code, 'busy');
  assert.equal(second.inReplyTo, 'publish');
  // Once answered, publishing again works.
  const third = await a.client.request({ type: 'publish', sdp: publishOffer, requestId: 3 }, (m) => m.requestId === 3);
  assert.equal(third.type, 'publish-answer');
});

async function rawGet(path) {
  // fetch() normalizes paths; a raw request sends them as a hostile client would.
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let data = '';
    socket.setTimeout(3000, () => socket.destroy(new Error('raw GET timed out')));
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

test('hostile input: deep nesting, unbounded requestIds and oversized messages are refused and counted', async () => {
  const bystander = await member('calm', 'Grace');
  const c = await client();
  const rejected = async (reason) => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const m = new RegExp(`^switchboard_messages_rejected_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(metrics);
    assert.ok(m, `switchboard_messages_rejected_total{reason="${reason}"} in /metrics`);
    return Number(m[1]);
  };
  const deepBefore = await rejected('too_deep');
  // The ping that used to kill the server (a stack overflow copying requestId into the pong).
  const deep = '{"type":"ping","requestId":' + '['.repeat(300000) + ']'.repeat(300000) + '}';
  const reply = await expectError(c, deep, 'bad-json', 'nested requestId');
  assert.equal(reply.message, 'nesting deeper than 32');
  assert.equal(reply.requestId, undefined, 'nothing echoed');
  assert.equal(await rejected('too_deep'), deepBefore + 1);

  const idBefore = await rejected('bad_request_id');
  const big = await expectError(c, { type: 'ping', requestId: { a: 'x'.repeat(100000) } }, 'bad-message', 'object requestId');
  assert.equal(big.requestId, undefined, 'nothing echoed');
  await expectError(c, { type: 'ping', requestId: 'r'.repeat(65) }, 'bad-message', '65-byte requestId');
  assert.equal(await rejected('bad_request_id'), idBefore + 2);
  // Sent as text: expectError would want the long type echoed in inReplyTo, and it must not be.
  const longType = await expectError(c, JSON.stringify({ type: 't'.repeat(65), requestId: 3 }), 'bad-message', 'a 65-byte type');
  assert.equal(longType.inReplyTo, undefined, 'the long type is not echoed');
  assert.equal(longType.requestId, 3);
  await expectPong(c, 'the sender');
  await expectPong(bystander.client, 'the bystander');

  const largeBefore = await rejected('too_large');
  const closed = new Promise((resolve) => c.socket.once('close', (code) => resolve(code)));
  c.send(JSON.stringify({ type: 'ping', pad: 'a'.repeat(2 * 1024 * 1024) }));
  assert.equal(await closed, 1009, 'a 2 MiB message closes with 1009');
  assert.equal(await rejected('too_large'), largeBefore + 1);
  await expectPong(bystander.client, 'the bystander after the 1009');
});

test('HTTP: health, rooms, metrics, the web app', async () => {
  const health = await getJson(server, '/api/health');
  assert.deepEqual(health, { status: 'ok', workers: 1 });

  const a = await member('http-room', 'Ada');
  const b = await member('http-room', 'Grace');
  await a.client.next('participant-joined');
  const rooms = await getJson(server, '/api/rooms');
  const room = rooms.rooms.find((r) => r.name === 'http-room');
  assert.ok(room, `room listed: ${JSON.stringify(rooms)}`);
  assert.equal(room.worker, 0);
  assert.ok(Number.isInteger(room.workerPid) && room.workerPid > 0, 'worker pid');
  assert.deepEqual(
    room.participants.map((p) => [p.id, p.name]),
    [
      [a.id, 'Ada'],
      [b.id, 'Grace'],
    ],
  );

  const metricsRes = await fetch(`${server.url}/metrics`);
  assert.equal(metricsRes.status, 200);
  assert.match(metricsRes.headers.get('content-type'), /^text\/plain/);
  const metrics = await metricsRes.text();
  for (const name of [
    'switchboard_rooms',
    'switchboard_participants',
    'switchboard_websockets',
    'switchboard_workers',
    'switchboard_worker_restarts_total',
    'switchboard_joins_total',
    'switchboard_room_full_total',
    'switchboard_signaling_errors_total',
  ]) {
    assert.match(metrics, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'), `${name} typed`);
    assert.match(metrics, new RegExp(`^${name} \\d+$`, 'm'), `${name} has a value`);
  }
  const value = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)[1]);
  assert.equal(value('switchboard_rooms'), rooms.rooms.length);
  assert.equal(value('switchboard_participants'), rooms.rooms.reduce((n, r) => n + r.participants.length, 0));
  assert.equal(value('switchboard_workers'), 1);
  assert.ok(value('switchboard_room_full_total') >= 1, 'the capacity test was counted');

  const index = await fetch(`${server.url}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.match(await index.text(), /<html/i);

  const lib = await fetch(`${server.url}/lib/switchboard.js`);
  assert.equal(lib.status, 200);
  assert.match(lib.headers.get('content-type'), /javascript/);
  assert.ok((await lib.text()).length > 100);

  const missing = await fetch(`${server.url}/no-such-file.js`);
  assert.equal(missing.status, 404);
  await missing.arrayBuffer();

  // Paths that climb out of the web root get a plain 404 (signaling/http/http_server.cc), and
  // the server is still there afterwards: an empty reply from a crashed server is no answer.
  for (const path of ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/lib/../../CMakeLists.txt']) {
    const response = await rawGet(path);
    assert.match(response, /^HTTP\/1\.1 404 /, `${path} is answered 404: ${JSON.stringify(response.slice(0, 200))}`);
    assert.doesNotMatch(response, /root:x:0:0/, `${path} does not escape the web root`);
    assert.doesNotMatch(response, /cmake_minimum_required/i, `${path} does not escape the web root`);
  }
  assert.equal(server.process.exitCode, null, 'the server is still running');
  assert.deepEqual(await getJson(server, '/api/health'), { status: 'ok', workers: 1 }, 'and answers');
  assert.match(await rawGet('/lib/switchboard.js'), /^HTTP\/1\.1 200 /, 'and serves files');
});

// The publish offer with a second video m-line (mid 2: a screen share, as the client library's
// shareScreen adds it), its ssrcs and track id its own; `direction` is that m-line's.
function withScreen(offer, direction = 'sendonly') {
  const [session, ...media] = sections(offer);
  const video = media.find((m) => m.includes('a=mid:1'));
  const screen = video.map((l) => {
    if (l === 'a=mid:1') return 'a=mid:2';
    if (l === 'a=sendonly') return `a=${direction}`;
    // New ssrcs (one more than the camera's) and a new track id in a=msid / a=ssrc msid.
    return l
      .replace(/^(a=ssrc(?:-group:FID)?:?)(.*)$/, (s, head, rest) => head + rest.replace(/\b\d{6,}\b/g, (n) => String(Number(n) + 1)))
      .replace(/(msid:\S+ )\S+$/, '$1screen-track-0001');
  }).filter((l) => direction === 'sendonly' || !/^a=(ssrc|msid)/.test(l));
  const head = session.map((l) => (l.startsWith('a=group:BUNDLE') ? `${l} 2` : l));
  return [...head, ...media.flat(), ...screen].join('\r\n') + '\r\n';
}

test('screen share: a second video track marked by `sources`, told to every subscriber, stopped and shared again', async () => {
  const a = await member('screen', 'Ada');
  const b = await member('screen', 'Grace');
  await a.client.next('participant-joined');
  const publish = (sdp, extra = {}) =>
    a.client.request({ type: 'publish', sdp, ...extra }, (m) => ['publish-answer', 'error'].includes(m.type));
  const apiTracks = async () => {
    const { rooms } = await getJson(server, '/api/rooms');
    const ada = rooms.find((r) => r.name === 'screen').participants.find((p) => p.id === a.id);
    return Object.fromEntries(ada.tracks.map((t) => [t.source, t]));
  };

  // `sources` must name offered audio/video m-lines with a source of their kind.
  for (const [sources, what] of [
    ['screen', 'not an object'],
    [{ 9: 'screen' }, 'no such mid'],
    [{ 0: 'screen' }, 'audio cannot be a screen'],
    [{ 2: 'window' }, 'unknown source'],
    [{ 2: true }, 'not a string'],
  ]) {
    await expectError(a.client, { type: 'publish', sdp: withScreen(publishOffer), sources }, 'bad-message', what);
  }
  assert.deepEqual(await b.client.collect('participant-updated', QUIET_MS), [], 'a refused publish changes nothing');

  const answer = await publish(withScreen(publishOffer), { sources: { 2: 'screen' } });
  assert.equal(answer.type, 'publish-answer', JSON.stringify(answer));
  for (const m of sections(answer.sdp).slice(1)) assert.match(m[0], /^m=\w+ [1-9]\d* /, `accepted: ${m[0]}`);
  const updated = await b.client.next('participant-updated');
  assert.deepEqual(updated.participant, {
    id: a.id, name: 'Ada', audio: true, video: true, screen: true, audioMuted: false, videoMuted: false,
  });
  const offer1 = await b.client.next('subscribe-offer');
  const bySource = Object.fromEntries(offer1.streams.map((s) => [s.source, s]));
  assert.deepEqual(offer1.streams.map((s) => `${s.kind}/${s.source}`).sort(), ['audio/microphone', 'video/camera', 'video/screen']);
  for (const s of offer1.streams) assert.equal(s.participantId, a.id);
  const screenMid = bySource.screen.mid;
  b.client.send({ type: 'subscribe-answer', offerId: offer1.offerId, sdp: answerFor(offer1.sdp) });
  let tracks = await apiTracks();
  assert.equal(tracks.screen?.kind, 'video', `/api/rooms lists the screen share: ${JSON.stringify(tracks)}`);
  assert.equal(tracks.screen.producerId, bySource.screen.producerId);

  // Camera off leaves the share alone.
  a.client.send({ type: 'mute', kind: 'video', muted: true });
  assert.equal((await b.client.next('participant-updated')).participant.videoMuted, true);
  tracks = await apiTracks();
  assert.equal(tracks.camera.paused, true, 'the camera is paused');
  assert.equal(tracks.screen.paused, false, 'the screen share is not');
  a.client.send({ type: 'mute', kind: 'video', muted: false });
  await b.client.next('participant-updated');

  // Stopping the share: its m-line goes inactive at the publisher (answered inactive, not
  // rejected, so the browser can send on it again) and at every subscriber.
  const stopped = await publish(withScreen(publishOffer, 'inactive'));
  assert.equal(stopped.type, 'publish-answer');
  const answered = sections(stopped.sdp).find((m) => m.includes('a=mid:2'));
  assert.match(answered[0], /^m=video [1-9]\d* /, 'the stopped share keeps its port in the answer');
  assert.ok(answered.includes('a=inactive'), 'answered inactive');
  assert.equal((await b.client.next('participant-updated')).participant.screen, false);
  const offer2 = await b.client.next('subscribe-offer');
  assert.deepEqual(offer2.streams.map((s) => s.source).sort(), ['camera', 'microphone']);
  assert.ok(sections(offer2.sdp).find((m) => m.includes(`a=mid:${screenMid}`)).includes('a=inactive'));
  b.client.send({ type: 'subscribe-answer', offerId: offer2.offerId, sdp: answerFor(offer2.sdp) });
  assert.equal((await apiTracks()).screen, undefined, 'gone from /api/rooms');

  // Sharing again on the same m-line: a new producer, on the subscriber's same m-line.
  assert.equal((await publish(withScreen(publishOffer), { sources: { 2: 'screen' } })).type, 'publish-answer');
  assert.equal((await b.client.next('participant-updated')).participant.screen, true);
  const offer3 = await b.client.next('subscribe-offer');
  const again = offer3.streams.find((s) => s.source === 'screen');
  assert.ok(again, `the share is back: ${JSON.stringify(offer3.streams)}`);
  assert.equal(again.mid, screenMid, 'on the m-line the first share had');
  assert.notEqual(again.producerId, bySource.screen.producerId, 'a new producer');
  assert.equal(sections(offer3.sdp).length - 1, 3, 'no new m-line');
  b.client.send({ type: 'subscribe-answer', offerId: offer3.offerId, sdp: answerFor(offer3.sdp) });

  // Leaving while sharing ends every track of it.
  a.client.send({ type: 'leave' });
  assert.equal((await b.client.next('participant-left')).id, a.id);
  const offer4 = await b.client.next('subscribe-offer');
  assert.deepEqual(offer4.streams, []);
  b.client.send({ type: 'subscribe-answer', offerId: offer4.offerId, sdp: answerFor(offer4.sdp) });
  await expectPong(b.client, 'after the last answer');
  assert.deepEqual(b.client.queue.filter((m) => m.type === 'error'), []);
});

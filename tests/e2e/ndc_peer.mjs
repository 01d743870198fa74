// A conference participant that is not a browser: libdatachannel (npm node-datachannel 0.33:
// libjuice ICE, its own DTLS/SRTP) for media and the `ws` package for signaling
// (docs/protocol.md, plus offerId, resume and restart-ice). It publishes a synthetic Opus
// stream (a packet every 20 ms) and a synthetic VP8 stream (25 frames a second, one packet a
// frame, a key frame every 2 s and on PLI/FIR) as raw RTP through the Track API, applies
// every subscribe-offer, and counts the RTP packets it receives per publisher and kind.
//
// libdatachannel quirks met on the way (libdatachannel 0.24.5 inside node-datachannel 0.33.4):
// - It refuses a remote description without ICE credentials (ice-ufrag/ice-pwd), and one whose
//   m-lines all have port 0 ("Remote description has no active media"): the server's ended
//   m-lines are inactive with their port and ICE attributes, which is what lets it apply them.
// - It routes incoming RTP to a track by SSRC, from the a=ssrc lines of the descriptions; a
//   stream without a=ssrc in the offer is dropped ("Track not found for SSRC"). RTCP reaches a
//   sending track when it names that track's SSRC (PLI does).
// - An answer keeps each track's first description ("prefer local description"): a reused
//   mid is answered recvonly with the first stream's msid, an inactive one recvonly too.
// - Track.onMessage hands over RTP and RTCP alike (no media handler installed): split by the
//   payload-type byte (RFC 5761).
// - In a namespace with only loopback libjuice logs "No local host candidates gathered" (it
//   skips loopback addresses); it connects anyway: the server is ICE-lite, our checks reach its
//   127.0.0.1 candidate and it learns our address from them.
// - No ICE restart: libjuice refuses a remote description with new ICE credentials ("ICE
//   restart is not supported"; node-datachannel: "Invalid ICE settings from remote SDP"), and
//   setLocalDescription('offer', { iceUfrag, icePwd }) on a connection that has ICE keeps the
//   old credentials, so neither connection can restart ICE.
// - node-datachannel does not catch libdatachannel's exceptions in setLocalDescription: one
//   there aborts the node process. Check the signaling state before answering.
// - Track objects must outlive their use and the process: one that is garbage-collected stops
//   delivering (its onMessage callback goes with it: reception stopped at random moments), and
//   node-datachannel forgets a collected track only if it had an onClosed callback that ran:
//   otherwise ndc.cleanup() closes it again and crashes (SIGSEGV/SIGBUS in rtc::Track::close).
//   So every track gets an onClosed callback and stays referenced (keep() below).
// - Closing a connection while RTP still arrives can crash node (SIGSEGV seen): node-datachannel
//   resets a track's message callback on the JS thread while libdatachannel's thread may be
//   calling it. So leave() lets the server close its side and the last packets land first.
// - An offer can meet a connection libdatachannel closed by itself (the server's DTLS
//   close_notify on leaving overtakes the WebSocket): leave() stops applying offers first.
// - The process does not exit while a PeerConnection is open or before ndc.cleanup()
//   (shutdownNdc below).
import ndc from 'node-datachannel';
import WebSocket from 'ws';

const OPUS_PT = 111;
const VP8_PT = 96;
const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const MID_EXT_ID = 1; // our a=extmap id for MID_URI (RFC 8843 section 15)
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const AUDIO_LEVEL_EXT_ID = 2;
const TICK_MS = 20; // one Opus frame; video goes out every other tick (25 fps)
const KEYFRAME_EVERY = 50; // video frames: a key frame every 2 s even without a PLI
// After `left`, how long the last packets of the transports the server closed may take.
const QUIESCE_MS = 200;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// What libdatachannel logs at Warning and above (the last 200 lines), and its errors with the
// time they came (the first 100), so a test can tell which of its steps they came in.
export const ndcLog = [];
export const ndcErrors = [];
ndc.initLogger('Warning', (level, message) => {
  ndcLog.push(`${level}: ${message}`);
  if (ndcLog.length > 200) ndcLog.shift();
  if (/^(Error|Fatal)/.test(level) && ndcErrors.length < 100) {
    ndcErrors.push({ at: Date.now(), line: `${level}: ${message}` });
  }
});

const livePeers = new Set();
const keptTracks = [];

function keep(track) {
  track.onClosed(() => {});
  keptTracks.push(track);
  return track;
}

// Closes every peer still open (a test that failed half-way) and ends libdatachannel's threads.
export function shutdownNdc() {
  for (const peer of livePeers) peer.close();
  ndc.cleanup();
}

// What we receive, in the join message's shape (RTCRtpReceiver.getCapabilities per kind).
export const NDC_CAPABILITIES = {
  audio: {
    codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
    headerExtensions: [{ uri: MID_URI }],
  },
  video: {
    codecs: [{ mimeType: 'video/VP8', clockRate: 90000 }],
    headerExtensions: [{ uri: MID_URI }],
  },
};

const randomSsrc = () => (Math.random() * 0xfffffff0 + 1) >>> 0;

// RTP (RFC 3550) with one-byte header extension elements (RFC 8285): the mid, and for audio
// the audio level (RFC 6464: V bit and -dBov, 0 loudest, 127 silence) when `level` is given.
function rtpPacket({ pt, seq, ts, ssrc, marker, mid, payload, level }) {
  const midBytes = Buffer.from(mid);
  const extBytes = 1 + midBytes.length + (level === undefined ? 0 : 2);
  const extWords = Math.ceil(extBytes / 4);
  const header = Buffer.alloc(12 + 4 + extWords * 4);
  header[0] = 0x90; // V=2, X=1
  header[1] = (marker ? 0x80 : 0) | pt;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(ts >>> 0, 4);
  header.writeUInt32BE(ssrc, 8);
  header.writeUInt16BE(0xbede, 12);
  header.writeUInt16BE(extWords, 14);
  header[16] = (MID_EXT_ID << 4) | (midBytes.length - 1);
  midBytes.copy(header, 17);
  if (level !== undefined) {
    const at = 17 + midBytes.length;
    header[at] = AUDIO_LEVEL_EXT_ID << 4; // length 1 (encoded as 0)
    header[at + 1] = (level < 127 ? 0x80 : 0) | level;
  }
  return Buffer.concat([header, payload]);
}

// One VP8 frame in one packet (RFC 7741): payload descriptor X=1 S=1 PID=0 with a 15-bit
// picture id, then the frame tag whose P bit (0: key frame) the server's key-frame logic
// reads; a key frame has the start code and a 320x240 size. The rest is filler: no decoder
// will make a picture of it.
function vp8Payload(pictureId, key) {
  const size = key ? 600 : 150;
  const p = Buffer.alloc(size, 0x55);
  p[0] = 0x90; // X, S, PID 0
  p[1] = 0x80; // I: picture id present
  p[2] = 0x80 | ((pictureId >> 8) & 0x7f);
  p[3] = pictureId & 0xff;
  const tag = (key ? 0 : 1) | (1 << 4) | ((size - 14) << 5); // P, version 0, show, size
  p[4] = tag & 0xff;
  p[5] = (tag >> 8) & 0xff;
  p[6] = (tag >> 16) & 0xff;
  if (key) {
    p.set([0x9d, 0x01, 0x2a], 7);
    p.writeUInt16LE(320, 10);
    p.writeUInt16LE(240, 12);
  }
  return p;
}

// A 20 ms Opus frame: the TOC byte of SILK wideband 20 ms mono (config 9), then filler.
const OPUS_PAYLOAD = Buffer.from([0x48, ...Array(40).fill(0x33)]);

const isRtcp = (buf) => buf.length >= 2 && buf[1] >= 192 && buf[1] <= 223;

// Per m-section of an SDP: its mid and the SSRCs it announces.
function sdpSections(sdp) {
  return sdp
    .split(/\r?\nm=/)
    .slice(1)
    .map((section) => ({
      mid: /\r?\na=mid:(\S+)/.exec(section)?.[1],
      ssrcs: new Set([...section.matchAll(/\r?\na=ssrc:(\d+) /g)].map((m) => Number(m[1]))),
    }));
}

export class NdcPeer {
  constructor(server, room, name, { capabilities = NDC_CAPABILITIES } = {}) {
    this.server = server;
    this.room = room;
    this.name = name;
    this.capabilities = capabilities; // null: none sent, the server's defaults apply
    this.id = null;
    this.resumeToken = null;
    this.messages = []; // every message received, with `at` (Date.now()) added
    this.leaving = false; // `leave` sent: offers are no longer applied
    this.closed = false;
    this.audioLevel = 127; // what our audio packets say (RFC 6464 -dBov): 127 silence
    this._waiters = [];
    // Subscribing.
    this.sub = null;
    this.subTracks = new Map(); // mid -> Track
    this.offers = []; // { offerId, at, mLines, live } per subscribe-offer
    this.lastOffer = null;
    this.offerErrors = []; // { offerId, error }: offers libdatachannel could not apply
    this.streams = new Map(); // mid -> { participantId, kind, producerId, ssrcs } carried now
    this.announced = new Map(); // mid -> every SSRC an applied offer announced on it
    this.received = new Map(); // participantId -> { audio, video, firstAudioAt, firstVideoAt }
    // RTP with an SSRC its mid carried under an earlier offer: the last packets of a track
    // that ended, overtaken by the offer that made its m-line inactive.
    this.late = 0;
    // RTP with an SSRC no applied offer announced on its mid (must not happen); the last few.
    this.unattributed = 0;
    this.unattributedLog = [];
    // Publishing.
    this.pub = null;
    this.pubTracks = [];
    this.publishAnswerAt = undefined;
    this.sent = { audio: 0, video: 0 };
    this.keyframeRequests = 0;
    // Data channels (publish({ dataChannels })): ours by label, and those the server opened to
    // us with every message: { label, from (its protocol: the sender's id), messages }.
    this.channels = new Map();
    this.incoming = [];
    this._timer = null;
    this.silent = false;
    livePeers.add(this);
  }

  // --- signaling ------------------------------------------------------------------------

  async _connect() {
    const socket = new WebSocket(`${this.server.url.replace(/^http/, 'ws')}/ws`);
    socket.on('message', (data) => this._onMessage(JSON.parse(String(data))));
    socket.on('error', () => {});
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    this.socket = socket;
  }

  send(message) {
    this.socket.send(JSON.stringify(message));
  }

  _onMessage(message) {
    message.at = Date.now();
    this.messages.push(message);
    if (message.type === 'subscribe-offer') this._applyOffer(message);
    for (const w of [...this._waiters]) {
      if (w.predicate(message)) {
        this._waiters.splice(this._waiters.indexOf(w), 1);
        w.resolve(message);
      }
    }
  }

  // The next message from now on that matches `want` (a type or a predicate).
  next(want, timeout = 10000) {
    const predicate = typeof want === 'function' ? want : (m) => m.type === want;
    return new Promise((resolve, reject) => {
      const waiter = { predicate };
      const timer = setTimeout(() => {
        this._waiters.splice(this._waiters.indexOf(waiter), 1);
        const what = typeof want === 'string' ? want : 'matching message';
        reject(new Error(`${this.name}: no ${what} within ${timeout} ms`));
      }, timeout);
      waiter.resolve = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      this._waiters.push(waiter);
    });
  }

  // Sends `message` and resolves with the reply of one of the `types`; throws on another.
  async _request(message, types, ok) {
    const reply = this.next((m) => types.includes(m.type));
    this.send(message);
    const m = await reply;
    if (m.type !== ok) throw new Error(`${this.name}: ${message.type}: ${JSON.stringify(m)}`);
    return m;
  }

  async join() {
    await this._connect();
    const message = { type: 'join', room: this.room, name: this.name };
    if (this.capabilities) message.rtpCapabilities = this.capabilities;
    const joined = await this._request(message, ['joined', 'full', 'error'], 'joined');
    this.id = joined.id;
    this.resumeToken = joined.resumeToken;
    return joined;
  }

  // `leave`, then a clean close of everything once the media stopped.
  async leave() {
    this.leaving = true;
    await this._request({ type: 'leave' }, ['left', 'error'], 'left');
    this.stopSending();
    await sleep(QUIESCE_MS);
    this.close();
  }

  // The WebSocket's TCP connection ends without a close frame; the media goes on.
  closeAbruptly() {
    this.socket.terminate();
  }

  // No more RTP from us; the connections stay (the server closes its side when we are gone).
  stopSending() {
    this.silent = true;
    clearInterval(this._timer);
    this._timer = null;
  }

  // A new WebSocket takes the session over: resolves with `resumed`, throws on an error.
  async resume() {
    await this._connect();
    const message = { type: 'resume', resumeToken: this.resumeToken };
    const resumed = await this._request(message, ['resumed', 'error'], 'resumed');
    this.resumeToken = resumed.resumeToken;
    return resumed;
  }

  // Asks the server to restart ICE on our subscribing connection; resolves with the offer
  // that carries its new credentials once we tried to apply it (libdatachannel cannot: see
  // offerErrors).
  async restartIce() {
    const offer = this.next('subscribe-offer');
    this.send({ type: 'restart-ice' });
    return offer;
  }

  // Stops sending; closes both connections and the WebSocket (cleanly if it is open). Safe
  // once no RTP arrives any more (see above).
  close() {
    this.closed = true;
    this.socket?.close();
    this.stopSending();
    for (const track of [...this.pubTracks, ...this.subTracks.values()]) track.close();
    this.pub?.close();
    this.sub?.close();
    this.pub = this.sub = null;
    this.pubTracks = [];
    this.subTracks.clear();
    livePeers.delete(this);
  }

  // --- publishing ---------------------------------------------------------------------------

  // Offers an Opus and a VP8 track and sends on both once connected; resolves with the
  // publish-answer.
  // A reliable ordered channel on the publishing connection (options: node-datachannel's, e.g.
  // { protocol } to address it), kept referenced in this.channels for the peer's life.
  openDataChannel(label, options = undefined) {
    const dc = options ? this.pub.createDataChannel(label, options) : this.pub.createDataChannel(label);
    dc.onClosed(() => {});
    this.channels.set(label, dc);
    return dc;
  }

  // `dataChannels`: labels of reliable ordered channels to open on the publishing connection
  // (the offer then has an m=application); `media: false` sends no tracks; `offerSdp` rewrites
  // the offer's SDP before it is sent (a hostile client's: e.g. a fingerprint that is not ours).
  async publish({ dataChannels = [], media = true, offerSdp = (sdp) => sdp } = {}) {
    const pc = new ndc.PeerConnection(`${this.name}-pub`, { iceServers: [] });
    this.pub = pc;
    pc.onDataChannel((dc) => {
      // The entry keeps the channel referenced: like a Track, a DataChannel that is garbage-
      // collected while libdatachannel still calls it crashes node (SIGSEGV seen in CI).
      const entry = { label: dc.getLabel(), from: dc.getProtocol(), messages: [], closed: false, channel: dc };
      this.incoming.push(entry);
      dc.onMessage((m) => entry.messages.push(typeof m === 'string' ? m : Buffer.from(m)));
      dc.onClosed(() => {
        entry.closed = true;
      });
    });
    for (const label of dataChannels) this.openDataChannel(label);
    if (!media) {
      pc.setLocalDescription('offer');
      const answer = await this._request(
        { type: 'publish', sdp: offerSdp(pc.localDescription().sdp) },
        ['publish-answer', 'error'],
        'publish-answer',
      );
      pc.setRemoteDescription(answer.sdp, 'answer');
      this.publishAnswerAt = answer.at;
      return answer;
    }
    const source = (mid) => ({ mid, ssrc: randomSsrc(), seq: 0, ts: 0 });
    const a = source('0');
    const v = { ...source('1'), pictureId: 0, frames: 0 };
    const audio = new ndc.Audio(a.mid, 'SendOnly');
    audio.addOpusCodec(OPUS_PT);
    audio.addSSRC(a.ssrc, this.name, this.name, 'audio');
    audio.parseSdpLine(`a=extmap:${MID_EXT_ID} ${MID_URI}`);
    audio.parseSdpLine(`a=extmap:${AUDIO_LEVEL_EXT_ID} ${AUDIO_LEVEL_URI}`);
    const video = new ndc.Video(v.mid, 'SendOnly');
    video.addVP8Codec(VP8_PT);
    video.addSSRC(v.ssrc, this.name, this.name, 'video');
    video.parseSdpLine(`a=extmap:${MID_EXT_ID} ${MID_URI}`);
    const audioTrack = keep(pc.addTrack(audio));
    const videoTrack = keep(pc.addTrack(video));
    this.pubTracks = [audioTrack, videoTrack];
    let keyframeWanted = true;
    videoTrack.onMessage((buf) => {
      // RTCP compound packets: PLI is PSFB (206) FMT 1, FIR FMT 4 (RFC 4585, RFC 5104).
      for (let off = 0; off + 4 <= buf.length; off += (buf.readUInt16BE(off + 2) + 1) * 4) {
        const fmt = buf[off] & 0x1f;
        if (buf[off + 1] === 206 && (fmt === 1 || fmt === 4)) {
          keyframeWanted = true;
          this.keyframeRequests++;
        }
      }
    });
    const open = Promise.all(
      [audioTrack, videoTrack].map((t) => new Promise((resolve) => t.onOpen(resolve))),
    );
    pc.setLocalDescription('offer');
    const message = { type: 'publish', sdp: offerSdp(pc.localDescription().sdp) };
    const answer = await this._request(message, ['publish-answer', 'error'], 'publish-answer');
    pc.setRemoteDescription(answer.sdp, 'answer');
    this.publishAnswerAt = answer.at;
    open.then(() => {
      if (this.pub !== pc || this.silent) return;
      let tick = 0;
      this._timer = setInterval(() => {
        if (!audioTrack.isOpen() || !videoTrack.isOpen()) return;
        audioTrack.sendMessageBinary(
          rtpPacket({
            ...a, pt: OPUS_PT, seq: a.seq++, marker: false, payload: OPUS_PAYLOAD,
            level: this.audioLevel,
          }),
        );
        a.ts += 960; // 20 ms at 48 kHz
        this.sent.audio++;
        if (tick++ % 2 !== 0) return;
        const key = keyframeWanted || v.frames % KEYFRAME_EVERY === 0;
        keyframeWanted = false;
        const payload = vp8Payload(v.pictureId, key);
        videoTrack.sendMessageBinary(
          rtpPacket({ ...v, pt: VP8_PT, seq: v.seq++, marker: true, payload }),
        );
        v.pictureId = (v.pictureId + 1) & 0x7fff;
        v.frames++;
        v.ts += 3600; // 40 ms at 90 kHz
        this.sent.video++;
      }, TICK_MS);
    });
    return answer;
  }

  // --- subscribing --------------------------------------------------------------------------

  _applyOffer(offer) {
    if (this.closed || this.leaving) return;
    const mLines = (offer.sdp.match(/^m=/gm) ?? []).length;
    this.offers.push({ offerId: offer.offerId, at: offer.at, mLines, live: offer.streams.length });
    this.lastOffer = offer;
    try {
      if (!this.sub) {
        this.sub = new ndc.PeerConnection(`${this.name}-sub`, {
          iceServers: [],
          disableAutoNegotiation: true, // we answer ourselves, with the offer's id
        });
        this.sub.onTrack((track) => {
          const mid = track.mid();
          this.subTracks.set(mid, keep(track));
          track.onMessage((buf) => this._onMedia(mid, buf));
        });
      }
      const before = `${this.sub.signalingState()}/${this.sub.state()}`;
      this.sub.setRemoteDescription(offer.sdp, 'offer');
      if (this.sub.signalingState() !== 'have-remote-offer') {
        throw new Error(
          `offer applied, but signaling state ${this.sub.signalingState()}, ` +
            `connection ${this.sub.state()} (before: ${before})`,
        );
      }
      this.sub.setLocalDescription('answer');
    } catch (e) {
      this.offerErrors.push({ offerId: offer.offerId, error: String(e) });
      this.send({ type: 'subscribe-answer', offerId: offer.offerId, error: String(e) });
      return;
    }
    // The offer is applied: which stream each mid carries from now on, under which SSRCs.
    const sections = new Map(sdpSections(offer.sdp).map((s) => [s.mid, s]));
    this.streams = new Map(
      offer.streams.map((s) => [s.mid, { ...s, ssrcs: sections.get(s.mid)?.ssrcs ?? new Set() }]),
    );
    for (const [mid, { ssrcs }] of sections) {
      if (!this.announced.has(mid)) this.announced.set(mid, new Set());
      for (const ssrc of ssrcs) this.announced.get(mid).add(ssrc);
    }
    const sdp = this.sub.localDescription().sdp;
    this.send({ type: 'subscribe-answer', offerId: offer.offerId, sdp });
  }

  _onMedia(mid, buf) {
    if (buf.length < 12 || isRtcp(buf)) return;
    const stream = this.streams.get(mid);
    const ssrc = buf.readUInt32BE(8);
    if (!stream?.ssrcs.has(ssrc)) {
      if (this.announced.get(mid)?.has(ssrc)) {
        this.late++;
      } else {
        this.unattributed++;
        this.unattributedLog = [
          ...this.unattributedLog.slice(-9),
          { mid, ssrc, carries: stream?.participantId },
        ];
      }
      return;
    }
    let r = this.received.get(stream.participantId);
    if (!r) this.received.set(stream.participantId, (r = { audio: 0, video: 0 }));
    if (r[stream.kind]++ === 0) {
      r[stream.kind === 'audio' ? 'firstAudioAt' : 'firstVideoAt'] = Date.now();
    }
  }

  // RTP packets received so far from `participantId`: { audio, video, firstAudioAt,
  // firstVideoAt } (a live object: copy it to keep a snapshot).
  from(participantId) {
    return this.received.get(participantId) ?? { audio: 0, video: 0 };
  }

  // m= lines in the last subscribe-offer.
  mLineCount() {
    return this.offers.at(-1)?.mLines ?? 0;
  }
}

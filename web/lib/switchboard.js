/**
 * Switchboard client library: speaks the signaling protocol of docs/protocol.md over one
 * WebSocket and manages the two RTCPeerConnections (publish: we offer; subscribe: the server
 * offers). Plain ES module, no dependencies.
 *
 *   import { SwitchboardClient } from '/lib/switchboard.js';
 *   const client = new SwitchboardClient();
 *   client.addEventListener('track', (e) => attach(e.detail.participantId, e.detail.stream));
 *   await client.connect(`ws://${location.host}/ws`);
 *   const reply = await client.join('demo', 'Ada');   // the `joined` or `full` message
 *   if (reply.type === 'joined') await client.publish(localStream);
 *
 * Methods (all async ones reject with an Error whose `.code` is the server's error code):
 *   connect(url)             open the WebSocket; resolves when open.
 *   join(room, name)         resolves with the server's `joined` or `full` message.
 *   publish(stream, {videoCodec, videoEncodings})  send the stream's tracks (again to
 *                            add/replace tracks); videoCodec ('VP8', 'H264', ...) puts that
 *                            codec first in the offer. videoEncodings sends the video track as
 *                            simulcast: RTCRtpEncodingParameters with a `rid` each, lowest
 *                            quality first, e.g. [{rid: 'q', scaleResolutionDownBy: 4},
 *                            {rid: 'h', scaleResolutionDownBy: 2}, {rid: 'f'}]. The server
 *                            forwards each subscriber the highest layer it receives.
 *                            Applies when the video track is first published. The server
 *                            sends no bandwidth feedback yet, so Chromium only sends the
 *                            layers that fit its ~300 kbps start estimate: cap each layer's
 *                            maxBitrate to have them all.
 *   setEncodingActive(rid, active)  start or stop sending one simulcast layer of the video.
 *   setMuted(kind, muted)    'audio' | 'video': disables the local track and tells the server.
 *   leave()                  leave the room (the socket stays open for another join).
 *   close()                  leave and close the socket.
 *   ping()                   round trip to the server; resolves with the time in ms.
 *   getStats()               { publish, subscribe }: RTCStatsReports (null if no connection).
 *   getReceiverStats()       [{ participantId, kind, mid, mimeType, framesDecoded, frameWidth, frameHeight,
 *                              packetsReceived, packetsLost, bytesReceived, jitter,
 *                              totalSamplesReceived, concealedSamples, freezeCount, nackCount }]
 *                            per track.
 *   getSenderStats()         [{ kind, rid, packetsSent, bytesSent, framesSent, frameWidth,
 *                              frameHeight }] per sent stream (one per layer with simulcast).
 *
 * Properties: id (own participant id or null), room, participants (Map id -> participant
 * object as in the protocol), localStream, remoteStreams (Map participantId -> MediaStream
 * holding that participant's live remote tracks), connected.
 *
 * Events (CustomEvent, payload in `event.detail`):
 *   'joined'               { room, id, participants }
 *   'full'                 { room, capacity }
 *   'participant-joined'   { participant }
 *   'participant-updated'  { participant }
 *   'participant-left'     { id, participant }
 *   'track'                { participantId, kind, track, stream, mid }   stream: remoteStreams entry
 *   'track-ended'          { participantId, kind, track, stream, mid }
 *   'room-closed'          { room, reason }
 *   'error'                { code, message, inReplyTo }
 *   'closed'               { code, reason }   the WebSocket closed
 */

const PC_CONFIG = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: [] };
const REQUEST_TIMEOUT_MS = 10000;

// Moves the codecs of one mime subtype (e.g. 'H264') to the front of a transceiver's list;
// the server takes the first codec of the offer it can forward.
function preferCodec(transceiver, subtype) {
  const caps = RTCRtpSender.getCapabilities('video');
  if (!caps || !transceiver.setCodecPreferences) return;
  const wanted = `video/${subtype}`.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (first.length === 0) return;
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  transceiver.setCodecPreferences([...first, ...rest]);
}

export class SwitchboardError extends Error {
  constructor(code, message, inReplyTo) {
    super(message || code);
    this.name = 'SwitchboardError';
    this.code = code;
    this.inReplyTo = inReplyTo;
  }
}

export class SwitchboardClient extends EventTarget {
  constructor() {
    super();
    this.id = null;
    this.room = null;
    this.participants = new Map();
    this.localStream = null;
    this.remoteStreams = new Map();
    this._ws = null;
    this._nextRequestId = 1;
    this._pending = new Map(); // requestId -> { resolve, reject, timer }
    this._pubPc = null;
    this._pubChain = Promise.resolve();
    this._subPc = null;
    this._subChain = Promise.resolve();
    this._remote = new Map(); // mid -> { participantId, kind, producerId, track, mid }
    this._msidByTrack = new Map(); // track.id -> msid stream id, from ontrack
  }

  get connected() {
    return this._ws !== null && this._ws.readyState === WebSocket.OPEN;
  }

  connect(url) {
    if (this._ws) return Promise.reject(new Error('already connected'));
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      this._ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (e) => this._onMessage(e.data);
      ws.onclose = (e) => {
        if (this._ws === ws) this._ws = null;
        this._teardownMedia();
        this._rejectAll(new SwitchboardError('closed', 'connection closed'));
        this.id = null;
        this.room = null;
        if (!opened) reject(new Error(`cannot connect to ${url}`));
        this._emit('closed', { code: e.code, reason: e.reason });
      };
    });
  }

  async join(room, name) {
    const capabilities = {};
    for (const kind of ['audio', 'video']) {
      const caps = RTCRtpReceiver.getCapabilities?.(kind);
      if (caps) capabilities[kind] = caps;
    }
    const message = { type: 'join', room, name };
    if (Object.keys(capabilities).length) message.rtpCapabilities = capabilities;
    return this._request(message); // 'joined' / 'full' are also handled in _onMessage
  }

  /** Publishes (or republishes) the tracks of `stream` on the publishing connection. */
  publish(stream, { videoCodec, videoEncodings } = {}) {
    const run = async () => {
      this.localStream = stream;
      if (!this._pubPc) this._pubPc = new RTCPeerConnection(PC_CONFIG);
      const pc = this._pubPc;
      let changed = false;
      for (const track of stream.getTracks()) {
        // A transceiver of that kind that we already negotiated: swap the track in place.
        const existing = pc.getTransceivers().find((t) => t.receiver.track.kind === track.kind);
        if (existing) {
          if (existing.sender.track !== track) await existing.sender.replaceTrack(track);
        } else {
          const init = { direction: 'sendonly', streams: [stream] };
          if (track.kind === 'video' && videoEncodings?.length) {
            init.sendEncodings = videoEncodings.map((e) => ({ ...e }));
          }
          const transceiver = pc.addTransceiver(track, init);
          if (track.kind === 'video' && videoCodec) preferCodec(transceiver, videoCodec);
          changed = true;
        }
      }
      if (!changed) return;
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      // ICE-lite server: no need to wait for gathering, it ignores our candidates anyway.
      const reply = await this._request({ type: 'publish', sdp: pc.localDescription.sdp });
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
    };
    const result = this._pubChain.then(run);
    this._pubChain = result.catch(() => {});
    return result;
  }

  /** Starts or stops sending the simulcast layer `rid` of the published video. */
  async setEncodingActive(rid, active) {
    const sender = this._pubPc?.getSenders().find((s) => s.track?.kind === 'video');
    if (!sender) throw new Error('no video is published');
    const params = sender.getParameters();
    const encoding = params.encodings?.find((e) => e.rid === rid);
    if (!encoding) throw new Error(`the published video has no layer '${rid}'`);
    encoding.active = !!active;
    await sender.setParameters(params);
  }

  setMuted(kind, muted) {
    for (const track of this.localStream?.getTracks() ?? []) {
      if (track.kind === kind) track.enabled = !muted;
    }
    if (this.id) this._send({ type: 'mute', kind, muted: !!muted });
  }

  async leave() {
    if (!this.id) return;
    try {
      if (this.connected) await this._request({ type: 'leave' });
    } finally {
      this._teardownMedia();
      this.id = null;
      this.room = null;
      this.participants.clear();
    }
  }

  async close() {
    try {
      await this.leave();
    } catch {
      // closing anyway
    }
    this._ws?.close(1000, 'bye');
  }

  async ping() {
    const start = performance.now();
    await this._request({ type: 'ping' });
    return performance.now() - start;
  }

  async getStats() {
    return {
      publish: this._pubPc ? await this._pubPc.getStats() : null,
      subscribe: this._subPc ? await this._subPc.getStats() : null,
    };
  }

  async getReceiverStats() {
    const out = [];
    if (!this._subPc) return out;
    for (const t of this._subPc.getTransceivers()) {
      const rec = t.mid != null ? this._remote.get(t.mid) : null;
      if (!rec) continue;
      const report = await t.receiver.getStats();
      for (const s of report.values()) {
        if (s.type !== 'inbound-rtp') continue;
        out.push({
          participantId: rec.participantId, kind: rec.kind, mid: rec.mid,
          mimeType: report.get(s.codecId)?.mimeType,
          framesDecoded: s.framesDecoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
          packetsReceived: s.packetsReceived, packetsLost: s.packetsLost,
          bytesReceived: s.bytesReceived, jitter: s.jitter,
          totalSamplesReceived: s.totalSamplesReceived, concealedSamples: s.concealedSamples,
          freezeCount: s.freezeCount, nackCount: s.nackCount,
        });
      }
    }
    return out;
  }

  async getSenderStats() {
    const out = [];
    if (!this._pubPc) return out;
    for (const sender of this._pubPc.getSenders()) {
      if (!sender.track) continue;
      const report = await sender.getStats();
      for (const s of report.values()) {
        if (s.type !== 'outbound-rtp') continue;
        out.push({ kind: sender.track.kind, rid: s.rid, packetsSent: s.packetsSent,
          bytesSent: s.bytesSent, framesSent: s.framesSent, frameWidth: s.frameWidth,
          frameHeight: s.frameHeight });
      }
    }
    return out;
  }

  // --- Signaling ---------------------------------------------------------------------------

  _send(message) {
    if (!this.connected) throw new SwitchboardError('closed', 'not connected');
    this._ws.send(JSON.stringify(message));
  }

  _request(message) {
    return new Promise((resolve, reject) => {
      const requestId = this._nextRequestId++;
      const timer = setTimeout(() => {
        this._pending.delete(requestId);
        reject(new SwitchboardError('timeout', `no reply to ${message.type}`, message.type));
      }, REQUEST_TIMEOUT_MS);
      this._pending.set(requestId, { resolve, reject, timer });
      try {
        this._send({ ...message, requestId });
      } catch (err) {
        clearTimeout(timer);
        this._pending.delete(requestId);
        reject(err);
      }
    });
  }

  _settle(message) {
    const pending = this._pending.get(message.requestId);
    if (!pending) return;
    this._pending.delete(message.requestId);
    clearTimeout(pending.timer);
    if (message.type === 'error') {
      pending.reject(new SwitchboardError(message.code, message.message, message.inReplyTo));
    } else {
      pending.resolve(message);
    }
  }

  _rejectAll(error) {
    for (const { reject, timer } of this._pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this._pending.clear();
  }

  _onMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this._emit('error', { code: 'bad-json', message: 'unparsable message from server' });
      return;
    }
    switch (msg.type) {
      case 'joined':
        this.id = msg.id;
        this.room = msg.room;
        this.participants = new Map((msg.participants ?? []).map((p) => [p.id, p]));
        this._emit('joined', { room: msg.room, id: msg.id, participants: msg.participants ?? [] });
        break;
      case 'full':
        this._emit('full', { room: msg.room, capacity: msg.capacity });
        break;
      case 'participant-joined':
      case 'participant-updated':
        this.participants.set(msg.participant.id, msg.participant);
        this._emit(msg.type, { participant: msg.participant });
        break;
      case 'participant-left': {
        const participant = this.participants.get(msg.id) ?? { id: msg.id };
        this.participants.delete(msg.id);
        for (const [mid, rec] of this._remote) {
          if (rec.participantId === msg.id) this._endTrack(mid);
        }
        this._emit('participant-left', { id: msg.id, participant });
        break;
      }
      case 'subscribe-offer':
        this._subChain = this._subChain
          .then(() => this._onSubscribeOffer(msg))
          .catch((err) => {
            if (this.id) this._emit('error', { code: 'subscribe-failed', message: String(err) });
          });
        break;
      case 'room-closed':
        this._teardownMedia();
        this.id = null;
        this.room = null;
        this.participants.clear();
        this._emit('room-closed', { room: msg.room, reason: msg.reason });
        break;
      case 'error':
        if (!this._pending.has(msg.requestId)) {
          this._emit('error', { code: msg.code, message: msg.message, inReplyTo: msg.inReplyTo });
        }
        break;
      default:
        break; // publish-answer, left, pong: only settle their request
    }
    if (msg.requestId !== undefined) this._settle(msg);
  }

  // --- Subscribing -------------------------------------------------------------------------

  async _onSubscribeOffer(msg) {
    if (!this.id) return; // left meanwhile
    if (!this._subPc) {
      this._subPc = new RTCPeerConnection(PC_CONFIG);
      this._subPc.ontrack = (e) => {
        if (e.streams[0]) this._msidByTrack.set(e.track.id, e.streams[0].id);
      };
    }
    const pc = this._subPc;
    await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (pc !== this._subPc) return; // torn down while we were answering
    this._send({ type: 'subscribe-answer', sdp: pc.localDescription.sdp });
    this._reconcile(msg.streams ?? []);
  }

  /** Brings the emitted tracks in line with the receiving transceivers and `streams`. */
  _reconcile(streams) {
    const byMid = new Map(streams.map((s) => [String(s.mid), s]));
    const receiving = new Map();
    for (const t of this._subPc.getTransceivers()) {
      const dir = t.currentDirection;
      if (t.mid == null || (dir !== 'recvonly' && dir !== 'sendrecv')) continue;
      const track = t.receiver.track;
      const info = byMid.get(t.mid);
      const participantId = info?.participantId ?? this._msidByTrack.get(track.id);
      if (!participantId) continue;
      receiving.set(t.mid, {
        mid: t.mid, track, participantId,
        kind: info?.kind ?? track.kind,
        producerId: info?.producerId ?? track.id,
      });
    }
    for (const [mid, rec] of [...this._remote]) {
      const now = receiving.get(mid);
      if (!now || now.producerId !== rec.producerId || now.participantId !== rec.participantId) {
        this._endTrack(mid);
      }
    }
    for (const [mid, rec] of receiving) {
      if (this._remote.has(mid)) continue;
      if (rec.participantId === this.id) continue; // never our own media
      // An offer handled after `participant-left` (offers are applied asynchronously) must
      // not bring back the tracks of someone who is gone.
      if (!this.participants.has(rec.participantId)) continue;
      this._remote.set(mid, rec);
      let stream = this.remoteStreams.get(rec.participantId);
      if (!stream) {
        stream = new MediaStream();
        this.remoteStreams.set(rec.participantId, stream);
      }
      for (const old of stream.getTracks()) {
        if (old.kind === rec.kind && old !== rec.track) stream.removeTrack(old);
      }
      if (!stream.getTracks().includes(rec.track)) stream.addTrack(rec.track);
      this._emit('track', { ...this._public(rec), stream });
    }
  }

  _endTrack(mid) {
    const rec = this._remote.get(mid);
    if (!rec) return;
    this._remote.delete(mid);
    const stream = this.remoteStreams.get(rec.participantId);
    if (stream) {
      stream.removeTrack(rec.track);
      if (stream.getTracks().length === 0) this.remoteStreams.delete(rec.participantId);
    }
    this._emit('track-ended', { ...this._public(rec), stream: stream ?? null });
  }

  _public(rec) {
    return { participantId: rec.participantId, kind: rec.kind, track: rec.track, mid: rec.mid };
  }

  _teardownMedia() {
    for (const mid of [...this._remote.keys()]) this._endTrack(mid);
    this._pubPc?.close();
    this._subPc?.close();
    this._pubPc = null;
    this._subPc = null;
    this._pubChain = Promise.resolve();
    this._subChain = Promise.resolve();
    this._msidByTrack.clear();
    this.remoteStreams.clear();
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

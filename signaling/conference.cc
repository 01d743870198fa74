#include "signaling/conference.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/capabilities.h"
#include "signaling/sdp/sdp_session.h"
#include "signaling/turn.h"
#include "signaling/worker_requests.h"

namespace sb::signaling {
namespace {

std::mt19937_64& Rng() {
  static std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

uint64_t RandomSessionId() {
  // RFC 8866 5.2: a numeric session id; keep it below 2^62 so every parser takes it.
  return Rng()() >> 2;
}

// 128 random bits: a resume token is a bearer secret for the participant's place in a room.
std::string NewResumeToken() {
  std::random_device device;
  std::string token;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&token, absl::Hex(device(), absl::kZeroPad8));
  return token;
}

// With --turn-url, a relay and fresh credentials for it (signaling/turn.h): given at every join
// and resume, so a client never holds credentials older than its last reconnection.
void AddIceServers(const Config& config, const Participant& p, nlohmann::json& message) {
  if (config.turn_urls.empty()) return;
  message["iceServers"] = IceServersJson(config.turn_urls, config.turn_secret, p.id, NowSeconds(),
                                         config.turn_ttl_seconds);
}

}  // namespace

bool Participant::Publishes(TrackSource source) const {
  return std::any_of(producers.begin(), producers.end(),
                     [&](const ProducerInfo& p) { return p.source == source; });
}

bool Participant::Muted(rtp::MediaKind kind) const {
  return std::any_of(producers.begin(), producers.end(), [&](const ProducerInfo& p) {
    return p.source == DefaultSource(kind) && p.paused;
  });
}

nlohmann::json Participant::ToJson() const {
  return {{"id", id},
          {"name", name},
          {"audio", Publishes(TrackSource::kMicrophone)},
          {"video", Publishes(TrackSource::kCamera)},
          {"screen", Publishes(TrackSource::kScreen)},
          {"audioMuted", Muted(rtp::MediaKind::kAudio)},
          {"videoMuted", Muted(rtp::MediaKind::kVideo)}};
}

Conference::Conference(uv_loop_t* loop, const Config& config, WorkerPool* pool,
                       ConferenceTiming timing)
    : loop_(loop),
      config_(config),
      pool_(pool),
      timing_(timing),
      join_rate_(config.joins_per_second, 2.0 * config.joins_per_second) {}

size_t Conference::ParticipantsOnWorker(int worker_index) const {
  size_t count = 0;
  for (const auto& [instance, room] : rooms_)
    count += room->media->ParticipantsOnWorker(worker_index);
  return count;
}

Conference::~Conference() = default;

void Conference::Shutdown() {
  participants_.clear();
  rooms_.clear();
  room_by_name_.clear();
}

Room* Conference::FindRoom(uint64_t instance) {
  auto it = rooms_.find(instance);
  return it == rooms_.end() ? nullptr : it->second.get();
}

Participant* Conference::FindParticipant(const std::string& id) {
  auto it = participants_.find(id);
  return it == participants_.end() ? nullptr : it->second.get();
}

Participant* Conference::FindByResumeToken(const std::string& token) {
  if (token.empty()) return nullptr;
  for (auto& [id, p] : participants_) {
    if (p->resume_token == token) return p.get();
  }
  return nullptr;
}

size_t Conference::disconnected_count() const {
  return std::count_if(participants_.begin(), participants_.end(), [](const auto& kv) {
    return kv.second->ready && !kv.second->sink && !kv.second->remote();
  });
}

size_t Conference::local_participant_count() const {
  return std::count_if(participants_.begin(), participants_.end(),
                       [](const auto& kv) { return !kv.second->remote(); });
}

std::string Conference::NewId(const char* prefix) {
  return absl::StrCat(id_prefix_, prefix, next_id_++);
}

void Conference::Send(Participant* p, const nlohmann::json& message) {
  if (p->sink) p->sink->SendToClient(message);
}

nlohmann::json Conference::ParticipantsJson(const Room& room, const Participant* except) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& id : room.participant_ids) {
    auto it = participants_.find(id);
    if (it == participants_.end()) continue;
    const Participant* other = it->second.get();
    if (other != except && other->ready) out.push_back(other->ToJson());
  }
  return out;
}

WorkerProcess* Conference::WorkerOf(const Participant& p) const {
  auto it = rooms_.find(p.room_instance);
  return it == rooms_.end() ? nullptr : it->second->media->WorkerOf(p.id);
}

void Conference::SendError(ClientSink* sink, const std::string& code, const std::string& message,
                           const nlohmann::json& request) {
  if (!sink) return;  // a disconnected participant
  ++counters_.errors_sent;
  nlohmann::json error = {{"type", "error"}, {"code", code}, {"message", message}};
  if (request.is_object()) {
    if (auto it = request.find("type"); it != request.end() && it->is_string()) {
      error["inReplyTo"] = *it;
    }
    if (auto it = request.find("requestId"); it != request.end()) error["requestId"] = *it;
  }
  sink->SendToClient(error);
}

void Conference::Broadcast(const Room& room, const nlohmann::json& message,
                           const std::string& except_id) {
  for (const auto& id : room.participant_ids) {
    if (id == except_id) continue;
    Participant* p = FindParticipant(id);
    if (p && p->ready) Send(p, message);
  }
}

void Conference::HandleMessage(ClientSink* sink, const std::string& participant_id,
                               const nlohmann::json& message) {
  auto type_it = message.find("type");
  if (type_it == message.end() || !type_it->is_string()) {
    return SendError(sink, "bad-message", "a message needs a string \"type\"", message);
  }
  const std::string type = type_it->get<std::string>();
  if (type == "ping") {
    nlohmann::json pong = {{"type", "pong"}};
    if (auto it = message.find("requestId"); it != message.end()) pong["requestId"] = *it;
    return sink->SendToClient(pong);
  }
  if (type == "join") {
    if (!participant_id.empty()) {
      return SendError(sink, "already-joined", "leave the current room first", message);
    }
    return Join(sink, message);
  }
  if (type == "resume") {
    if (!participant_id.empty()) {
      return SendError(sink, "already-joined", "leave the current room first", message);
    }
    return Resume(sink, message);
  }
  if (type == "candidate") return;  // ICE-lite server: trickled candidates are not needed.
  static const char* const kRoomMessages[] = {"publish", "subscribe-answer", "restart-ice",
                                              "mute",    "subscription",     "leave"};
  if (std::find(std::begin(kRoomMessages), std::end(kRoomMessages), type) ==
      std::end(kRoomMessages)) {
    return SendError(sink, "unknown-type", absl::StrCat("unknown message type '", type, "'"),
                     message);
  }
  Participant* p = participant_id.empty() ? nullptr : FindParticipant(participant_id);
  if (!p) return SendError(sink, "not-joined", "join a room first", message);
  if (type == "leave") {
    nlohmann::json left = {{"type", "left"}};
    if (Room* room = FindRoom(p->room_instance)) left["room"] = room->name;
    if (auto it = message.find("requestId"); it != message.end()) left["requestId"] = *it;
    Leave(participant_id);
    sink->OnRemovedFromRoom();  // the same socket may join again
    return sink->SendToClient(left);
  }
  if (!p->ready) {
    return SendError(sink, "not-joined", "still joining: wait for \"joined\"", message);
  }
  if (type == "publish") return Publish(p, message);
  if (type == "subscribe-answer") return SubscribeAnswer(p, message);
  if (type == "restart-ice") return SubscribeRestartIce(p, message);
  if (type == "mute") return Mute(p, message);
  if (type == "subscription") return Subscription(p, message);
}

absl::StatusOr<TokenClaims> Conference::AuthorizeJoin(const nlohmann::json& message,
                                                      const std::string& room,
                                                      AuthFailure* failure) const {
  auto token_it = message.find("token");
  if (token_it == message.end()) {
    *failure = AuthFailure::kMissing;
    return absl::UnauthenticatedError(
        "this server needs a \"token\" to join: ask for a link that carries one");
  }
  if (!token_it->is_string()) {
    *failure = AuthFailure::kInvalid;
    return absl::UnauthenticatedError("\"token\" must be a string (a JWT)");
  }
  auto claims = VerifyToken(token_it->get<std::string>(), config_.auth_secret, NowSeconds());
  if (!claims.ok()) {
    *failure = FailureOf(claims.status());
    return claims.status();
  }
  if (claims->admin) {
    *failure = AuthFailure::kClaims;
    return absl::InvalidArgumentError("an admin token admits to no room");
  }
  if (claims->room != room) {
    *failure = AuthFailure::kWrongRoom;
    return absl::PermissionDeniedError("the token is for another room");
  }
  return claims;
}

void Conference::Join(ClientSink* sink, const nlohmann::json& message) {
  auto room_it = message.find("room");
  if (room_it == message.end() || !room_it->is_string() ||
      !ValidRoomName(room_it->get<std::string>())) {
    return SendError(sink, "bad-message",
                     "\"room\" must be 1-64 characters of letters, digits, '_', '-', '.'", message);
  }
  // With a secret, who joins (and what they may do) is the token's to say, checked before
  // anything else about the join is looked at: the client's "name" is ignored.
  TokenClaims grants;
  grants.can_publish = grants.can_subscribe = true;
  if (!config_.auth_secret.empty()) {
    AuthFailure failure = AuthFailure::kInvalid;
    auto claims = AuthorizeJoin(message, room_it->get<std::string>(), &failure);
    if (!claims.ok()) {
      counters_.auth.Count(failure);
      // Debug only: refusals come as fast as anyone cares to send them; the counter says how many.
      SB_LOG_DEBUG("rooms", "join refused ({}): {}", AuthFailureLabel(failure),
                   std::string(claims.status().message()));
      return SendError(sink, "unauthorized", std::string(claims.status().message()), message);
    }
    grants = *std::move(claims);
  } else {
    auto name_it = message.find("name");
    if (name_it == message.end() || !name_it->is_string() ||
        !ValidDisplayName(name_it->get<std::string>())) {
      return SendError(sink, "bad-message", "\"name\" must be 1-64 printable characters", message);
    }
    grants.name = name_it->get<std::string>();
  }
  nlohmann::json caps_json =
      message.contains("rtpCapabilities") ? message["rtpCapabilities"] : nlohmann::json();
  auto caps = CapabilitiesFromJson(caps_json);
  if (!caps.ok()) {
    return SendError(sink, "bad-message",
                     absl::StrCat("rtpCapabilities: ", caps.status().message()), message);
  }
  const std::string room_name = room_it->get<std::string>();
  // A reloaded page joins afresh and names its previous session: that one goes at once
  // instead of lingering for its grace period.
  if (auto it = message.find("replaces"); it != message.end() && it->is_string()) {
    if (Participant* previous = FindByResumeToken(it->get<std::string>())) {
      if (previous->sink) previous->sink->OnRemovedFromRoom();
      Leave(previous->id);
    }
  }

  Room* room = nullptr;
  if (auto it = room_by_name_.find(room_name); it != room_by_name_.end()) {
    room = FindRoom(it->second);
  }
  if (room && static_cast<int>(room->participant_ids.size()) >= config_.room_capacity) {
    ++counters_.full;
    nlohmann::json full = {
        {"type", "full"}, {"room", room_name}, {"capacity", config_.room_capacity}};
    if (auto it = message.find("requestId"); it != message.end()) full["requestId"] = *it;
    return sink->SendToClient(full);
  }
  // Server-wide limits, each with its own error and counter (docs/security.md).
  if (!join_rate_.Take(uv_now(loop_))) {
    ++counters_.joins_refused_rate;
    return SendError(sink, "rate-limited", "too many joins right now: try again in a second",
                     message);
  }
  if (!room && rooms_.size() >= static_cast<size_t>(config_.max_rooms)) {
    ++counters_.joins_refused_rooms;
    return SendError(sink, "server-full",
                     absl::StrCat("the server has its maximum of ", config_.max_rooms, " rooms"),
                     message);
  }
  if (room && !RoomHasWorkerRoom(*room)) {
    ++counters_.joins_refused_worker;
    return SendError(sink, "server-full", "the room's media worker is full", message);
  }
  if (!room) {
    if (!pool_->LeastLoaded()) {
      return SendError(sink, "server-error", "no media worker is running", message);
    }
    auto owned = std::make_unique<Room>();
    owned->instance = next_room_instance_++;
    owned->name = room_name;
    owned->media = std::make_unique<RoomMedia>(
        pool_, room_name, config_.room_shard_size,
        [this](const char* prefix) { return NewId(prefix); }, &media_counters_);
    if (link_) owned->media->SetRemote(link_, pipe_ip_);
    room = owned.get();
    rooms_[room->instance] = std::move(owned);
    room_by_name_[room_name] = room->instance;
    SB_LOG_INFO("rooms", "room {} created", room_name);
    if (on_room_opened) on_room_opened(room_name);
  }

  auto participant = std::make_unique<Participant>(std::min(
      sdp::kMaxMediaSections, static_cast<size_t>(config_.room_capacity) * kMaxPublishedTracks));
  Participant* p = participant.get();
  p->id = NewId("p");
  p->name = grants.display_name();
  p->identity = grants.identity;
  p->can_publish = grants.can_publish;
  p->can_subscribe = grants.can_subscribe;
  p->room_instance = room->instance;
  p->sink = sink;
  p->caps = *std::move(caps);
  p->session_id = RandomSessionId();
  p->resume_token = NewResumeToken();
  participants_[p->id] = std::move(participant);
  room->participant_ids.push_back(p->id);
  ++counters_.joins;
  if (on_joined) on_joined(sink, p->id);

  if (auto it = message.find("requestId"); it != message.end()) p->join_request_id = *it;
  const std::string participant_id = p->id;
  const absl::Status placed = room->media->Place(
      participant_id, [this, instance = room->instance, participant_id](absl::Status status) {
        if (status.ok()) return CreateTransports(instance, participant_id);
        Participant* p = FindParticipant(participant_id);
        if (!p) return;
        SendError(p->sink, "server-error", std::string(status.message()),
                  nlohmann::json{{"type", "join"}});
        if (p->sink) p->sink->OnRemovedFromRoom();
        Leave(participant_id);
      });
  if (!placed.ok()) {
    SendError(sink, "server-error", std::string(placed.message()), message);
    sink->OnRemovedFromRoom();
    Leave(participant_id);
  }
}

bool Conference::RoomHasWorkerRoom(const Room& room) const {
  const size_t limit = static_cast<size_t>(config_.max_participants_per_worker);
  for (int i = 0; i < pool_->size(); ++i) {
    // A room on one worker has only that one; one that spreads may use any.
    if (config_.room_shard_size == 0 && !room.media->UsesWorker(i)) continue;
    if (pool_->worker(i) && ParticipantsOnWorker(i) < limit) return true;
  }
  return false;
}

void Conference::CreateTransports(uint64_t room_instance, const std::string& participant_id) {
  Room* room = FindRoom(room_instance);
  if (!room) return;
  Participant* p = FindParticipant(participant_id);
  if (!p) return;
  p->send.id = NewId("ts");
  p->recv.id = NewId("tr");
  auto pending = std::make_shared<int>(2);
  auto failed = std::make_shared<bool>(false);
  WorkerProcess* worker = WorkerOf(*p);
  if (!worker) return;  // its worker died: the room is closing
  for (TransportSide* side : {&p->send, &p->recv}) {
    const bool is_send = side == &p->send;
    worker->Request(
        fbs::Method::ROUTER_CREATE_WEBRTC_TRANSPORT, room->media->RouterOf(participant_id),
        CreateTransportBody(side->id, config_, worker->worker_id()),
        [this, participant_id, is_send, pending, failed](const fbs::Response* response) {
          Participant* p = FindParticipant(participant_id);
          if (!p) return;
          TransportSide& side = is_send ? p->send : p->recv;
          if (!response->accepted()) {
            if (!*failed) {
              *failed = true;
              SendError(p->sink, "server-error",
                        absl::StrCat("cannot create a transport: ", ResponseReason(response)),
                        nlohmann::json{{"type", "join"}});
              if (p->sink) p->sink->OnRemovedFromRoom();  // the join failed: it may try again
              Leave(participant_id);
            }
            return;
          }
          side.local = LocalTransportFrom(response->body_as_WebRtcTransportInfo());
          if (--*pending == 0 && !*failed) OnParticipantReady(p);
        });
  }
}

void Conference::OnParticipantReady(Participant* p) {
  Room* room = FindRoom(p->room_instance);
  if (!room) return;
  p->ready = true;
  nlohmann::json joined = {{"type", "joined"},
                           {"room", room->name},
                           {"id", p->id},
                           {"name", p->name},
                           {"participants", ParticipantsJson(*room, p)},
                           {"resumeToken", p->resume_token},
                           {"resumeGraceMs", timing_.resume_grace_ms}};
  if (!p->join_request_id.is_null()) joined["requestId"] = p->join_request_id;
  if (!room->active_speaker.empty()) joined["activeSpeaker"] = room->active_speaker;
  AddIceServers(config_, *p, joined);
  // In a cluster: every live node's signaling address, this one first, for a client to fail
  // over to when this node goes away (docs/protocol.md).
  if (cluster_nodes) joined["nodes"] = cluster_nodes();
  Send(p, joined);
  Broadcast(*room, {{"type", "participant-joined"}, {"participant", p->ToJson()}}, p->id);
  Announce(*room, *p);
  SB_LOG_INFO("rooms", "{} ({}) joined room {}{}", p->id, p->name, room->name,
              p->can_publish && p->can_subscribe ? ""
              : p->can_publish                   ? " (may not subscribe)"
              : p->can_subscribe                 ? " (may not publish)"
                                                 : " (may neither publish nor subscribe)");
  // Everything already published in the room flows to the newcomer.
  for (const auto& id : room->participant_ids) {
    Participant* publisher = FindParticipant(id);
    if (!publisher || publisher == p || !publisher->ready) continue;
    for (const auto& producer : publisher->producers) Subscribe(p, *publisher, producer);
  }
}

void Conference::Leave(std::string participant_id) {
  Participant* p = FindParticipant(participant_id);
  if (!p) return;
  Room* room = FindRoom(p->room_instance);
  const bool was_ready = p->ready;
  const bool remote = p->remote();
  std::vector<std::string> producer_ids;
  for (const auto& producer : p->producers) producer_ids.push_back(producer.id);
  if (room) {
    WorkerProcess* worker = WorkerOf(*p);
    for (const TransportSide* side : {&p->send, &p->recv}) {
      if (!side->id.empty() && worker) {
        // Closing a transport closes its producers and consumers in the worker.
        worker->Request(fbs::Method::TRANSPORT_CLOSE, side->id, {}, [](const fbs::Response*) {});
      }
    }
    room->media->CloseProducers(producer_ids);
    room->media->Remove(participant_id);
    auto& ids = room->participant_ids;
    ids.erase(std::remove(ids.begin(), ids.end(), participant_id), ids.end());
    std::erase(room->recent_speakers, participant_id);
    if (room->active_speaker == participant_id) room->active_speaker.clear();
  }
  participants_.erase(participant_id);
  EndProducers(producer_ids);
  if (!room) return;
  SB_LOG_INFO("rooms", "{} left room {}", participant_id, room->name);
  if (was_ready) Broadcast(*room, {{"type", "participant-left"}, {"id", participant_id}}, "");
  if (!remote && on_participant_removed) on_participant_removed(room->name, participant_id);
  RefreshLastN(room);  // someone further down the ranking may be shown now
  if (!HasLocalParticipants(*room)) {
    // Its routers close with its media placement; other nodes' participants are no business of
    // this node once none of its own is in the room.
    for (const auto& id : room->participant_ids) participants_.erase(id);
    SB_LOG_INFO("rooms", "room {} closed (empty)", room->name);
    if (on_room_closed) on_room_closed(room->name);
    room_by_name_.erase(room->name);
    rooms_.erase(room->instance);
  }
}

void Conference::HandleDisconnect(const std::string& participant_id, bool may_resume) {
  Participant* p = participant_id.empty() ? nullptr : FindParticipant(participant_id);
  if (!p) return;
  if (!may_resume || !p->ready || timing_.resume_grace_ms == 0) return Leave(participant_id);
  // Its media keeps flowing; what it misses meanwhile, a resume brings it.
  p->sink = nullptr;
  p->grace_timer = std::make_unique<UvTimer>(loop_, [this, participant_id] {
    Participant* p = FindParticipant(participant_id);
    if (!p || p->sink) return;
    ++counters_.resume_expired;
    SB_LOG_INFO("rooms", "{} did not come back within {} ms", participant_id,
                timing_.resume_grace_ms);
    Leave(participant_id);
  });
  p->grace_timer->Start(timing_.resume_grace_ms);
  SB_LOG_INFO("rooms", "{} disconnected; may resume for {} ms", participant_id,
              timing_.resume_grace_ms);
}

void Conference::Resume(ClientSink* sink, const nlohmann::json& message) {
  auto token_it = message.find("resumeToken");
  if (token_it == message.end() || !token_it->is_string()) {
    return SendError(sink, "bad-message", "resume needs \"resumeToken\" (from joined)", message);
  }
  Participant* p = FindByResumeToken(token_it->get<std::string>());
  Room* room = p ? FindRoom(p->room_instance) : nullptr;
  if (!p || !p->ready || !room) {
    return SendError(sink, "resume-failed",
                     "no such session (it ended, or its grace period ran out): join again",
                     message);
  }
  // The old socket may not know yet that it is dead: this one takes over.
  if (p->sink && p->sink != sink) {
    p->sink->OnRemovedFromRoom();
    p->sink->CloseReplaced();
  }
  p->sink = sink;
  p->grace_timer.reset();
  ++counters_.resumes;
  if (on_joined) on_joined(sink, p->id);
  nlohmann::json resumed = {{"type", "resumed"},
                            {"room", room->name},
                            {"id", p->id},
                            {"participants", ParticipantsJson(*room, p)},
                            {"resumeToken", p->resume_token},
                            {"resumeGraceMs", timing_.resume_grace_ms}};
  if (auto it = message.find("requestId"); it != message.end()) resumed["requestId"] = *it;
  AddIceServers(config_, *p, resumed);
  Send(p, resumed);
  SB_LOG_INFO("rooms", "{} resumed in room {}", p->id, room->name);
  // An offer sent while it was away may never have arrived: offer the current state again.
  p->subscriber.AnswerFailed();
  if (p->subscriber.mline_count() > 0) p->subscriber.Renegotiate();  // docs: one always follows
  if (p->answer_timer) p->answer_timer->Stop();
  MaybeOffer(p);
}

void Conference::Mute(Participant* p, const nlohmann::json& message) {
  auto kind_it = message.find("kind");
  auto muted_it = message.find("muted");
  if (kind_it == message.end() || !kind_it->is_string() ||
      (*kind_it != "audio" && *kind_it != "video") || muted_it == message.end() ||
      !muted_it->is_boolean()) {
    return SendError(p->sink, "bad-message",
                     "mute needs \"kind\" (audio or video) and \"muted\" (boolean)", message);
  }
  const rtp::MediaKind kind = *kind_it == "audio" ? rtp::MediaKind::kAudio : rtp::MediaKind::kVideo;
  const bool muted = muted_it->get<bool>();
  Room* room = FindRoom(p->room_instance);
  bool changed = false;
  for (auto& producer : p->producers) {
    // The microphone or the camera: a screen share is stopped, not muted.
    if (producer.source != DefaultSource(kind) || producer.paused == muted) continue;
    producer.paused = muted;
    changed = true;
    if (WorkerProcess* worker = WorkerOf(*p)) {
      worker->Request(muted ? fbs::Method::PRODUCER_PAUSE : fbs::Method::PRODUCER_RESUME,
                      producer.id, {}, [](const fbs::Response*) {});
    }
    room->media->PauseProducer(producer.id, muted);
  }
  if (changed) {
    Broadcast(*room, {{"type", "participant-updated"}, {"participant", p->ToJson()}}, p->id);
    Announce(*room, *p);
  }
}

void Conference::Subscription(Participant* p, const nlohmann::json& message) {
  auto producer_it = message.find("producerId");
  auto layer_it = message.find("maxLayer");
  auto paused_it = message.find("paused");
  auto pinned_it = message.find("pinned");
  const bool layer_ok = layer_it == message.end() || layer_it->is_null() ||
                        (layer_it->is_number_integer() && *layer_it >= 0 &&
                         *layer_it < static_cast<int>(kMaxSubscriptionLayers));
  auto bool_ok = [&](nlohmann::json::const_iterator it) {
    return it == message.end() || it->is_boolean();
  };
  if (producer_it == message.end() || !producer_it->is_string() || !layer_ok ||
      !bool_ok(paused_it) || !bool_ok(pinned_it) ||
      (layer_it == message.end() && paused_it == message.end() && pinned_it == message.end())) {
    return SendError(
        p->sink, "bad-message",
        absl::StrCat("subscription needs \"producerId\" (a string) and "
                     "\"maxLayer\" (0-",
                     kMaxSubscriptionLayers - 1, " or null), \"paused\" or \"pinned\" (booleans)"),
        message);
  }
  const std::string& producer_id = producer_it->get_ref<const std::string&>();
  if (p->subscriber.ConsumerOf(producer_id).empty()) {
    return SendError(p->sink, "unknown-track",
                     "no track of that producerId is offered to you (see subscribe-offer streams)",
                     message);
  }
  Participant::SubscriptionPreference& pref = p->subscription_preferences[producer_id];
  if (layer_it != message.end()) pref.max_layer = layer_it->is_null() ? -1 : layer_it->get<int>();
  if (paused_it != message.end()) pref.paused = paused_it->get<bool>();
  if (pinned_it != message.end()) pref.pinned = pinned_it->get<bool>();
  ApplySubscriptionPreference(p, producer_id);
}

absl::flat_hash_set<std::string> Conference::LastNShown(const Room& room,
                                                        const Participant& subscriber) const {
  // The ranking: the most recent speakers, then the others in join order; the first last_n
  // of them that publish video, the subscriber itself left out, are shown.
  absl::flat_hash_set<std::string> shown;
  auto take = [&](const std::string& id) {
    if (id == subscriber.id || shown.size() >= static_cast<size_t>(config_.last_n)) return;
    auto other = participants_.find(id);
    if (other != participants_.end() && other->second->Publishes(TrackSource::kCamera)) {
      shown.insert(id);
    }
  };
  for (const auto& id : room.recent_speakers) take(id);
  for (const auto& id : room.participant_ids) take(id);
  return shown;
}

void Conference::ApplySubscriptionPreference(Participant* p, const std::string& producer_id) {
  Room* room = FindRoom(p->room_instance);
  if (!room) return;
  // Last-N applies to cameras (a screen share is shown to everyone); whose camera this is comes
  // from the producer.
  bool hidden_by_last_n = false;
  if (config_.last_n > 0) {
    for (const auto& id : room->participant_ids) {
      const Participant* publisher = FindParticipant(id);
      if (!publisher) continue;
      for (const auto& info : publisher->producers) {
        if (info.id == producer_id && info.source == TrackSource::kCamera) {
          hidden_by_last_n = !LastNShown(*room, *p).contains(publisher->id);
        }
      }
    }
  }
  SendSubscriptionPreference(p, producer_id, hidden_by_last_n);
}

void Conference::SendSubscriptionPreference(Participant* p, const std::string& producer_id,
                                            bool hidden_by_last_n) {
  const SubscriberSession::Track* track = p->subscriber.TrackOf(producer_id);
  WorkerProcess* worker = WorkerOf(*p);
  if (!track || !worker) return;
  const std::string consumer_id = track->consumer_id;
  const int priority = ConsumerPriority(track->source);
  auto it = p->subscription_preferences.find(producer_id);
  if (it != p->subscription_preferences.end() && it->second.pinned) hidden_by_last_n = false;
  if (it == p->subscription_preferences.end()) {
    // Nothing asked, nothing hidden, no priority: the worker's defaults.
    if (!hidden_by_last_n && priority == 0) return;
    it = p->subscription_preferences.try_emplace(producer_id).first;
  }
  Participant::SubscriptionPreference& pref = it->second;
  const bool paused = pref.paused || hidden_by_last_n;
  if (pref.sent_paused == paused && pref.sent_max_layer == pref.max_layer &&
      pref.sent_priority == priority) {
    return;
  }
  pref.sent_paused = paused;
  pref.sent_max_layer = pref.max_layer;
  pref.sent_priority = priority;
  worker->Request(fbs::Method::CONSUMER_SET_PREFERENCES, consumer_id,
                  ConsumerPreferencesBody(pref.max_layer, paused, priority),
                  [](const fbs::Response*) {});
}

void Conference::RefreshLastN(Room* room) {
  if (config_.last_n <= 0 || room == nullptr) return;
  for (const auto& subscriber_id : room->participant_ids) {
    Participant* subscriber = FindParticipant(subscriber_id);
    if (!subscriber) continue;
    // The ranking once per subscriber, not once per track it receives.
    const absl::flat_hash_set<std::string> shown = LastNShown(*room, *subscriber);
    for (const auto& publisher_id : room->participant_ids) {
      const Participant* publisher = FindParticipant(publisher_id);
      if (!publisher || publisher == subscriber) continue;
      for (const auto& info : publisher->producers) {
        if (info.source != TrackSource::kCamera) continue;  // last-N ranks cameras only
        SendSubscriptionPreference(subscriber, info.id, !shown.contains(publisher_id));
      }
    }
  }
}

void Conference::RestartIce(Participant* p, TransportSide* side, std::function<void(bool)> done) {
  WorkerProcess* worker = WorkerOf(*p);
  if (!worker) return done(false);
  const bool is_send = side == &p->send;
  side->restarting_ice = true;
  worker->Request(
      fbs::Method::TRANSPORT_RESTART_ICE, side->id, {},
      [this, id = p->id, is_send, done](const fbs::Response* response) {
        Participant* p = FindParticipant(id);
        if (!p) return;
        TransportSide& side = is_send ? p->send : p->recv;
        side.restarting_ice = false;
        const auto* ice = response->body_as_IceParameters();
        if (!response->accepted() || !ice || !ice->username_fragment() || !ice->password()) {
          SB_LOG_WARN("rooms", "ICE restart of {} refused: {}", side.id, ResponseReason(response));
          return done(false);
        }
        side.local.ice_ufrag = ice->username_fragment()->str();
        side.local.ice_pwd = ice->password()->str();
        ++counters_.ice_restarts;
        SB_LOG_INFO("rooms", "{}: ICE restarted on {}", id, side.id);
        done(true);
      });
}

void Conference::CloseRoom(Room* room, const std::string& reason) {
  const std::string name = room->name;
  const uint64_t instance = room->instance;
  std::vector<std::string> ids = room->participant_ids;
  for (const auto& id : ids) {
    Participant* p = FindParticipant(id);
    if (!p) continue;
    if (!p->remote() && on_participant_removed) on_participant_removed(name, id);
    Send(p, {{"type", "room-closed"}, {"room", name}, {"reason", reason}});
    if (p->sink) p->sink->OnRemovedFromRoom();
    participants_.erase(id);
  }
  room_by_name_.erase(name);
  rooms_.erase(instance);
  SB_LOG_WARN("rooms", "room {} closed: {}", name, reason);
  if (on_room_closed) on_room_closed(name);
}

void Conference::RemoveWithRoomClosed(Participant* p, const std::string& room,
                                      const std::string& reason) {
  Send(p, {{"type", "room-closed"}, {"room", room}, {"reason", reason}});
  if (p->sink) p->sink->OnRemovedFromRoom();
  Leave(p->id);  // a copy: `p` goes
}

void Conference::OnWorkerDied(int index) {
  static constexpr char kReason[] = "its media worker stopped; join again to continue";
  std::vector<uint64_t> affected;
  for (auto& [instance, room] : rooms_) {
    if (room->media->UsesWorker(index)) affected.push_back(instance);
  }
  for (uint64_t instance : affected) {
    Room* room = FindRoom(instance);
    if (!room) continue;
    room->media->OnWorkerDied(index);  // no load to give back there, no router to close
    if (!room->media->HasLiveLocalShard()) {
      ++counters_.rooms_closed_by_worker_death;
      CloseRoom(room, kReason);
      continue;
    }
    // The room spans workers: it goes on on the others. Those whose transports were on this one
    // are told as when a room closes (the web app joins again by itself, onto a live worker) and
    // leave for the others, who keep their calls.
    const std::string name = room->name;
    for (const auto& id : room->media->ParticipantIdsOnWorker(index)) {
      Participant* p = FindParticipant(id);
      if (!p) continue;
      ++counters_.participants_moved_by_worker_death;
      RemoveWithRoomClosed(p, name, kReason);
    }
    if (Room* still = FindRoom(instance)) still->media->RemoveWorker(index);
  }
}

void Conference::OnWorkerNotification(int index, const fbs::Notification& notification) {
  if (OnDataNotification(notification)) return;
  const auto* handler = notification.handler_id();
  const std::string id = handler ? handler->str() : "";
  if (notification.event() == fbs::Event::TRANSPORT_DTLS_STATE_CHANGE) {
    const auto* body = notification.body_as_DtlsStateChange();
    if (body && body->state() == fbs::DtlsState::FAILED) {
      const std::string reason = body->reason() ? body->reason()->str() : "";
      SB_LOG_WARN("rooms", "worker {}: DTLS failed on transport {}: {}", index, id, reason);
      // The participant's media cannot flow (wrong fingerprint, no SRTP keys): it leaves and
      // is told, as when its room closes; the web app joins again by itself.
      for (auto& [participant_id, p] : participants_) {
        if (p->send.id != id && p->recv.id != id) continue;
        Room* room = FindRoom(p->room_instance);
        ++counters_.media_failures;
        RemoveWithRoomClosed(p.get(), room ? room->name : "", "media connection failed: " + reason);
        break;
      }
    }
  } else if (notification.event() == fbs::Event::ROUTER_ACTIVE_SPEAKER) {
    const auto* body = notification.body_as_ActiveSpeaker();
    if (!body || !body->producer_id()) return;
    const std::string producer_id = body->producer_id()->str();
    for (auto& [instance, room] : rooms_) {
      if (!room->media->IsPrimaryRouter(id)) continue;
      for (const auto& participant_id : room->participant_ids) {
        Participant* p = FindParticipant(participant_id);
        if (!p || std::none_of(p->producers.begin(), p->producers.end(),
                               [&](const ProducerInfo& info) { return info.id == producer_id; })) {
          continue;
        }
        if (room->active_speaker == participant_id) return;
        room->active_speaker = participant_id;
        std::erase(room->recent_speakers, participant_id);
        room->recent_speakers.insert(room->recent_speakers.begin(), participant_id);
        Broadcast(*room, {{"type", "active-speaker"}, {"participantId", participant_id}});
        RefreshLastN(room.get());
        return;
      }
      return;
    }
  } else if (notification.event() == fbs::Event::PRODUCER_LAYERS_NEEDED) {
    const auto* body = notification.body_as_LayersNeeded();
    if (!body || !config_.dynacast) return;
    for (auto& [participant_id, p] : participants_) {
      for (const auto& info : p->producers) {
        if (info.id != id) continue;
        // From a router the producer is piped to: what it needs goes to the relay feeding it,
        // and comes back here from the origin's router if the publisher is to send more.
        Room* room = FindRoom(p->room_instance);
        if (room && room->media->OnCopyLayersNeeded(id, index, body->max_layer())) return;
        // The publisher's client turns its encodings above maxLayer off (docs/protocol.md).
        Send(p.get(), {{"type", "layers"}, {"mid", info.mid}, {"maxLayer", body->max_layer()}});
        return;
      }
    }
  } else if (notification.event() == fbs::Event::TRANSPORT_BANDWIDTH) {
    const auto* body = notification.body_as_TransportBandwidth();
    if (!body) return;
    for (auto& [participant_id, p] : participants_) {
      if (p->recv.id != id) continue;
      p->recv.bandwidth = TransportSide::Bandwidth{body->estimate_bps(), body->allocated_bps(),
                                                   body->desired_bps()};
      break;
    }
  } else if (notification.event() == fbs::Event::TRANSPORT_REMB) {
    const auto* body = notification.body_as_TransportRemb();
    if (!body) return;
    for (auto& [participant_id, p] : participants_) {
      if (p->send.id != id) continue;
      p->send.remb = TransportSide::Remb{body->estimate_bps(), body->remb_sent()};
      break;
    }
  } else if (notification.event() == fbs::Event::TRANSPORT_ICE_STATE_CHANGE) {
    const auto* body = notification.body_as_IceStateChange();
    if (body) {
      SB_LOG_DEBUG("rooms", "worker {}: transport {} ICE state {}", index, id,
                   static_cast<int>(body->state()));
    }
  }
}

nlohmann::json Conference::RoomsJson() const {
  nlohmann::json rooms = nlohmann::json::array();
  for (const auto& [instance, room] : rooms_) {
    nlohmann::json participants = nlohmann::json::array();
    for (const auto& id : room->participant_ids) {
      auto it = participants_.find(id);
      if (it == participants_.end()) continue;
      nlohmann::json json = it->second->ToJson();
      // For the operator only (not in what other participants are told): the tracks, and what
      // the server may send this participant.
      nlohmann::json tracks = nlohmann::json::array();
      for (const auto& info : it->second->producers) {
        tracks.push_back({{"producerId", info.id},
                          {"kind", rtp::MediaKindName(info.kind)},
                          {"source", TrackSourceName(info.source)},
                          {"paused", info.paused}});
      }
      json["tracks"] = std::move(tracks);
      if (const auto& b = it->second->recv.bandwidth) {
        json["bandwidth"] = {{"estimateBps", b->estimate_bps},
                             {"allocatedBps", b->allocated_bps},
                             {"desiredBps", b->desired_bps}};
      }
      if (const auto& r = it->second->send.remb) {
        json["remb"] = {{"estimateBps", r->estimate_bps}, {"sent", r->sent}};
      }
      participants.push_back(std::move(json));
    }
    nlohmann::json media = room->media->Json();
    const nlohmann::json& workers = media["workers"];
    rooms.push_back({{"name", room->name},
                     // The primary worker (the room's first), and every worker it spans.
                     {"worker", workers.empty() ? -1 : workers[0]["worker"].get<int>()},
                     {"workerPid", workers.empty() ? 0 : workers[0]["workerPid"].get<int>()},
                     {"workers", workers},
                     {"pipes", media["pipes"]},
                     {"pipedProducers", media["pipedProducers"]},
                     {"pipedDataProducers", media["pipedDataProducers"]},
                     {"activeSpeaker", room->active_speaker},
                     {"participants", participants}});
  }
  return {{"rooms", rooms}};
}

}  // namespace sb::signaling

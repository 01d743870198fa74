// Rooms across the nodes of a cluster (issue 14): each node announces its participants of a room
// (an entry: who, where its transports are, what it publishes) and applies the other nodes'
// entries as remote participants: members of the room here without a connection here, whose
// tracks local subscribers consume through pipes between the nodes (room_media_remote.cc). The
// protocol with clients does not change: a remote participant is announced, updated and removed
// like a local one.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/conference.h"

namespace sb::signaling {
namespace {

// What another node may say about one participant: bounded like a client's own messages.
constexpr size_t kMaxEntryString = 256;

std::optional<std::string> StringField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty() || text.size() > kMaxEntryString) return std::nullopt;
  return text;
}

std::optional<TrackSource> SourceNamed(const std::string& name) {
  for (TrackSource source :
       {TrackSource::kMicrophone, TrackSource::kCamera, TrackSource::kScreen}) {
    if (name == TrackSourceName(source)) return source;
  }
  return std::nullopt;
}

// The tracks of an entry; nullopt when malformed.
std::optional<std::vector<ProducerInfo>> ProducersOf(const nlohmann::json& entry) {
  auto it = entry.find("producers");
  if (it == entry.end() || !it->is_array() || it->size() > kMaxPublishedTracks) return std::nullopt;
  std::vector<ProducerInfo> out;
  for (const auto& item : *it) {
    if (!item.is_object()) return std::nullopt;
    auto id = StringField(item, "id");
    auto kind = StringField(item, "kind");
    auto source_name = StringField(item, "source");
    auto paused = item.find("paused");
    if (!id || !kind || !source_name || (*kind != "audio" && *kind != "video") ||
        paused == item.end() || !paused->is_boolean()) {
      return std::nullopt;
    }
    auto source = SourceNamed(*source_name);
    if (!source) return std::nullopt;
    ProducerInfo info;
    info.id = *id;
    info.kind = *kind == "audio" ? rtp::MediaKind::kAudio : rtp::MediaKind::kVideo;
    info.source = *source;
    info.paused = paused->get<bool>();
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace

void Conference::JoinCluster(const std::string& node_id, RemoteLink* link, std::string pipe_ip) {
  node_id_ = node_id;
  id_prefix_ = node_id + ".";
  link_ = link;
  pipe_ip_ = std::move(pipe_ip);
}

bool Conference::HasLocalParticipants(const Room& room) const {
  return std::any_of(room.participant_ids.begin(), room.participant_ids.end(),
                     [&](const std::string& id) {
                       auto it = participants_.find(id);
                       return it != participants_.end() && !it->second->remote();
                     });
}

nlohmann::json Conference::EntryOf(const Room& room, const Participant& p) const {
  nlohmann::json producers = nlohmann::json::array();
  for (const auto& info : p.producers) {
    producers.push_back({{"id", info.id},
                         {"kind", rtp::MediaKindName(info.kind)},
                         {"source", TrackSourceName(info.source)},
                         {"paused", info.paused}});
  }
  return {{"id", p.id},
          {"name", p.name},
          {"node", node_id_},
          {"router", room.media->RouterOf(p.id)},
          {"producers", std::move(producers)}};
}

void Conference::Announce(const Room& room, const Participant& p) {
  if (p.remote() || !p.ready || !on_participant_changed) return;
  on_participant_changed(room.name, EntryOf(room, p));
}

std::vector<nlohmann::json> Conference::LocalEntries(const std::string& room_name) const {
  std::vector<nlohmann::json> out;
  auto it = room_by_name_.find(room_name);
  if (it == room_by_name_.end()) return out;
  const Room& room = *rooms_.at(it->second);
  for (const auto& id : room.participant_ids) {
    auto p = participants_.find(id);
    if (p != participants_.end() && !p->second->remote() && p->second->ready) {
      out.push_back(EntryOf(room, *p->second));
    }
  }
  return out;
}

void Conference::ApplyRemoteParticipant(const std::string& room_name, const nlohmann::json& entry) {
  auto room_it = room_by_name_.find(room_name);
  if (room_it == room_by_name_.end() || !entry.is_object()) return;
  Room* room = FindRoom(room_it->second);
  auto id = StringField(entry, "id");
  auto node = StringField(entry, "node");
  auto router = StringField(entry, "router");
  auto name = entry.find("name");
  auto producers = ProducersOf(entry);
  if (!room || !id || !node || !router || *node == node_id_ || name == entry.end() ||
      !name->is_string() || name->get_ref<const std::string&>().size() > kMaxEntryString ||
      !producers) {
    SB_LOG_WARN("cluster", "room {}: malformed entry from another node ignored", room_name);
    return;
  }
  // Another node's ids start with its id: it cannot name (and so replace) one of ours.
  if (!id->starts_with(*node + ".")) return;
  Participant* p = FindParticipant(*id);
  if (p && (!p->remote() || p->room_instance != room->instance)) return;
  if (!p) {
    if (static_cast<int>(room->participant_ids.size()) >= config_.room_capacity) {
      SB_LOG_WARN("cluster", "room {} is full here: {} of node {} not shown", room_name, *id,
                  *node);
      return;
    }
    auto owned = std::make_unique<Participant>(0);
    p = owned.get();
    p->id = *id;
    p->name = name->get<std::string>();
    p->remote_node = *node;
    p->remote_router = *router;
    p->room_instance = room->instance;
    p->ready = true;
    p->can_subscribe = false;  // it receives on its own node
    participants_[p->id] = std::move(owned);
    room->participant_ids.push_back(p->id);
    room->media->PlaceRemote(p->id, *node, *router);
    SB_LOG_INFO("cluster", "{} ({}) of node {} is in room {}", p->id, p->name, *node, room_name);
    Broadcast(*room, {{"type", "participant-joined"}, {"participant", p->ToJson()}}, p->id);
  }
  // Tracks gone, tracks paused or resumed, tracks new.
  std::vector<std::string> closed;
  for (const auto& old : p->producers) {
    if (std::none_of(producers->begin(), producers->end(),
                     [&](const ProducerInfo& info) { return info.id == old.id; })) {
      closed.push_back(old.id);
    }
  }
  std::vector<ProducerInfo> added;
  bool changed = !closed.empty();
  for (const auto& info : *producers) {
    auto old = std::find_if(p->producers.begin(), p->producers.end(),
                            [&](const ProducerInfo& o) { return o.id == info.id; });
    if (old == p->producers.end()) {
      added.push_back(info);
    } else if (old->paused != info.paused) {
      room->media->PauseProducer(info.id, info.paused);
      changed = true;
    }
  }
  p->producers = *std::move(producers);
  room->media->CloseProducers(closed);
  EndProducers(closed);
  if (changed || !added.empty()) {
    Broadcast(*room, {{"type", "participant-updated"}, {"participant", p->ToJson()}}, p->id);
  }
  for (const auto& subscriber_id : room->participant_ids) {
    Participant* subscriber = FindParticipant(subscriber_id);
    if (!subscriber || subscriber->remote() || !subscriber->ready) continue;
    for (const auto& info : added) Subscribe(subscriber, *p, info);
  }
  if (!added.empty() || !closed.empty()) RefreshLastN(room);
}

void Conference::RemoveRemoteParticipant(const std::string& room_name, const std::string& id) {
  Participant* p = FindParticipant(id);
  auto room_it = room_by_name_.find(room_name);
  if (!p || !p->remote() || room_it == room_by_name_.end() || p->room_instance != room_it->second) {
    return;
  }
  Leave(id);
}

void Conference::RemoveRemoteNode(const std::string& node) {
  std::vector<std::string> gone;
  for (const auto& [id, p] : participants_) {
    if (p->remote_node == node) gone.push_back(id);
  }
  for (const auto& id : gone) Leave(id);
  for (auto& [instance, room] : rooms_) room->media->RemoveNode(node);
  if (!gone.empty()) {
    SB_LOG_WARN("cluster", "node {} is gone: {} of its participants left", node, gone.size());
  }
}

void Conference::ServeOpenPipe(const std::string& room_name, const std::string& node,
                               const std::string& remote_router, const std::string& local_router,
                               const PipeEndpoint& remote_end,
                               RemoteLink::Callback<PipeEndpoint> done) {
  auto it = room_by_name_.find(room_name);
  if (it == room_by_name_.end()) return done(absl::NotFoundError("no room " + room_name));
  rooms_.at(it->second)
      ->media->ServeOpenPipe(node, remote_router, local_router, remote_end, std::move(done));
}

void Conference::ServeRelay(const std::string& room_name, const std::string& producer_id,
                            const std::string& local_router, const std::string& remote_router,
                            RemoteLink::Callback<rtp::RtpParameters> done) {
  auto it = room_by_name_.find(room_name);
  if (it == room_by_name_.end()) return done(absl::NotFoundError("no room " + room_name));
  rooms_.at(it->second)
      ->media->ServeRelay(producer_id, local_router, remote_router, std::move(done));
}

}  // namespace sb::signaling

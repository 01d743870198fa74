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

RemoteEntry Conference::EntryOf(const Room& room, const Participant& p) const {
  RemoteEntry entry{p.id, p.name, node_id_, room.media->RouterOf(p.id), {}, {}};
  for (const auto& info : p.producers) {
    entry.tracks.push_back({info.id, info.kind, info.source, info.paused});
  }
  for (const auto& info : p.data_producers) {
    // A label past the bound stays on this node; a protocol past it addresses nobody anyway.
    if (info.label.size() > kMaxClusterLabel || info.to.size() > kMaxClusterString) continue;
    entry.data.push_back({info.id, info.label, info.to});
  }
  return entry;
}

void Conference::Announce(const Room& room, const Participant& p) {
  if (p.remote() || !p.ready || !on_participant_changed) return;
  on_participant_changed(room.name, EntryOf(room, p));
}

std::vector<RemoteEntry> Conference::LocalEntries(const std::string& room_name) const {
  std::vector<RemoteEntry> out;
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

void Conference::ApplyRemoteParticipant(const std::string& room_name, const RemoteEntry& entry) {
  auto room_it = room_by_name_.find(room_name);
  if (room_it == room_by_name_.end() || entry.node == node_id_) return;
  Room* room = FindRoom(room_it->second);
  if (!room || entry.tracks.size() > kMaxPublishedTracks || entry.data.size() > kMaxDataProducers) {
    return;
  }
  Participant* p = FindParticipant(entry.id);
  if (p && (!p->remote() || p->room_instance != room->instance)) return;
  if (!p) {
    if (static_cast<int>(room->participant_ids.size()) >= config_.room_capacity) {
      SB_LOG_WARN("cluster", "room {} is full here: {} of node {} not shown", room_name, entry.id,
                  entry.node);
      return;
    }
    auto owned = std::make_unique<Participant>(0);
    p = owned.get();
    p->id = entry.id;
    p->name = entry.name;
    p->remote_node = entry.node;
    p->remote_router = entry.router;
    p->room_instance = room->instance;
    p->ready = true;
    p->can_subscribe = false;  // it receives on its own node
    participants_[p->id] = std::move(owned);
    room->participant_ids.push_back(p->id);
    room->media->PlaceRemote(p->id, entry.node, entry.router);
    SB_LOG_INFO("cluster", "{} ({}) of node {} is in room {}", p->id, p->name, entry.node,
                room_name);
    Broadcast(*room, {{"type", "participant-joined"}, {"participant", p->ToJson()}}, p->id);
  }
  std::vector<ProducerInfo> producers;
  for (const auto& track : entry.tracks) {
    ProducerInfo info;
    info.id = track.id;
    info.kind = track.kind;
    info.source = track.source;
    info.paused = track.paused;
    producers.push_back(std::move(info));
  }
  // Tracks gone, tracks paused or resumed, tracks new.
  std::vector<std::string> closed;
  for (const auto& old : p->producers) {
    if (std::none_of(producers.begin(), producers.end(),
                     [&](const ProducerInfo& info) { return info.id == old.id; })) {
      closed.push_back(old.id);
    }
  }
  std::vector<ProducerInfo> added;
  bool changed = !closed.empty();
  for (const auto& info : producers) {
    auto old = std::find_if(p->producers.begin(), p->producers.end(),
                            [&](const ProducerInfo& o) { return o.id == info.id; });
    if (old == p->producers.end()) {
      added.push_back(info);
    } else if (old->paused != info.paused) {
      room->media->PauseProducer(info.id, info.paused);
      changed = true;
    }
  }
  p->producers = std::move(producers);
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
  ApplyRemoteData(room, p, entry);
}

void Conference::ApplyRemoteData(Room* room, Participant* p, const RemoteEntry& entry) {
  // Channels gone: their copies here close with the origin (the worker resets the pipe's
  // channel), and what was being piped of them is dropped.
  std::vector<std::string> gone;
  for (const auto& old : p->data_producers) {
    if (std::none_of(entry.data.begin(), entry.data.end(),
                     [&](const RemoteEntry::DataChannel& d) { return d.id == old.id; })) {
      gone.push_back(old.id);
    }
  }
  for (const auto& id : gone) {
    room->media->ForgetDataProducer(id);
    std::erase_if(p->data_producers, [&](const DataProducerInfo& info) { return info.id == id; });
  }
  // Channels new: to this node's receivers, as a local participant's (OnDataNotification).
  for (const auto& d : entry.data) {
    if (std::any_of(p->data_producers.begin(), p->data_producers.end(),
                    [&](const DataProducerInfo& info) { return info.id == d.id; })) {
      continue;
    }
    DataProducerInfo info{d.id, d.label, d.to};
    p->data_producers.push_back(info);
    for (const auto& member : room->participant_ids) {
      Participant* receiver = FindParticipant(member);
      if (receiver && ReceivesData(*receiver, *p, info)) ConsumeData(receiver, *p, info);
    }
  }
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

void Conference::ServeRelayData(const std::string& room_name, const std::string& node,
                                const std::string& data_producer_id,
                                const std::string& local_router, const std::string& remote_router,
                                RemoteLink::Callback<bool> done) {
  auto it = room_by_name_.find(room_name);
  if (it == room_by_name_.end()) return done(absl::NotFoundError("no room " + room_name));
  Room* room = rooms_.at(it->second).get();
  // A local participant's channel of this room; one addressed to a participant goes only to the
  // node that participant is on.
  const DataProducerInfo* channel = nullptr;
  for (const auto& id : room->participant_ids) {
    Participant* p = FindParticipant(id);
    if (!p || p->remote()) continue;
    for (const auto& info : p->data_producers) {
      if (info.id == data_producer_id) channel = &info;
    }
  }
  if (!channel) return done(absl::NotFoundError("no data producer " + data_producer_id));
  if (!channel->to.empty()) {
    Participant* addressee = FindParticipant(channel->to);
    if (!addressee || addressee->remote_node != node ||
        addressee->room_instance != room->instance) {
      return done(absl::PermissionDeniedError("that channel is for another node"));
    }
  }
  room->media->ServeRelayData(node, data_producer_id, local_router, remote_router, std::move(done));
}

void Conference::ServeRelayLayers(const std::string& room_name, const std::string& node,
                                  const std::string& producer_id, const std::string& local_router,
                                  const std::string& remote_router, int max_layer) {
  auto it = room_by_name_.find(room_name);
  if (it == room_by_name_.end() || !config_.dynacast) return;
  rooms_.at(it->second)
      ->media->ServeRelayLayers(node, producer_id, local_router, remote_router, max_layer);
}

void Conference::ServeClosePipe(const std::string& room_name, const std::string& node,
                                const std::string& local_router, const std::string& remote_router) {
  auto it = room_by_name_.find(room_name);
  if (it == room_by_name_.end()) return;
  rooms_.at(it->second)->media->ServeClosePipe(node, local_router, remote_router);
}

}  // namespace sb::signaling

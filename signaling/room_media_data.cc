// Data channels between a room's workers and nodes (RoomMedia::ReachData): a data producer is
// piped to a receiving router once, by the worker's data consumer on the origin's end of the pipe
// (a channel labelled with the producer's id, router/pipe_data_channel.h), which opens as a data
// producer of its own on the far end (DATA_PRODUCER_OPENED); receivers there consume that copy.
// From another node's router, that node makes the data consumer at our asking (relay-data).
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/room_media.h"
#include "signaling/room_media_parts.h"
#include "signaling/worker_requests.h"

namespace sb::signaling {

void RoomMedia::ReachData(const std::string& data_producer_id, const std::string& publisher_id,
                          const std::string& subscriber_id,
                          std::function<void(absl::StatusOr<std::string>)> done) {
  Shard* from = ShardOf(publisher_id);
  Shard* to = ShardOf(subscriber_id);
  if (!from || !to) return done(absl::NotFoundError("not placed"));
  if (from == to) return done(data_producer_id);
  // Receivers are ours: another node's participants receive there.
  if (!to->node.empty()) return done(absl::InvalidArgumentError("not a local receiver"));
  const std::string key = absl::StrCat(data_producer_id, "/", to->router_id);
  if (auto it = piped_data_.find(key); it != piped_data_.end()) {
    if (it->second->ready) return done(it->second->copy_id);
    it->second->waiters.push_back(std::move(done));
    return;
  }
  auto piped = std::make_unique<PipedData>();
  piped->origin_id = data_producer_id;
  piped->from_router = from->router_id;
  piped->to_router = to->router_id;
  piped->waiters.push_back(std::move(done));
  piped_data_[key] = std::move(piped);
  if (!from->node.empty()) return PipeRemoteData(key, from, to);
  WithPipe(from, to, [this, alive = std::weak_ptr<bool>(alive_), key](absl::Status status) {
    if (alive.expired()) return;
    auto it = piped_data_.find(key);
    if (it == piped_data_.end()) return;
    if (!status.ok()) return FinishPipedData(key, status);
    PipedData* piped = it->second.get();
    Pipe* pipe = FindPipe(PipeKey(piped->from_router, piped->to_router));
    WorkerProcess* worker = WorkerFor(FindShard(piped->from_router));
    if (!pipe || !worker) return FinishPipedData(key, absl::UnavailableError("pipe gone"));
    // The channel's protocol is the worker's to fill on a pipe (the origin's label and
    // protocol); the copy announces itself on the far end.
    worker->Request(fbs::Method::TRANSPORT_CONSUME_DATA,
                    pipe->EndAt(piped->from_router).transport_id,
                    ConsumeDataBody(new_id_("pd"), piped->origin_id, ""),
                    [this, alive, key](const fbs::Response* response) {
                      if (alive.expired() || response->accepted()) return;
                      FinishPipedData(key, Refused("cannot pipe a data channel", response));
                    });
  });
}

void RoomMedia::PipeRemoteData(const std::string& key, Shard* from, Shard* to) {
  const std::string pipe_key = InPipeKey(to->router_id, from->router_id);
  auto relay = [this, alive = std::weak_ptr<bool>(alive_), key, pipe_key](absl::Status status) {
    if (alive.expired()) return;
    auto it = piped_data_.find(key);
    if (it == piped_data_.end()) return;
    auto pipe = remote_pipes_.find(pipe_key);
    if (status.ok() && pipe == remote_pipes_.end()) status = absl::UnavailableError("pipe gone");
    if (!status.ok()) return FinishPipedData(key, status);
    // The copy announces itself on our end (OnPipeDataProducerOpened): only a refusal comes back
    // here.
    link_->RelayData(pipe->second->node, room_name_, it->second->origin_id,
                     pipe->second->remote_router, pipe->second->local_router,
                     [this, alive, key](absl::StatusOr<bool> relayed) {
                       if (alive.expired() || relayed.ok()) return;
                       auto it = piped_data_.find(key);
                       if (it == piped_data_.end() || it->second->ready) return;
                       FinishPipedData(key, relayed.status());
                     });
  };
  WithRemotePipe(from, to, std::move(relay));
}

bool RoomMedia::OnPipeDataProducerOpened(const std::string& transport_id, const std::string& label,
                                         const std::string& copy_id) {
  std::string router_id;  // the pipe end's, ours
  for (const auto& [pipe_key, pipe] : pipes_) {
    for (const Pipe::End* end : {&pipe->a, &pipe->b}) {
      if (end->transport_id == transport_id) router_id = end->router_id;
    }
  }
  for (const auto& [pipe_key, pipe] : remote_pipes_) {
    // Only a pipe that brings another node's channels here (made by us).
    if (pipe->transport_id == transport_id && pipe_key.starts_with("in|")) {
      router_id = pipe->local_router;
    }
  }
  if (router_id.empty()) return false;
  const std::string key = absl::StrCat(label, "/", router_id);
  auto it = piped_data_.find(key);
  if (it != piped_data_.end() && !it->second->ready) {
    FinishPipedData(key, copy_id);
  } else {
    SB_LOG_WARN("rooms", "room {}: a data channel '{}' nobody asked for on pipe {}", room_name_,
                label, transport_id);
  }
  return true;
}

void RoomMedia::FinishPipedData(const std::string& key, absl::StatusOr<std::string> copy_id) {
  auto it = piped_data_.find(key);
  if (it == piped_data_.end()) return;
  PipedData* piped = it->second.get();
  auto waiters = std::move(piped->waiters);
  if (copy_id.ok()) {
    piped->ready = true;
    piped->copy_id = *copy_id;
    ++counters_->data_producers_piped;
  } else {
    ++counters_->pipe_failures;
    SB_LOG_WARN("rooms", "room {}: data producer {} not piped: {}", room_name_, piped->origin_id,
                copy_id.status().ToString());
    piped_data_.erase(it);  // the next receiver tries again
  }
  CallWaiters(alive_, waiters, copy_id);
}

void RoomMedia::ForgetDataProducer(const std::string& id) {
  // Ours relayed to other nodes: the worker closed the pipes' channels with it.
  for (auto& [pipe_key, pipe] : remote_pipes_) pipe->data_relays.erase(id);
  std::vector<std::function<void(absl::StatusOr<std::string>)>> failed;
  EraseTakingWaiters(
      piped_data_,
      [&](const PipedData& piped) { return piped.origin_id == id || piped.copy_id == id; }, failed);
  CallWaiters(alive_, failed,
              absl::StatusOr<std::string>(absl::NotFoundError("the data producer closed")));
}

}  // namespace sb::signaling

// Data channels between a room's workers (RoomMedia::ReachData): a data producer is piped to a
// receiving router once, by the worker's data consumer on the origin's end of the pipe (a
// channel labelled with the producer's id, router/pipe_data_channel.h), which opens as a data
// producer of its own on the far end (DATA_PRODUCER_OPENED); receivers there consume that copy.
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
  if (!from->node.empty() || !to->node.empty()) {
    return done(absl::UnimplementedError("data channels do not cross nodes yet"));
  }
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

bool RoomMedia::OnPipeDataProducerOpened(const std::string& transport_id, const std::string& label,
                                         const std::string& copy_id) {
  for (const auto& [pipe_key, pipe] : pipes_) {
    for (const Pipe::End* end : {&pipe->a, &pipe->b}) {
      if (end->transport_id != transport_id) continue;
      const std::string key = absl::StrCat(label, "/", end->router_id);
      auto it = piped_data_.find(key);
      if (it != piped_data_.end() && !it->second->ready) {
        FinishPipedData(key, copy_id);
      } else {
        SB_LOG_WARN("rooms", "room {}: a data channel '{}' nobody asked for on pipe {}", room_name_,
                    label, transport_id);
      }
      return true;
    }
  }
  return false;
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
  std::vector<std::function<void(absl::StatusOr<std::string>)>> failed;
  EraseTakingWaiters(
      piped_data_,
      [&](const PipedData& piped) { return piped.origin_id == id || piped.copy_id == id; }, failed);
  CallWaiters(alive_, failed,
              absl::StatusOr<std::string>(absl::NotFoundError("the data producer closed")));
}

}  // namespace sb::signaling

#include "signaling/room_media.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/room_media_parts.h"
#include "signaling/worker_requests.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::signaling {
namespace {

// Pipes between workers of one host listen on loopback and carry plain RTP: the traffic never
// leaves the machine.
constexpr char kLocalPipeIp[] = "127.0.0.1";

}  // namespace

rtp::RtpCapabilities PipeCapabilities() {
  rtp::RtpCapabilities caps = rtp::RouterCapabilities();
  std::erase_if(caps.header_extensions,
                [](const auto& e) { return e.uri == rtp::kUriTransportWideCc; });
  for (auto& codec : caps.codecs) {
    std::erase_if(codec.rtcp_feedback, [](const auto& f) { return f.type == "transport-cc"; });
  }
  return caps;
}

RoomMedia::RoomMedia(WorkerPool* pool, std::string room_name, int shard_size, NewIdFn new_id,
                     Counters* counters)
    : pool_(pool),
      room_name_(std::move(room_name)),
      shard_size_(shard_size),
      new_id_(std::move(new_id)),
      counters_(counters) {}

RoomMedia::~RoomMedia() {
  for (const auto& shard : shards_) {
    WorkerProcess* worker = WorkerFor(shard.get());
    if (!worker) continue;
    // Closing the router closes its transports (pipes included), producers and consumers.
    worker->Request(fbs::Method::ROUTER_CLOSE, shard->router_id, {}, [](const fbs::Response*) {});
    worker->AddLoad(-1);
  }
}

WorkerProcess* RoomMedia::WorkerFor(const Shard* shard) const {
  if (!shard || !shard->node.empty() || !shard->worker_alive) return nullptr;
  return pool_->worker(shard->worker_index);
}

RoomMedia::Shard* RoomMedia::FindShard(const std::string& router_id) const {
  for (const auto& shard : shards_) {
    if (shard->router_id == router_id) return shard.get();
  }
  return nullptr;
}

RoomMedia::Pipe* RoomMedia::FindPipe(const std::string& pipe_key) const {
  auto it = pipes_.find(pipe_key);
  return it == pipes_.end() ? nullptr : it->second.get();
}

RoomMedia::Shard* RoomMedia::ShardOf(const std::string& participant_id) const {
  auto it = shard_of_.find(participant_id);
  return it == shard_of_.end() ? nullptr : it->second;
}

absl::Status RoomMedia::Place(const std::string& participant_id, Done ready) {
  if (ShardOf(participant_id)) return absl::AlreadyExistsError("placed already");
  Shard* best = nullptr;
  for (const auto& shard : shards_) {
    if (!shard->node.empty() || !shard->worker_alive || !shard->failed.ok()) continue;
    if (!best || shard->participants < best->participants) best = shard.get();
  }
  if (!best || (shard_size_ > 0 && best->participants >= static_cast<size_t>(shard_size_))) {
    // Another worker, the least loaded of those the room does not use yet.
    int least = -1;
    for (int i = 0; i < pool_->size(); ++i) {
      WorkerProcess* worker = pool_->worker(i);
      if (!worker || UsesWorker(i)) continue;
      if (least < 0 || worker->load() < pool_->worker(least)->load()) least = i;
    }
    if (least >= 0) best = OpenShard(least);
  }
  if (!best) return absl::UnavailableError("no media worker is running");
  ++best->participants;
  shard_of_[participant_id] = best;
  if (best->ready) {
    ready(absl::OkStatus());
  } else {
    best->waiters.push_back(std::move(ready));
  }
  return absl::OkStatus();
}

RoomMedia::Shard* RoomMedia::OpenShard(int worker_index) {
  auto owned = std::make_unique<Shard>();
  Shard* shard = owned.get();
  shard->worker_index = worker_index;
  shard->router_id = new_id_("r");
  shards_.push_back(std::move(owned));
  pool_->worker(worker_index)->AddLoad(1);
  ++counters_->shards_opened;
  SB_LOG_INFO("rooms", "room {}: router {} on worker {}{}", room_name_, shard->router_id,
              worker_index, shards_.size() > 1 ? " (the room spans workers)" : "");
  CreateRouter(shard);
  return shard;
}

void RoomMedia::CreateRouter(Shard* shard) {
  pool_->worker(shard->worker_index)
      ->Request(fbs::Method::WORKER_CREATE_ROUTER, "", CreateRouterBody(shard->router_id),
                [this, alive = std::weak_ptr<bool>(alive_),
                 router_id = shard->router_id](const fbs::Response* response) {
                  if (alive.expired()) return;
                  Shard* shard = FindShard(router_id);
                  if (!shard) return;
                  absl::Status status = absl::OkStatus();
                  if (response->accepted()) {
                    shard->ready = true;
                  } else {
                    status = Refused("the media worker refused the room", response);
                    SB_LOG_ERROR("rooms", "router for {} refused: {}", room_name_,
                                 status.ToString());
                    shard->failed = status;
                  }
                  // A waiter may end the room (and this object) when the router failed.
                  auto waiters = std::move(shard->waiters);
                  for (auto& done : waiters) {
                    if (alive.expired()) return;
                    done(status);
                  }
                });
}

void RoomMedia::Remove(const std::string& participant_id) {
  auto it = shard_of_.find(participant_id);
  if (it == shard_of_.end()) return;
  --it->second->participants;
  shard_of_.erase(it);
}

WorkerProcess* RoomMedia::WorkerOf(const std::string& participant_id) const {
  return WorkerFor(ShardOf(participant_id));
}

const std::string& RoomMedia::RouterOf(const std::string& participant_id) const {
  static const std::string kNone;
  const Shard* shard = ShardOf(participant_id);
  return shard ? shard->router_id : kNone;
}

size_t RoomMedia::ParticipantsOnWorker(int index) const {
  size_t count = 0;
  for (const auto& shard : shards_) {
    if (shard->worker_index == index) count += shard->participants;
  }
  return count;
}

bool RoomMedia::UsesWorker(int index) const {
  return std::any_of(shards_.begin(), shards_.end(),
                     [&](const auto& shard) { return shard->worker_index == index; });
}

bool RoomMedia::IsPrimaryRouter(const std::string& router_id) const {
  return !shards_.empty() && shards_.front()->router_id == router_id;
}

bool RoomMedia::SameShard(const std::string& a, const std::string& b) const {
  const Shard* shard = ShardOf(a);
  return shard && shard == ShardOf(b);
}

void RoomMedia::Reach(const std::string& producer_id, rtp::MediaKind kind, bool paused,
                      const std::string& publisher_id, const std::string& subscriber_id,
                      Done done) {
  Shard* from = ShardOf(publisher_id);
  Shard* to = ShardOf(subscriber_id);
  if (!from || !to) return done(absl::NotFoundError("not placed"));
  if (from == to) return done(absl::OkStatus());
  const std::string key = absl::StrCat(producer_id, "/", to->router_id);
  if (auto it = piped_.find(key); it != piped_.end()) {
    if (it->second->ready) return done(absl::OkStatus());
    it->second->waiters.push_back(std::move(done));
    return;
  }
  auto piped = std::make_unique<PipedProducer>();
  piped->producer_id = producer_id;
  piped->from_router = from->router_id;
  piped->to_router = to->router_id;
  piped->paused = paused;
  piped->waiters.push_back(std::move(done));
  piped_[key] = std::move(piped);
  PipeProducer(producer_id, kind, from, to);
}

void RoomMedia::PipeProducer(const std::string& producer_id, rtp::MediaKind kind, Shard* from,
                             Shard* to) {
  if (!from->node.empty()) return PipeRemoteProducer(producer_id, kind, from, to);
  const std::string key = absl::StrCat(producer_id, "/", to->router_id);
  const std::string pipe_key = PipeKey(from->router_id, to->router_id);
  WithPipe(from, to,
           [this, alive = std::weak_ptr<bool>(alive_), key, pipe_key, producer_id, kind,
            from_router = from->router_id, to_router = to->router_id](absl::Status status) {
             if (alive.expired() || !piped_.contains(key)) return;
             Pipe* pipe = FindPipe(pipe_key);
             Shard* from = FindShard(from_router);
             WorkerProcess* worker = WorkerFor(from);
             if (status.ok() && (!pipe || !worker))
               status = absl::UnavailableError("the pipe is gone");
             if (!status.ok()) return FinishPiped(key, status);
             // A relay of every encoding on the origin's end of the pipe...
             const std::string relay_id = new_id_("pc");
             piped_[key]->relay_id = relay_id;
             worker->Request(
                 fbs::Method::TRANSPORT_CONSUME, pipe->EndAt(from_router).transport_id,
                 ConsumeBody(relay_id, producer_id, PipeCapabilities(), "", /*paused=*/false),
                 [this, alive, key, pipe_key, producer_id, kind,
                  to_router](const fbs::Response* response) {
                   if (alive.expired() || !piped_.contains(key)) return;
                   if (!response->accepted()) {
                     return FinishPiped(key, Refused("cannot consume onto the pipe", response));
                   }
                   const auto* body = response->body_as_ConsumeResponse();
                   auto params = body ? ipc::FromFbs(body->rtp_parameters())
                                      : absl::StatusOr<rtp::RtpParameters>(
                                            absl::InternalError("no consume response"));
                   Pipe* pipe = FindPipe(pipe_key);
                   Shard* to = FindShard(to_router);
                   WorkerProcess* worker = WorkerFor(to);
                   if (!params.ok()) return FinishPiped(key, params.status());
                   if (!pipe || !worker)
                     return FinishPiped(key, absl::UnavailableError("the pipe is gone"));
                   // ...produced, with the same id, from the other end.
                   ProduceCopy(key, producer_id, kind, *params, worker,
                               pipe->EndAt(to_router).transport_id, to_router);
                 });
           });
}

void RoomMedia::ProduceCopy(const std::string& key, const std::string& producer_id,
                            rtp::MediaKind kind, const rtp::RtpParameters& params,
                            WorkerProcess* worker, const std::string& transport_id,
                            const std::string& to_router) {
  worker->Request(fbs::Method::TRANSPORT_PRODUCE, transport_id,
                  ProduceBody(producer_id, kind, params),
                  [this, alive = std::weak_ptr<bool>(alive_), key, producer_id,
                   to_router](const fbs::Response* r) {
                    if (alive.expired()) return;
                    if (!piped_.contains(key)) {
                      // Closed at its origin meanwhile: so is the copy.
                      if (r->accepted()) CloseCopy(producer_id, to_router);
                      return;
                    }
                    FinishPiped(key, r->accepted() ? absl::OkStatus()
                                                   : Refused("cannot produce from the pipe", r));
                  });
}

void RoomMedia::FinishPiped(const std::string& key, absl::Status status) {
  auto it = piped_.find(key);
  if (it == piped_.end()) return;
  PipedProducer* piped = it->second.get();
  if (status.ok()) {
    piped->ready = true;
    ++counters_->producers_piped;
    if (piped->paused) {
      if (Shard* to = FindShard(piped->to_router)) {
        if (WorkerProcess* worker = WorkerFor(to)) {
          worker->Request(fbs::Method::PRODUCER_PAUSE, piped->producer_id, {},
                          [](const fbs::Response*) {});
        }
      }
    }
  } else {
    ++counters_->pipe_failures;
    SB_LOG_WARN("rooms", "room {}: producer {} not piped: {}", room_name_, piped->producer_id,
                status.ToString());
  }
  auto waiters = std::move(piped->waiters);
  // A failed one is forgotten: the next subscriber tries again.
  if (!status.ok()) piped_.erase(it);
  std::weak_ptr<bool> alive = alive_;
  for (auto& done : waiters) {
    if (alive.expired()) return;
    done(status);
  }
}

void RoomMedia::WithPipe(Shard* a, Shard* b, Done ready) {
  const std::string key = PipeKey(a->router_id, b->router_id);
  if (Pipe* pipe = FindPipe(key)) {
    if (pipe->ready) return ready(absl::OkStatus());
    pipe->waiters.push_back(std::move(ready));
    return;
  }
  auto owned = std::make_unique<Pipe>();
  Pipe* pipe = owned.get();
  pipe->a.router_id = a->router_id;
  pipe->b.router_id = b->router_id;
  pipe->waiters.push_back(std::move(ready));
  pipes_[key] = std::move(owned);
  for (Pipe::End* end : {&pipe->a, &pipe->b}) {
    end->transport_id = new_id_("pp");
    Shard* shard = FindShard(end->router_id);
    WorkerProcess* worker = WorkerFor(shard);
    if (!worker) return FinishPipe(key, absl::UnavailableError("a worker of the room is down"));
    worker->Request(fbs::Method::ROUTER_CREATE_PIPE_TRANSPORT, end->router_id,
                    // Data channels too (ReachData): a's end is the SCTP client.
                    CreatePipeBody(end->transport_id, kLocalPipeIp, /*srtp=*/false,
                                   /*sctp=*/true, /*sctp_client=*/end == &pipe->a),
                    [this, alive = std::weak_ptr<bool>(alive_), key,
                     router_id = end->router_id](const fbs::Response* response) {
                      if (alive.expired()) return;
                      Pipe* pipe = FindPipe(key);
                      if (!pipe || pipe->ready) return;
                      if (!response->accepted()) {
                        return FinishPipe(key, Refused("cannot create a pipe", response));
                      }
                      Pipe::End& end = pipe->EndAt(router_id);
                      end.endpoint = EndpointFrom(response->body_as_PipeTransportInfo());
                      end.created = true;
                      if (pipe->a.created && pipe->b.created) ConnectPipe(key);
                    });
    if (!FindPipe(key)) return;  // failed at once
  }
}

void RoomMedia::ConnectPipe(const std::string& pipe_key) {
  Pipe* pipe = FindPipe(pipe_key);
  for (auto [end, other] : {std::pair{&pipe->a, &pipe->b}, std::pair{&pipe->b, &pipe->a}}) {
    Shard* shard = FindShard(end->router_id);
    WorkerProcess* worker = WorkerFor(shard);
    if (!worker)
      return FinishPipe(pipe_key, absl::UnavailableError("a worker of the room is down"));
    worker->Request(fbs::Method::TRANSPORT_CONNECT_PIPE, end->transport_id,
                    ConnectPipeBody(other->endpoint.ip, other->endpoint.port, other->endpoint.key),
                    [this, alive = std::weak_ptr<bool>(alive_), pipe_key,
                     router_id = end->router_id](const fbs::Response* response) {
                      if (alive.expired()) return;
                      Pipe* pipe = FindPipe(pipe_key);
                      if (!pipe || pipe->ready) return;
                      if (!response->accepted()) {
                        return FinishPipe(pipe_key, Refused("cannot connect a pipe", response));
                      }
                      pipe->EndAt(router_id).connected = true;
                      if (pipe->a.connected && pipe->b.connected) {
                        FinishPipe(pipe_key, absl::OkStatus());
                      }
                    });
    if (!FindPipe(pipe_key)) return;
  }
}

void RoomMedia::FinishPipe(const std::string& pipe_key, absl::Status status) {
  auto it = pipes_.find(pipe_key);
  if (it == pipes_.end()) return;
  Pipe* pipe = it->second.get();
  auto waiters = std::move(pipe->waiters);
  if (status.ok()) {
    pipe->ready = true;
    ++counters_->pipes_opened;
    SB_LOG_INFO("rooms", "room {}: pipe between routers {} and {}", room_name_, pipe->a.router_id,
                pipe->b.router_id);
  } else {
    ++counters_->pipe_failures;
    SB_LOG_WARN("rooms", "room {}: no pipe between routers {} and {}: {}", room_name_,
                pipe->a.router_id, pipe->b.router_id, status.ToString());
    // Its ends (if made) close with their routers; a later Reach tries a new pipe.
    for (const Pipe::End* end : {&pipe->a, &pipe->b}) {
      Shard* shard = FindShard(end->router_id);
      WorkerProcess* worker = WorkerFor(shard);
      if (worker && end->created) {
        worker->Request(fbs::Method::TRANSPORT_CLOSE, end->transport_id, {},
                        [](const fbs::Response*) {});
      }
    }
    pipes_.erase(it);
  }
  std::weak_ptr<bool> alive = alive_;
  for (auto& done : waiters) {
    if (alive.expired()) return;
    done(status);
  }
}

void RoomMedia::PauseProducer(const std::string& producer_id, bool paused) {
  for (auto& [key, piped] : piped_) {
    if (piped->producer_id != producer_id || piped->paused == paused) continue;
    piped->paused = paused;
    if (!piped->ready) continue;  // applied when it is
    Shard* to = FindShard(piped->to_router);
    WorkerProcess* worker = WorkerFor(to);
    if (!worker) continue;
    worker->Request(paused ? fbs::Method::PRODUCER_PAUSE : fbs::Method::PRODUCER_RESUME,
                    producer_id, {}, [](const fbs::Response*) {});
  }
}

void RoomMedia::CloseCopy(const std::string& producer_id, const std::string& to_router) {
  Shard* to = FindShard(to_router);
  WorkerProcess* worker = WorkerFor(to);
  if (worker)
    worker->Request(fbs::Method::PRODUCER_CLOSE, producer_id, {}, [](const fbs::Response*) {});
}

void RoomMedia::CloseProducers(const std::vector<std::string>& producer_ids) {
  std::vector<std::string> closed;
  for (auto& [key, piped] : piped_) {
    if (std::find(producer_ids.begin(), producer_ids.end(), piped->producer_id) ==
        producer_ids.end()) {
      continue;
    }
    closed.push_back(key);
    // One still in the making is closed when its produce request is answered.
    if (piped->ready) CloseCopy(piped->producer_id, piped->to_router);
  }
  for (const auto& key : closed) {
    auto it = piped_.find(key);
    auto waiters = std::move(it->second->waiters);
    piped_.erase(it);
    std::weak_ptr<bool> alive = alive_;
    for (auto& done : waiters) {
      if (alive.expired()) return;
      done(absl::NotFoundError("the producer closed"));
    }
  }
}

bool RoomMedia::OnCopyLayersNeeded(const std::string& producer_id, int worker_index,
                                   int max_layer) {
  for (const auto& [key, piped] : piped_) {
    if (piped->producer_id != producer_id) continue;
    const Shard* to = FindShard(piped->to_router);
    if (!to || !to->node.empty() || to->worker_index != worker_index) continue;
    const Shard* from = FindShard(piped->from_router);
    if (from && !from->node.empty()) {
      // Relayed from another node: its relay is asked there.
      if (link_) {
        link_->RelayLayers(from->node, room_name_, producer_id, from->router_id, to->router_id,
                           max_layer);
      }
      return true;
    }
    if (piped->relay_id.empty()) continue;
    WorkerProcess* worker = WorkerFor(FindShard(piped->from_router));
    // The relay wants what the copy's subscribers want: the origin's dynacast counts it so.
    if (worker) {
      worker->Request(fbs::Method::CONSUMER_SET_PREFERENCES, piped->relay_id,
                      ConsumerPreferencesBody(max_layer, /*paused=*/false, /*priority=*/0),
                      [](const fbs::Response*) {});
    }
    return true;
  }
  return false;
}

void RoomMedia::OnWorkerDied(int index) {
  for (const auto& shard : shards_) {
    if (shard->node.empty() && shard->worker_index == index) shard->worker_alive = false;
  }
}

bool RoomMedia::HasLiveLocalShard() const {
  return std::any_of(shards_.begin(), shards_.end(), [](const auto& shard) {
    return shard->node.empty() && shard->worker_alive && shard->failed.ok();
  });
}

std::vector<std::string> RoomMedia::ParticipantIdsOnWorker(int index) const {
  std::vector<std::string> ids;
  for (const auto& [id, shard] : shard_of_) {
    if (shard->node.empty() && shard->worker_index == index) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());  // in a stable order for the caller's messages
  return ids;
}

void RoomMedia::RemoveWorker(int index) {
  auto dead = [&](const std::string& router_id) {
    const Shard* shard = FindShard(router_id);
    return shard && shard->node.empty() && shard->worker_index == index;
  };
  std::vector<Done> failed;
  for (auto it = pipes_.begin(); it != pipes_.end();) {
    Pipe* pipe = it->second.get();
    if (!dead(pipe->a.router_id) && !dead(pipe->b.router_id)) {
      ++it;
      continue;
    }
    for (const Pipe::End* end : {&pipe->a, &pipe->b}) {
      WorkerProcess* worker = WorkerFor(FindShard(end->router_id));
      if (worker && end->created) {
        worker->Request(fbs::Method::TRANSPORT_CLOSE, end->transport_id, {},
                        [](const fbs::Response*) {});
      }
    }
    for (auto& done : pipe->waiters) failed.push_back(std::move(done));
    pipes_.erase(it++);
  }
  auto through_dead = [&](const auto& piped) {
    return dead(piped.from_router) || dead(piped.to_router);
  };
  EraseTakingWaiters(piped_, through_dead, failed);
  std::vector<std::function<void(absl::StatusOr<std::string>)>> failed_data;
  EraseTakingWaiters(piped_data_, through_dead, failed_data);
  // Pipes to other nodes from the dead shards: each node is told to close its end (its relays
  // of producers towards nobody, its copies of ours), once per pair of routers (one notice
  // closes both directions there).
  std::vector<std::tuple<std::string, std::string, std::string>> notices;
  for (const auto& [key, pipe] : remote_pipes_) {
    if (!dead(pipe->local_router)) continue;
    auto notice = std::make_tuple(pipe->node, pipe->remote_router, pipe->local_router);
    if (std::find(notices.begin(), notices.end(), notice) == notices.end()) {
      notices.push_back(std::move(notice));
    }
  }
  EraseTakingWaiters(
      remote_pipes_, [&](const RemotePipe& pipe) { return dead(pipe.local_router); }, failed);
  if (link_) {
    for (const auto& [node, remote_router, local_router] : notices) {
      link_->ClosePipe(node, room_name_, remote_router, local_router);
    }
  }
  for (const auto& shard : shards_) {
    if (!shard->node.empty() || shard->worker_index != index) continue;
    for (auto& done : shard->waiters) failed.push_back(std::move(done));
  }
  absl::erase_if(shard_of_, [&](const auto& entry) {
    return entry.second->node.empty() && entry.second->worker_index == index;
  });
  std::erase_if(shards_, [&](const auto& shard) {
    return shard->node.empty() && shard->worker_index == index;
  });
  SB_LOG_WARN("rooms", "room {}: worker {} is gone; the room goes on on {} router(s)", room_name_,
              index, shards_.size());
  const absl::Status stopped = absl::UnavailableError("the media worker stopped");
  std::weak_ptr<bool> alive = alive_;
  CallWaiters(alive, failed, stopped);
  CallWaiters(alive, failed_data, absl::StatusOr<std::string>(stopped));
}

nlohmann::json RoomMedia::Json() const {
  nlohmann::json workers = nlohmann::json::array();
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& shard : shards_) {
    if (!shard->node.empty()) {
      nodes.push_back({{"node", shard->node}, {"router", shard->router_id}});
      continue;
    }
    WorkerProcess* worker = WorkerFor(shard.get());
    workers.push_back({{"worker", shard->worker_index},
                       {"workerPid", worker ? worker->pid() : 0},
                       {"router", shard->router_id},
                       {"participants", shard->participants}});
  }
  size_t piped = 0;
  for (const auto& [key, p] : piped_) piped += p->ready ? 1 : 0;
  return {
      {"workers", std::move(workers)},
      {"remoteRouters", std::move(nodes)},
      {"pipes", pipes_.size() + remote_pipes_.size()},
      {"pipedProducers", piped},
      {"pipedDataProducers", std::count_if(piped_data_.begin(), piped_data_.end(),
                                           [](const auto& entry) { return entry.second->ready; })}};
}

}  // namespace sb::signaling

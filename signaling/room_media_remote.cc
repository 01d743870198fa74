// A room's media across nodes (issue 14): routers of other nodes that host participants of the
// room, and pipes to them. A pipe between nodes carries media one way: the side that needs
// another node's producers makes its end (SRTP, on this node's pipe address), asks that node to
// make and connect its own (RemoteLink::OpenPipe), connects to it, and then asks for a relay of
// each producer it needs (RemoteLink::Relay), which it produces from its end with the same id,
// as between two workers of one host.
#include <utility>

#include "base/log.h"
#include "signaling/room_media.h"
#include "signaling/room_media_parts.h"
#include "signaling/worker_requests.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::signaling {
void RoomMedia::PlaceRemote(const std::string& participant_id, const std::string& node,
                            const std::string& router) {
  if (ShardOf(participant_id)) return;
  Shard* shard = FindShard(router);
  if (!shard) {
    auto owned = std::make_unique<Shard>();
    shard = owned.get();
    shard->node = node;
    shard->router_id = router;
    shard->ready = true;
    shards_.push_back(std::move(owned));
  }
  ++shard->participants;
  shard_of_[participant_id] = shard;
}

void RoomMedia::RemoveNode(const std::string& node) {
  for (auto it = remote_pipes_.begin(); it != remote_pipes_.end();) {
    RemotePipe* pipe = it->second.get();
    if (pipe->node != node) {
      ++it;
      continue;
    }
    if (WorkerProcess* worker = WorkerFor(FindShard(pipe->local_router))) {
      worker->Request(fbs::Method::TRANSPORT_CLOSE, pipe->transport_id, {},
                      [](const fbs::Response*) {});
    }
    auto waiters = std::move(pipe->waiters);
    remote_pipes_.erase(it++);
    std::weak_ptr<bool> alive = alive_;
    for (auto& done : waiters) {
      if (alive.expired()) return;
      done(absl::UnavailableError("node " + node + " is gone"));
    }
  }
  // Data producers piped from its routers: their copies closed with the pipes.
  std::vector<std::function<void(absl::StatusOr<std::string>)>> failed;
  EraseTakingWaiters(
      piped_data_,
      [&](const PipedData& piped) {
        const Shard* from = FindShard(piped.from_router);
        return from && from->node == node;
      },
      failed);
  absl::erase_if(shard_of_, [&](const auto& entry) { return entry.second->node == node; });
  std::erase_if(shards_, [&](const auto& shard) { return shard->node == node; });
  CallWaiters(alive_, failed,
              absl::StatusOr<std::string>(absl::UnavailableError("node " + node + " is gone")));
}

void RoomMedia::WithRemotePipe(Shard* remote, Shard* local, Done ready) {
  const std::string key = InPipeKey(local->router_id, remote->router_id);
  if (auto it = remote_pipes_.find(key); it != remote_pipes_.end()) {
    if (it->second->ready) return ready(absl::OkStatus());
    it->second->waiters.push_back(std::move(ready));
    return;
  }
  WorkerProcess* worker = WorkerFor(local);
  if (!link_ || !worker) return ready(absl::UnavailableError("no way to that node"));
  auto owned = std::make_unique<RemotePipe>();
  RemotePipe* pipe = owned.get();
  pipe->local_router = local->router_id;
  pipe->node = remote->node;
  pipe->remote_router = remote->router_id;
  pipe->transport_id = new_id_("pn");
  pipe->waiters.push_back(std::move(ready));
  remote_pipes_[key] = std::move(owned);
  worker->Request(
      fbs::Method::ROUTER_CREATE_PIPE_TRANSPORT, pipe->local_router,
      // Data channels too; the end that asked for the pipe is the SCTP client, on both nodes.
      CreatePipeBody(pipe->transport_id, remote_pipe_ip_, /*srtp=*/true, /*sctp=*/true,
                     /*sctp_client=*/true),
      [this, alive = std::weak_ptr<bool>(alive_), key](const fbs::Response* response) {
        if (alive.expired()) return;
        auto it = remote_pipes_.find(key);
        if (it == remote_pipes_.end()) return;
        if (!response->accepted()) {
          return FinishRemotePipe(key, Refused("cannot create a pipe", response));
        }
        RemotePipe* pipe = it->second.get();
        pipe->local_end = EndpointFrom(response->body_as_PipeTransportInfo());
        link_->OpenPipe(
            pipe->node, room_name_, pipe->remote_router, pipe->local_router, pipe->local_end,
            [this, alive, key](absl::StatusOr<PipeEndpoint> remote_end) {
              if (alive.expired()) return;
              auto it = remote_pipes_.find(key);
              if (it == remote_pipes_.end()) return;
              if (!remote_end.ok()) return FinishRemotePipe(key, remote_end.status());
              RemotePipe* pipe = it->second.get();
              WorkerProcess* worker = WorkerFor(FindShard(pipe->local_router));
              if (!worker) return FinishRemotePipe(key, absl::UnavailableError("worker down"));
              worker->Request(fbs::Method::TRANSPORT_CONNECT_PIPE, pipe->transport_id,
                              ConnectPipeBody(remote_end->ip, remote_end->port, remote_end->key),
                              [this, alive, key](const fbs::Response* response) {
                                if (alive.expired()) return;
                                FinishRemotePipe(key,
                                                 response->accepted()
                                                     ? absl::OkStatus()
                                                     : Refused("cannot connect a pipe", response));
                              });
            });
      });
}

void RoomMedia::FinishRemotePipe(const std::string& key, absl::Status status) {
  auto it = remote_pipes_.find(key);
  if (it == remote_pipes_.end()) return;
  RemotePipe* pipe = it->second.get();
  auto waiters = std::move(pipe->waiters);
  if (status.ok()) {
    pipe->ready = true;
    ++counters_->pipes_opened;
    SB_LOG_INFO("rooms", "room {}: pipe from router {} of node {} to router {}", room_name_,
                pipe->remote_router, pipe->node, pipe->local_router);
  } else {
    ++counters_->pipe_failures;
    SB_LOG_WARN("rooms", "room {}: no pipe from node {}: {}", room_name_, pipe->node,
                status.ToString());
    if (WorkerProcess* worker = WorkerFor(FindShard(pipe->local_router))) {
      worker->Request(fbs::Method::TRANSPORT_CLOSE, pipe->transport_id, {},
                      [](const fbs::Response*) {});
    }
    remote_pipes_.erase(it);
  }
  std::weak_ptr<bool> alive = alive_;
  for (auto& done : waiters) {
    if (alive.expired()) return;
    done(status);
  }
}

void RoomMedia::PipeRemoteProducer(const std::string& producer_id, rtp::MediaKind kind, Shard* from,
                                   Shard* to) {
  const std::string key = absl::StrCat(producer_id, "/", to->router_id);
  const std::string pipe_key = InPipeKey(to->router_id, from->router_id);
  WithRemotePipe(
      from, to,
      [this, alive = std::weak_ptr<bool>(alive_), key, pipe_key, producer_id,
       kind](absl::Status status) {
        if (alive.expired() || !piped_.contains(key)) return;
        auto it = remote_pipes_.find(pipe_key);
        if (status.ok() && it == remote_pipes_.end()) status = absl::UnavailableError("pipe gone");
        if (!status.ok()) return FinishPiped(key, status);
        RemotePipe* pipe = it->second.get();
        link_->Relay(pipe->node, room_name_, producer_id, pipe->remote_router, pipe->local_router,
                     [this, alive, key, pipe_key, producer_id,
                      kind](absl::StatusOr<rtp::RtpParameters> params) {
                       if (alive.expired() || !piped_.contains(key)) return;
                       if (!params.ok()) return FinishPiped(key, params.status());
                       auto it = remote_pipes_.find(pipe_key);
                       WorkerProcess* worker = it == remote_pipes_.end()
                                                   ? nullptr
                                                   : WorkerFor(FindShard(it->second->local_router));
                       if (!worker) return FinishPiped(key, absl::UnavailableError("pipe gone"));
                       ProduceCopy(key, producer_id, kind, *params, worker,
                                   it->second->transport_id, it->second->local_router);
                     });
      });
}

void RoomMedia::ServeOpenPipe(const std::string& node, const std::string& remote_router,
                              const std::string& local_router, const PipeEndpoint& remote_end,
                              RemoteLink::Callback<PipeEndpoint> done) {
  Shard* local = FindShard(local_router);
  WorkerProcess* worker = WorkerFor(local);
  if (!worker) return done(absl::NotFoundError("no router " + local_router + " here"));
  const std::string key = OutPipeKey(local_router, remote_router);
  // Asked again (the other side lost its end, or its first answer): a fresh end.
  if (auto it = remote_pipes_.find(key); it != remote_pipes_.end()) {
    worker->Request(fbs::Method::TRANSPORT_CLOSE, it->second->transport_id, {},
                    [](const fbs::Response*) {});
    remote_pipes_.erase(it);
  }
  auto owned = std::make_unique<RemotePipe>();
  RemotePipe* pipe = owned.get();
  pipe->local_router = local_router;
  pipe->node = node;
  pipe->remote_router = remote_router;
  pipe->transport_id = new_id_("pn");
  remote_pipes_[key] = std::move(owned);
  worker->Request(fbs::Method::ROUTER_CREATE_PIPE_TRANSPORT, local_router,
                  CreatePipeBody(pipe->transport_id, remote_pipe_ip_, /*srtp=*/true,
                                 /*sctp=*/true, /*sctp_client=*/false),
                  [this, alive = std::weak_ptr<bool>(alive_), key, remote_end,
                   done = std::move(done)](const fbs::Response* response) {
                    if (alive.expired()) return;
                    auto it = remote_pipes_.find(key);
                    if (it == remote_pipes_.end())
                      return done(absl::UnavailableError("room closing"));
                    if (!response->accepted()) {
                      remote_pipes_.erase(it);
                      return done(Refused("cannot create a pipe", response));
                    }
                    it->second->local_end = EndpointFrom(response->body_as_PipeTransportInfo());
                    WorkerProcess* worker = WorkerFor(FindShard(it->second->local_router));
                    if (!worker) return done(absl::UnavailableError("worker down"));
                    worker->Request(fbs::Method::TRANSPORT_CONNECT_PIPE, it->second->transport_id,
                                    ConnectPipeBody(remote_end.ip, remote_end.port, remote_end.key),
                                    [this, alive, key, done](const fbs::Response* response) {
                                      if (alive.expired()) return;
                                      auto it = remote_pipes_.find(key);
                                      if (it == remote_pipes_.end()) {
                                        return done(absl::UnavailableError("room closing"));
                                      }
                                      if (!response->accepted()) {
                                        remote_pipes_.erase(it);
                                        return done(Refused("cannot connect a pipe", response));
                                      }
                                      it->second->ready = true;
                                      ++counters_->pipes_opened;
                                      done(it->second->local_end);
                                    });
                  });
}

void RoomMedia::ServeRelay(const std::string& producer_id, const std::string& local_router,
                           const std::string& remote_router,
                           RemoteLink::Callback<rtp::RtpParameters> done) {
  auto it = remote_pipes_.find(OutPipeKey(local_router, remote_router));
  if (it == remote_pipes_.end() || !it->second->ready) {
    return done(absl::NotFoundError("no pipe to that router"));
  }
  WorkerProcess* worker = WorkerFor(FindShard(local_router));
  if (!worker) return done(absl::UnavailableError("worker down"));
  // The producer lives on `local_router`'s worker when its publisher is there; if it was piped
  // here from another worker of ours, the copy serves as well (same id).
  const std::string relay_id = new_id_("pc");
  worker->Request(fbs::Method::TRANSPORT_CONSUME, it->second->transport_id,
                  ConsumeBody(relay_id, producer_id, PipeCapabilities(), "", /*paused=*/false),
                  [this, alive = std::weak_ptr<bool>(alive_), key = it->first, producer_id,
                   relay_id, done = std::move(done)](const fbs::Response* r) {
                    if (alive.expired()) return;
                    if (!r->accepted()) return done(Refused("cannot relay", r));
                    const auto* body = r->body_as_ConsumeResponse();
                    if (!body) return done(absl::InternalError("no consume response"));
                    if (auto it = remote_pipes_.find(key); it != remote_pipes_.end()) {
                      it->second->relays[producer_id] = relay_id;
                    }
                    done(ipc::FromFbs(body->rtp_parameters()));
                  });
}

void RoomMedia::ServeRelayData(const std::string& node, const std::string& data_producer_id,
                               const std::string& local_router, const std::string& remote_router,
                               RemoteLink::Callback<bool> done) {
  auto it = remote_pipes_.find(OutPipeKey(local_router, remote_router));
  // Only the node the pipe was opened for may have our channels sent on it.
  if (it == remote_pipes_.end() || !it->second->ready || it->second->node != node) {
    return done(absl::NotFoundError("no pipe to that router"));
  }
  WorkerProcess* worker = WorkerFor(FindShard(local_router));
  if (!worker) return done(absl::UnavailableError("worker down"));
  RemotePipe* pipe = it->second.get();
  // Asked again (the asker gave up on the first one): the first channel is closed, so that the
  // asker's end holds one copy.
  if (auto old = pipe->data_relays.find(data_producer_id); old != pipe->data_relays.end()) {
    worker->Request(fbs::Method::DATA_CONSUMER_CLOSE, old->second, {}, [](const fbs::Response*) {});
    pipe->data_relays.erase(old);
  }
  // The data producer is on `local_router`: the asker's pipe is from its publisher's router. The
  // channel's protocol is the worker's to fill on a pipe (the origin's label and protocol).
  const std::string consumer_id = new_id_("pd");
  pipe->data_relays[data_producer_id] = consumer_id;
  worker->Request(fbs::Method::TRANSPORT_CONSUME_DATA, pipe->transport_id,
                  ConsumeDataBody(consumer_id, data_producer_id, ""),
                  [this, alive = std::weak_ptr<bool>(alive_), key = it->first, data_producer_id,
                   consumer_id, done = std::move(done)](const fbs::Response* r) {
                    if (alive.expired()) return;
                    if (r->accepted()) return done(true);
                    if (auto it = remote_pipes_.find(key); it != remote_pipes_.end()) {
                      auto relay = it->second->data_relays.find(data_producer_id);
                      if (relay != it->second->data_relays.end() && relay->second == consumer_id) {
                        it->second->data_relays.erase(relay);
                      }
                    }
                    done(Refused("cannot pipe a data channel", r));
                  });
}

void RoomMedia::ServeRelayLayers(const std::string& node, const std::string& producer_id,
                                 const std::string& local_router, const std::string& remote_router,
                                 int max_layer) {
  auto it = remote_pipes_.find(OutPipeKey(local_router, remote_router));
  if (it == remote_pipes_.end() || it->second->node != node) return;  // only its own pipe
  auto relay = it->second->relays.find(producer_id);
  WorkerProcess* worker = WorkerFor(FindShard(local_router));
  if (relay == it->second->relays.end() || !worker) return;
  // As between workers (OnCopyLayersNeeded): the relay wants what the far copy's subscribers
  // want, and the origin's dynacast counts it so.
  worker->Request(fbs::Method::CONSUMER_SET_PREFERENCES, relay->second,
                  ConsumerPreferencesBody(max_layer, /*paused=*/false, /*priority=*/0),
                  [](const fbs::Response*) {});
}

void RoomMedia::ServeClosePipe(const std::string& node, const std::string& local_router,
                               const std::string& remote_router) {
  std::vector<Done> failed;
  bool closed_in = false;
  for (const std::string& key :
       {InPipeKey(local_router, remote_router), OutPipeKey(local_router, remote_router)}) {
    auto it = remote_pipes_.find(key);
    // Only the node at the other end closes a pipe (a stale or forged notice changes nothing).
    if (it == remote_pipes_.end() || it->second->node != node) continue;
    RemotePipe* pipe = it->second.get();
    // The worker closes the relays, the copies and their consumers with the transport.
    if (WorkerProcess* worker = WorkerFor(FindShard(pipe->local_router))) {
      worker->Request(fbs::Method::TRANSPORT_CLOSE, pipe->transport_id, {},
                      [](const fbs::Response*) {});
    }
    for (auto& done : pipe->waiters) failed.push_back(std::move(done));
    closed_in = closed_in || key.starts_with("in|");
    remote_pipes_.erase(it);
    SB_LOG_INFO("rooms", "room {}: router {} of node {} is gone; pipe {} closed", room_name_,
                remote_router, node, key);
  }
  // What came through the closed "in" pipe: the copies went with our end; a later Reach pipes
  // again from wherever the producer is announced then.
  std::vector<std::function<void(absl::StatusOr<std::string>)>> failed_data;
  if (closed_in) {
    auto through_it = [&](const auto& piped) {
      return piped.from_router == remote_router && piped.to_router == local_router;
    };
    EraseTakingWaiters(piped_, through_it, failed);
    EraseTakingWaiters(piped_data_, through_it, failed_data);
  }
  const absl::Status gone =
      absl::UnavailableError(absl::StrCat("router ", remote_router, " of node ", node, " is gone"));
  CallWaiters(alive_, failed, gone);
  CallWaiters(alive_, failed_data, absl::StatusOr<std::string>(gone));
}

}  // namespace sb::signaling

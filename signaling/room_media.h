// Where one room's media lives (issue 14): a router on each worker the room uses (its shards),
// which shard each participant's transports are on, and the pipes that carry producers from the
// shard they were published on to the shards whose subscribers consume them. The conference
// logic talks to this and never to a router id or a worker index, so a room on one worker and a
// room spread over several are the same code above it.
//
// Placement: a participant goes to the room's least-filled shard while that shard holds fewer
// than `shard_size` participants; beyond, a new shard is opened on the least-loaded worker the
// room does not use yet, and when every worker has one, the least-filled shard takes it.
// shard_size 0 keeps a room on one worker. The first shard is the primary: it lives as long as
// the room and its router's active-speaker observer speaks for the room.
//
// Piping is on demand (Reach): the first subscriber on shard B of a producer published on shard
// A makes a pipe between A and B (one pair of pipe transports per pair of shards, both ways)
// and a relay consumer of the producer on A's pipe end, then a producer of the same id on B's
// pipe end; after that, consumers on B consume it by its id like a local one.
//
// Worker requests are asynchronous: callbacks hold a weak reference to this object's state and
// do nothing once the room is gone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rtp/rtp_parameters.h"
#include "signaling/workers/worker_pool.h"

namespace sb::signaling {

// What a router offers across a pipe: the router's codecs and extensions without transport-cc
// (nobody sends transport feedback on a pipe: it carries no send-side estimate).
rtp::RtpCapabilities PipeCapabilities();

// One end of a pipe as the other end needs it: where to send, and the SRTP key of what this end
// sends (empty: plain RTP).
struct PipeEndpoint {
  std::string ip;
  uint16_t port = 0;
  std::vector<uint8_t> key;
};

// The other nodes of a cluster as a room's media sees them (cluster_node.h implements it):
// requests to a node about the routers of this room it hosts.
class RemoteLink {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;
  virtual ~RemoteLink() = default;
  // `node` opens its end of a pipe from its router `remote_router` to our `local_router`, whose
  // end is `local_end`, connects it there and answers with its end.
  virtual void OpenPipe(const std::string& node, const std::string& room,
                        const std::string& remote_router, const std::string& local_router,
                        const PipeEndpoint& local_end, Callback<PipeEndpoint> done) = 0;
  // `node` relays its producer onto that pipe and answers with the relay's parameters.
  virtual void Relay(const std::string& node, const std::string& room,
                     const std::string& producer_id, const std::string& remote_router,
                     const std::string& local_router, Callback<rtp::RtpParameters> done) = 0;
  // `node` consumes its data producer onto that pipe's data channels (the pipe carries SCTP): the
  // copy then opens at our end, labelled with the producer's id. The answer carries nothing.
  virtual void RelayData(const std::string& node, const std::string& room,
                         const std::string& data_producer_id, const std::string& remote_router,
                         const std::string& local_router, Callback<bool> done) = 0;
  // Our copy of `node`'s relayed producer (on `local_router`) needs layers up to `max_layer`
  // (-1: none): the relay there asks its origin for as much (dynacast across nodes). No answer.
  virtual void RelayLayers(const std::string& node, const std::string& room,
                           const std::string& producer_id, const std::string& remote_router,
                           const std::string& local_router, int max_layer) = 0;
  // Our router `local_router` is gone (its worker died): `node` closes its end of the pipe
  // between it and its router `remote_router`, whichever way it carried media. No answer.
  virtual void ClosePipe(const std::string& node, const std::string& room,
                         const std::string& remote_router, const std::string& local_router) = 0;
};

class RoomMedia {
 public:
  using Done = std::function<void(absl::Status)>;
  using NewIdFn = std::function<std::string(const char* prefix)>;

  // Summed over every room (the caller's, for /metrics).
  struct Counters {
    uint64_t shards_opened = 0;         // routers made for rooms, the first of each room included
    uint64_t pipes_opened = 0;          // pairs of pipe transports connected
    uint64_t producers_piped = 0;       // producers copied to another shard
    uint64_t data_producers_piped = 0;  // data producers copied to another shard
    uint64_t pipe_failures = 0;         // a pipe or a piped producer that could not be made
  };

  RoomMedia(WorkerPool* pool, std::string room_name, int shard_size, NewIdFn new_id,
            Counters* counters);
  // Closes the routers on the workers that are still alive (their transports, producers,
  // consumers and pipes go with them) and gives the workers' load back.
  ~RoomMedia();
  RoomMedia(const RoomMedia&) = delete;
  RoomMedia& operator=(const RoomMedia&) = delete;

  // Rooms across nodes: requests go to other nodes through `link`, and this node's ends of pipes
  // between nodes listen on `pipe_ip` with SRTP.
  void SetRemote(RemoteLink* link, std::string pipe_ip) {
    link_ = link;
    remote_pipe_ip_ = std::move(pipe_ip);
  }

  // Picks `participant_id`'s shard (opening one on another worker when the room's are full);
  // `ready` runs once the shard's router exists (or with the error when it could not be made).
  // Fails at once when no worker is running.
  absl::Status Place(const std::string& participant_id, Done ready);
  void Remove(const std::string& participant_id);
  // A participant of another node, whose transports are on router `router` there
  // (room_media_remote.cc).
  void PlaceRemote(const std::string& participant_id, const std::string& node,
                   const std::string& router);
  // Node `node` is gone: its routers and the pipes to them are forgotten (the local ends closed).
  // Its participants are removed by the caller first.
  void RemoveNode(const std::string& node);
  // Another node's requests (RemoteLink, from its side): our end of a pipe from our router
  // `local_router` to its `remote_router` at `remote_end`; a relay of our producer onto it.
  void ServeOpenPipe(const std::string& node, const std::string& remote_router,
                     const std::string& local_router, const PipeEndpoint& remote_end,
                     RemoteLink::Callback<PipeEndpoint> done);
  void ServeRelay(const std::string& producer_id, const std::string& local_router,
                  const std::string& remote_router, RemoteLink::Callback<rtp::RtpParameters> done);
  // Our data producer onto the data channels of the pipe to `remote_router`, asked by `node`,
  // whose pipe it must be (RelayData).
  void ServeRelayData(const std::string& node, const std::string& data_producer_id,
                      const std::string& local_router, const std::string& remote_router,
                      RemoteLink::Callback<bool> done);
  // The relay of our producer to `remote_router` gets that node's copy's need (RelayLayers).
  void ServeRelayLayers(const std::string& node, const std::string& producer_id,
                        const std::string& local_router, const std::string& remote_router,
                        int max_layer);
  // `node`'s router `remote_router` is gone (ClosePipe): our end of the pipes between it and our
  // `local_router` closes (the relays, and the copies with their consumers, go with it) and
  // is forgotten, as RemoveNode forgets a dead node's. Only that node may close its pipes.
  void ServeClosePipe(const std::string& node, const std::string& local_router,
                      const std::string& remote_router);

  // The worker and router of a participant's shard; nullptr / "" when it has none or its worker
  // is down.
  WorkerProcess* WorkerOf(const std::string& participant_id) const;
  const std::string& RouterOf(const std::string& participant_id) const;
  // Participants placed on worker `index` (for the per-worker join limit).
  size_t ParticipantsOnWorker(int index) const;
  bool UsesWorker(int index) const;
  // The primary shard's router (the room's active-speaker events come from it).
  bool IsPrimaryRouter(const std::string& router_id) const;
  // Whether two participants' transports are on one shard (data channels are not piped).
  bool SameShard(const std::string& a, const std::string& b) const;

  // Producer `producer_id` of `publisher_id` made consumable on `subscriber_id`'s shard: at once
  // when it is the publisher's, else once it is piped there. `done` runs once, unless the room
  // is gone first.
  void Reach(const std::string& producer_id, rtp::MediaKind kind, bool paused,
             const std::string& publisher_id, const std::string& subscriber_id, Done done);
  // Data producer `data_producer_id` of `publisher_id` made consumable on `subscriber_id`'s
  // shard: `done` gets the id to consume there, the producer's own on its shard, else its copy's
  // once the pipe's channel for it opened there (a pipe carries a data channel per data producer
  // and receiving router; the worker opens it, labelled with the origin's id:
  // router/pipe_data_channel.h). From another node's router, that node is asked to consume it
  // onto its end of the pipe (RemoteLink::RelayData). `done` runs once, unless the room is gone
  // first.
  void ReachData(const std::string& data_producer_id, const std::string& publisher_id,
                 const std::string& subscriber_id,
                 std::function<void(absl::StatusOr<std::string>)> done);
  // DATA_PRODUCER_OPENED for transport `transport_id` that is no participant's: a copy that
  // arrived over one of this room's pipes (`label`: the origin's id). False when the transport
  // is none of the room's pipe ends.
  bool OnPipeDataProducerOpened(const std::string& transport_id, const std::string& label,
                                const std::string& copy_id);
  // A data producer closed, an origin or a copy: what was piped of it is forgotten (the worker
  // closed the pipe's channel and the copy with it).
  void ForgetDataProducer(const std::string& id);

  // A producer paused or resumed on its origin (by the caller): its piped copies follow.
  void PauseProducer(const std::string& producer_id, bool paused);
  // Producers closed on their origin (by the caller, or with their transport): the piped copies
  // are closed too and forgotten.
  void CloseProducers(const std::vector<std::string>& producer_ids);

  // A piped copy's router (on worker `worker_index`) reported the layers its subscribers need
  // (PRODUCER_LAYERS_NEEDED): the relay feeding it asks the origin for as much, so that dynacast
  // at the publisher counts subscribers across the pipe (across nodes too: through the link).
  // False when it is no copy there.
  bool OnCopyLayersNeeded(const std::string& producer_id, int worker_index, int max_layer);

  // Worker `index` died: nothing is asked of it any more. Then the caller either closes the room
  // (no live local shard is left: HasLiveLocalShard) or has the participants on it leave
  // (ParticipantIdsOnWorker: their transports went with it) and calls RemoveWorker.
  void OnWorkerDied(int index);
  bool HasLiveLocalShard() const;
  std::vector<std::string> ParticipantIdsOnWorker(int index) const;
  // Forgets the shards of dead worker `index`: the pipes between them and live shards are closed
  // at the live end (the relays and copies on it close with it) and what was piped or waited for
  // through them fails; a later Reach pipes again from where the producer is. The pipes to
  // other nodes from those shards are forgotten and each node is told to close its end
  // (RemoteLink::ClosePipe).
  void RemoveWorker(int index);

  size_t shard_count() const { return shards_.size(); }
  // For /api/rooms: each shard's worker, router and participants.
  nlohmann::json Json() const;

 private:
  struct Shard;
  struct Pipe;
  struct PipedProducer;
  struct PipedData;
  struct RemotePipe;

  Shard* ShardOf(const std::string& participant_id) const;
  Shard* OpenShard(int worker_index);
  void CreateRouter(Shard* shard);
  // The pipe between two shards, made on first use; `ready` runs when both ends are connected.
  void WithPipe(Shard* a, Shard* b, Done ready);
  void ConnectPipe(const std::string& pipe_key);
  void FinishPipe(const std::string& pipe_key, absl::Status status);
  void PipeProducer(const std::string& producer_id, rtp::MediaKind kind, Shard* from, Shard* to);
  // Closes the copy of a producer on router `to_router`.
  void CloseCopy(const std::string& producer_id, const std::string& to_router);
  // The copy of a producer from a relay's `params`, on pipe end `transport_id` of `to_router`.
  void ProduceCopy(const std::string& key, const std::string& producer_id, rtp::MediaKind kind,
                   const rtp::RtpParameters& params, WorkerProcess* worker,
                   const std::string& transport_id, const std::string& to_router);
  void FinishPiped(const std::string& key, absl::Status status);
  void FinishPipedData(const std::string& key, absl::StatusOr<std::string> copy_id);
  Shard* FindShard(const std::string& router_id) const;
  Pipe* FindPipe(const std::string& pipe_key) const;
  // A local shard's worker; nullptr for another node's router or a dead worker.
  WorkerProcess* WorkerFor(const Shard* shard) const;
  // room_media_remote.cc: the pipe that brings another node's router's producers to a local
  // router (made by this side), and what follows it.
  void WithRemotePipe(Shard* remote, Shard* local, Done ready);
  void FinishRemotePipe(const std::string& key, absl::Status status);
  void PipeRemoteProducer(const std::string& producer_id, rtp::MediaKind kind, Shard* from,
                          Shard* to);
  // room_media_data.cc: the data producer of piped_data_[key] asked of its node.
  void PipeRemoteData(const std::string& key, Shard* from, Shard* to);

  // Passed by argument.
  WorkerPool* const pool_;
  const std::string room_name_;
  const int shard_size_;
  const NewIdFn new_id_;
  Counters* const counters_;
  RemoteLink* link_ = nullptr;
  std::string remote_pipe_ip_;
  // Allocated by this. The callbacks of requests in flight hold it as a weak_ptr and find it
  // expired once the room is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<std::unique_ptr<Shard>> shards_;
  absl::flat_hash_map<std::string, Shard*> shard_of_;  // participant id -> its shard
  // By the two routers' ids, in order ("a|b").
  absl::flat_hash_map<std::string, std::unique_ptr<Pipe>> pipes_;
  // By producer id + "/" + destination router id.
  absl::flat_hash_map<std::string, std::unique_ptr<PipedProducer>> piped_;
  // By data producer id + "/" + destination router id.
  absl::flat_hash_map<std::string, std::unique_ptr<PipedData>> piped_data_;
  // Pipes to other nodes, one per direction: "in|<local router>|<remote router>" brings that
  // router's producers here (made by us), "out|..." takes ours there (made at its request).
  absl::flat_hash_map<std::string, std::unique_ptr<RemotePipe>> remote_pipes_;
};

}  // namespace sb::signaling

// Rooms and participants: the signaling protocol (docs/protocol.md) on top of the worker
// pool. It places each room on a worker's router, gives every participant a publishing and
// a subscribing WebRTC transport, turns publish offers into producers, and keeps every
// subscriber's connection renegotiated as tracks come and go.
//
// Everything runs on the control process's one libuv loop. Worker requests are asynchronous:
// their callbacks capture ids, never pointers, and look the objects up again, because a
// participant may leave (or a worker die) while a request is in flight.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/token_bucket.h"
#include "base/uv_timer.h"
#include "rtp/rtp_parameters.h"
#include "signaling/auth.h"
#include "signaling/cluster_messages.h"
#include "signaling/config.h"
#include "signaling/room_media.h"
#include "signaling/sdp/webrtc_sdp.h"
#include "signaling/subscriber_session.h"
#include "signaling/track_source.h"
#include "signaling/workers/worker_pool.h"

namespace sb::signaling {

// Tracks one participant may publish: camera, microphone, a screen and its audio. It also
// bounds every subscriber's m-lines (room capacity times this).
inline constexpr size_t kMaxPublishedTracks = 4;
// A `subscription` message's maxLayer is below this: the simulcast encodings a producer may
// have (router::Producer::kMaxEncodings).
inline constexpr size_t kMaxSubscriptionLayers = 4;

// Where a participant's messages go (the WebSocket session).
class ClientSink {
 public:
  virtual ~ClientSink() = default;
  virtual void SendToClient(const nlohmann::json& message) = 0;
  // The server ended this client's membership (room closed): it may join again.
  virtual void OnRemovedFromRoom() = 0;
  // Another connection resumed this client's session: this one is closed.
  virtual void CloseReplaced() = 0;
};

struct ProducerInfo {
  std::string id;
  std::string mid;  // of the publisher's m-line
  rtp::MediaKind kind = rtp::MediaKind::kAudio;
  bool paused = false;
  rtp::RtpParameters params;
  // From the publish that started it (`sources`); fixed for the producer's life.
  TrackSource source = TrackSource::kMicrophone;
};

// A data channel a participant opened (docs/protocol.md, "Data channels").
struct DataProducerInfo {
  std::string id;  // the worker's
  std::string label;
  std::string to;  // the channel's protocol: "" for the whole room, or one participant id
};

// A channel the server opened to a participant, carrying another one's data producer.
struct DataConsumerInfo {
  std::string data_producer_id;
  std::string from;  // the sender's participant id
  std::string label;
};

// Data channels one participant may open; more are left unforwarded (and counted): each one
// costs a channel on every other member's connection.
inline constexpr size_t kMaxDataProducers = 16;
// Each is announced to the room's other nodes (RemoteEntry::data), which accept as many.
static_assert(kMaxDataProducers <= kMaxClusterDataChannels);

struct TransportSide {
  std::string id;
  sdp::LocalTransport local;
  bool connect_sent = false;
  std::string remote_ufrag;  // the client's, from its last description: a change is an ICE restart
  bool restarting_ice = false;
  // The worker's latest word on what this transport may send (receiving side only): the
  // send estimate, what its consumers were given, what they would take (TRANSPORT_BANDWIDTH).
  struct Bandwidth {
    uint64_t estimate_bps = 0, allocated_bps = 0, desired_bps = 0;
  };
  std::optional<Bandwidth> bandwidth;
  // The worker's REMB to this publisher (sending side of a client without transport-cc): the
  // estimate in it and how many went out (TRANSPORT_REMB).
  struct Remb {
    uint64_t estimate_bps = 0, sent = 0;
  };
  std::optional<Remb> remb;
};

struct Participant {
  explicit Participant(size_t max_subscribed_tracks) : subscriber(max_subscribed_tracks) {}

  std::string id;
  std::string name;
  std::string identity;  // the token's "sub" when the server needs tokens, else empty
  // The token's grants; without --auth-secret everyone may do both.
  bool can_publish = true;
  bool can_subscribe = true;
  uint64_t room_instance = 0;
  ClientSink* sink = nullptr;  // null while disconnected (within the resume grace period)
  rtp::RtpCapabilities caps;
  bool ready = false;              // transports created, `joined` sent
  nlohmann::json join_request_id;  // echoed in `joined`
  TransportSide send, recv;
  std::vector<ProducerInfo> producers;
  bool publish_busy = false;
  // Data channels: the peer's a=max-message-size once a publish offer had an m=application
  // (the send transport runs SCTP), the channels it opened and those opened to it, by id.
  std::optional<uint64_t> sctp_max_message_size;
  std::vector<DataProducerInfo> data_producers;
  absl::flat_hash_map<std::string, DataConsumerInfo> data_consumers;
  SubscriberSession subscriber;
  // What the client asked of the tracks it receives (`subscription`), by producer id: kept
  // while the producer lives, applied again to a consumer made for it later.
  struct SubscriptionPreference {
    int max_layer = -1;  // -1: no ceiling
    bool paused = false;
    bool pinned = false;  // shown whatever last-N says
    // What the worker was last told (nullopt: nothing yet): paused by the client or last-N,
    // and the allocation priority of the track's source (0, the worker's default, until told).
    std::optional<bool> sent_paused;
    int sent_max_layer = -1;
    int sent_priority = 0;
  };
  absl::flat_hash_map<std::string, SubscriptionPreference> subscription_preferences;
  int offer_failures = 0;                 // in a row: the retry delay grows with them
  std::unique_ptr<UvTimer> answer_timer;  // an offer outstanding too long is offered afresh
  // Reconnection: a socket that drops leaves the participant in the room for a grace period,
  // during which a `resume` with this token takes it over again.
  std::string resume_token;
  std::unique_ptr<UvTimer> grace_timer;
  uint64_t session_id = 0;
  // A participant of another node of the cluster (conference_remote.cc): no sink, no transports
  // here; its tracks are piped from router `remote_router` of node `remote_node`.
  std::string remote_node;
  std::string remote_router;

  bool remote() const { return !remote_node.empty(); }
  bool Publishes(TrackSource source) const;
  // Whether the microphone (kAudio) or the camera (kVideo) is muted: `mute` leaves a screen
  // share alone.
  bool Muted(rtp::MediaKind kind) const;
  nlohmann::json ToJson() const;
};

struct Room {
  uint64_t instance = 0;
  std::string name;
  // Which workers' routers the room uses and which participant is on which (room_media.h).
  std::unique_ptr<RoomMedia> media;
  std::vector<std::string> participant_ids;  // join order, including those not ready yet
  std::string active_speaker;                // participant id, empty before anyone spoke
  std::vector<std::string> recent_speakers;  // participant ids, the latest first (last-N)
};

// The conference's timings, in milliseconds; tests shorten them.
struct ConferenceTiming {
  uint64_t resume_grace_ms = 20000;    // a dropped socket may resume within this
  uint64_t answer_timeout_ms = 10000;  // an unanswered subscribe-offer is offered afresh
  uint64_t offer_retry_ms = 1000;      // after a failed answer; doubles per failure in a row
};

class Conference : public WorkerPool::Listener {
 public:
  struct Counters {
    uint64_t joins = 0;
    uint64_t full = 0;
    uint64_t errors_sent = 0;
    uint64_t rooms_closed_by_worker_death = 0;
    // Participants of a room spanning workers told to join again when one of them died.
    uint64_t participants_moved_by_worker_death = 0;
    uint64_t resumes = 0;         // participants taken over by a `resume`
    uint64_t resume_expired = 0;  // participants whose grace period ran out
    uint64_t ice_restarts = 0;
    uint64_t offers_sent = 0;
    uint64_t offers_retried = 0;        // offers sent again after a failed or missing answer
    uint64_t tracks_not_forwarded = 0;  // a subscriber's connection was at its m-line limit
    uint64_t media_failures = 0;  // a transport's DTLS/SRTP setup failed: the participant left
    // Data channels: opened by participants, beyond kMaxDataProducers (not forwarded), and
    // closed by the server because a receiver did not keep up.
    uint64_t data_producers = 0;
    uint64_t data_producers_refused = 0;
    uint64_t data_consumers_closed_slow = 0;
    // Channels not opened because sender and receiver are on different routers of a room (on
    // two workers or two nodes) and the data producer could not be piped.
    uint64_t data_not_piped = 0;
    // Joins refused by a server-wide limit (Config): over joins_per_second, max_rooms,
    // max_participants_per_worker.
    uint64_t joins_refused_rate = 0;
    uint64_t joins_refused_rooms = 0;
    uint64_t joins_refused_worker = 0;
    // Joins and publishes refused for their token (the HTTP side counts its own).
    AuthCounters auth;
  };

  Conference(uv_loop_t* loop, const Config& config, WorkerPool* pool, ConferenceTiming timing = {});
  ~Conference();

  // One client message (already parsed JSON object) from `sink`, whose current participant
  // id (empty when not in a room) is `participant_id`.
  void HandleMessage(ClientSink* sink, const std::string& participant_id,
                     const nlohmann::json& message);
  // The client's connection closed. `may_resume`: it broke rather than closed cleanly, so
  // the participant stays for the grace period (a `resume` takes it over), then leaves.
  void HandleDisconnect(const std::string& participant_id, bool may_resume);

  // Server shutdown: forgets every room and participant (their timers stop) without telling
  // anyone; the sinks are about to go. Worker replies still in flight find nothing.
  void Shutdown();

  // Sends a protocol error to a client.
  void SendError(ClientSink* sink, const std::string& code, const std::string& message,
                 const nlohmann::json& request);

  nlohmann::json RoomsJson() const;
  size_t room_count() const { return rooms_.size(); }
  size_t participant_count() const { return participants_.size(); }
  size_t local_participant_count() const;
  size_t disconnected_count() const;
  const Counters& counters() const { return counters_; }
  const RoomMedia::Counters& media_counters() const { return media_counters_; }

  // A room opened (its first participant joined) or closed here: the cluster directory says
  // which nodes host a room (cluster_node.h).
  std::function<void(const std::string&room)> on_room_opened, on_room_closed;
  // Rooms across nodes (conference_remote.cc). This node's id in the cluster: ids it makes
  // start with it, and its participants are announced through these.
  void JoinCluster(const std::string& node_id, RemoteLink* link, std::string pipe_ip);
  std::function<void(const std::string& room, const RemoteEntry& entry)> on_participant_changed;
  // The live nodes' HOST:PORT, this node's first (`joined`'s "nodes").
  std::function<std::vector<std::string>()> cluster_nodes;
  std::function<void(const std::string& room, const std::string& id)> on_participant_removed;
  // Another node's participant of `room` as it announced it (Announce's entry): joined, or
  // changed (tracks added, removed, muted). Ignored for a room not hosted here.
  void ApplyRemoteParticipant(const std::string& room, const RemoteEntry& entry);
  void RemoveRemoteParticipant(const std::string& room, const std::string& id);
  // Node `node` is gone: its participants leave every room here.
  void RemoveRemoteNode(const std::string& node);
  // This node's participants of `room`, as Announce writes them (after Redis lost them).
  std::vector<RemoteEntry> LocalEntries(const std::string& room) const;
  // Another node's requests about a room's media (RemoteLink, served here).
  void ServeOpenPipe(const std::string& room, const std::string& node,
                     const std::string& remote_router, const std::string& local_router,
                     const PipeEndpoint& remote_end, RemoteLink::Callback<PipeEndpoint> done);
  void ServeRelay(const std::string& room, const std::string& producer_id,
                  const std::string& local_router, const std::string& remote_router,
                  RemoteLink::Callback<rtp::RtpParameters> done);
  void ServeRelayData(const std::string& room, const std::string& node,
                      const std::string& data_producer_id, const std::string& local_router,
                      const std::string& remote_router, RemoteLink::Callback<bool> done);
  void ServeRelayLayers(const std::string& room, const std::string& node,
                        const std::string& producer_id, const std::string& local_router,
                        const std::string& remote_router, int max_layer);
  // `node`'s router `remote_router` is gone: our ends of the pipes to it close.
  void ServeClosePipe(const std::string& room, const std::string& node,
                      const std::string& local_router, const std::string& remote_router);

  // Participant id a join or resume from `sink` produced, so the session can remember it.
  std::function<void(ClientSink*, const std::string&)> on_joined;

  // WorkerPool::Listener
  void OnWorkerDied(int index) override;
  void OnWorkerNotification(int index, const fbs::Notification& notification) override;

 private:
  // conference_remote.cc: a local participant's entry for the other nodes, sent on every change.
  RemoteEntry EntryOf(const Room& room, const Participant& p) const;
  void Announce(const Room& room, const Participant& p);
  // The data channels of another node's participant as its entry has them now: new ones reach
  // the receivers here, gone ones are forgotten.
  void ApplyRemoteData(Room* room, Participant* p, const RemoteEntry& entry);
  bool HasLocalParticipants(const Room& room) const;

  // conference.cc: membership.
  void Join(ClientSink* sink, const nlohmann::json& message);
  // With --auth-secret: the verified claims of the join's "token" for `room`, or the failure
  // (counted by the caller) with a message for the client.
  absl::StatusOr<TokenClaims> AuthorizeJoin(const nlohmann::json& message, const std::string& room,
                                            AuthFailure* failure) const;
  void Resume(ClientSink* sink, const nlohmann::json& message);
  // By value: callers pass ids owned by what Leave destroys (a participant, its timer).
  void Leave(std::string participant_id);
  void Mute(Participant* p, const nlohmann::json& message);
  // `subscription`: the client's preference for one track it receives.
  void Subscription(Participant* p, const nlohmann::json& message);
  // Sends a participant's preference for a producer (the client's, last-N's verdict, and the
  // priority of the track's source) to the consumer of it, if any and if it changed.
  void ApplySubscriptionPreference(Participant* p, const std::string& producer_id);
  // The same with last-N's verdict given (a pin overrides it).
  void SendSubscriptionPreference(Participant* p, const std::string& producer_id,
                                  bool hidden_by_last_n);
  // Last-N (config_.last_n > 0): the participants whose video `subscriber` is to get now.
  absl::flat_hash_set<std::string> LastNShown(const Room& room,
                                              const Participant& subscriber) const;
  // Re-applies every subscriber's video preferences in a room after the ranking of its
  // publishers may have changed (a new speaker, someone published or left).
  void RefreshLastN(Room* room);
  void CreateTransports(uint64_t room_instance, const std::string& participant_id);
  void OnParticipantReady(Participant* p);
  void CloseRoom(Room* room, const std::string& reason);
  // `p` alone is out of its room, told as when a room closes (its media cannot go on); the web
  // app joins again by itself.
  void RemoveWithRoomClosed(Participant* p, const std::string& room, const std::string& reason);
  void Broadcast(const Room& room, const nlohmann::json& message,
                 const std::string& except_id = "");
  // To one participant, unless it is disconnected (a resume sends it the state it missed).
  void Send(Participant* p, const nlohmann::json& message);
  nlohmann::json ParticipantsJson(const Room& room, const Participant* except) const;
  Room* FindRoom(uint64_t instance);
  Participant* FindParticipant(const std::string& id);
  Participant* FindByResumeToken(const std::string& token);
  size_t ParticipantsOnWorker(int worker_index) const;
  // Whether a worker the room may use has a place for one more participant
  // (Config::max_participants_per_worker).
  bool RoomHasWorkerRoom(const Room& room) const;
  // The worker of a participant's transports; nullptr while it is down.
  WorkerProcess* WorkerOf(const Participant& p) const;
  // ICE restart (RFC 8445 section 9) on one of a participant's transports: new local
  // credentials, DTLS kept. `done(ok)` runs once the worker answered.
  void RestartIce(Participant* p, TransportSide* side, std::function<void(bool)> done);

  // conference_publish.cc: the publishing connection.
  void Publish(Participant* p, const nlohmann::json& message);
  // The publish offer, once its ICE restart (if any) is done.
  void ApplyPublish(Participant* p, std::shared_ptr<const sdp::RemoteDescription> offer,
                    const absl::flat_hash_map<std::string, TrackSource>& sources,
                    const nlohmann::json& message);
  void FinishPublish(const std::string& participant_id, const sdp::RemoteDescription& offer,
                     std::vector<ProducerInfo> added, const nlohmann::json& request);

  // conference_data.cc: data channels, carried on the publishing connection.
  // A publish offer with an m=application turns data channels on for the participant (and
  // gives it the room's open channels), or updates its max-message-size.
  void EnableData(Participant* p, const sdp::RemoteDescription& offer);
  // A channel on `receiver`'s connection for `publisher`'s data producer (piped to the
  // receiver's router first when the two are on different workers).
  void ConsumeData(Participant* receiver, const Participant& publisher,
                   const DataProducerInfo& producer);
  // The same once the producer is reachable on the receiver's router as `reachable_id`.
  void ConsumeDataOn(Participant* receiver, const std::string& publisher_id,
                     const DataProducerInfo& producer, const std::string& reachable_id);
  // Whether `receiver` gets a data producer of `publisher`.
  static bool ReceivesData(const Participant& receiver, const Participant& publisher,
                           const DataProducerInfo& producer);
  // DATA_PRODUCER_OPENED, DATA_PRODUCER_CLOSED, DATA_CONSUMER_CLOSED; false for other events.
  bool OnDataNotification(const fbs::Notification& notification);

  // conference_subscribe.cc: the subscribing connection.
  void Subscribe(Participant* subscriber, const Participant& publisher,
                 const ProducerInfo& producer);
  // The consumer on the subscriber's worker, once the producer is there (room_media.h).
  void ConsumeOnWorker(WorkerProcess* worker, Participant* subscriber,
                       const std::string& publisher_id, const std::string& producer_id,
                       const std::string& consumer_id, const std::string& mid, TrackSource source);
  // The subscriber m-lines of these producers go inactive; one new offer per subscriber.
  void EndProducers(const std::vector<std::string>& producer_ids);
  // Sends an offer if the subscriber's session wants one and the client can take it.
  void MaybeOffer(Participant* subscriber);
  void SubscribeAnswer(Participant* p, const nlohmann::json& message);
  void SubscribeRestartIce(Participant* p, const nlohmann::json& message);
  // The outstanding offer failed (or was never answered): offer afresh after a delay.
  void RetryOffer(Participant* p, uint64_t delay_ms);

  uv_loop_t* const loop_;
  const Config config_;
  WorkerPool* const pool_;
  const ConferenceTiming timing_;
  absl::flat_hash_map<std::string, uint64_t> room_by_name_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Room>> rooms_;
  absl::flat_hash_map<std::string, std::unique_ptr<Participant>> participants_;
  TokenBucket join_rate_;
  uint64_t next_room_instance_ = 1;
  uint64_t next_id_ = 1;
  std::string id_prefix_;  // "<node id>." in a cluster: ids are unique across nodes
  std::string node_id_;
  RemoteLink* link_ = nullptr;
  std::string pipe_ip_;
  Counters counters_;
  RoomMedia::Counters media_counters_;

  std::string NewId(const char* prefix);
};

}  // namespace sb::signaling

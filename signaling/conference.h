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
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "rtp/rtp_parameters.h"
#include "signaling/config.h"
#include "signaling/sdp/webrtc_sdp.h"
#include "signaling/workers/worker_pool.h"

namespace sb::signaling {

// Where a participant's messages go (the WebSocket session).
class ClientSink {
 public:
  virtual ~ClientSink() = default;
  virtual void SendToClient(const nlohmann::json& message) = 0;
  // The server ended this client's membership (room closed): it may join again.
  virtual void OnRemovedFromRoom() = 0;
};

struct ProducerInfo {
  std::string id;
  std::string mid;  // of the publisher's m-line
  rtp::MediaKind kind = rtp::MediaKind::kAudio;
  bool paused = false;
  rtp::RtpParameters params;
};

// One m-line of a subscriber's connection.
struct SubscriberSlot {
  std::string mid;
  std::string consumer_id;
  std::string producer_id;
  std::string publisher_id;
  rtp::MediaKind kind = rtp::MediaKind::kAudio;
  rtp::RtpParameters params;
  bool closed = false;   // producer gone or consumer refused: a rejected m-line from now on
  bool offered = false;  // included in an offer the client has (or will have) answered
  bool resumed = false;  // consumer resumed after the client's answer
};

struct TransportSide {
  std::string id;
  sdp::LocalTransport local;
  bool connect_sent = false;
};

struct Participant {
  std::string id;
  std::string name;
  uint64_t room_instance = 0;
  ClientSink* sink = nullptr;
  rtp::RtpCapabilities caps;
  bool ready = false;              // transports created, `joined` sent
  nlohmann::json join_request_id;  // echoed in `joined`
  TransportSide send, recv;
  std::vector<ProducerInfo> producers;
  bool publish_busy = false;
  // Subscriber side.
  std::vector<SubscriberSlot> slots;
  uint32_t next_mid = 0;
  bool offer_outstanding = false;
  bool offer_needed = false;
  // Consume requests in flight: the next offer waits for them, so one offer carries every
  // track that was pending (a newcomer's first offer lists all the room's tracks).
  int pending_consumes = 0;
  uint64_t session_id = 0;
  uint64_t offer_version = 0;

  bool Publishes(rtp::MediaKind kind) const;
  bool Muted(rtp::MediaKind kind) const;
  nlohmann::json ToJson() const;
};

struct Room {
  uint64_t instance = 0;
  std::string name;
  int worker_index = -1;
  std::string router_id;
  bool router_ready = false;
  std::vector<std::function<void()>> on_router_ready;
  std::vector<std::string> participant_ids;  // join order, including those not ready yet
};

class Conference : public WorkerPool::Listener {
 public:
  struct Counters {
    uint64_t joins = 0;
    uint64_t full = 0;
    uint64_t errors_sent = 0;
    uint64_t rooms_closed_by_worker_death = 0;
  };

  Conference(const Config& config, WorkerPool* pool);
  ~Conference();

  // One client message (already parsed JSON object) from `sink`, whose current participant
  // id (empty when not in a room) is `participant_id`.
  void HandleMessage(ClientSink* sink, const std::string& participant_id,
                     const nlohmann::json& message);
  // The client's connection closed: leave quietly.
  void HandleDisconnect(const std::string& participant_id);

  // Sends a protocol error to a client.
  void SendError(ClientSink* sink, const std::string& code, const std::string& message,
                 const nlohmann::json& request);

  nlohmann::json RoomsJson() const;
  size_t room_count() const { return rooms_.size(); }
  size_t participant_count() const { return participants_.size(); }
  const Counters& counters() const { return counters_; }

  // Participant id a join from `sink` produced, so the session can remember it.
  std::function<void(ClientSink*, const std::string&)> on_joined;

  // WorkerPool::Listener
  void OnWorkerDied(int index) override;
  void OnWorkerNotification(int index, const fbs::Notification& notification) override;

 private:
  // conference.cc: membership.
  void Join(ClientSink* sink, const nlohmann::json& message);
  void Leave(const std::string& participant_id, bool acknowledge);
  void Mute(Participant* p, const nlohmann::json& message);
  void CreateTransports(uint64_t room_instance, const std::string& participant_id);
  void OnParticipantReady(Participant* p);
  // `worker_alive`: false when the room's worker died (its load counter went with it).
  void CloseRoom(Room* room, const std::string& reason, bool worker_alive = true);
  void Broadcast(const Room& room, const nlohmann::json& message, const std::string& except_id);
  Room* FindRoom(uint64_t instance);
  Participant* FindParticipant(const std::string& id);
  WorkerProcess* WorkerOf(const Room& room) const;

  // conference_publish.cc: the publishing connection.
  void Publish(Participant* p, const nlohmann::json& message);
  void FinishPublish(const std::string& participant_id, const sdp::RemoteDescription& offer,
                     std::vector<ProducerInfo> added, const nlohmann::json& request);

  // conference_subscribe.cc: the subscribing connection.
  void Subscribe(Participant* subscriber, const Participant& publisher,
                 const ProducerInfo& producer);
  // Marks the subscriber m-lines of these producers closed; one new offer per subscriber.
  void CloseSlotsOfProducers(const std::vector<std::string>& producer_ids);
  void RequestOffer(Participant* subscriber);
  void SendOffer(Participant* subscriber);
  void SubscribeAnswer(Participant* p, const nlohmann::json& message);

  const Config config_;
  WorkerPool* const pool_;
  absl::flat_hash_map<std::string, uint64_t> room_by_name_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Room>> rooms_;
  absl::flat_hash_map<std::string, std::unique_ptr<Participant>> participants_;
  uint64_t next_room_instance_ = 1;
  uint64_t next_id_ = 1;
  Counters counters_;

  std::string NewId(const char* prefix);
};

}  // namespace sb::signaling

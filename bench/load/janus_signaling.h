// A synthetic participant speaking Janus's WebSocket API (janus-protocol) to the videoroom
// plugin, so that the same load runs against Janus (bench/capacity vs-janus): create a session,
// attach janus.plugin.videoroom, create the room if it does not exist, join as publisher and
// publish with our offer (Janus answers); and one subscriber handle with one PeerConnection for
// every other publisher's streams, as Janus's multistream API (1.0 and later) and its own
// videoroom demo do: `join` as subscriber with the feeds known then, `subscribe` on the same
// handle for publishers that appear later, and each offer Janus sends ("attached", "updated")
// answered with `start`. Keepalives every 25 s. Media runs through the same Publisher and
// Subscriber as against switchboard, simulcast by rid included (the videoroom takes rid offers
// and relays one substream to each subscriber).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/uv_timer.h"
#include "bench/load/participant.h"
#include "bench/load/publisher.h"
#include "bench/load/subscriber.h"
#include "bench/load/ws_client.h"
#include "nlohmann/json.hpp"

namespace sb::bench {

// The videoroom's numeric room id for one of our room names (stable, below 2^31).
uint64_t JanusRoomId(const std::string& room);

class JanusParticipant : public LoadParticipant {
 public:
  // `room_size` sizes the room when this participant creates it (publishers allowed).
  JanusParticipant(uv_loop_t* loop, const WsUrl& server,
                   const transport::DtlsCertificate* certificate, std::string room,
                   std::string name, bool publishes, int room_size, const MediaProfile& profile,
                   GeneratorStats* stats);
  ~JanusParticipant() override;

  void Stop() override;
  size_t live_streams() const override { return subscriber_ ? subscriber_->live_streams() : 0; }
  void AppendReports(std::vector<StreamReport>* out) const override {
    if (subscriber_) subscriber_->AppendReports(out);
  }

 private:
  using Callback = std::function<void(const nlohmann::json&)>;
  // The subscriber handle: none yet, being attached, joined (waiting for the first offer to be
  // answered), ready for `subscribe` requests.
  enum class SubscriberState { kNone, kAttaching, kJoining, kReady };

  // WsClient::Listener
  void OnWsOpen() override;
  void OnWsMessage(std::string text) override;

  // Sends a request with a new transaction; `on_reply` gets its success or error reply.
  void Request(nlohmann::json request, Callback on_reply = nullptr);
  // A videoroom request on `handle`, with an optional JSEP.
  void Message(uint64_t handle, nlohmann::json body, nlohmann::json jsep = nullptr,
               Callback on_reply = nullptr);
  void OnSession(const nlohmann::json& reply);
  void OnPublisherHandle(const nlohmann::json& reply);
  void Join();
  void OnEvent(const nlohmann::json& message);
  void OnPublisherEvent(const nlohmann::json& data, const nlohmann::json& jsep);
  void OnPublishers(const nlohmann::json& publishers);
  // Subscribes to the feeds waiting in pending_feeds_: attaches and joins the subscriber handle
  // the first time, `subscribe` on it later (Janus batches requests that arrive while a
  // renegotiation is in progress, "updating", into one offer).
  void FlushSubscriptions();
  void OnSubscriberEvent(const nlohmann::json& data, const nlohmann::json& jsep);
  void OnStartCounting() override {
    if (subscriber_) subscriber_->StartCounting(counting_from_us_);
  }

  // Passed by argument.
  int room_size_;
  // Allocated by this.
  std::unique_ptr<UvTimer> keepalive_timer_;
  std::unique_ptr<Subscriber> subscriber_;
  SubscriberState subscriber_state_ = SubscriberState::kNone;
  uint64_t subscriber_handle_ = 0;
  std::vector<uint64_t> pending_feeds_;      // publishers to subscribe to next
  std::set<uint64_t> feeds_;                 // publishers subscribed to (or pending)
  std::map<std::string, Callback> pending_;  // by transaction
  uint64_t room_id_ = 0;
  uint64_t session_ = 0, handle_ = 0, my_feed_ = 0;
  uint64_t next_transaction_ = 1;
};

}  // namespace sb::bench

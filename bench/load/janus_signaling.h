// A synthetic participant speaking Janus's WebSocket API (janus-protocol) to the videoroom
// plugin, so that the same load runs against Janus (bench/capacity vs-janus): create a session,
// attach janus.plugin.videoroom, create the room if it does not exist, join as publisher and
// publish with our offer (Janus answers); for every other publisher, a subscriber handle that
// joins with the feed id, answers Janus's offer and starts. Keepalives every 25 s. Media runs
// through the same Publisher and Subscriber as against switchboard, simulcast by rid included
// (the videoroom takes rid offers and relays one substream to each subscriber).
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
  size_t live_streams() const override;
  void AppendReports(std::vector<StreamReport>* out) const override;

 private:
  using Callback = std::function<void(const nlohmann::json&)>;
  struct Feed {
    uint64_t handle = 0;
    std::unique_ptr<Subscriber> subscriber;
  };

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
  void Subscribe(uint64_t feed);
  void OnSubscriberEvent(uint64_t feed, const nlohmann::json& data, const nlohmann::json& jsep);

  // Passed by argument.
  int room_size_;
  // Allocated by this.
  std::unique_ptr<UvTimer> keepalive_timer_;
  std::map<uint64_t, Feed> feeds_;               // by feed (publisher) id
  std::map<uint64_t, uint64_t> feed_of_handle_;  // subscriber handle → feed
  std::map<std::string, Callback> pending_;      // by transaction
  uint64_t room_id_ = 0;
  uint64_t session_ = 0, handle_ = 0, my_feed_ = 0;
  uint64_t next_transaction_ = 1;
};

}  // namespace sb::bench

// One synthetic participant, as a browser joins: a WebSocket to the signaling server, `join`
// with Chromium's receive capabilities, then a publishing connection (offer → publish-answer)
// when it publishes, and a subscribing connection answering every subscribe-offer.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "bench/load/publisher.h"
#include "bench/load/subscriber.h"
#include "bench/load/ws_client.h"
#include "nlohmann/json.hpp"

namespace sb::bench {

class Participant : public WsClient::Listener {
 public:
  Participant(uv_loop_t* loop, const WsUrl& server, const transport::DtlsCertificate* certificate,
              std::string room, std::string name, bool publishes, const MediaProfile& profile,
              GeneratorStats* stats);
  ~Participant() override;

  void Start();
  // Sends `leave`, closes the media connections and the WebSocket.
  void Stop();

  const std::string& name() const { return name_; }
  const std::string& room() const { return room_; }
  // The participant id the server gave us ("" before `joined`).
  const std::string& id() const { return id_; }
  bool publishes() const { return publishes_; }
  bool joined() const { return !id_.empty(); }
  bool failed() const { return failed_; }
  const Publisher* publisher() const { return publisher_.get(); }
  const Subscriber* subscriber() const { return subscriber_.get(); }

 private:
  // WsClient::Listener
  void OnWsOpen() override;
  void OnWsMessage(std::string text) override;
  void OnWsClosed(const std::string& reason) override;

  void OnJoined(const nlohmann::json& message);
  void OnSubscribeOffer(const nlohmann::json& message);
  void Send(const nlohmann::json& message);
  void Fail(const std::string& reason);

  // Passed by argument.
  uv_loop_t* loop_;
  const transport::DtlsCertificate* certificate_;
  std::string room_, name_;
  bool publishes_;
  MediaProfile profile_;
  GeneratorStats* stats_;
  // Allocated by this.
  std::unique_ptr<WsClient> ws_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<Subscriber> subscriber_;
  std::string id_;
  bool failed_ = false;
  bool stopped_ = false;
};

}  // namespace sb::bench

// One synthetic participant, as a browser joins: a WebSocket to the signaling server, `join`
// with Chromium's receive capabilities, then a publishing connection (offer → publish-answer)
// when it publishes, and a subscribing connection answering every subscribe-offer.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/load/publisher.h"
#include "bench/load/subscriber.h"
#include "bench/load/ws_client.h"
#include "nlohmann/json.hpp"

namespace sb::bench {

// What the runner needs of a participant, whatever signaling it speaks (ours, or Janus's in
// bench/load/janus_signaling.h).
class LoadParticipant {
 public:
  virtual ~LoadParticipant() = default;
  virtual void Start() = 0;
  // Leaves, closes the media connections and the signaling.
  virtual void Stop() = 0;
  virtual const std::string& name() const = 0;
  virtual const std::string& room() const = 0;
  // The id the server gave us ("" before joining); subscribers' reports name publishers by it.
  virtual const std::string& id() const = 0;
  virtual bool publishes() const = 0;
  bool joined() const { return !id().empty(); }
  virtual bool failed() const = 0;
  virtual bool publisher_connected() const = 0;
  // Streams received so far, over all subscribing connections.
  virtual size_t live_streams() const = 0;
  virtual void AppendReports(std::vector<StreamReport>* out) const = 0;
};

class Participant : public LoadParticipant, public WsClient::Listener {
 public:
  Participant(uv_loop_t* loop, const WsUrl& server, const transport::DtlsCertificate* certificate,
              std::string room, std::string name, bool publishes, const MediaProfile& profile,
              GeneratorStats* stats);
  ~Participant() override;

  void Start() override;
  // Sends `leave`, closes the media connections and the WebSocket.
  void Stop() override;

  const std::string& name() const override { return name_; }
  const std::string& room() const override { return room_; }
  const std::string& id() const override { return id_; }
  bool publishes() const override { return publishes_; }
  bool failed() const override { return failed_; }
  bool publisher_connected() const override { return publisher_ && publisher_->connected(); }
  size_t live_streams() const override { return subscriber_ ? subscriber_->live_streams() : 0; }
  void AppendReports(std::vector<StreamReport>* out) const override {
    if (subscriber_) subscriber_->AppendReports(out);
  }
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

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

// A participant as the runner drives it, whatever signaling it speaks (ours below, or
// Janus's in bench/load/janus_signaling.h), with the state every kind has: who it is, its
// signaling WebSocket and its publisher. Subclasses speak the protocol.
class LoadParticipant : public WsClient::Listener {
 public:
  ~LoadParticipant() override = default;
  void Start() { ws_->Connect(); }
  // Leaves, closes the media connections and the signaling.
  virtual void Stop() = 0;
  // Goes away without saying so, as a closed tab: the media connections and the WebSocket
  // close (with a close frame), no `leave`. Stop() where the protocol has no difference.
  virtual void Disconnect() { Stop(); }
  // Vanishes, as a lost network or a killed browser: the media connections stop and the
  // WebSocket is reset without a close frame. Disconnect() where the protocol has no difference.
  virtual void Drop() { Disconnect(); }
  // Subscribers' latency and first-key-frame samples also go there (set before Start).
  void set_receive_group(ReceiveGroupStats* group) { group_ = group; }
  const std::string& name() const { return name_; }
  const std::string& room() const { return room_; }
  // The id the server gave us ("" before joining); subscribers' reports name publishers by it.
  const std::string& id() const { return id_; }
  bool publishes() const { return publishes_; }
  bool joined() const { return !id_.empty(); }
  bool failed() const { return failed_; }
  // Monotonic times (NowUs) of sending `join` and of leaving (Stop or Disconnect); -1 before.
  int64_t join_sent_us() const { return join_sent_us_; }
  int64_t left_us() const { return left_us_; }
  bool publisher_connected() const { return publisher_ && publisher_->connected(); }
  const Publisher* publisher() const { return publisher_.get(); }
  // Counting against what publishers send starts at `window_start_us` (Subscriber::
  // StartCounting), on every subscribing connection, those made later too.
  void StartCounting(int64_t window_start_us) {
    counting_from_us_ = window_start_us;
    if (publisher_) publisher_->StartDataCounting(window_start_us);
    OnStartCounting();
  }
  // Whether this participant opens data channels (MediaProfile::data).
  bool has_data() const { return profile_.data.enabled; }
  // Its data channels, once its publishing connection's DTLS is up.
  const DataChannels* data() const { return publisher_ ? publisher_->data() : nullptr; }
  // Stops this participant's media and data messages (the end of the measurement window).
  void StopMedia() {
    if (publisher_) publisher_->StopMedia();
  }
  // Streams received so far, over all subscribing connections.
  virtual size_t live_streams() const = 0;
  virtual void AppendReports(std::vector<StreamReport>* out) const = 0;

 protected:
  LoadParticipant(uv_loop_t* loop, const WsUrl& server,
                  const transport::DtlsCertificate* certificate, std::string room, std::string name,
                  bool publishes, const MediaProfile& profile, GeneratorStats* stats);
  // Whether this participant sends anything at all.
  bool sends_media() const { return publishes_ && (profile_.audio || profile_.video); }
  // Whether it needs a publishing connection: to send media, or for data channels (which every
  // participant may open, docs/protocol.md: without media when it does not publish).
  bool needs_publisher() const { return sends_media() || profile_.data.enabled; }
  // Creates the publisher (its connection and tracks); false (and failed) when it cannot.
  bool CreatePublisher();
  void Fail(const std::string& reason);
  // WsClient::Listener: a close we did not ask for fails the participant.
  void OnWsClosed(const std::string& reason) override;
  // StartCounting on the subscribers that exist; new ones check counting_from_us_.
  virtual void OnStartCounting() = 0;

  // Passed by argument.
  uv_loop_t* loop_;
  const transport::DtlsCertificate* certificate_;
  std::string room_, name_;
  bool publishes_;
  MediaProfile profile_;
  GeneratorStats* stats_;
  ReceiveGroupStats* group_ = nullptr;
  // Allocated by this.
  std::unique_ptr<WsClient> ws_;
  std::unique_ptr<Publisher> publisher_;
  std::string id_;
  int64_t join_sent_us_ = -1, left_us_ = -1;
  int64_t counting_from_us_ = -1;
  bool failed_ = false;
  bool stopped_ = false;
};

// Our signaling (docs/protocol.md).
class Participant : public LoadParticipant {
 public:
  Participant(uv_loop_t* loop, const WsUrl& server, const transport::DtlsCertificate* certificate,
              std::string room, std::string name, bool publishes, const MediaProfile& profile,
              GeneratorStats* stats);
  ~Participant() override;

  // Sends `leave`, closes the media connections and the WebSocket.
  void Stop() override;
  // Closes the media connections and the WebSocket without `leave`.
  void Disconnect() override;
  // Closes the media connections and resets the WebSocket (no close frame).
  void Drop() override;
  size_t live_streams() const override { return subscriber_ ? subscriber_->live_streams() : 0; }
  void AppendReports(std::vector<StreamReport>* out) const override {
    if (subscriber_) subscriber_->AppendReports(out);
  }
  const Subscriber* subscriber() const { return subscriber_.get(); }

 private:
  // WsClient::Listener
  void OnWsOpen() override;
  void OnWsMessage(std::string text) override;
  void OnStartCounting() override {
    if (subscriber_) subscriber_->StartCounting(counting_from_us_);
  }

  void OnJoined(const nlohmann::json& message);
  void OnSubscribeOffer(const nlohmann::json& message);
  void Send(const nlohmann::json& message);
  enum class Goodbye { kLeave, kClose, kDrop };
  void Close(Goodbye how);

  // Allocated by this.
  std::unique_ptr<Subscriber> subscriber_;
};

}  // namespace sb::bench

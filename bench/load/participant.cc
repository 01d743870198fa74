#include "bench/load/participant.h"

#include <utility>

#include "base/log.h"

namespace sb::bench {

LoadParticipant::LoadParticipant(uv_loop_t* loop, const WsUrl& server,
                                 const transport::DtlsCertificate* certificate, std::string room,
                                 std::string name, bool publishes, const MediaProfile& profile,
                                 GeneratorStats* stats)
    : loop_(loop),
      certificate_(certificate),
      room_(std::move(room)),
      name_(std::move(name)),
      publishes_(publishes),
      profile_(profile),
      stats_(stats),
      ws_(std::make_unique<WsClient>(loop, server, this)) {}

bool LoadParticipant::CreatePublisher() {
  MediaProfile profile = profile_;
  if (!publishes_) profile.audio = profile.video = false;  // data channels only
  publisher_ = std::make_unique<Publisher>(loop_, certificate_, profile, name_, stats_);
  if (counting_from_us_ >= 0) publisher_->StartDataCounting(counting_from_us_);
  if (auto s = publisher_->Init(); !s.ok()) {
    Fail(std::string(s.message()));
    return false;
  }
  return true;
}

void LoadParticipant::OnWsClosed(const std::string& reason) {
  if (stopped_) return;
  Fail("signaling closed: " + reason);
}

void LoadParticipant::Fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  ++stats_->signaling_errors;
  SB_LOG_WARN("load", "{}: {}", name_, reason);
}

Participant::Participant(uv_loop_t* loop, const WsUrl& server,
                         const transport::DtlsCertificate* certificate, std::string room,
                         std::string name, bool publishes, const MediaProfile& profile,
                         GeneratorStats* stats)
    : LoadParticipant(loop, server, certificate, std::move(room), std::move(name), publishes,
                      profile, stats) {}

Participant::~Participant() { Stop(); }

void Participant::Stop() { Close(Goodbye::kLeave); }

void Participant::Disconnect() { Close(Goodbye::kClose); }

void Participant::Drop() { Close(Goodbye::kDrop); }

void Participant::Close(Goodbye how) {
  if (stopped_) return;
  stopped_ = true;
  left_us_ = NowUs();
  if (publisher_) publisher_->Stop();
  if (subscriber_) subscriber_->Stop();
  if (how == Goodbye::kDrop) return ws_->Abort();
  if (how == Goodbye::kLeave && ws_->open() && joined()) Send({{"type", "leave"}});
  ws_->Close();
}

void Participant::OnWsOpen() {
  join_sent_us_ = NowUs();
  Send({{"type", "join"},
        {"room", room_},
        {"name", name_},
        {"rtpCapabilities", ChromiumRtpCapabilities()}});
}

void Participant::OnWsMessage(std::string text) {
  if (stopped_) return;
  nlohmann::json message = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!message.is_object() || !message.contains("type") || !message["type"].is_string()) {
    ++stats_->signaling_errors;
    return;
  }
  const std::string type = message["type"].get<std::string>();
  if (type == "joined") {
    OnJoined(message);
  } else if (type == "publish-answer") {
    if (!publisher_ || !message.contains("sdp") || !message["sdp"].is_string()) {
      return Fail("unexpected publish-answer");
    }
    if (auto s = publisher_->OnAnswer(message["sdp"].get<std::string>()); !s.ok()) {
      return Fail(std::string("publish-answer: ") + std::string(s.message()));
    }
  } else if (type == "subscribe-offer") {
    OnSubscribeOffer(message);
  } else if (type == "data-channel-closed") {
    // A channel the server opened to us for another participant's, closed by the server
    // (e.g. receiver-too-slow): the report says so.
    if (publisher_ && publisher_->data()) {
      publisher_->data()->OnClosedByServer(message.value("from", ""), message.value("label", ""),
                                           message.value("reason", ""));
    }
  } else if (type == "full") {
    Fail("room full");
  } else if (type == "error" || type == "room-closed") {
    ++stats_->signaling_errors;
    SB_LOG_WARN("load", "{}: server says {}", name_, text);
  }
  // participant-joined/-updated/-left and pong need no action.
}

void Participant::OnJoined(const nlohmann::json& message) {
  if (!message.contains("id") || !message["id"].is_string()) return Fail("joined without id");
  id_ = message["id"].get<std::string>();
  ++stats_->joins;
  if (!needs_publisher() || !CreatePublisher()) return;
  Send({{"type", "publish"}, {"sdp", publisher_->Offer()}});
}

void Participant::OnSubscribeOffer(const nlohmann::json& message) {
  if (!message.contains("sdp") || !message["sdp"].is_string()) return Fail("offer without sdp");
  if (!subscriber_) {
    subscriber_ = std::make_unique<Subscriber>(loop_, certificate_, name_, stats_, group_);
    if (counting_from_us_ >= 0) subscriber_->StartCounting(counting_from_us_);
  }
  auto answer =
      subscriber_->OnOffer(message["sdp"].get<std::string>(),
                           message.contains("streams") ? message["streams"] : nlohmann::json());
  if (!answer.ok())
    return Fail(std::string("subscribe-offer: ") + std::string(answer.status().message()));
  nlohmann::json reply = {{"type", "subscribe-answer"}, {"sdp", *answer}};
  // The offer's number, when the server numbers them, says which offer this answers.
  if (message.contains("offerId")) reply["offerId"] = message["offerId"];
  Send(reply);
  subscriber_->OnAnswerSent();
}

void Participant::Send(const nlohmann::json& message) { ws_->Send(message.dump()); }

}  // namespace sb::bench

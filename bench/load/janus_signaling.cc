#include "bench/load/janus_signaling.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/log.h"

namespace sb::bench {
namespace {

constexpr uint64_t kKeepaliveMs = 25'000;
// videoroom error codes (plugins/janus_videoroom.c): the room already exists.
constexpr int kRoomExists = 427;

uint64_t Id(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return 0;
  const auto& v = j[key];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return static_cast<uint64_t>(v.get<int64_t>());
  return 0;
}

// Janus (ICE-lite here) wants our host candidate in the SDP: after each m-line's ice-pwd.
std::string WithCandidate(const std::string& sdp, uint16_t port) {
  const std::string candidate =
      absl::StrCat("a=candidate:1 1 udp 2122260223 ", MediaConnection::bind_address(), " ", port,
                   " typ host\r\na=end-of-candidates\r\n");
  std::string out;
  for (absl::string_view line : absl::StrSplit(sdp, "\r\n", absl::SkipEmpty())) {
    absl::StrAppend(&out, line, "\r\n");
    if (line.substr(0, 10) == "a=ice-pwd:") out += candidate;
  }
  return out;
}

}  // namespace

uint64_t JanusRoomId(const std::string& room) {
  // FNV-1a, folded to 31 bits and never 0.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : room) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return (h ^ (h >> 31)) % 0x7FFFFFFEull + 1;
}

JanusParticipant::JanusParticipant(uv_loop_t* loop, const WsUrl& server,
                                   const transport::DtlsCertificate* certificate, std::string room,
                                   std::string name, bool publishes, int room_size,
                                   const MediaProfile& profile, GeneratorStats* stats)
    : LoadParticipant(loop, server, certificate, std::move(room), std::move(name), publishes,
                      profile, stats),
      room_size_(room_size),
      room_id_(JanusRoomId(room_)) {}

JanusParticipant::~JanusParticipant() { Stop(); }

void JanusParticipant::Stop() {
  if (stopped_) return;
  stopped_ = true;
  left_us_ = NowUs();
  keepalive_timer_.reset();
  if (publisher_) publisher_->Stop();
  if (subscriber_) subscriber_->Stop();
  if (ws_->open() && session_ != 0) {
    ws_->Send(nlohmann::json({{"janus", "destroy"},
                              {"session_id", session_},
                              {"transaction", absl::StrCat("t", next_transaction_++)}})
                  .dump());
  }
  ws_->Close();
}

void JanusParticipant::Request(nlohmann::json request, Callback on_reply) {
  std::string transaction = absl::StrCat("t", next_transaction_++);
  request["transaction"] = transaction;
  if (session_ != 0 && !request.contains("session_id")) request["session_id"] = session_;
  if (on_reply) pending_[transaction] = std::move(on_reply);
  ws_->Send(request.dump());
}

void JanusParticipant::Message(uint64_t handle, nlohmann::json body, nlohmann::json jsep,
                               Callback on_reply) {
  nlohmann::json m = {{"janus", "message"}, {"handle_id", handle}, {"body", std::move(body)}};
  if (!jsep.is_null()) m["jsep"] = std::move(jsep);
  Request(std::move(m), std::move(on_reply));
}

void JanusParticipant::OnWsOpen() {
  Request({{"janus", "create"}}, [this](const nlohmann::json& r) { OnSession(r); });
}

void JanusParticipant::OnSession(const nlohmann::json& reply) {
  session_ = Id(reply.value("data", nlohmann::json()), "id");
  if (session_ == 0) return Fail("create: " + reply.dump());
  keepalive_timer_ = std::make_unique<UvTimer>(loop_, [this] {
    Request({{"janus", "keepalive"}});
  });
  keepalive_timer_->Start(kKeepaliveMs, kKeepaliveMs);
  Request({{"janus", "attach"}, {"plugin", "janus.plugin.videoroom"}},
          [this](const nlohmann::json& r) { OnPublisherHandle(r); });
}

void JanusParticipant::OnPublisherHandle(const nlohmann::json& reply) {
  handle_ = Id(reply.value("data", nlohmann::json()), "id");
  if (handle_ == 0) return Fail("attach: " + reply.dump());
  // Create the room unless someone did already; no bitrate cap (our publishers ignore REMB
  // anyway), no periodic FIR (our publishers send key frames on their own interval).
  Message(handle_,
          {{"request", "create"},
           {"room", room_id_},
           {"description", room_},
           {"publishers", room_size_},
           {"bitrate", 0},
           {"fir_freq", 0},
           {"audiocodec", "opus"},
           {"videocodec", "vp8"},
           {"notify_joining", false}},
          nullptr, [this](const nlohmann::json& r) {
            const auto data =
                r.value("plugindata", nlohmann::json()).value("data", nlohmann::json());
            const int code = data.value("error_code", 0);
            if (r.value("janus", "") != "success" || (code != 0 && code != kRoomExists)) {
              return Fail("create room: " + r.dump());
            }
            Join();
          });
}

void JanusParticipant::Join() {
  Message(handle_,
          {{"request", "join"}, {"ptype", "publisher"}, {"room", room_id_}, {"display", name_}});
}

void JanusParticipant::OnWsMessage(std::string text) {
  if (stopped_) return;
  nlohmann::json m = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!m.is_object() || !m.contains("janus") || !m["janus"].is_string()) {
    ++stats_->signaling_errors;
    return;
  }
  const std::string kind = m["janus"].get<std::string>();
  if (kind == "ack") return;
  if (kind == "success" || kind == "error") {
    const std::string transaction = m.value("transaction", "");
    auto it = pending_.find(transaction);
    if (it != pending_.end()) {
      Callback cb = std::move(it->second);
      pending_.erase(it);
      if (kind == "error") return Fail("janus error: " + text);
      cb(m);
    } else if (kind == "error") {
      return Fail("janus error: " + text);
    }
    return;
  }
  if (kind == "event") return OnEvent(m);
  if (kind == "hangup" || kind == "detached") {
    const uint64_t sender = Id(m, "sender");
    if (sender == handle_ && !stopped_) return Fail("publisher " + kind + ": " + text);
  }
  // webrtcup, media, slowlink, trickle, timeout... need no action.
}

void JanusParticipant::OnEvent(const nlohmann::json& message) {
  const uint64_t sender = Id(message, "sender");
  const nlohmann::json data =
      message.value("plugindata", nlohmann::json()).value("data", nlohmann::json());
  const nlohmann::json jsep = message.value("jsep", nlohmann::json());
  if (data.contains("error_code")) return Fail("videoroom: " + message.dump());
  if (sender == handle_) return OnPublisherEvent(data, jsep);
  if (sender != 0 && sender == subscriber_handle_) return OnSubscriberEvent(data, jsep);
}

void JanusParticipant::OnPublisherEvent(const nlohmann::json& data, const nlohmann::json& jsep) {
  const std::string what = data.value("videoroom", "");
  if (what == "joined") {
    my_feed_ = Id(data, "id");
    if (my_feed_ == 0) return Fail("joined without id");
    id_ = absl::StrCat(my_feed_);
    ++stats_->joins;
    if (sends_media()) {
      if (!CreatePublisher()) return;
      // The offerer should say actpass; Janus would then take the DTLS client role, and our
      // client connections only run DTLS as the client. Janus takes the server role when the
      // offer says active.
      std::string offer = publisher_->Offer();
      for (size_t at; (at = offer.find("a=setup:actpass")) != std::string::npos;) {
        offer.replace(at, 15, "a=setup:active");
      }
      offer = WithCandidate(offer, publisher_->local_port());
      nlohmann::json jsep = {{"type", "offer"}, {"sdp", offer}, {"trickle", false}};
      // Janus numbers simulcast substreams 0-2 from the rid order it is told, highest first
      // unless the JSEP says "lmh"; Chromium's offer lists q;h;f, lowest first.
      if (profile_.simulcast) jsep["rid_order"] = "lmh";
      Message(handle_,
              {{"request", "publish"}, {"audio", profile_.audio}, {"video", profile_.video}},
              std::move(jsep));
    }
  }
  if (jsep.is_object() && jsep.value("type", "") == "answer" && publisher_) {
    if (auto s = publisher_->OnAnswer(jsep.value("sdp", "")); !s.ok()) {
      return Fail(std::string("publish answer: ") + std::string(s.message()));
    }
  }
  if (data.contains("publishers")) OnPublishers(data["publishers"]);
}

void JanusParticipant::OnPublishers(const nlohmann::json& publishers) {
  if (!publishers.is_array()) return;
  for (const auto& p : publishers) {
    const uint64_t feed = Id(p, "id");
    if (feed == 0 || feed == my_feed_ || feeds_.contains(feed)) continue;
    feeds_.insert(feed);
    pending_feeds_.push_back(feed);
  }
  FlushSubscriptions();
}

void JanusParticipant::FlushSubscriptions() {
  if (pending_feeds_.empty() || stopped_) return;
  // Every stream of each feed (audio and video; of a simulcast video the videoroom relays one
  // substream, the highest by default, so a subscriber still receives one video stream per
  // publisher, on one ssrc).
  auto streams = [this] {
    nlohmann::json out = nlohmann::json::array();
    for (uint64_t feed : pending_feeds_) out.push_back({{"feed", feed}});
    pending_feeds_.clear();
    return out;
  };
  switch (subscriber_state_) {
    case SubscriberState::kNone:
      subscriber_state_ = SubscriberState::kAttaching;
      Request({{"janus", "attach"}, {"plugin", "janus.plugin.videoroom"}},
              [this, streams](const nlohmann::json& r) {
                subscriber_handle_ = Id(r.value("data", nlohmann::json()), "id");
                if (subscriber_handle_ == 0) return Fail("attach subscriber: " + r.dump());
                subscriber_state_ = SubscriberState::kJoining;
                Message(subscriber_handle_, {{"request", "join"},
                                             {"ptype", "subscriber"},
                                             {"room", room_id_},
                                             {"streams", streams()}});
              });
      return;
    case SubscriberState::kAttaching:
    case SubscriberState::kJoining:
      return;  // subscribed once the first offer is answered
    case SubscriberState::kReady:
      Message(subscriber_handle_, {{"request", "subscribe"}, {"streams", streams()}});
      return;
  }
}

void JanusParticipant::OnSubscriberEvent(const nlohmann::json& data, const nlohmann::json& jsep) {
  if (!jsep.is_object() || jsep.value("type", "") != "offer") return;  // "updating", "started"
  if (!subscriber_) {
    subscriber_ = std::make_unique<Subscriber>(loop_, certificate_, name_, stats_, group_);
    if (counting_from_us_ >= 0) subscriber_->StartCounting(counting_from_us_);
  }
  const std::string sdp = jsep.value("sdp", "");
  SB_LOG_DEBUG("janus", "{}: subscribe offer:\n{}", name_, sdp);
  // Which publisher each mid carries, from the event's stream list (attached, updated).
  nlohmann::json streams = nlohmann::json::array();
  if (data.contains("streams") && data["streams"].is_array()) {
    for (const auto& st : data["streams"]) {
      const uint64_t feed = Id(st, "feed_id");
      if (feed == 0 || !st.contains("mid") || !st["mid"].is_string()) continue;
      streams.push_back({{"mid", st["mid"]}, {"participantId", absl::StrCat(feed)}});
    }
  }
  auto answer = subscriber_->OnOffer(sdp, streams);
  if (!answer.ok()) {
    return Fail(std::string("subscriber offer: ") + std::string(answer.status().message()));
  }
  Message(subscriber_handle_, {{"request", "start"}, {"room", room_id_}},
          {{"type", "answer"},
           {"sdp", WithCandidate(*answer, subscriber_->local_port())},
           {"trickle", false}});
  subscriber_->OnAnswerSent();
  if (subscriber_state_ == SubscriberState::kJoining) {
    subscriber_state_ = SubscriberState::kReady;
    FlushSubscriptions();
  }
}

}  // namespace sb::bench

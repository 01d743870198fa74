// The subscribing connection: one consumer per forwarded track, and a server offer whenever
// tracks come or go (the m-lines and offer/answer state are the participant's
// SubscriberSession). Consumers start paused and are resumed once the client has answered,
// so the first packet it gets is a key frame it can decode.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/conference.h"
#include "signaling/worker_requests.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::signaling {
namespace {

// The longest wait between offers to a client whose answers keep failing.
constexpr uint64_t kMaxOfferRetryMs = 30000;

}  // namespace

void Conference::Subscribe(Participant* subscriber, const Participant& publisher,
                           const ProducerInfo& producer) {
  if (!subscriber->can_subscribe) return;  // its token says it receives nothing
  Room* room = FindRoom(subscriber->room_instance);
  WorkerProcess* worker = WorkerOf(*subscriber);
  if (!worker) return;
  std::optional<std::string> mid = subscriber->subscriber.ReserveMid(producer.kind);
  if (!mid) {
    ++counters_.tracks_not_forwarded;
    SB_LOG_WARN("rooms", "{} receives {} tracks already; {} is not forwarded to it", subscriber->id,
                subscriber->subscriber.mline_count(), producer.id);
    return;
  }
  const std::string consumer_id = NewId("c");
  // From another of the room's workers, the producer is piped here first.
  room->media->Reach(
      producer.id, producer.kind, producer.paused, publisher.id, subscriber->id,
      [this, subscriber_id = subscriber->id, publisher_id = publisher.id, producer_id = producer.id,
       consumer_id, mid = *mid, source = producer.source](absl::Status reached) {
        Participant* s = FindParticipant(subscriber_id);
        if (!s) return;
        WorkerProcess* worker = WorkerOf(*s);
        if (!reached.ok() || !worker) {
          s->subscriber.Release(mid);
          return MaybeOffer(s);
        }
        ConsumeOnWorker(worker, s, publisher_id, producer_id, consumer_id, mid, source);
      });
}

void Conference::ConsumeOnWorker(WorkerProcess* worker, Participant* subscriber,
                                 const std::string& publisher_id, const std::string& producer_id,
                                 const std::string& consumer_id, const std::string& mid,
                                 TrackSource source) {
  worker->Request(
      fbs::Method::TRANSPORT_CONSUME, subscriber->recv.id,
      ConsumeBody(consumer_id, producer_id, subscriber->caps, mid, /*paused=*/true),
      [this, subscriber_id = subscriber->id, publisher_id, producer_id, consumer_id, mid,
       source](const fbs::Response* response) {
        Participant* s = FindParticipant(subscriber_id);
        if (!s) return;
        SubscriberSession& session = s->subscriber;
        if (!response->accepted()) {
          // Typically a codec the subscriber cannot decode; the others still flow.
          SB_LOG_WARN("rooms", "{} cannot consume {}: {}", subscriber_id, producer_id,
                      ResponseReason(response));
          session.Release(mid);
          return MaybeOffer(s);
        }
        // The producer may have closed (its publisher left or renegotiated it away) while this
        // request was in flight; the worker closed the consumer with it.
        const Participant* publisher = FindParticipant(publisher_id);
        const bool live =
            publisher &&
            std::any_of(publisher->producers.begin(), publisher->producers.end(),
                        [&](const ProducerInfo& info) { return info.id == producer_id; });
        const auto* body = response->body_as_ConsumeResponse();
        auto params =
            body ? ipc::FromFbs(body->rtp_parameters())
                 : absl::StatusOr<rtp::RtpParameters>(absl::InternalError("no consume response"));
        if (!params.ok()) {
          SB_LOG_ERROR("rooms", "bad consume response: {}", params.status().ToString());
        }
        if (!live || !params.ok()) {
          session.Release(mid);
          return MaybeOffer(s);
        }
        session.Attach(mid, {consumer_id, producer_id, publisher_id, *std::move(params), source});
        ApplySubscriptionPreference(s, producer_id);
        MaybeOffer(s);
      });
}

void Conference::EndProducers(const std::vector<std::string>& producer_ids) {
  if (producer_ids.empty()) return;
  for (auto& [id, p] : participants_) {
    for (const auto& producer_id : producer_ids) p->subscription_preferences.erase(producer_id);
    if (p->subscriber.EndProducers(producer_ids)) MaybeOffer(p.get());
  }
}

void Conference::MaybeOffer(Participant* s) {
  // Disconnected: the offer goes out when it resumes. A retry delay running: it goes out then.
  if (!s->ready || !s->sink || !s->subscriber.ShouldOffer()) return;
  if (s->answer_timer && s->answer_timer->active()) return;
  SubscriberSession::Offer offer = s->subscriber.CreateOffer();
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& stream : offer.streams) {
    streams.push_back({{"mid", stream.mid},
                       {"participantId", stream.publisher_id},
                       {"kind", rtp::MediaKindName(stream.kind)},
                       {"source", TrackSourceName(stream.source)},
                       {"producerId", stream.producer_id}});
  }
  ++counters_.offers_sent;
  Send(s, {{"type", "subscribe-offer"},
           {"offerId", offer.version},
           {"sdp", sdp::BuildOffer(s->recv.local, offer.media, s->session_id, offer.version)},
           {"streams", streams}});
  if (!s->answer_timer) {
    s->answer_timer = std::make_unique<UvTimer>(loop_, [this, id = s->id] {
      Participant* s = FindParticipant(id);
      if (!s) return;
      if (s->subscriber.offer_outstanding()) {
        // Never answered: the client may have failed to apply it without telling us.
        SB_LOG_WARN("rooms", "{} did not answer offer {} in {} ms; offering afresh", id,
                    s->subscriber.outstanding_version(), timing_.answer_timeout_ms);
        ++counters_.offers_retried;
        ++s->offer_failures;
        s->subscriber.AnswerFailed();
      }
      MaybeOffer(s);
    });
  }
  s->answer_timer->Start(timing_.answer_timeout_ms);
}

void Conference::RetryOffer(Participant* p, uint64_t delay_ms) {
  if (!p->subscriber.offer_outstanding()) return;
  ++counters_.offers_retried;
  ++p->offer_failures;
  p->subscriber.AnswerFailed();
  // The timer exists: it was started when the offer went out.
  p->answer_timer->Start(delay_ms);
}

void Conference::SubscribeAnswer(Participant* p, const nlohmann::json& message) {
  const uint64_t backoff =
      std::min(kMaxOfferRetryMs, timing_.offer_retry_ms << std::min(p->offer_failures, 5));
  uint64_t offer_id = 0;
  if (auto it = message.find("offerId"); it != message.end()) {
    if (!it->is_number_unsigned()) {
      return SendError(p->sink, "bad-message", "\"offerId\" must be the offer's number", message);
    }
    offer_id = it->get<uint64_t>();
  }
  // The client could not apply the offer (its WebRTC stack refused it).
  if (auto it = message.find("error"); it != message.end()) {
    SB_LOG_WARN("rooms", "{} could not apply offer {}: {}", p->id, offer_id,
                it->is_string() ? it->get<std::string>() : it->dump());
    if (offer_id == 0 || offer_id == p->subscriber.outstanding_version()) RetryOffer(p, backoff);
    return;
  }
  auto sdp_it = message.find("sdp");
  if (sdp_it == message.end() || !sdp_it->is_string()) {
    return SendError(p->sink, "bad-message", "subscribe-answer needs \"sdp\" (the answer)",
                     message);
  }
  if (!p->subscriber.offer_outstanding()) {
    return SendError(p->sink, "no-offer", "there is no subscribe-offer to answer", message);
  }
  auto answer = sdp::ParseRemoteDescription(sdp_it->get<std::string>());
  if (!answer.ok()) {
    SendError(p->sink, "bad-sdp", std::string(answer.status().message()), message);
    return RetryOffer(p, backoff);
  }
  WorkerProcess* worker = WorkerOf(*p);
  if (!worker) return;
  auto actions = p->subscriber.AnswerReceived(offer_id, *answer);
  if (!actions.ok()) {
    return SendError(p->sink, "stale-answer", std::string(actions.status().message()), message);
  }
  p->offer_failures = 0;
  p->answer_timer->Stop();
  p->recv.remote_ufrag = answer->ice_ufrag;
  if (!p->recv.connect_sent) {
    p->recv.connect_sent = true;
    worker->Request(fbs::Method::TRANSPORT_CONNECT, p->recv.id,
                    ConnectBody(answer->fingerprints, answer->setup),
                    [this, id = p->id](const fbs::Response* response) {
                      if (response->accepted()) return;
                      SB_LOG_WARN("rooms", "connecting {}'s receive transport failed: {}", id,
                                  ResponseReason(response));
                      if (Participant* p = FindParticipant(id)) {
                        SendError(p->sink, "server-error",
                                  "media connection refused: " + ResponseReason(response),
                                  nlohmann::json{{"type", "subscribe-answer"}});
                      }
                    });
  }
  for (const auto& id : actions->close) {
    worker->Request(fbs::Method::CONSUMER_CLOSE, id, {}, [](const fbs::Response*) {});
  }
  for (const auto& id : actions->resume) {
    worker->Request(fbs::Method::CONSUMER_RESUME, id, {}, [](const fbs::Response*) {});
  }
  MaybeOffer(p);
}

void Conference::SubscribeRestartIce(Participant* p, const nlohmann::json& message) {
  if (p->subscriber.mline_count() == 0) {
    return SendError(p->sink, "no-offer", "nothing is subscribed yet: there is no ICE to restart",
                     message);
  }
  if (p->recv.restarting_ice) return;  // the offer with the new credentials is on its way
  RestartIce(p, &p->recv, [this, id = p->id, message](bool ok) {
    Participant* p = FindParticipant(id);
    if (!p) return;
    if (!ok) return SendError(p->sink, "server-error", "ICE restart failed", message);
    // The server is the offerer here: the next offer carries the new credentials.
    p->subscriber.Renegotiate();
    MaybeOffer(p);
  });
}

}  // namespace sb::signaling

// The subscribing connection: one consumer per forwarded track, and a server offer whenever
// tracks come or go. Consumers start paused and are resumed once the client has answered, so
// the first packet it gets is a key frame it can decode.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/conference.h"
#include "signaling/worker_requests.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::signaling {

void Conference::Subscribe(Participant* subscriber, const Participant& publisher,
                           const ProducerInfo& producer) {
  Room* room = FindRoom(subscriber->room_instance);
  WorkerProcess* worker = room ? WorkerOf(*room) : nullptr;
  if (!worker) return;
  const std::string consumer_id = NewId("c");
  const std::string mid = absl::StrCat(subscriber->next_mid++);
  ++subscriber->pending_consumes;
  worker->Request(
      fbs::Method::TRANSPORT_CONSUME, subscriber->recv.id,
      ConsumeBody(consumer_id, producer.id, subscriber->caps, mid, /*paused=*/true),
      [this, subscriber_id = subscriber->id, publisher_id = publisher.id, producer, consumer_id,
       mid](const fbs::Response* response) {
        Participant* s = FindParticipant(subscriber_id);
        if (!s) return;
        --s->pending_consumes;
        // Every path below ends here: an offer that waited for this consume goes out now.
        struct OfferWhenDone {
          Conference* conference;
          Participant* s;
          ~OfferWhenDone() {
            if (s->pending_consumes == 0 && s->offer_needed) {
              conference->RequestOffer(s);
            }
          }
        } offer_when_done{this, s};
        if (!response->accepted()) {
          // Typically a codec the subscriber cannot decode; the others still flow.
          SB_LOG_WARN("rooms", "{} cannot consume {}: {}", subscriber_id, producer.id,
                      ResponseReason(response));
          return;
        }
        // The producer may have closed (its publisher left or renegotiated it away) while this
        // request was in flight.
        const Participant* publisher = FindParticipant(publisher_id);
        if (!publisher ||
            std::none_of(publisher->producers.begin(), publisher->producers.end(),
                         [&](const ProducerInfo& info) { return info.id == producer.id; })) {
          return;
        }
        const auto* body = response->body_as_ConsumeResponse();
        auto params =
            body ? ipc::FromFbs(body->rtp_parameters())
                 : absl::StatusOr<rtp::RtpParameters>(absl::InternalError("no consume response"));
        if (!params.ok()) {
          SB_LOG_ERROR("rooms", "bad consume response: {}", params.status().ToString());
          return;
        }
        SubscriberSlot slot;
        slot.mid = mid;
        slot.consumer_id = consumer_id;
        slot.producer_id = producer.id;
        slot.publisher_id = publisher_id;
        slot.kind = producer.kind;
        slot.params = *std::move(params);
        slot.params.mid = mid;
        s->slots.push_back(std::move(slot));
        s->offer_needed = true;
      });
}

void Conference::CloseSlotsOfProducers(const std::vector<std::string>& producer_ids) {
  if (producer_ids.empty()) return;
  for (auto& [id, p] : participants_) {
    bool changed = false;
    for (auto& slot : p->slots) {
      if (!slot.closed && std::find(producer_ids.begin(), producer_ids.end(), slot.producer_id) !=
                              producer_ids.end()) {
        slot.closed = true;
        changed = true;
      }
    }
    if (changed && p->ready) RequestOffer(p.get());
  }
}

void Conference::RequestOffer(Participant* subscriber) {
  if (subscriber->offer_outstanding || subscriber->pending_consumes > 0) {
    subscriber->offer_needed = true;
    return;
  }
  SendOffer(subscriber);
}

void Conference::SendOffer(Participant* s) {
  std::vector<sdp::LocalMedia> media;
  nlohmann::json streams = nlohmann::json::array();
  for (auto& slot : s->slots) {
    sdp::LocalMedia local;
    local.mid = slot.mid;
    local.kind = slot.kind;
    local.direction = slot.closed ? "inactive" : "sendonly";
    local.rejected = slot.closed;
    local.rtp = slot.params;
    local.msid_stream = slot.publisher_id;
    local.msid_track = slot.consumer_id;
    media.push_back(std::move(local));
    if (!slot.closed) {
      slot.offered = true;
      streams.push_back({{"mid", slot.mid},
                         {"participantId", slot.publisher_id},
                         {"kind", rtp::MediaKindName(slot.kind)},
                         {"producerId", slot.producer_id}});
    }
  }
  s->offer_outstanding = true;
  s->offer_needed = false;
  ++s->offer_version;
  s->sink->SendToClient(
      {{"type", "subscribe-offer"},
       {"sdp", sdp::BuildOffer(s->recv.local, media, s->session_id, s->offer_version)},
       {"streams", streams}});
}

void Conference::SubscribeAnswer(Participant* p, const nlohmann::json& message) {
  auto sdp_it = message.find("sdp");
  if (sdp_it == message.end() || !sdp_it->is_string()) {
    return SendError(p->sink, "bad-message", "subscribe-answer needs \"sdp\" (the answer)",
                     message);
  }
  if (!p->offer_outstanding) {
    return SendError(p->sink, "no-offer", "there is no subscribe-offer to answer", message);
  }
  auto answer = sdp::ParseRemoteDescription(sdp_it->get<std::string>());
  if (!answer.ok()) {
    return SendError(p->sink, "bad-sdp", std::string(answer.status().message()), message);
  }
  Room* room = FindRoom(p->room_instance);
  WorkerProcess* worker = room ? WorkerOf(*room) : nullptr;
  if (!worker) return;
  p->offer_outstanding = false;
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
  for (auto& slot : p->slots) {
    if (slot.closed || !slot.offered || slot.resumed) continue;
    auto m = std::find_if(answer->media.begin(), answer->media.end(),
                          [&](const sdp::RemoteMedia& m) { return m.mid == slot.mid; });
    if (m == answer->media.end() || m->rejected) {
      // The client refused this track (e.g. cannot decode it): stop sending it.
      slot.closed = true;
      worker->Request(fbs::Method::CONSUMER_CLOSE, slot.consumer_id, {},
                      [](const fbs::Response*) {});
      p->offer_needed = true;
      continue;
    }
    slot.resumed = true;
    worker->Request(fbs::Method::CONSUMER_RESUME, slot.consumer_id, {},
                    [](const fbs::Response*) {});
  }
  if (p->offer_needed) RequestOffer(p);
}

}  // namespace sb::signaling

// The publishing connection: the client offers its tracks, the server produces them on the
// participant's send transport and answers.
#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "signaling/conference.h"
#include "signaling/publish_parameters.h"
#include "signaling/worker_requests.h"

namespace sb::signaling {
namespace {

bool Sends(const sdp::RemoteMedia& m) {
  return !m.rejected && (m.media == "audio" || m.media == "video") &&
         (m.direction == "sendonly" || m.direction == "sendrecv");
}

}  // namespace

void Conference::Publish(Participant* p, const nlohmann::json& message) {
  auto sdp_it = message.find("sdp");
  if (sdp_it == message.end() || !sdp_it->is_string()) {
    return SendError(p->sink, "bad-message", "publish needs \"sdp\" (the offer)", message);
  }
  if (p->publish_busy) {
    return SendError(p->sink, "busy", "the previous publish offer is still being answered",
                     message);
  }
  auto offer = sdp::ParseRemoteDescription(sdp_it->get<std::string>());
  if (!offer.ok()) {
    return SendError(p->sink, "bad-sdp", std::string(offer.status().message()), message);
  }
  auto sources = ParsePublishSources(message, *offer);
  if (!sources.ok()) {
    return SendError(p->sink, "bad-message", std::string(sources.status().message()), message);
  }
  const size_t sending = std::count_if(offer->media.begin(), offer->media.end(), Sends);
  // Data channels are every member's; sending media needs the grant.
  if (!p->can_publish && sending > 0) {
    counters_.auth.Count(AuthFailure::kPublishDenied);
    return SendError(p->sink, "forbidden", "your token does not allow publishing", message);
  }
  if (sending > kMaxPublishedTracks) {
    return SendError(p->sink, "too-many-tracks",
                     absl::StrCat("an offer may send at most ", kMaxPublishedTracks, " tracks"),
                     message);
  }
  WorkerProcess* worker = WorkerOf(*p);
  if (!worker) return SendError(p->sink, "server-error", "the room has no media worker", message);

  p->publish_busy = true;
  auto shared_offer = std::make_shared<sdp::RemoteDescription>(*std::move(offer));
  // New ICE credentials in the client's offer: it restarts ICE (RFC 8445 section 9), and the
  // answer must carry ours, new too.
  const bool ice_restart =
      !p->send.remote_ufrag.empty() && p->send.remote_ufrag != shared_offer->ice_ufrag;
  p->send.remote_ufrag = shared_offer->ice_ufrag;
  if (!ice_restart) return ApplyPublish(p, shared_offer, *sources, message);
  RestartIce(p, &p->send,
             [this, id = p->id, shared_offer, sources = *std::move(sources), message](bool ok) {
               Participant* p = FindParticipant(id);
               if (!p) return;
               if (!ok) {
                 p->publish_busy = false;
                 return SendError(p->sink, "server-error", "ICE restart failed", message);
               }
               ApplyPublish(p, shared_offer, sources, message);
             });
}

void Conference::ApplyPublish(Participant* p,
                              std::shared_ptr<const sdp::RemoteDescription> shared_offer,
                              const absl::flat_hash_map<std::string, TrackSource>& sources,
                              const nlohmann::json& message) {
  const sdp::RemoteDescription& offer = *shared_offer;
  Room* room = FindRoom(p->room_instance);
  WorkerProcess* worker = WorkerOf(*p);
  if (!worker) {
    p->publish_busy = false;
    return SendError(p->sink, "server-error", "the room has no media worker", message);
  }
  if (!p->send.connect_sent) {
    p->send.connect_sent = true;
    worker->Request(fbs::Method::TRANSPORT_CONNECT, p->send.id,
                    ConnectBody(offer.fingerprints, offer.setup),
                    [this, id = p->id](const fbs::Response* response) {
                      if (response->accepted()) return;
                      SB_LOG_WARN("rooms", "connecting {}'s send transport failed: {}", id,
                                  ResponseReason(response));
                      if (Participant* p = FindParticipant(id)) {
                        SendError(p->sink, "server-error",
                                  "media connection refused: " + ResponseReason(response),
                                  nlohmann::json{{"type", "publish"}});
                      }
                    });
  }

  EnableData(p, offer);

  // Tracks the offer no longer sends stop being produced.
  std::vector<std::string> closed;
  for (const auto& producer : p->producers) {
    auto m = std::find_if(offer.media.begin(), offer.media.end(),
                          [&](const sdp::RemoteMedia& m) { return m.mid == producer.mid; });
    if (m == offer.media.end() || !Sends(*m)) closed.push_back(producer.id);
  }
  for (const auto& id : closed) {
    worker->Request(fbs::Method::PRODUCER_CLOSE, id, {}, [](const fbs::Response*) {});
    std::erase_if(p->producers, [&](const ProducerInfo& info) { return info.id == id; });
  }
  room->media->CloseProducers(closed);
  EndProducers(closed);
  if (!closed.empty()) {
    // The others' participant objects say what this one publishes: tell them it stopped.
    Broadcast(*room, {{"type", "participant-updated"}, {"participant", p->ToJson()}}, p->id);
    Announce(*room, *p);
  }

  // New tracks become producers; the answer waits for all of them.
  struct PendingPublish {
    size_t outstanding = 0;
    std::vector<ProducerInfo> added;
  };
  auto pending = std::make_shared<PendingPublish>();
  std::vector<ProducerInfo> to_produce;
  for (const auto& m : offer.media) {
    if (!Sends(m)) continue;
    bool existing = std::any_of(p->producers.begin(), p->producers.end(),
                                [&](const ProducerInfo& info) { return info.mid == m.mid; });
    if (existing) continue;
    auto params = ProducerParametersFor(m);
    if (!params) {
      SB_LOG_INFO("rooms", "{}: no forwardable codec on m-line {}; rejected", p->id, m.mid);
      continue;
    }
    auto source = sources.find(m.mid);
    to_produce.push_back({NewId("pr"), m.mid, m.kind, false, *std::move(params),
                          source == sources.end() ? DefaultSource(m.kind) : source->second});
  }
  auto finish = [this, id = p->id, shared_offer, pending, message] {
    FinishPublish(id, *shared_offer, std::move(pending->added), message);
  };
  if (to_produce.empty()) return finish();
  pending->outstanding = to_produce.size();
  for (auto& info : to_produce) {
    worker->Request(fbs::Method::TRANSPORT_PRODUCE, p->send.id,
                    ProduceBody(info.id, info.kind, info.params),
                    [id = p->id, info, pending, finish](const fbs::Response* response) {
                      if (response->accepted()) {
                        pending->added.push_back(info);
                      } else {
                        SB_LOG_WARN("rooms", "{}: produce of m-line {} refused: {}", id, info.mid,
                                    ResponseReason(response));
                      }
                      if (--pending->outstanding == 0) finish();
                    });
  }
}

void Conference::FinishPublish(const std::string& participant_id,
                               const sdp::RemoteDescription& offer, std::vector<ProducerInfo> added,
                               const nlohmann::json& request) {
  Participant* p = FindParticipant(participant_id);
  if (!p) return;  // Left meanwhile; its transports are closing with everything on them.
  Room* room = FindRoom(p->room_instance);
  if (!room) return;
  p->publish_busy = false;
  for (auto& info : added) p->producers.push_back(info);

  const auto media = PublishAnswerMedia(offer, [&](const std::string& mid) {
    auto producer = std::find_if(p->producers.begin(), p->producers.end(),
                                 [&](const ProducerInfo& info) { return info.mid == mid; });
    return producer == p->producers.end() ? nullptr : &producer->params;
  });
  nlohmann::json answer = {{"type", "publish-answer"},
                           {"sdp", sdp::BuildAnswer(offer, p->send.local, media, p->session_id)}};
  if (auto it = request.find("requestId"); it != request.end()) answer["requestId"] = *it;
  Send(p, answer);

  if (added.empty()) return;
  SB_LOG_INFO("rooms", "{} publishes {} new track(s) in {}", p->id, added.size(), room->name);
  Broadcast(*room, {{"type", "participant-updated"}, {"participant", p->ToJson()}}, p->id);
  Announce(*room, *p);
  for (const auto& id : room->participant_ids) {
    Participant* subscriber = FindParticipant(id);
    if (!subscriber || subscriber == p || !subscriber->ready) continue;
    for (const auto& info : added) Subscribe(subscriber, *p, info);
  }
  RefreshLastN(room);
}

}  // namespace sb::signaling

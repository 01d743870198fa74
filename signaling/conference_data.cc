// Data channels (docs/protocol.md, "Data channels"): every channel a participant opens on its
// publishing connection is a data producer in the worker; the server opens a channel for it on
// every other member's publishing connection (or only the addressee's), labelled as the
// sender's, with the sender's participant id as its protocol.
#include <algorithm>

#include "base/log.h"
#include "signaling/conference.h"
#include "signaling/worker_requests.h"

namespace sb::signaling {

void Conference::EnableData(Participant* p, const sdp::RemoteDescription& offer) {
  auto m = std::find_if(offer.media.begin(), offer.media.end(),
                        [](const sdp::RemoteMedia& m) { return m.data_channel && !m.rejected; });
  if (m == offer.media.end()) return;
  Room* room = FindRoom(p->room_instance);
  WorkerProcess* worker = WorkerOf(*p);
  if (!worker || p->sctp_max_message_size == m->max_message_size) return;
  const bool first = !p->sctp_max_message_size;
  p->sctp_max_message_size = m->max_message_size;
  worker->Request(fbs::Method::TRANSPORT_ENABLE_SCTP, p->send.id,
                  EnableSctpBody(m->max_message_size), [id = p->id](const fbs::Response* r) {
                    if (r->accepted()) return;
                    SB_LOG_WARN("rooms", "{}: data channels refused: {}", id, ResponseReason(r));
                  });
  if (!first || !p->can_subscribe) return;
  // The room's open channels reach the newcomer to data channels.
  for (const auto& id : room->participant_ids) {
    Participant* publisher = FindParticipant(id);
    if (!publisher || publisher == p) continue;
    for (const auto& producer : publisher->data_producers) {
      if (ReceivesData(*p, *publisher, producer)) ConsumeData(p, *publisher, producer);
    }
  }
}

bool Conference::ReceivesData(const Participant& receiver, const Participant& publisher,
                              const DataProducerInfo& producer) {
  return &receiver != &publisher && receiver.ready && receiver.can_subscribe &&
         receiver.sctp_max_message_size && (producer.to.empty() || producer.to == receiver.id);
}

void Conference::ConsumeData(Participant* receiver, const Participant& publisher,
                             const DataProducerInfo& producer) {
  Room* room = FindRoom(receiver->room_instance);
  if (!room) return;
  // On the receiver's router: the producer itself, or its copy piped from another worker.
  room->media->ReachData(producer.id, publisher.id, receiver->id,
                         [this, receiver_id = receiver->id, publisher_id = publisher.id,
                          producer](absl::StatusOr<std::string> reachable_id) {
                           Participant* receiver = FindParticipant(receiver_id);
                           if (!receiver) return;
                           if (!reachable_id.ok()) {
                             ++counters_.data_not_piped;
                             SB_LOG_INFO("rooms", "{}: data channel '{}' from {} not forwarded: {}",
                                         receiver_id, producer.label, publisher_id,
                                         reachable_id.status().ToString());
                             return;
                           }
                           ConsumeDataOn(receiver, publisher_id, producer, *reachable_id);
                         });
}

void Conference::ConsumeDataOn(Participant* receiver, const std::string& publisher_id,
                               const DataProducerInfo& producer, const std::string& reachable_id) {
  WorkerProcess* worker = WorkerOf(*receiver);
  if (!worker) return;
  const std::string consumer_id = NewId("dc");
  receiver->data_consumers[consumer_id] = {producer.id, publisher_id, producer.label};
  worker->Request(fbs::Method::TRANSPORT_CONSUME_DATA, receiver->send.id,
                  ConsumeDataBody(consumer_id, reachable_id, publisher_id),
                  [this, id = receiver->id, consumer_id](const fbs::Response* r) {
                    if (r->accepted()) return;
                    SB_LOG_WARN("rooms", "{}: data consumer {} refused: {}", id, consumer_id,
                                ResponseReason(r));
                    if (Participant* p = FindParticipant(id)) p->data_consumers.erase(consumer_id);
                  });
}

bool Conference::OnDataNotification(const fbs::Notification& notification) {
  const auto* handler = notification.handler_id();
  const std::string id = handler ? handler->str() : "";
  switch (notification.event()) {
    case fbs::Event::DATA_PRODUCER_OPENED: {
      const auto* body = notification.body_as_DataProducerOpened();
      if (!body) return true;
      auto owner = std::find_if(participants_.begin(), participants_.end(),
                                [&](const auto& entry) { return entry.second->send.id == id; });
      if (owner == participants_.end()) {
        // A copy over a pipe between a room's workers or nodes (RoomMedia::ReachData).
        const std::string label = body->label() ? body->label()->str() : "";
        const std::string copy_id = body->data_producer_id()->str();
        for (auto& [instance, room] : rooms_) {
          if (room->media->OnPipeDataProducerOpened(id, label, copy_id)) break;
        }
        return true;
      }
      Participant* p = owner->second.get();
      Room* room = FindRoom(p->room_instance);
      if (!room) return true;
      DataProducerInfo info{body->data_producer_id()->str(),
                            body->label() ? body->label()->str() : "",
                            body->protocol() ? body->protocol()->str() : ""};
      if (p->data_producers.size() >= kMaxDataProducers) {
        ++counters_.data_producers_refused;
        SB_LOG_INFO("rooms", "{}: data channel '{}' not forwarded: {} open already", p->id,
                    info.label, kMaxDataProducers);
        return true;
      }
      ++counters_.data_producers;
      SB_LOG_INFO("rooms", "{} opened data channel '{}' ({})", p->id, info.label,
                  info.to.empty() ? "to the room" : "to " + info.to);
      p->data_producers.push_back(info);
      for (const auto& member : room->participant_ids) {
        Participant* receiver = FindParticipant(member);
        if (receiver && ReceivesData(*receiver, *p, info)) ConsumeData(receiver, *p, info);
      }
      Announce(*room, *p);  // the room's other nodes receive it too
      return true;
    }
    case fbs::Event::DATA_PRODUCER_CLOSED: {
      for (auto& [instance, room] : rooms_) room->media->ForgetDataProducer(id);
      for (auto& [pid, p] : participants_) {
        if (std::erase_if(p->data_producers,
                          [&](const DataProducerInfo& info) { return info.id == id; }) > 0) {
          if (Room* room = FindRoom(p->room_instance)) Announce(*room, *p);
          break;
        }
      }
      return true;
    }
    case fbs::Event::DATA_CONSUMER_CLOSED: {
      const auto* body = notification.body_as_DataConsumerClosed();
      const std::string reason = body && body->reason() ? body->reason()->str() : "";
      for (auto& [pid, p] : participants_) {
        auto it = p->data_consumers.find(id);
        if (it == p->data_consumers.end()) continue;
        if (reason == "receiver-too-slow") {
          ++counters_.data_consumers_closed_slow;
          SB_LOG_INFO("rooms", "{}: data channel '{}' from {} closed: receiver too slow", p->id,
                      it->second.label, it->second.from);
          Send(p.get(), {{"type", "data-channel-closed"},
                         {"from", it->second.from},
                         {"label", it->second.label},
                         {"reason", reason}});
        }
        p->data_consumers.erase(it);
        break;
      }
      return true;
    }
    default:
      return false;
  }
}

}  // namespace sb::signaling

#include "signaling/subscriber_session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sb::signaling {

SubscriberSession::MLine* SubscriberSession::Find(const std::string& mid) {
  auto it =
      std::find_if(mlines_.begin(), mlines_.end(), [&](const MLine& m) { return m.mid == mid; });
  return it == mlines_.end() ? nullptr : &*it;
}

const SubscriberSession::MLine* SubscriberSession::Find(const std::string& mid) const {
  return const_cast<SubscriberSession*>(this)->Find(mid);
}

void SubscriberSession::SetState(MLine& m, State state) {
  m.state = state;
  m.offered_version = 0;
  m.answered_version = 0;
  m.resumed = false;
  dirty_ = true;
}

size_t SubscriberSession::live_count() const {
  return std::count_if(mlines_.begin(), mlines_.end(),
                       [](const MLine& m) { return m.state == State::kLive; });
}

std::string SubscriberSession::ConsumerOn(const std::string& mid) const {
  const MLine* m = Find(mid);
  return m && m->track ? m->track->consumer_id : std::string();
}

std::string SubscriberSession::ConsumerOf(const std::string& producer_id) const {
  const Track* track = TrackOf(producer_id);
  return track ? track->consumer_id : std::string();
}

const SubscriberSession::Track* SubscriberSession::TrackOf(const std::string& producer_id) const {
  for (const MLine& m : mlines_) {
    if (m.track && m.track->producer_id == producer_id) return &*m.track;
  }
  return nullptr;
}

std::optional<std::string> SubscriberSession::ReserveMid(rtp::MediaKind kind) {
  // JSEP section 5.2.2 lets an offerer reuse an m-line whose track ended; the client must
  // have seen it inactive first, or it could take the new track for the old one.
  for (MLine& m : mlines_) {
    if (m.kind == kind && m.state == State::kInactive && m.in_sdp && m.offered_version != 0 &&
        m.answered_version >= m.offered_version) {
      m.state = State::kReserved;  // versions kept: Release puts it back as it was
      ++reservations_;
      return m.mid;
    }
  }
  if (mlines_.size() >= max_mlines_) return std::nullopt;
  MLine m;
  m.mid = absl::StrCat(next_mid_++);
  m.kind = kind;
  m.state = State::kReserved;
  mlines_.push_back(std::move(m));
  ++reservations_;
  return mlines_.back().mid;
}

void SubscriberSession::Attach(const std::string& mid, Track track) {
  MLine* m = Find(mid);
  if (!m || m->state != State::kReserved) return;
  --reservations_;
  track.params.mid = mid;
  m->last_params = track.params;
  m->track = std::move(track);
  SetState(*m, State::kLive);
}

void SubscriberSession::Release(const std::string& mid) {
  MLine* m = Find(mid);
  if (!m || m->state != State::kReserved) return;
  --reservations_;
  if (!m->in_sdp) {
    mlines_.erase(mlines_.begin() + (m - mlines_.data()));
    return;
  }
  m->state = State::kInactive;  // as it was before the reservation
}

bool SubscriberSession::EndProducers(const std::vector<std::string>& producer_ids) {
  bool changed = false;
  for (auto it = mlines_.begin(); it != mlines_.end();) {
    MLine& m = *it;
    if (m.state != State::kLive || std::find(producer_ids.begin(), producer_ids.end(),
                                             m.track->producer_id) == producer_ids.end()) {
      ++it;
      continue;
    }
    changed = true;
    if (!m.in_sdp) {  // never offered: the client never knew it
      it = mlines_.erase(it);
      continue;
    }
    m.track.reset();
    SetState(m, State::kInactive);
    ++it;
  }
  return changed;
}

SubscriberSession::Offer SubscriberSession::CreateOffer() {
  Offer offer;
  offer.version = ++version_;
  for (MLine& m : mlines_) {
    // A new m-line whose consume is still in flight, and every one after it, waits for the
    // next offer: m-lines keep their order across offers.
    if (!m.in_sdp && m.state == State::kReserved) break;
    m.in_sdp = true;
    if (m.offered_version == 0) m.offered_version = offer.version;
    sdp::LocalMedia local;
    local.mid = m.mid;
    local.kind = m.kind;
    if (m.state == State::kLive) {
      local.direction = "sendonly";
      local.rtp = m.track->params;
      local.msid_stream = m.track->publisher_id;
      local.msid_track = m.track->consumer_id;
      offer.streams.push_back(
          {m.mid, m.track->publisher_id, m.track->producer_id, m.kind, m.track->source});
    } else {
      local.direction = "inactive";
      local.rejected = m.state == State::kRejected;
      local.rtp = m.last_params;
      local.rtp.encodings.clear();  // nothing is sent: no ssrcs
    }
    offer.media.push_back(std::move(local));
  }
  outstanding_ = true;
  dirty_ = false;
  return offer;
}

absl::StatusOr<SubscriberSession::AnswerActions> SubscriberSession::AnswerReceived(
    uint64_t offer_id, const sdp::RemoteDescription& answer) {
  if (!outstanding_) return absl::FailedPreconditionError("no subscribe-offer is outstanding");
  if (offer_id != 0 && offer_id != version_) {
    return absl::FailedPreconditionError(
        absl::StrCat("answer to offer ", offer_id, " but offer ", version_, " is outstanding"));
  }
  outstanding_ = false;
  AnswerActions actions;
  for (MLine& m : mlines_) {
    if (!m.in_sdp || m.offered_version == 0 || m.offered_version > version_) continue;
    m.answered_version = version_;
    if (m.state != State::kLive || m.resumed) continue;
    auto rm = std::find_if(answer.media.begin(), answer.media.end(),
                           [&](const sdp::RemoteMedia& r) { return r.mid == m.mid; });
    if (rm == answer.media.end() || rm->rejected) {
      // The client refused the track (say, it cannot decode it): stop sending it. A refused
      // m-line is stopped on the client's side and cannot carry another track.
      actions.close.push_back(m.track->consumer_id);
      m.track.reset();
      SetState(m, State::kRejected);
      continue;
    }
    m.resumed = true;
    actions.resume.push_back(m.track->consumer_id);
  }
  return actions;
}

void SubscriberSession::AnswerFailed() {
  if (!outstanding_) return;
  outstanding_ = false;
  dirty_ = true;
}

}  // namespace sb::signaling

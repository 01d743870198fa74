// The subscribing connection of one participant: its m-lines and the server-offers /
// client-answers state machine (JSEP, RFC 8829, with the server as offerer). Pure logic: the
// conference asks it which mid a new consumer gets, tells it what the worker did, and sends
// the offers it builds; the session never talks to a worker or a socket itself.
//
// M-lines are never removed and never rejected by the server. When a track ends its m-line
// goes `a=inactive` but keeps its port, transport attributes, codecs and its place in the
// BUNDLE group, so the bundle-tag m-line never moves (a rejected tag makes browsers start a
// new ICE/DTLS session) and every stack can apply the offer. Once the client has answered an
// offer in which an m-line is inactive, the next track of the same kind reuses it, mid and
// all: a long meeting's offers stay bounded by the most tracks live at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rtp/rtp_parameters.h"
#include "signaling/sdp/webrtc_sdp.h"
#include "signaling/track_source.h"

namespace sb::signaling {

class SubscriberSession {
 public:
  // A consumer the worker created, to be offered on a reserved m-line.
  struct Track {
    std::string consumer_id;
    std::string producer_id;
    std::string publisher_id;
    rtp::RtpParameters params;                  // the consumer's (mid set by the session)
    TrackSource source = TrackSource::kCamera;  // carried into the offer's streams
  };

  // What `subscribe-offer` carries for one live m-line.
  struct Stream {
    std::string mid;
    std::string publisher_id;
    std::string producer_id;
    rtp::MediaKind kind = rtp::MediaKind::kAudio;
    TrackSource source = TrackSource::kMicrophone;
  };

  struct Offer {
    uint64_t version = 0;  // also the `offerId` of the protocol
    std::vector<sdp::LocalMedia> media;
    std::vector<Stream> streams;
  };

  // What the conference must tell the worker after an answer.
  struct AnswerActions {
    std::vector<std::string> resume;  // consumers the client accepted: start forwarding
    std::vector<std::string> close;   // consumers the client refused
  };

  // `max_mlines`: the most m-lines this connection may have (tracks live at once).
  explicit SubscriberSession(size_t max_mlines) : max_mlines_(max_mlines) {}

  // The mid for a new consumer of `kind`: an inactive, negotiated m-line of that kind when
  // there is one, else a new m-line. Nothing is offered until every reservation is attached
  // or released, so a newcomer's first offer lists all the room's tracks. nullopt: the
  // connection already has max_mlines m-lines.
  std::optional<std::string> ReserveMid(rtp::MediaKind kind);
  // The worker created the consumer for a reserved mid.
  void Attach(const std::string& mid, Track track);
  // The consume failed, or its producer ended meanwhile: the reservation is dropped.
  void Release(const std::string& mid);
  // These producers ended: their m-lines go inactive in the next offer. True if any did.
  bool EndProducers(const std::vector<std::string>& producer_ids);

  // The next offer must go out even if no track changed (it carries new ICE credentials).
  void Renegotiate() { dirty_ = true; }

  // An offer should go out: something changed, none is outstanding, no consume is pending.
  bool ShouldOffer() const {
    return dirty_ && !outstanding_ && reservations_ == 0 && !mlines_.empty();
  }
  // The next offer; it is outstanding until AnswerReceived or AnswerFailed.
  Offer CreateOffer();
  // The client's answer to the outstanding offer. Fails (changing nothing) when no offer is
  // outstanding or the answer is not for it (`offer_id` 0: the outstanding one).
  absl::StatusOr<AnswerActions> AnswerReceived(uint64_t offer_id,
                                               const sdp::RemoteDescription& answer);
  // The outstanding offer will not be answered (the client failed to apply it, its answer
  // was unusable, or it was lost while the client reconnected): the next one replaces it.
  void AnswerFailed();

  bool offer_outstanding() const { return outstanding_; }
  uint64_t outstanding_version() const { return outstanding_ ? version_ : 0; }
  size_t mline_count() const { return mlines_.size(); }
  size_t live_count() const;
  // The consumer on a mid (empty when none is live there).
  std::string ConsumerOn(const std::string& mid) const;
  // The consumer of a producer on this connection (empty when there is none).
  std::string ConsumerOf(const std::string& producer_id) const;
  // The track of a producer on this connection (null when there is none).
  const Track* TrackOf(const std::string& producer_id) const;

 private:
  enum class State {
    kReserved,  // a consume is in flight for it
    kLive,      // carries a track
    kInactive,  // no track; reusable once an answered offer showed it inactive
    kRejected,  // the client refused it: port 0 from now on
  };
  struct MLine {
    std::string mid;
    rtp::MediaKind kind = rtp::MediaKind::kAudio;
    State state = State::kReserved;
    std::optional<Track> track;
    // Codecs and extensions of the last track, so an inactive m-line keeps a codec line.
    rtp::RtpParameters last_params;
    uint64_t offered_version = 0;   // the offer that first carried this state (0: none yet)
    uint64_t answered_version = 0;  // the last answered offer that carried this state
    bool in_sdp = false;            // ever offered (a new m-line reserved is not yet)
    bool resumed = false;
  };

  MLine* Find(const std::string& mid);
  const MLine* Find(const std::string& mid) const;
  void SetState(MLine& m, State state);

  const size_t max_mlines_;
  std::vector<MLine> mlines_;  // in m-line order
  uint64_t next_mid_ = 0;
  uint64_t version_ = 0;
  int reservations_ = 0;
  bool outstanding_ = false;
  bool dirty_ = false;
};

}  // namespace sb::signaling

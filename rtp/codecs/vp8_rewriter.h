// Picture id and TL0PICIDX continuity (RFC 7741 4.2) for a forwarded VP8 stream that switches
// sources: simulcast encodings number their pictures independently, and a receiver reads a
// jump in picture ids as lost frames (and TL0PICIDX gaps as lost base-layer frames). After
// RequestSync(), the next packet's picture continues right after the highest one sent; the
// packets after it keep their source's spacing. The sequence-number and timestamp side of the
// same switch is rtp::StreamRewriter's.
#pragma once

#include <cstdint>

#include "rtp/codecs/vp8.h"

namespace sb::rtp {

class Vp8Rewriter {
 public:
  // What is added to a source's picture id (modulo 2^15) and TL0PICIDX (modulo 2^8) in the
  // current run.
  struct Offsets {
    uint16_t picture_id = 0;
    uint8_t tl0_pic_idx = 0;
  };

  // The next packet (a key frame, where a switch happens) starts a new run.
  void RequestSync() { sync_required_ = true; }
  bool sync_required() const { return sync_required_; }

  // Rewrites the picture id and TL0PICIDX of one packet's payload in place. `d` is the
  // descriptor parsed from those same bytes; fields the descriptor lacks are left alone.
  void Rewrite(const Vp8Descriptor& d, uint8_t* payload);

  // A picture not forwarded (a temporal layer above the receiver's): the pictures after it are
  // numbered one lower, so the receiver sees no missing picture (a VP8 receiver waits for every
  // picture id between a frame and the ones it references). Only the first packet of a picture
  // newer than every one written shifts (true then); before a run's first packet, nothing.
  bool DropPicture(const Vp8Descriptor& d);

  // The offsets of the current run (constant from its first packet to the next sync).
  Offsets offsets() const { return {picture_id_offset_, tl0_offset_}; }
  // Rewrites a payload with a run's offsets, as Rewrite() did when it was first sent, without
  // touching any state: for a retransmission of a packet of that run.
  static void Apply(const Vp8Descriptor& d, Offsets offsets, uint8_t* payload);

 private:
  bool sync_required_ = true;
  bool picture_id_started_ = false;
  bool tl0_started_ = false;
  uint16_t picture_id_offset_ = 0;  // modulo 2^15; a 7-bit field keeps the low 7 bits
  uint8_t tl0_offset_ = 0;
  uint16_t max_picture_id_ = 0;  // highest written, 15 bits
  uint8_t max_tl0_ = 0;
};

}  // namespace sb::rtp

// AV1 dependency-descriptor frame numbers (AV1 RTP specification, appendix A) kept continuous
// for a consumer that switches between simulcast encodings. A receiver that gets the descriptor
// follows its frame_number (unwrapped, 16 bits); each encoding may number its frames on its own
// (Chromium happens to share one counter across its encodings, other senders need not), so
// after a switch the numbers would jump, or go back. After RequestSync() the next packet's
// frame number follows the highest one sent; the packets after it keep their source's
// numbering plus that constant offset until the next sync. Nothing is compacted: frames
// dropped for a temporal layer stay gaps, since a frame's references (fdiffs, chain fdiffs) are
// differences of frame numbers. Like rtp::Vp8Rewriter for VP8 picture ids; the sequence-number
// and timestamp side of the switch is rtp::StreamRewriter's.
//
// Header-only: a few lines of state kept next to the consumer that uses it.
#pragma once

#include <cstdint>

#include "absl/types/span.h"
#include "rtp/codecs/dependency_descriptor.h"
#include "rtp/seq_num.h"

namespace sb::router {

class DdFrameNumberRewriter {
 public:
  // The next packet rewritten (the key frame a switch starts at) starts a new run.
  void RequestSync() { sync_required_ = true; }
  bool sync_required() const { return sync_required_; }

  // Rewrites the frame number of one outgoing packet's descriptor in place (`descriptor`: the
  // extension element's bytes in the copy being sent), starting a run first if one is due: the
  // first run keeps the source's numbers, a later one continues after the highest number sent.
  // False, and nothing changed, when the descriptor is too short to hold the mandatory fields.
  bool Rewrite(absl::Span<uint8_t> descriptor) {
    const auto d = rtp::DependencyDescriptor::ParseMandatory(descriptor);
    if (!d) return false;
    if (sync_required_) {
      sync_required_ = false;
      if (started_) offset_ = static_cast<uint16_t>(highest_ + 1 - d->frame_number);
    }
    const auto out = static_cast<uint16_t>(d->frame_number + offset_);
    if (!started_ || rtp::IsSeqNewer(out, highest_)) highest_ = out;
    started_ = true;
    return rtp::DependencyDescriptor::WriteFrameNumber(descriptor, out);
  }

  // What the current run adds to a source frame number (modulo 2^16).
  uint16_t offset() const { return offset_; }

  // Rewrites a descriptor with a run's offset, as Rewrite() did when the packet was first
  // sent, without touching any state: for a retransmission of a packet of that run.
  static bool Apply(absl::Span<uint8_t> descriptor, uint16_t offset) {
    const auto d = rtp::DependencyDescriptor::ParseMandatory(descriptor);
    return d && rtp::DependencyDescriptor::WriteFrameNumber(
                    descriptor, static_cast<uint16_t>(d->frame_number + offset));
  }

 private:
  bool sync_required_ = true;
  bool started_ = false;
  uint16_t offset_ = 0;
  uint16_t highest_ = 0;  // the highest frame number sent (16-bit serial order)
};

}  // namespace sb::router

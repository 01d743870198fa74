// Which encoding of a simulcast producer a consumer forwards. The target is the highest
// encoding that is live (media within kEncodingActiveWindowMs) and not above the ceiling
// (the smaller of the subscriber's preference and what the bandwidth allocator allows); when
// nothing at or under the ceiling is live, the lowest live one (a publisher that sends only
// its top layer is still seen). A switch happens only at a key frame of the target
// (audio switches at once); until then the current encoding keeps being forwarded.
//
// It only decides: the consumer asks for the key frames it is told are needed and rewrites
// what it is told to forward.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"

namespace sb::router {

class Producer;

class LayerSelector {
 public:
  // A simulcast encoding counts as live while one of its packets arrived within this window.
  // 1 s spans several frame intervals even at the few frames per second a browser lowers a
  // layer to under load, and a subscriber gets the next layer down about a second after a
  // publisher stops sending the top one.
  static constexpr int64_t kEncodingActiveWindowMs = 1000;
  static constexpr size_t kNone = SIZE_MAX;

  LayerSelector(size_t encoding_count, bool video);

  // The encoding being forwarded, and the one wanted (equal unless a switch waits for a key
  // frame); kNone before the first packet.
  size_t current() const { return current_; }
  size_t target() const { return target_; }
  size_t ceiling() const { return ceiling_; }
  // The highest encoding that may be chosen (clamped to the encodings there are).
  void SetCeiling(size_t ceiling);
  // The stream starts again (a resume): the next start is at a key frame of the target, not
  // of whatever was forwarded before.
  void Restart() { current_ = kNone; }

  struct Decision {
    bool forward = false;
    // The target changed to an encoding not being forwarded: ask for its key frame now.
    bool key_frame_needed = false;
    // A packet of target() that is not a key frame, while a switch (or the start) waits for
    // one: ask again if it is long since the last request.
    bool waiting_for_key_frame = false;
    bool changed = false;   // current() changed to this packet's encoding (a start or a switch)
    bool switched = false;  // ... from another one (not the first start)
  };
  // A packet of `encoding`; `is_key_frame` tells whether it starts a key frame, asked only for
  // a packet of the target while a switch waits (a descriptor parse kept off the common path).
  Decision OnPacket(const Producer& producer, size_t encoding,
                    absl::FunctionRef<bool()> is_key_frame, int64_t now_ms);

 private:
  // Re-evaluates the target; true when it changed to something not forwarded.
  bool UpdateTarget(const Producer& producer, int64_t now_ms);

  const size_t encoding_count_;
  const bool video_;
  size_t ceiling_;
  size_t current_ = kNone;
  size_t target_ = kNone;
};

}  // namespace sb::router

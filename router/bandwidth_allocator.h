// Shares what a subscriber's transport may send (the send-side estimate) among its consumers:
// audio first, then video by priority (screen share, active speaker, the rest), each video
// stream first given its lowest live layer, then raised a layer at a time in priority order
// while the next layer fits, never above the subscriber's preference. A video stream whose
// lowest layer does not fit is paused; it resumes when it fits again. Going up needs the new
// layer to fit with kUpHeadroom to spare, so an estimate hovering at a layer's bitrate does
// not flip between two layers; staying at a layer needs it to fit exactly.
//
// Pure: the caller measures the layers' bitrates and applies the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"

namespace sb::router {

class BandwidthAllocator {
 public:
  static constexpr size_t kPaused = SIZE_MAX;
  // An upgrade must leave this share of the new layer's bitrate to spare (a layer's bitrate
  // varies by 10-20 % with motion; the estimate by as much between feedbacks).
  static constexpr double kUpHeadroom = 1.15;

  struct Item {
    bool audio = false;
    // Higher goes first: e.g. 2 screen share, 1 active speaker, 0 the rest.
    int priority = 0;
    // What each layer (lowest first: for video, each spatial layer's temporal layers in turn)
    // costs, bits per second; 0 for one not live.
    absl::InlinedVector<int64_t, 16> layer_bps;
    // The subscriber's ceiling.
    size_t preferred = SIZE_MAX;
    // The layer allocated last time (kPaused when paused), for the headroom rule.
    size_t current = kPaused;
    // False when paused by the subscriber or the publisher: it takes nothing.
    bool enabled = true;
    // False: never paused for bandwidth (it gets its lowest live layer even when that does not
    // fit, and what it costs is taken from the rest).
    bool pausable = true;
  };

  struct Result {
    // Per item, the highest layer allowed, or kPaused. Audio gets its top layer (nothing to
    // decide). A disabled video item gets its lowest live layer at no cost, and one with no
    // live layer yet layer 0: either starts low and the next allocation, with its bitrate
    // measured, raises it.
    std::vector<size_t> layers;
    int64_t allocated_bps = 0;  // what the allocation costs
    // What the items would cost at their preferred layers (more than the estimate: the
    // caller probes the path for more).
    int64_t desired_bps = 0;
  };

  static Result Allocate(int64_t available_bps, absl::Span<const Item> items);
};

}  // namespace sb::router

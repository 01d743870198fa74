#include "router/bandwidth_allocator.h"

#include <algorithm>

namespace sb::router {
namespace {

constexpr size_t kNone = SIZE_MAX;

// The lowest live layer, or kNone.
size_t LowestLive(const BandwidthAllocator::Item& item) {
  for (size_t i = 0; i < item.layer_bps.size(); ++i) {
    if (item.layer_bps[i] > 0) return i;
  }
  return kNone;
}

// The highest layer the item may get: its preference, or, when nothing at or under it is
// live, the lowest live layer (what the layer selector forwards then); kNone when nothing is
// live.
size_t Ceiling(const BandwidthAllocator::Item& item) {
  const size_t lowest = LowestLive(item);
  if (lowest == kNone) return kNone;
  return lowest <= item.preferred ? std::min(item.preferred, item.layer_bps.size() - 1) : lowest;
}

// The highest live layer at or under `ceiling`.
size_t HighestLiveUpTo(const BandwidthAllocator::Item& item, size_t ceiling) {
  for (size_t i = ceiling + 1; i-- > 0;) {
    if (item.layer_bps[i] > 0) return i;
  }
  return kNone;
}

// The next live layer above `layer`, at or under `ceiling`, or kNone.
size_t NextLiveAbove(const BandwidthAllocator::Item& item, size_t layer, size_t ceiling) {
  for (size_t i = layer + 1; i <= ceiling; ++i) {
    if (item.layer_bps[i] > 0) return i;
  }
  return kNone;
}

// What taking `layer` costs against the budget: its bitrate, with headroom above the layer
// the item had.
double Cost(const BandwidthAllocator::Item& item, size_t layer) {
  const double bps = static_cast<double>(item.layer_bps[layer]);
  const bool up = item.current == BandwidthAllocator::kPaused || layer > item.current;
  return up ? bps * BandwidthAllocator::kUpHeadroom : bps;
}

}  // namespace

BandwidthAllocator::Result BandwidthAllocator::Allocate(int64_t available_bps,
                                                        absl::Span<const Item> items) {
  Result result;
  result.layers.assign(items.size(), kPaused);
  double budget = static_cast<double>(available_bps);

  std::vector<size_t> video;
  std::vector<size_t> ceiling(items.size(), kNone);
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    if (item.layer_bps.empty()) continue;
    const size_t top = item.layer_bps.size() - 1;
    if (!item.enabled) {
      // Nothing now; when it is enabled again it starts low, until the next allocation.
      const size_t lowest = LowestLive(item);
      result.layers[i] = item.audio ? top : (lowest == kNone ? 0 : lowest);
      continue;
    }
    ceiling[i] = Ceiling(item);
    if (ceiling[i] == kNone) {
      // Nothing live yet (a new stream, or a publisher that stopped): it starts low, and the
      // next allocation, with its bitrate measured, decides.
      result.layers[i] = item.audio ? top : 0;
      continue;
    }
    const int64_t wanted_bps = item.layer_bps[HighestLiveUpTo(item, ceiling[i])];
    result.desired_bps += wanted_bps;
    if (item.audio) {
      // Audio is never paused for video: a meeting is held on its voices.
      result.layers[i] = top;
      budget -= static_cast<double>(wanted_bps);
      result.allocated_bps += wanted_bps;
      continue;
    }
    video.push_back(i);
  }
  // By priority, then in the caller's order (stable).
  std::stable_sort(video.begin(), video.end(),
                   [&](size_t a, size_t b) { return items[a].priority > items[b].priority; });

  // Everyone's lowest layer first, so that one stream's top layer never costs another its
  // picture.
  std::vector<size_t> growing;
  for (size_t i : video) {
    const Item& item = items[i];
    const size_t lowest = LowestLive(item);
    if (item.pausable && Cost(item, lowest) > budget) continue;  // paused
    budget -= static_cast<double>(item.layer_bps[lowest]);
    result.allocated_bps += item.layer_bps[lowest];
    result.layers[i] = lowest;
    growing.push_back(i);
  }
  // Then one layer up at a time, in priority order, while something still fits.
  bool raised = true;
  while (raised) {
    raised = false;
    for (size_t i : growing) {
      const Item& item = items[i];
      const size_t layer = result.layers[i];
      const size_t next = NextLiveAbove(item, layer, ceiling[i]);
      if (next == kNone) continue;
      const double extra = Cost(item, next) - static_cast<double>(item.layer_bps[layer]);
      if (extra > budget) continue;
      budget -= static_cast<double>(item.layer_bps[next] - item.layer_bps[layer]);
      result.allocated_bps += item.layer_bps[next] - item.layer_bps[layer];
      result.layers[i] = next;
      raised = true;
    }
  }
  return result;
}

}  // namespace sb::router

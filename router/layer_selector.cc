#include "router/layer_selector.h"

#include <algorithm>

#include "router/producer.h"

namespace sb::router {

LayerSelector::LayerSelector(size_t encoding_count, bool video)
    : encoding_count_(encoding_count), video_(video), ceiling_(encoding_count - 1) {}

void LayerSelector::SetCeiling(size_t ceiling) {
  ceiling_ = std::min(ceiling, encoding_count_ - 1);
}

bool LayerSelector::UpdateTarget(const Producer& producer, int64_t now_ms) {
  size_t choice = kNone;
  size_t lowest_live = kNone;
  for (size_t i = encoding_count_; i-- > 0;) {
    if (!producer.live(i, now_ms, kEncodingActiveWindowMs)) continue;
    lowest_live = i;
    if (choice == kNone && i <= ceiling_) choice = i;
  }
  if (choice == kNone) choice = lowest_live;
  // With nothing live there is nothing to switch to: keep the last choice.
  if (choice == kNone || choice == target_) return false;
  target_ = choice;
  return target_ != current_;
}

LayerSelector::Decision LayerSelector::OnPacket(const Producer& producer, size_t encoding,
                                                absl::FunctionRef<bool()> is_key_frame,
                                                int64_t now_ms) {
  Decision decision;
  decision.key_frame_needed = UpdateTarget(producer, now_ms) && video_;
  if (encoding != target_ || target_ == current_) {
    decision.forward = encoding == current_;
    return decision;
  }
  // A packet of the encoding we want to switch to: only its key frame can start it.
  if (video_ && !is_key_frame()) {
    decision.waiting_for_key_frame = true;
    return decision;
  }
  decision.changed = true;
  decision.switched = current_ != kNone;
  current_ = target_;
  decision.forward = true;
  return decision;
}

}  // namespace sb::router

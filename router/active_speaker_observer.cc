#include "router/active_speaker_observer.h"

namespace sb::router {

void ActiveSpeakerObserver::OnAudioLevel(const std::string& producer_id, uint8_t level,
                                         int64_t now_ms) {
  if (level >= kSpeechLevel) {
    // Not speech; the producer is still known (it can become the silent dominant one).
    speakers_.try_emplace(producer_id);
    return;
  }
  Window& window = speakers_[producer_id];
  const int64_t index = now_ms / kBucketMs;
  Bucket& bucket = window[static_cast<size_t>(index % static_cast<int64_t>(kBuckets))];
  if (bucket.index != index) bucket = {index, 0};
  bucket.score += kSpeechLevel - level;
}

void ActiveSpeakerObserver::RemoveProducer(const std::string& producer_id) {
  speakers_.erase(producer_id);
  if (dominant_ == producer_id) dominant_.clear();
}

int64_t ActiveSpeakerObserver::WindowScore(const Window& window, int64_t now_ms) {
  const int64_t newest = now_ms / kBucketMs;
  int64_t score = 0;
  for (const Bucket& bucket : window) {
    if (bucket.index <= newest && bucket.index > newest - static_cast<int64_t>(kBuckets)) {
      score += bucket.score;
    }
  }
  return score;
}

int64_t ActiveSpeakerObserver::Score(const std::string& producer_id, int64_t now_ms) const {
  auto it = speakers_.find(producer_id);
  return it == speakers_.end() ? 0 : WindowScore(it->second, now_ms);
}

std::optional<std::string> ActiveSpeakerObserver::Update(int64_t now_ms) {
  std::string best;
  int64_t best_score = 0;
  for (const auto& [id, window] : speakers_) {
    const int64_t score = WindowScore(window, now_ms);
    // Ties go to the smaller id, so that the choice does not depend on the map's order.
    if (score > best_score || (score == best_score && score > 0 && id < best)) {
      best = id;
      best_score = score;
    }
  }
  if (best_score < kMinScore) best.clear();
  if (best == dominant_) return std::nullopt;
  if (now_ms - last_change_ms_ < kMinHoldMs) return std::nullopt;
  const int64_t current = dominant_.empty() ? 0 : Score(dominant_, now_ms);
  // The current speaker keeps the floor until someone is clearly louder or it falls silent.
  if (!best.empty() && current >= kMinScore &&
      static_cast<double>(best_score) < kSwitchRatio * static_cast<double>(current)) {
    return std::nullopt;
  }
  // Everyone silent: the last speaker stays the one to show.
  if (best.empty()) return std::nullopt;
  dominant_ = best;
  last_change_ms_ = now_ms;
  return dominant_;
}

}  // namespace sb::router

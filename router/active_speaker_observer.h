// Which publisher is speaking, from the audio level every audio packet carries (RFC 6464
// ssrc-audio-level: 0 is the loudest, 127 silence, in -dBov). Each audio producer's speech
// over the last kWindowMs is scored in 100 ms buckets (how far each packet's level is above
// kSpeechLevel, the floor under which a level is room noise); the dominant speaker is the
// highest score above kMinScore. A new speaker takes over only with kSwitchRatio times the
// current one's score, or when the current one has fallen silent, and not within kMinHoldMs
// of the last change: a cough or a "yes" does not move the picture.
//
// Pure: the caller gives the times and asks Update() at its own pace.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace sb::router {

class ActiveSpeakerObserver {
 public:
  static constexpr int64_t kBucketMs = 100;
  static constexpr size_t kBuckets = 15;
  static constexpr int64_t kWindowMs = kBucketMs * kBuckets;
  // Levels above this (quieter than -60 dBov) are background, not speech: a quiet room
  // through a browser's noise suppression reads 80-127, speech 20-50.
  static constexpr uint8_t kSpeechLevel = 60;
  // A score under this is nobody speaking: about two thirds of a second of speech at -30 dBov
  // (Opus sends 50 packets a second).
  static constexpr int64_t kMinScore = 1000;
  static constexpr double kSwitchRatio = 1.5;
  static constexpr int64_t kMinHoldMs = 1000;

  void OnAudioLevel(const std::string& producer_id, uint8_t level, int64_t now_ms);
  void RemoveProducer(const std::string& producer_id);
  // Re-evaluates; the new dominant speaker's producer id when it changed, nullopt when it did
  // not (when everyone falls silent, the last speaker stays the one to show).
  std::optional<std::string> Update(int64_t now_ms);
  const std::string& dominant() const { return dominant_; }
  // The score of a producer over the window ending at `now_ms` (0 if unknown).
  int64_t Score(const std::string& producer_id, int64_t now_ms) const;

 private:
  struct Bucket {
    int64_t index = INT64_MIN;
    int64_t score = 0;
  };
  using Window = std::array<Bucket, kBuckets>;
  static int64_t WindowScore(const Window& window, int64_t now_ms);

  absl::flat_hash_map<std::string, Window> speakers_;
  std::string dominant_;
  int64_t last_change_ms_ = INT64_MIN / 2;
};

}  // namespace sb::router

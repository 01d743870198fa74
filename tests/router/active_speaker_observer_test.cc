// The dominant speaker from audio levels: who speaks, with hysteresis against short sounds.
#include "router/active_speaker_observer.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace sb::router {
namespace {

class ActiveSpeakerObserverTest : public ::testing::Test {
 protected:
  // `ms` of audio at 50 packets a second from each of the given producers at their levels
  // (127: silence), asking Update every 300 ms; the last change seen, if any.
  std::optional<std::string> Run(int64_t ms, uint8_t alice, uint8_t bob) {
    std::optional<std::string> changed;
    for (int64_t end = now_ + ms; now_ < end; now_ += 20) {
      observer_.OnAudioLevel("alice", alice, now_);
      observer_.OnAudioLevel("bob", bob, now_);
      if (now_ % 300 == 0) {
        if (auto c = observer_.Update(now_)) changed = c;
      }
    }
    return changed;
  }

  ActiveSpeakerObserver observer_;
  int64_t now_ = 1'000'000;
};

TEST_F(ActiveSpeakerObserverTest, NobodySpeaksNobodyIsChosen) {
  EXPECT_EQ(Run(3000, 127, 90), std::nullopt);
  EXPECT_EQ(observer_.dominant(), "");
}

TEST_F(ActiveSpeakerObserverTest, TheOneWhoSpeaksIsChosenWithinASecond) {
  EXPECT_EQ(Run(1000, 30, 127), "alice");
  EXPECT_EQ(observer_.dominant(), "alice");
  EXPECT_GT(observer_.Score("alice", now_), ActiveSpeakerObserver::kMinScore);
  EXPECT_EQ(observer_.Score("bob", now_), 0);
}

TEST_F(ActiveSpeakerObserverTest, ACoughDoesNotTakeTheFloor) {
  ASSERT_EQ(Run(2000, 30, 127), "alice");
  // Bob makes a short loud sound while Alice goes on.
  EXPECT_EQ(Run(300, 30, 10), std::nullopt);
  EXPECT_EQ(Run(1500, 30, 127), std::nullopt);
  EXPECT_EQ(observer_.dominant(), "alice");
}

TEST_F(ActiveSpeakerObserverTest, TheNextSpeakerTakesOverWhenTheFirstStops) {
  ASSERT_EQ(Run(2000, 30, 127), "alice");
  EXPECT_EQ(Run(2000, 127, 35), "bob");
  // Everyone silent: the last speaker stays.
  EXPECT_EQ(Run(3000, 127, 127), std::nullopt);
  EXPECT_EQ(observer_.dominant(), "bob");
}

TEST_F(ActiveSpeakerObserverTest, SomeoneClearlyLouderTakesOverWhileTheOtherGoesOn) {
  ASSERT_EQ(Run(2000, 45, 127), "alice");
  // Bob at 15 scores (60-15)/(60-45) = 3 times Alice.
  EXPECT_EQ(Run(2000, 45, 15), "bob");
  // Merely as loud as the current speaker is not enough to switch back.
  EXPECT_EQ(Run(3000, 15, 15), std::nullopt);
  EXPECT_EQ(observer_.dominant(), "bob");
}

TEST_F(ActiveSpeakerObserverTest, ARemovedSpeakerIsForgotten) {
  ASSERT_EQ(Run(2000, 30, 127), "alice");
  observer_.RemoveProducer("alice");
  EXPECT_EQ(observer_.dominant(), "");
  EXPECT_EQ(Run(2000, 127, 30), "bob");
}

}  // namespace
}  // namespace sb::router

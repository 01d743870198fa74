// Round-trip helpers shared by the RTCP packet tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace sb::rtp::testing {

using Bytes = std::vector<uint8_t>;

// Serializes into an exact-size buffer, and checks one byte less is refused.
template <typename T>
Bytes Serialized(const T& pkt) {
  Bytes out(pkt.Size());
  EXPECT_EQ(pkt.Serialize(out.data(), out.size()), out.size());
  EXPECT_EQ(pkt.Serialize(out.data(), out.size() - 1), 0u);
  return out;
}

// Serialize -> parse -> equal struct, serialize again -> same bytes; and every truncation of
// the bytes is rejected by the parser.
template <typename T>
void ExpectRoundTrip(const T& pkt) {
  Bytes bytes = Serialized(pkt);
  EXPECT_EQ(bytes.size() % 4, 0u);
  std::optional<T> parsed = T::Parse(bytes);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(*parsed == pkt);
  EXPECT_EQ(Serialized(*parsed), bytes);
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(T::Parse(absl::MakeConstSpan(bytes.data(), len)).has_value()) << len;
  }
}

// Parses published/hand-built bytes, checks the struct and that serializing gives them back.
template <typename T>
T ExpectParsesAndRebuilds(const Bytes& bytes) {
  std::optional<T> parsed = T::Parse(bytes);
  EXPECT_TRUE(parsed.has_value());
  if (!parsed) {
    return T{};
  }
  EXPECT_EQ(Serialized(*parsed), bytes);
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(T::Parse(absl::MakeConstSpan(bytes.data(), len)).has_value()) << len;
  }
  return *parsed;
}

}  // namespace sb::rtp::testing

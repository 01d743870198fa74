// IPC: the frame decoder over a byte stream (split in two reads), VerifyMessage on each frame
// and on the whole input as one payload, RecoverId on what fails, and on verified messages the
// conversions of the RTP parameters/capabilities they carry. A converted value written back
// with ToFbs and read again must write the same bytes (one conversion reaches a fixed point).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fbs/message_generated.h"
#include "tests/fuzz/fuzz_check.h"
#include "worker/fbs/frame_codec.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace {

namespace fbs = sb::fbs;

template <typename Model>
std::vector<uint8_t> Serialize(const Model& model) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(sb::ipc::ToFbs(fbb, model));
  return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

template <typename Table>
void CheckConversion(const Table* table) {
  if (table == nullptr) return;
  auto model = sb::ipc::FromFbs(table);
  if (!model.ok()) return;
  const std::vector<uint8_t> first = Serialize(*model);
  flatbuffers::Verifier verifier(first.data(), first.size());
  SB_FUZZ_CHECK(verifier.VerifyBuffer<Table>(nullptr));
  auto again = sb::ipc::FromFbs(flatbuffers::GetRoot<Table>(first.data()));
  SB_FUZZ_CHECK(again.ok());
  SB_FUZZ_CHECK(Serialize(*again) == first);
}

void CheckPayload(absl::Span<const uint8_t> payload) {
  auto message = sb::ipc::VerifyMessage(payload);
  if (!message.ok()) {
    (void)sb::ipc::RecoverId(payload, fbs::Body::Request);
    (void)sb::ipc::RecoverId(payload, fbs::Body::Response);
    return;
  }
  const fbs::Message* m = *message;
  if (const fbs::Request* request = m->body_as_Request()) {
    if (request->handler_id()) (void)request->handler_id()->str();
    if (const auto* produce = request->body_as_ProduceRequest()) {
      CheckConversion(produce->rtp_parameters());
    }
    if (const auto* consume = request->body_as_ConsumeRequest()) {
      CheckConversion(consume->rtp_capabilities());
    }
    auto id = sb::ipc::RecoverId(payload, fbs::Body::Request);
    SB_FUZZ_CHECK(id.has_value() && *id == request->id());
  }
  if (const fbs::Response* response = m->body_as_Response()) {
    if (const auto* consume = response->body_as_ConsumeResponse()) {
      CheckConversion(consume->rtp_parameters());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The whole input as one payload, 8-byte aligned as the decoder delivers frames.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size) std::memcpy(aligned.data(), data, size);
  CheckPayload(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(aligned.data()), size));

  // The input as a stream, in two reads split where the first byte says.
  const size_t split = size == 0 ? 0 : data[0] % (size + 1);
  sb::ipc::FrameDecoder decoder;
  size_t frames = 0;
  auto on_frame = [&](absl::Span<const uint8_t> frame) {
    SB_FUZZ_CHECK(reinterpret_cast<uintptr_t>(frame.data()) % 8 == 0);
    SB_FUZZ_CHECK(frame.size() <= sb::ipc::kMaxFrameSize);
    ++frames;
    CheckPayload(frame);
  };
  absl::Status s1 = decoder.Feed(data, split, on_frame);
  absl::Status s2 = decoder.Feed(data + split, size - split, on_frame);
  SB_FUZZ_CHECK(frames * sb::ipc::kFrameHeaderSize <= size);
  if (!s1.ok()) SB_FUZZ_CHECK(!s2.ok() && decoder.broken());
  if (s1.ok() && s2.ok()) SB_FUZZ_CHECK(decoder.buffered() < size + 1);

  // Frames re-encoded with AppendFrame decode to the same payloads.
  std::vector<std::vector<uint8_t>> payloads;
  sb::ipc::FrameDecoder d2;
  (void)d2.Feed(data, size,
                [&](absl::Span<const uint8_t> f) { payloads.emplace_back(f.begin(), f.end()); });
  std::vector<uint8_t> stream;
  for (const auto& p : payloads) sb::ipc::AppendFrame(&stream, p);
  size_t i = 0;
  sb::ipc::FrameDecoder d3;
  absl::Status s3 = d3.Feed(stream.data(), stream.size(), [&](absl::Span<const uint8_t> f) {
    SB_FUZZ_CHECK(i < payloads.size() && payloads[i].size() == f.size() &&
                  std::equal(f.begin(), f.end(), payloads[i].begin()));
    ++i;
  });
  SB_FUZZ_CHECK(s3.ok() && i == payloads.size() && d3.buffered() == 0);
  return 0;
}

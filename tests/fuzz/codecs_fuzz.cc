// Codec payload descriptors: VP8, VP9, H264, AV1 (aggregation header, OBU elements, leb128),
// Opus, the AV1 dependency descriptor extension, and the key-frame dispatch. Descriptors that
// parse are rewritten in place (picture id, TL0PICIDX) and parsed again.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rtp/codecs/av1.h"
#include "rtp/codecs/dependency_descriptor.h"
#include "rtp/codecs/h264.h"
#include "rtp/codecs/keyframe.h"
#include "rtp/codecs/opus.h"
#include "rtp/codecs/vp8.h"
#include "rtp/codecs/vp9.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sb::rtp;

void CheckVp8(std::vector<uint8_t> payload) {
  auto d = Vp8Descriptor::Parse(payload);
  SB_FUZZ_CHECK(IsKeyFrame(VideoCodec::kVp8, payload) == Vp8IsKeyFrame(payload));
  if (!d) return;
  SB_FUZZ_CHECK(d->size > 0 && d->size < payload.size());
  SB_FUZZ_CHECK(d->picture_id_offset < d->size && d->tl0_pic_idx_offset < d->size);
  const uint16_t pid = d->picture_id_15bit ? 0x5A5A : 0x5A;
  SB_FUZZ_CHECK(Vp8SetPictureId(*d, payload.data(), pid) == d->has_picture_id);
  SB_FUZZ_CHECK(Vp8SetTl0PicIdx(*d, payload.data(), 0xA5) == d->has_tl0_pic_idx);
  auto again = Vp8Descriptor::Parse(payload);
  SB_FUZZ_CHECK(again.has_value() && again->size == d->size);
  SB_FUZZ_CHECK(again->has_picture_id == d->has_picture_id &&
                again->picture_id_15bit == d->picture_id_15bit);
  if (d->has_picture_id) SB_FUZZ_CHECK(again->picture_id == pid);
  if (d->has_tl0_pic_idx) SB_FUZZ_CHECK(again->tl0_pic_idx == 0xA5);
  SB_FUZZ_CHECK(again->has_tid == d->has_tid && again->tid == d->tid);
  SB_FUZZ_CHECK(again->IsFrameStart() == d->IsFrameStart());
}

void CheckVp9(std::vector<uint8_t> payload) {
  auto d = Vp9Descriptor::Parse(payload);
  SB_FUZZ_CHECK(IsKeyFrame(VideoCodec::kVp9, payload) == Vp9IsKeyFrame(payload));
  if (!d) return;
  SB_FUZZ_CHECK(d->size > 0 && d->size < payload.size());
  SB_FUZZ_CHECK(d->num_p_diffs <= Vp9Descriptor::kMaxPDiffs);
  SB_FUZZ_CHECK(d->picture_id_offset < d->size && d->tl0_pic_idx_offset < d->size);
  if (d->ss) {
    SB_FUZZ_CHECK(d->ss->num_spatial_layers >= 1 &&
                  d->ss->num_spatial_layers <= Vp9ScalabilityStructure::kMaxSpatialLayers);
    for (const auto& e : d->ss->picture_group) SB_FUZZ_CHECK(e.num_p_diffs <= 3);
  }
  SB_FUZZ_CHECK(Vp9IsKeyFrame(payload) == d->IsKeyFrame());
  const uint16_t pid = d->picture_id_15bit ? 0x1234 : 0x12;
  SB_FUZZ_CHECK(Vp9SetPictureId(*d, payload.data(), pid) == d->has_picture_id);
  SB_FUZZ_CHECK(Vp9SetTl0PicIdx(*d, payload.data(), 0x77) == d->has_tl0_pic_idx);
  auto again = Vp9Descriptor::Parse(payload);
  SB_FUZZ_CHECK(again.has_value() && again->size == d->size);
  if (d->has_picture_id) SB_FUZZ_CHECK(again->picture_id == pid);
  if (d->has_tl0_pic_idx) SB_FUZZ_CHECK(again->tl0_pic_idx == 0x77);
  SB_FUZZ_CHECK(again->spatial_id == d->spatial_id && again->temporal_id == d->temporal_id);
  SB_FUZZ_CHECK(again->ss == d->ss);
}

void CheckAv1(absl::Span<const uint8_t> payload) {
  auto d = Av1Descriptor::Parse(payload);
  size_t elements = 0;
  size_t element_bytes = 0;
  const bool walked = ForEachAv1ObuElement(payload, [&](absl::Span<const uint8_t> e) {
    SB_FUZZ_CHECK(e.data() >= payload.data() &&
                  e.data() + e.size() <= payload.data() + payload.size());
    ++elements;
    element_bytes += e.size();
  });
  if (walked) SB_FUZZ_CHECK(element_bytes < payload.size());
  if (d) {
    SB_FUZZ_CHECK(walked && d->element_count == elements);
    SB_FUZZ_CHECK(!(d->new_coded_video_sequence && d->continuation));
    SB_FUZZ_CHECK(d->obu_count == 0 || d->obu_count == d->element_count);
  }
  SB_FUZZ_CHECK(IsKeyFrame(VideoCodec::kAv1, payload) == Av1IsKeyFrame(payload));

  // leb128: whatever reads back from the payload writes to the same value.
  size_t pos = 0;
  for (int i = 0; i < 8 && pos < payload.size(); ++i) {
    const size_t before = pos;
    auto v = ReadLeb128(payload, pos);
    if (!v) break;
    SB_FUZZ_CHECK(pos > before && pos <= payload.size());
    uint8_t buf[8];
    size_t n = WriteLeb128(*v, buf, sizeof(buf));
    SB_FUZZ_CHECK(n > 0 && n <= 5);
    size_t p2 = 0;
    auto back = ReadLeb128(absl::MakeConstSpan(buf, n), p2);
    SB_FUZZ_CHECK(back == v && p2 == n);
  }
}

void CheckDependencyDescriptor(absl::Span<const uint8_t> data) {
  auto mandatory = DependencyDescriptor::ParseMandatory(data);
  SB_FUZZ_CHECK(mandatory.has_value() == (data.size() >= DependencyDescriptor::kMandatorySize));
  // Two descriptors of one stream: the first may carry the structure the second refers to.
  const size_t half = data.empty() ? 0 : data[0] % (data.size() + 1);
  DependencyDescriptorReader reader;
  for (absl::Span<const uint8_t> part : {data.subspan(0, half), data.subspan(half)}) {
    auto dd = reader.Parse(part);
    if (!dd) continue;
    const DdStructure* s = reader.structure();
    SB_FUZZ_CHECK(s != nullptr);
    SB_FUZZ_CHECK(dd->decode_target_count <= DependencyDescriptor::kMaxDecodeTargets);
    SB_FUZZ_CHECK(dd->fdiff_count <= DependencyDescriptor::kMaxFdiffs);
    SB_FUZZ_CHECK(dd->chain_count <= DependencyDescriptor::kMaxDecodeTargets);
    SB_FUZZ_CHECK(dd->spatial_id <= DdStructure::kMaxSpatialId);
    SB_FUZZ_CHECK(dd->temporal_id <= DdStructure::kMaxTemporalId);
    SB_FUZZ_CHECK(s->templates.size() <= DdStructure::kMaxTemplates);
    SB_FUZZ_CHECK(s->decode_target_count >= 1 &&
                  s->decode_target_count <= DependencyDescriptor::kMaxDecodeTargets);
    SB_FUZZ_CHECK(s->chain_count <= s->decode_target_count);
    for (const DdFrameTemplate& t : s->templates) {
      SB_FUZZ_CHECK(t.dtis.size() == s->decode_target_count);
      SB_FUZZ_CHECK(t.chain_fdiffs.size() == s->chain_count);
    }
    auto m = DependencyDescriptor::ParseMandatory(part);
    SB_FUZZ_CHECK(m.has_value() && m->frame_number == dd->frame_number &&
                  m->template_id == dd->template_id);
    // The same bytes parse the same way against the structure now known.
    auto again = DependencyDescriptor::Parse(part, s);
    SB_FUZZ_CHECK(again.has_value() && again->spatial_id == dd->spatial_id &&
                  again->temporal_id == dd->temporal_id && again->dtis == dd->dtis);
  }
}

void CheckOpus(absl::Span<const uint8_t> payload) {
  auto toc = OpusToc::Parse(payload);
  SB_FUZZ_CHECK(toc.has_value() == !payload.empty());
  if (toc) {
    SB_FUZZ_CHECK(toc->config < 32 && toc->frame_count_code < 4);
    const uint32_t us = toc->FrameDurationUs();
    SB_FUZZ_CHECK(us >= 2500 && us <= 60000);
    (void)toc->mode();
  }
  if (auto n = OpusFrameCount(payload)) SB_FUZZ_CHECK(*n >= 1 && *n <= 63);
  (void)OpusIsDtx(payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> buf(data, data + size);  // exact size for ASan
  const absl::Span<const uint8_t> payload(buf);
  CheckVp8(buf);
  CheckVp9(buf);
  CheckAv1(payload);
  CheckOpus(payload);
  CheckDependencyDescriptor(payload);
  (void)H264IsKeyFrame(payload);
  SB_FUZZ_CHECK(IsKeyFrame(VideoCodec::kH264, payload) == H264IsKeyFrame(payload));
  SB_FUZZ_CHECK(IsKeyFrame("video/VP8", payload) == Vp8IsKeyFrame(payload));
  SB_FUZZ_CHECK(IsKeyFrame("video/h264", payload) == H264IsKeyFrame(payload));
  SB_FUZZ_CHECK(!IsKeyFrame(VideoCodec::kOther, payload));
  (void)VideoCodecFromMime(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}

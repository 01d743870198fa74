// AV1 dependency descriptor (AV1 RTP specification appendix A), from hand-built bit strings.
#include "rtp/codecs/dependency_descriptor.h"

#include <gtest/gtest.h>

#include <vector>

#include "rtp/bit_reader.h"
#include "rtp/codecs/video_layers.h"
#include "tests/bit_writer.h"

namespace sb::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

using sb::testing::BitWriter;

void Mandatory(BitWriter& w, bool sof, bool eof, uint8_t template_id, uint16_t frame_number) {
  w.Bits(sof, 1).Bits(eof, 1).Bits(template_id, 6).Bits(frame_number, 16);
}

// L1T3 with three decode targets: templates (S0,T0) (S0,T0) (S0,T1) (S0,T2), one chain, a
// 640x360 render resolution. template_id_offset = `offset`.
void L1T3Structure(BitWriter& w, uint8_t offset) {
  w.Bits(offset, 6).Bits(2, 5);                   // template_id_offset, dtis_cnt_minus_one
  w.Bits(0, 2).Bits(1, 2).Bits(1, 2).Bits(3, 2);  // next_layer_idc: same, +T, +T, end
  w.Bits(0b101010, 6).Bits(0b010101, 6);          // template_dti: S S S, D D D
  w.Bits(0b001010, 6).Bits(0b000001, 6);          // - S S, - - D
  w.Bits(0, 1);                                   // template 0: no fdiffs
  w.Bits(1, 1).Bits(3, 4).Bits(0, 1);             // template 1: fdiff 4
  w.Bits(1, 1).Bits(1, 4).Bits(0, 1);             // template 2: fdiff 2
  w.Bits(1, 1).Bits(0, 4).Bits(1, 1).Bits(2, 4).Bits(0, 1);  // template 3: fdiffs 1, 3
  // chains_cnt = ns(4) = 1: w = 3, m = 4, v = f(2) = 1. decode_target_protected_by = ns(1)
  // takes no bits. template_chain_fdiff: 0, 4, 2, 1.
  w.Bits(1, 2);
  w.Bits(0, 4).Bits(4, 4).Bits(2, 4).Bits(1, 4);
  w.Bits(1, 1).Bits(639, 16).Bits(359, 16);  // resolutions_present_flag, width/height - 1
}

TEST(BitReaderTest, ReadsAndStopsAtEnd) {
  const Bytes b = {0xA5, 0x0F};
  BitReader r(b);
  EXPECT_EQ(r.ReadBits(3), 0b101u);
  EXPECT_EQ(r.ReadBits(9), 0b001010000u);
  EXPECT_EQ(r.RemainingBits(), 4u);
  EXPECT_EQ(r.ReadBits(5), 0u);  // past the end
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.ReadBits(1), 0u);  // stays failed
  const Bytes ns_bytes = {0b01100000};
  BitReader ns(ns_bytes);
  // ns(5): w = 3, m = 3; v = f(2) = 1 < 3 -> 1; then v = f(2) = 2 >= 3? no -> 2.
  EXPECT_EQ(ns.ReadNonSymmetric(5), 1u);
  EXPECT_EQ(ns.ReadNonSymmetric(5), 2u);
  const Bytes ns2_bytes = {0b11100000};
  BitReader ns2(ns2_bytes);
  // v = 3 >= m = 3: (3 << 1) - 3 + extra bit 1 = 4.
  EXPECT_EQ(ns2.ReadNonSymmetric(5), 4u);
  EXPECT_EQ(ns2.ReadNonSymmetric(1), 0u);
  EXPECT_TRUE(ns2.ok());
}

TEST(DependencyDescriptorTest, MandatoryFieldsOnly) {
  BitWriter w;
  Mandatory(w, true, false, 5, 0xBEEF);
  std::optional<DependencyDescriptor> d = DependencyDescriptor::ParseMandatory(w.bytes());
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->start_of_frame);
  EXPECT_FALSE(d->end_of_frame);
  EXPECT_EQ(d->template_id, 5);
  EXPECT_EQ(d->frame_number, 0xBEEF);
  // Without a structure the full parse cannot tell the layers.
  EXPECT_FALSE(DependencyDescriptor::Parse(w.bytes(), nullptr));
  EXPECT_FALSE(DependencyDescriptor::ParseMandatory(Bytes{0x80, 0x00}));
}

TEST(DependencyDescriptorTest, StructureThenTemplateReferences) {
  BitWriter w;
  Mandatory(w, true, true, 0, 100);
  w.Bits(1, 1).Bits(0, 1).Bits(0, 1).Bits(0, 1).Bits(0, 1);  // structure present, no custom
  L1T3Structure(w, 0);
  const Bytes key = w.bytes();

  DependencyDescriptorReader reader;
  std::optional<DependencyDescriptor> d = reader.Parse(key);
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->attached_structure);
  const DdStructure& s = *d->attached_structure;
  EXPECT_EQ(s.decode_target_count, 3);
  EXPECT_EQ(s.chain_count, 1);
  EXPECT_EQ(s.decode_target_protected_by, (std::vector<uint8_t>{0, 0, 0}));
  ASSERT_EQ(s.templates.size(), 4u);
  EXPECT_EQ(s.templates[2].temporal_id, 1);
  EXPECT_EQ(s.templates[3].temporal_id, 2);
  EXPECT_EQ(s.templates[3].fdiffs, (std::vector<uint16_t>{1, 3}));
  EXPECT_EQ(s.templates[1].dtis,
            (std::vector<Dti>{Dti::kDiscardable, Dti::kDiscardable, Dti::kDiscardable}));
  EXPECT_EQ(s.templates[2].dtis, (std::vector<Dti>{Dti::kNotPresent, Dti::kSwitch, Dti::kSwitch}));
  EXPECT_EQ(s.templates[1].chain_fdiffs, (std::vector<uint8_t>{4}));
  EXPECT_EQ(s.resolutions, (std::vector<DdRenderResolution>{{640, 360}}));
  EXPECT_EQ(d->spatial_id, 0);
  EXPECT_EQ(d->temporal_id, 0);
  EXPECT_EQ(d->fdiff_count, 0);
  EXPECT_EQ(d->active_decode_targets_bitmask, 0b111u);
  EXPECT_EQ(d->dtis[0], Dti::kSwitch);
  ASSERT_NE(reader.structure(), nullptr);

  // A later 3-byte descriptor names template 3: temporal layer 2, two referred frames.
  BitWriter w2;
  Mandatory(w2, false, true, 3, 103);
  d = reader.Parse(w2.bytes());
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->attached_structure);
  EXPECT_EQ(d->temporal_id, 2);
  EXPECT_EQ(d->frame_number, 103);
  EXPECT_EQ(d->fdiff_count, 2);
  EXPECT_EQ(d->fdiffs[1], 3);
  EXPECT_EQ(d->chain_fdiffs[0], 1);
  EXPECT_EQ(d->dtis[2], Dti::kDiscardable);
  EXPECT_FALSE(d->active_decode_targets_bitmask);
  // Template 4 is outside the structure.
  BitWriter w3;
  Mandatory(w3, true, true, 4, 104);
  EXPECT_FALSE(reader.Parse(w3.bytes()));

  // Every truncation of the structure-carrying descriptor is rejected (a fresh reader has no
  // structure to fall back on).
  for (size_t len = 0; len < key.size(); ++len) {
    EXPECT_FALSE(DependencyDescriptor::Parse(absl::MakeConstSpan(key.data(), len), nullptr)) << len;
  }
}

TEST(DependencyDescriptorTest, CustomFieldsAndActiveTargets) {
  BitWriter sw;
  Mandatory(sw, true, true, 0, 1);
  sw.Bits(0b10000, 5);
  L1T3Structure(sw, 0);
  DependencyDescriptorReader reader;
  ASSERT_TRUE(reader.Parse(sw.bytes()));

  BitWriter w;
  Mandatory(w, true, false, 2, 7);
  w.Bits(0, 1).Bits(1, 1).Bits(1, 1).Bits(1, 1).Bits(1, 1);  // active + custom dtis/fdiffs/chains
  w.Bits(0b011, 3);                                          // active_decode_targets_bitmask
  w.Bits(0b110100, 6);                                       // frame_dti: R D 0
  w.Bits(1, 2).Bits(5, 4);                                   // fdiff 6 in 4 bits
  w.Bits(3, 2).Bits(0x3FF, 12);                              // fdiff 1024 in 12 bits
  w.Bits(0, 2);                                              // no more
  w.Bits(9, 8);                                              // frame_chain_fdiff
  std::optional<DependencyDescriptor> d = reader.Parse(w.bytes());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->temporal_id, 1);
  EXPECT_EQ(d->active_decode_targets_bitmask, 0b011u);
  EXPECT_EQ(d->dtis[0], Dti::kRequired);
  EXPECT_EQ(d->dtis[1], Dti::kDiscardable);
  EXPECT_EQ(d->dtis[2], Dti::kNotPresent);
  ASSERT_EQ(d->fdiff_count, 2);
  EXPECT_EQ(d->fdiffs[0], 6);
  EXPECT_EQ(d->fdiffs[1], 1024);
  EXPECT_EQ(d->chain_fdiffs[0], 9);
  // Active decode targets without any structure known cannot be read.
  EXPECT_FALSE(DependencyDescriptor::Parse(w.bytes(), nullptr));
  // Cut before the chain fdiff.
  Bytes cut = w.bytes();
  cut.pop_back();
  EXPECT_FALSE(reader.Parse(cut));
}

TEST(DependencyDescriptorTest, SpatialLayersAndTemplateIdOffset) {
  // L2T2 with offset 62: template ids 62, 63, 0, 1 (wrapping modulo 64).
  BitWriter w;
  Mandatory(w, true, true, 62, 1);
  w.Bits(0b10000, 5);
  w.Bits(62, 6).Bits(0, 5);                       // one decode target
  w.Bits(1, 2).Bits(2, 2).Bits(1, 2).Bits(3, 2);  // (0,0) (0,1) (1,0) (1,1)
  w.Bits(0b11111111, 8);                          // dtis: S for each template
  w.Bits(0, 4);                                   // no fdiffs
  w.Bits(0, 1);                                   // chains_cnt = ns(2) = 0 (w = 2, m = 2, f(1))
  w.Bits(0, 1);                                   // no resolutions
  DependencyDescriptorReader reader;
  std::optional<DependencyDescriptor> d = reader.Parse(w.bytes());
  ASSERT_TRUE(d);
  const DdStructure* s = reader.structure();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->MaxSpatialId(), 1);
  EXPECT_EQ(s->chain_count, 0);
  ASSERT_NE(s->FindTemplate(0), nullptr);
  EXPECT_EQ(s->FindTemplate(0)->spatial_id, 1);
  EXPECT_EQ(s->FindTemplate(0)->temporal_id, 0);
  EXPECT_EQ(s->FindTemplate(1)->temporal_id, 1);
  EXPECT_EQ(s->FindTemplate(63)->temporal_id, 1);
  EXPECT_EQ(s->FindTemplate(2), nullptr);
  EXPECT_EQ(s->FindTemplate(61), nullptr);
  BitWriter w2;
  Mandatory(w2, true, false, 1, 2);
  d = reader.Parse(w2.bytes());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->spatial_id, 1);
  EXPECT_EQ(d->temporal_id, 1);
}

TEST(DependencyDescriptorTest, SmallestStructureKnownBytes) {
  // L1T1: sof eof template 0 frame 1 | structure present | offset 0, one decode target |
  // next_layer_idc 3 | dti S | no fdiffs | chains_cnt ns(2) = 1 | chain fdiff 0 | no resolutions.
  const Bytes b = {0xC0, 0x00, 0x01, 0x80, 0x00, 0xE4, 0x00};
  std::optional<DependencyDescriptor> d = DependencyDescriptor::Parse(b, nullptr);
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->attached_structure);
  EXPECT_EQ(d->attached_structure->templates.size(), 1u);
  EXPECT_EQ(d->attached_structure->chain_count, 1);
  EXPECT_EQ(d->dtis[0], Dti::kSwitch);
  EXPECT_EQ(d->frame_number, 1);
  EXPECT_EQ(d->active_decode_targets_bitmask, 1u);
}

TEST(DependencyDescriptorTest, RejectsTooManyLayers) {
  // Five spatial layers (ids 0..4) exceed MAX_SPATIAL_ID.
  BitWriter w;
  Mandatory(w, true, true, 0, 1);
  w.Bits(0b10000, 5);
  w.Bits(0, 6).Bits(0, 5);
  for (int i = 0; i < 4; ++i) {
    w.Bits(2, 2);
  }
  w.Bits(3, 2);
  w.Bits(0, 5 * 2 + 5 + 1 + 1);
  EXPECT_FALSE(DependencyDescriptor::Parse(w.bytes(), nullptr));
  // More than 64 templates.
  BitWriter many;
  Mandatory(many, true, true, 0, 1);
  many.Bits(0b10000, 5);
  many.Bits(0, 6).Bits(0, 5);
  for (int i = 0; i < 70; ++i) {
    many.Bits(0, 2);
  }
  many.Bits(3, 2);
  many.Bits(0, 70 * 3 + 2);
  EXPECT_FALSE(DependencyDescriptor::Parse(many.bytes(), nullptr));
}

// The layers a forwarder reads from an AV1 packet come from the descriptor's template: the
// structure on the key frame, then 3-byte descriptors naming templates.
// A forwarder's rewrite of the frame number (a simulcast switch): parse -> rewrite -> parse
// gives the same descriptor with the new number, and only bytes 1-2 change.
TEST(DependencyDescriptorTest, WriteFrameNumberKeepsEverythingElse) {
  BitWriter w;
  Mandatory(w, true, false, 0, 0x1234);
  w.Bits(1, 1).Bits(0, 1).Bits(0, 1).Bits(0, 1).Bits(0, 1);  // structure present, no custom
  L1T3Structure(w, 0);
  const Bytes key = w.bytes();
  BitWriter w2;
  Mandatory(w2, true, true, 3, 0x1237);
  w2.Bits(0, 1).Bits(0, 1).Bits(0, 1).Bits(1, 1).Bits(0, 1);  // custom fdiffs
  w2.Bits(1, 2).Bits(2, 4).Bits(0, 2);                        // fdiff 3 (4 bits), end
  const Bytes delta = w2.bytes();

  for (uint16_t number : {uint16_t{0}, uint16_t{0x00FF}, uint16_t{0xFF00}, uint16_t{65535}}) {
    for (const bool is_key : {true, false}) {
      const Bytes& original = is_key ? key : delta;
      DependencyDescriptorReader reader;
      std::optional<DependencyDescriptor> before = reader.Parse(key);
      ASSERT_TRUE(before);
      if (!is_key) before = reader.Parse(delta);
      ASSERT_TRUE(before);

      Bytes rewritten = original;
      ASSERT_TRUE(DependencyDescriptor::WriteFrameNumber(absl::MakeSpan(rewritten), number));
      ASSERT_EQ(rewritten.size(), original.size());
      for (size_t i = 0; i < original.size(); ++i) {
        if (i != 1 && i != 2) EXPECT_EQ(rewritten[i], original[i]) << "byte " << i;
      }
      DependencyDescriptorReader reader2;
      ASSERT_TRUE(reader2.Parse(key));
      std::optional<DependencyDescriptor> after = reader2.Parse(rewritten);
      ASSERT_TRUE(after);
      EXPECT_EQ(after->frame_number, number);
      EXPECT_EQ(after->start_of_frame, before->start_of_frame);
      EXPECT_EQ(after->end_of_frame, before->end_of_frame);
      EXPECT_EQ(after->template_id, before->template_id);
      EXPECT_EQ(after->temporal_id, before->temporal_id);
      EXPECT_EQ(after->fdiff_count, before->fdiff_count);
      EXPECT_EQ(after->fdiffs, before->fdiffs);
      EXPECT_EQ(after->chain_fdiffs, before->chain_fdiffs);
      EXPECT_EQ(after->attached_structure, before->attached_structure);
    }
  }
  // Shorter than the mandatory fields: nothing written.
  Bytes short_one = {0xC0, 0x12};
  EXPECT_FALSE(DependencyDescriptor::WriteFrameNumber(absl::MakeSpan(short_one), 7));
  EXPECT_EQ(short_one, (Bytes{0xC0, 0x12}));
  EXPECT_FALSE(DependencyDescriptor::WriteFrameNumber(absl::Span<uint8_t>(), 7));
}

TEST(DependencyDescriptorTest, HasStructure) {
  BitWriter w;
  Mandatory(w, true, false, 0, 1);
  w.Bits(1, 1).Bits(0, 4);
  L1T3Structure(w, 0);
  EXPECT_TRUE(DependencyDescriptor::HasStructure(w.bytes()));
  BitWriter mandatory;
  Mandatory(mandatory, true, true, 1, 2);
  EXPECT_FALSE(DependencyDescriptor::HasStructure(mandatory.bytes()));
  // Extended fields without a structure (custom fdiffs only).
  BitWriter custom;
  Mandatory(custom, true, true, 1, 2);
  custom.Bits(0b00010, 5).Bits(1, 2).Bits(0, 4).Bits(0, 2);
  EXPECT_FALSE(DependencyDescriptor::HasStructure(custom.bytes()));
  EXPECT_FALSE(DependencyDescriptor::HasStructure({}));
}

TEST(VideoLayerReaderTest, Av1LayersFromTheDependencyDescriptor) {
  BitWriter w;
  Mandatory(w, true, true, 0, 100);
  w.Bits(1, 1).Bits(0, 1).Bits(0, 1).Bits(0, 1).Bits(0, 1);
  L1T3Structure(w, 0);
  // An AV1 aggregation header with N = 1 (a new coded video sequence) and one OBU element.
  const Bytes key_payload = {0x18, 0x0A, 0x0B};
  const Bytes delta_payload = {0x10, 0x32, 0x00};

  VideoLayerReader reader(VideoCodec::kAv1);
  VideoLayers layers = reader.Read(key_payload, w.bytes());
  EXPECT_TRUE(layers.key_frame);
  EXPECT_EQ(layers.temporal, 0);
  EXPECT_TRUE(layers.start_of_frame);
  EXPECT_TRUE(layers.end_of_frame);
  EXPECT_TRUE(layers.switching_point);

  BitWriter w2;
  Mandatory(w2, true, false, 3, 101);
  layers = reader.Read(delta_payload, w2.bytes());
  EXPECT_FALSE(layers.key_frame);
  EXPECT_EQ(layers.temporal, 2);
  EXPECT_TRUE(layers.start_of_frame);
  EXPECT_FALSE(layers.end_of_frame);
  EXPECT_FALSE(layers.switching_point);
  EXPECT_EQ(reader.malformed(), 0u);

  // A template the structure does not have: counted, read as the base layer but no switching
  // point.
  BitWriter w3;
  Mandatory(w3, true, true, 9, 102);
  layers = reader.Read(delta_payload, w3.bytes());
  EXPECT_EQ(reader.malformed(), 1u);
  EXPECT_EQ(layers.temporal, 0);
  EXPECT_FALSE(layers.switching_point);
}

}  // namespace
}  // namespace sb::rtp

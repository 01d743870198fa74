#include "router/bandwidth_controller.h"

#include <algorithm>
#include <vector>

#include "router/bandwidth_allocator.h"
#include "router/layer_selector.h"
#include "router/producer.h"

namespace sb::router {
namespace {

int64_t NowUs() { return static_cast<int64_t>(uv_hrtime() / 1000); }

// The size a probe packet is planned with before the first one shows the real size: a video
// packet as browsers packetize (about 1200 bytes) plus the RTX header.
constexpr int64_t kPlannedProbePacketBytes = 1200;

// The estimate or the allocation moved by more than this share since last reported.
constexpr double kReportChange = 0.1;

// What the allocator is given before there is an estimate: no limit.
constexpr int64_t kUnlimitedBps = INT64_MAX / 4;

// A video stream's layers as the allocator sees them: spatial * kTemporal + temporal.
constexpr size_t kTemporal = Producer::kMaxTemporalLayers;

bool Moved(int64_t now, int64_t before) {
  const double diff = static_cast<double>(now > before ? now - before : before - now);
  return diff > kReportChange * static_cast<double>(std::max<int64_t>(before, 1));
}

}  // namespace

BandwidthController::BandwidthController(uv_loop_t* loop, const ConsumerMap& consumers,
                                         Listener* listener)
    : loop_(loop), consumers_(consumers), listener_(listener) {
  allocation_timer_ = std::make_unique<UvTimer>(loop, [this] { Allocate(); });
  allocation_timer_->Start(kAllocationIntervalMs, kAllocationIntervalMs);
  probe_timer_ = std::make_unique<UvTimer>(loop, [this] { SendProbePackets(); });
}

BandwidthController::~BandwidthController() = default;

uint16_t BandwidthController::AllocateSequenceNumber() {
  pending_seq_ = next_seq_++;
  return *pending_seq_;
}

void BandwidthController::OnPacketSent(size_t len) {
  if (!pending_seq_) return;
  if (!first_sent_ms_) first_sent_ms_ = static_cast<int64_t>(uv_now(loop_));
  bwe_.OnPacketSent(*pending_seq_, NowUs(), len, sending_cluster_);
  pending_seq_.reset();
  last_sent_len_ = len;
}

void BandwidthController::OnFeedback(const rtp::TransportFeedback& feedback) {
  bwe_.OnFeedback(feedback, NowUs());
  if (!first_feedback_ms_) first_feedback_ms_ = static_cast<int64_t>(uv_now(loop_));
  // A link that narrowed is answered at once, not at the next allocation.
  if (static_cast<double>(bwe_.target_bps()) < 0.85 * static_cast<double>(allocated_bps_)) {
    Allocate();
  }
}

void BandwidthController::Allocate() {
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  ++counters_.allocations;
  // In a fixed order (by id), so that streams of equal priority take turns the same way
  // every time.
  std::vector<Consumer*> consumers;
  consumers.reserve(consumers_.size());
  for (const auto& [id, consumer] : consumers_) consumers.push_back(consumer.get());
  std::sort(consumers.begin(), consumers.end(),
            [](const Consumer* a, const Consumer* b) { return a->id() < b->id(); });

  const bool started = first_feedback_ms_ && now_ms - *first_feedback_ms_ >= kStartupMs;
  std::vector<BandwidthAllocator::Item> items(consumers.size());
  for (size_t i = 0; i < consumers.size(); ++i) {
    const Consumer* consumer = consumers[i];
    const Producer* producer = listener_->ProducerOf(consumer);
    if (producer == nullptr) continue;  // no layers: nothing to decide
    BandwidthAllocator::Item& item = items[i];
    item.audio = consumer->kind() == rtp::MediaKind::kAudio;
    item.priority = consumer->priority() + producer->priority();
    if (item.audio) {
      const bool live = producer->live(0, now_ms, LayerSelector::kEncodingActiveWindowMs);
      item.layer_bps.push_back(live ? std::max<int64_t>(1, producer->bitrate_bps(0, now_ms)) : 0);
    } else {
      // Spatial layers lowest first, each with its temporal layers lowest first: what the
      // allocator raises one step at a time. A spatial layer above the lowest is not a step at
      // its base temporal layer alone when it has more (7.5 fps of L1T3): the next size up
      // comes at 15 fps or more, and a link too narrow for that keeps the smaller picture at
      // full frame rate; only the lowest size goes down to its base layer before a pause.
      for (size_t s = 0; s < producer->spatial_layer_count(); ++s) {
        const bool temporal_layers =
            producer->layer_live(s, 1, now_ms, LayerSelector::kEncodingActiveWindowMs);
        for (size_t t = 0; t < kTemporal; ++t) {
          const bool live =
              producer->layer_live(s, t, now_ms, LayerSelector::kEncodingActiveWindowMs) &&
              !(s > 0 && t == 0 && temporal_layers);
          item.layer_bps.push_back(
              live ? std::max<int64_t>(1, producer->layer_bitrate_bps(s, t, now_ms)) : 0);
        }
      }
      item.preferred = consumer->preferred_layer() * kTemporal + (kTemporal - 1);
      const size_t current_spatial = consumer->current_spatial_layer();
      const size_t current =
          current_spatial == Consumer::kNoEncoding
              ? BandwidthAllocator::kPaused
              : current_spatial * kTemporal +
                    std::min<size_t>(consumer->current_temporal_layer(), kTemporal - 1);
      const size_t allocated =
          consumer->allocated_layer() * kTemporal +
          std::min<size_t>(consumer->allocated_temporal_layer(), kTemporal - 1);
      item.current =
          consumer->bandwidth_paused() ? BandwidthAllocator::kPaused : std::min(allocated, current);
    }
    item.enabled =
        !consumer->paused() && !consumer->producer_paused() && !consumer->subscriber_paused();
    item.pausable = (started && !ramping_) || producer->encoding_count() > 1;
  }
  const bool no_feedback =
      !first_feedback_ms_ && first_sent_ms_ && now_ms - *first_sent_ms_ >= kNoFeedbackMs;
  const int64_t available = no_feedback ? kUnlimitedBps : bwe_.target_bps();
  const auto result = BandwidthAllocator::Allocate(available, items);
  for (size_t i = 0; i < consumers.size(); ++i) {
    if (items[i].audio || items[i].layer_bps.empty()) continue;
    const size_t layer = result.layers[i];
    if (layer == BandwidthAllocator::kPaused) {
      consumers[i]->SetAllocatedLayer(Consumer::kNoEncoding);
    } else {
      consumers[i]->SetAllocatedLayer(layer / kTemporal, static_cast<uint8_t>(layer % kTemporal));
    }
  }
  allocated_bps_ = result.allocated_bps;
  desired_bps_ = result.desired_bps;
  if (Moved(bwe_.target_bps(), reported_estimate_bps_) ||
      Moved(allocated_bps_, reported_allocated_bps_)) {
    reported_estimate_bps_ = bwe_.target_bps();
    reported_allocated_bps_ = allocated_bps_;
    listener_->OnBandwidthChanged();
  }
  MaybeProbe(now_ms);
}

void BandwidthController::MaybeProbe(int64_t now_ms) {
  // Without feedback a probe measures nothing.
  if (probe_.cluster >= 0 || !first_feedback_ms_) return;
  const int64_t estimate = bwe_.target_bps();
  // Nothing to probe for when what the consumers want fits with the headroom a layer up needs
  // (without it, wanting 1.14 Mbit/s under an estimate of 1.24 held a stream a layer down for
  // good: the estimate grows only to 1.5 times what is acknowledged otherwise).
  if (static_cast<double>(desired_bps_) * BandwidthAllocator::kUpHeadroom <=
      static_cast<double>(estimate)) {
    ramping_ = true;  // when more is wanted again, probes are tried before anything is paused
    return;
  }
  const bool raised =
      static_cast<double>(estimate) > 1.1 * static_cast<double>(estimate_at_last_probe_);
  // The last probe had its feedback by now (a round trip and a feedback interval): whether it
  // raised the estimate says whether the path may still have room.
  if (last_probe_ms_ > 0 && now_ms - last_probe_ms_ >= kProbeJudgedMs) ramping_ = raised;
  const int64_t interval = initial_probes_left_ > 0 ? 0
                           : raised                 ? kProbeIntervalMs
                                                    : kProbeBackoffMs;
  if (now_ms - last_probe_ms_ < interval) return;
  const int multiplier =
      initial_probes_left_ > 0
          ? kInitialProbeMultipliers[std::size(kInitialProbeMultipliers) - initial_probes_left_]
          : kProbeMultiplier;
  // Enough for the allocator to take the layers wanted, with its headroom.
  const auto cap = static_cast<int64_t>(static_cast<double>(desired_bps_) *
                                        BandwidthAllocator::kUpHeadroom * 1.1);
  const int64_t rate = std::min(estimate * multiplier, cap);
  if (static_cast<double>(rate) < 1.1 * static_cast<double>(estimate)) return;
  // A probe nothing could carry (no video forwarded yet: a newcomer's first allocations) is
  // not one: it neither uses up an initial probe nor starts the back-off.
  if (!StartProbe(rate)) return;
  if (initial_probes_left_ > 0) --initial_probes_left_;
  last_probe_ms_ = now_ms;
  estimate_at_last_probe_ = estimate;
}

bool BandwidthController::StartProbe(int64_t rate_bps) {
  // A video consumer that has forwarded: its last packet, again as RTX, is the probe payload
  // (one paused for bandwidth too: probes are how it comes back).
  const Consumer* source = nullptr;
  for (const auto& [id, consumer] : consumers_) {
    if (consumer->kind() == rtp::MediaKind::kVideo && consumer->can_probe()) {
      source = consumer.get();
      break;
    }
  }
  if (source == nullptr) return false;
  const int64_t bytes = std::max(rate_bps * kProbeDurationMs / 1000 / 8, kMinProbeBytes);
  probe_ = {next_cluster_++, source->id(), bytes, 0, rate_bps, NowUs()};
  ++counters_.probe_clusters;
  SendProbePackets();
  if (probe_.cluster >= 0) probe_timer_->Start(1, 1);
  return true;
}

void BandwidthController::SendProbePackets() {
  const int64_t now_us = NowUs();
  const int64_t now_ms = static_cast<int64_t>(uv_now(loop_));
  auto it = consumers_.find(probe_.consumer_id);
  Consumer* consumer = it == consumers_.end() ? nullptr : it->second.get();
  bool failed = consumer == nullptr;
  const auto done = [this] {
    return probe_.packets_sent >= kMaxProbePackets ||
           (probe_.bytes_left <= 0 && probe_.packets_sent >= kMinProbePackets);
  };
  while (!failed && !done() && probe_.next_send_us <= now_us) {
    sending_cluster_ = probe_.cluster;
    last_sent_len_ = 0;
    failed = !consumer->SendProbePacket(now_ms);
    sending_cluster_ = -1;
    if (failed) break;
    ++probe_.packets_sent;
    ++counters_.probe_packets;
    const int64_t len =
        last_sent_len_ > 0 ? static_cast<int64_t>(last_sent_len_) : kPlannedProbePacketBytes;
    probe_.bytes_left -= len;
    probe_.next_send_us += len * 8 * 1'000'000 / std::max<int64_t>(probe_.rate_bps, 1);
  }
  if (failed || done()) {
    probe_.cluster = -1;
    probe_timer_->Stop();
  }
}

}  // namespace sb::router

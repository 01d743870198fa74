// router::Transport: the RTP side of one WebRTC endpoint. It owns the network transport
// (ICE/DTLS/SRTP) and the producers and consumers created on it, maps incoming SSRC (or
// mid + rid for streams it learns) to a producer's encoding, answers RTCP (PLI/FIR relay,
// reports) and sends periodic RR/SR reports.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/uv_timer.h"
#include "router/bandwidth_controller.h"
#include "router/consumer.h"
#include "router/data_endpoint.h"
#include "router/producer.h"
#include "router/remb_sender.h"
#include "rtp/transport_cc_receiver.h"
#include "transport/pipe_transport.h"
#include "transport/webrtc_transport.h"

namespace sb::router {

class Transport : public transport::WebRtcTransport::Listener,
                  public transport::PipeTransport::DataListener,
                  public SctpCarrier,
                  public Consumer::Listener,
                  public BandwidthController::Listener,
                  public RembSender::Listener {
 public:
  // RFC 3550 6.2 suggests 5 s minimum for large sessions; WebRTC endpoints use about 1 s for
  // video so that loss and RTT figures stay fresh. We send every second, jittered by +-50%.
  static constexpr int64_t kRtcpIntervalMs = 1000;
  // Transport-wide congestion control feedback to a publisher that negotiated it: every 100 ms
  // (as libwebrtc's receiver does at a few Mbit/s), sooner when 100 packets wait.
  static constexpr uint64_t kTransportFeedbackIntervalMs = 100;
  // Upstream repair: missing packets are looked at this often, and a packet is asked for again
  // after kNackRetryIntervalMs (we do not know the publisher's RTT: a typical one, which also
  // keeps a browser from refusing the request as too soon after its last retransmission).
  static constexpr uint64_t kNackCheckIntervalMs = 20;
  static constexpr int64_t kNackRetryIntervalMs = 60;

  // Data channels report to the same listener (DataEndpoint::Listener).
  class Listener : public DataEndpoint::Listener {
   public:
    ~Listener() override = default;
    // A packet of the producer's `encoding`, accounted and to be forwarded; `layers` as its
    // descriptor says (video).
    virtual void OnTransportProducerRtp(Transport* transport, Producer* producer, size_t encoding,
                                        const rtp::VideoLayers& layers,
                                        const rtp::RtpPacket& packet, int64_t now_ms) = 0;
    virtual void OnTransportConsumerKeyFrameNeeded(Transport* transport, Consumer* consumer,
                                                   size_t encoding) = 0;
    virtual void OnTransportIceState(Transport* transport, transport::IceState state) = 0;
    virtual void OnTransportDtlsState(Transport* transport, transport::DtlsState state,
                                      const std::string& reason) = 0;
    // The source producer of a consumer (for sender reports); nullptr if gone.
    virtual const Producer* ProducerOf(const Consumer* consumer) const = 0;
    // The send estimate or its allocation moved (see bandwidth()).
    virtual void OnTransportBandwidth(Transport* /*transport*/) {}
    // A REMB went to the publisher with this receive-side estimate (see remb()).
    virtual void OnTransportRembSent(Transport* /*transport*/, int64_t /*estimate_bps*/) {}
  };

  struct Counters {
    uint64_t rtp_unknown_ssrc = 0;  // RTP no producer (encoding) claims
    uint64_t rtp_malformed = 0;
    uint64_t rtcp_malformed = 0;
    uint64_t rtx_ignored = 0;  // RTX restoring nothing asked for: padding probes, duplicates
    uint64_t transport_feedback_sent = 0;      // transport-cc feedback packets to the publisher
    uint64_t transport_feedback_received = 0;  // from the subscriber, for our estimate
  };

  static absl::StatusOr<std::unique_ptr<Transport>> Create(
      std::string id, uv_loop_t* loop, const transport::WebRtcTransport::Options& options,
      transport::DtlsCertificate* certificate, Listener* listener);
  // A pipe to a router on another worker or host (transport/pipe_transport.h).
  static absl::StatusOr<std::unique_ptr<Transport>> CreatePipe(
      std::string id, uv_loop_t* loop, const transport::PipeTransport::Options& options,
      Listener* listener);
  ~Transport() override;

  const std::string& id() const { return id_; }
  // The network side: a WebRTC transport (webrtc()) or a pipe to another router (pipe()); the
  // other accessor is null.
  transport::RtpEndpoint& endpoint() const { return *endpoint_; }
  transport::WebRtcTransport* webrtc() const { return webrtc_; }
  transport::PipeTransport* pipe() const { return pipe_; }
  const Counters& counters() const { return counters_; }
  const rtp::TransportCcReceiver& transport_cc() const { return transport_cc_; }
  // What this transport may send its subscriber (the estimate from the subscriber's
  // transport-cc feedback) and how it is shared among the consumers; nullptr until a consumer
  // negotiated the transport-wide sequence number extension.
  const BandwidthController* bandwidth() const { return bandwidth_.get(); }
  // The receive-side estimate and REMB for a publisher that negotiated goog-remb and
  // abs-send-time but not the transport-wide sequence number; nullptr otherwise.
  const RembSender* remb() const { return remb_.get(); }

  absl::Status AddProducer(std::unique_ptr<Producer> producer);
  std::unique_ptr<Producer> RemoveProducer(const std::string& id);
  Producer* GetProducer(const std::string& id) const;

  absl::Status AddConsumer(std::unique_ptr<Consumer> consumer);
  std::unique_ptr<Consumer> RemoveConsumer(const std::string& id);
  Consumer* GetConsumer(const std::string& id) const;

  const absl::flat_hash_map<std::string, std::unique_ptr<Producer>>& producers() const {
    return producers_;
  }
  const absl::flat_hash_map<std::string, std::unique_ptr<Consumer>>& consumers() const {
    return consumers_;
  }

  // Data channels: the data producers and consumers on this transport's SCTP association (a
  // WebRTC transport's, or a pipe's created with Options::sctp: then has_data_channels()).
  bool has_data_channels() const;
  // SctpCarrier: the network side's association, or nullptr.
  transport::SctpAssociation* sctp() const override;
  DataEndpoint& data() { return *data_; }
  const DataEndpoint& data() const { return *data_; }

  // Sends a PLI for one of the producer's encodings to the publisher, unless one went out
  // recently for that encoding (then it is deferred).
  void RequestKeyFrame(Producer* producer, size_t encoding);

  // Sends the periodic reports now (also driven by the timer).
  void SendRtcpReports();

 private:
  Transport(std::string id, uv_loop_t* loop, Listener* listener);
  // Once the endpoint exists: the data side and the timers.
  void Start();

  // transport::WebRtcTransport::Listener, and PipeTransport::DataListener for a pipe's SCTP
  void OnIceStateChange(transport::IceState state) override;
  void OnDtlsStateChange(transport::DtlsState state, const std::string& reason) override;
  void OnRtpPacket(uint8_t* data, size_t len) override;
  void OnRtcpPacket(const uint8_t* data, size_t len) override;
  void OnSctpStateChange(transport::SctpState state, const std::string& reason) override;
  void OnDataChannelOpen(const transport::DataChannelInfo& info) override;
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override;
  void OnDataChannelClosed(uint16_t stream_id) override;
  void OnSctpSendBufferAvailable() override;

  // Consumer::Listener
  void OnConsumerSendRtp(Consumer* consumer, uint8_t* data, size_t len, size_t capacity) override;
  void OnConsumerKeyFrameNeeded(Consumer* consumer, size_t encoding) override;
  uint16_t AllocateTransportSequenceNumber() override;

  // BandwidthController::Listener
  const Producer* ProducerOf(const Consumer* consumer) const override;
  void OnBandwidthChanged() override;

  // RembSender::Listener
  void CollectRembSsrcs(std::vector<uint32_t>* ssrcs) override;
  void OnRembSenderRtcp(uint8_t* data, size_t len, size_t capacity) override;
  void OnRembSent(int64_t estimate_bps) override;
  // Starts the REMB sender when `producer` is the first to ask for it (and transport-cc is not
  // negotiated); stops it once transport-cc is.
  void MaybeStartRemb(const Producer& producer);

  // One encoding of a producer (or of its RTX stream).
  struct StreamRef {
    Producer* producer = nullptr;
    size_t encoding = 0;
    bool rtx = false;  // the encoding's RTX stream (RFC 4588)
  };
  // The producer encoding a media packet belongs to; nullptr producer (and counted) when none.
  StreamRef ProducerForPacket(const rtp::RtpPacket& packet);
  // Learns the ssrc of a stream the publisher did not announce from its mid and rid (or
  // repaired rid) extensions.
  StreamRef LearnSsrc(const rtp::RtpPacket& packet);
  void SendRtcp(uint8_t* data, size_t len, size_t capacity);
  void ScheduleRtcp();
  void SendPli(Producer* producer, size_t encoding);
  // Sends the deferred key-frame requests that are due and re-arms for the rest.
  void FlushDeferredKeyFrameRequests();
  // Records the packet's transport-wide sequence number, when the publisher sends them.
  void RecordTransportSequenceNumber(const rtp::RtpPacket& packet);
  // Sends what transport_cc_ has to report.
  void SendTransportFeedback();
  // Upstream repair: a retransmission restored from RTX, taken if it was asked for.
  void OnRetransmission(const rtp::RtpPacket& rtx, const StreamRef& ref);
  // Sends the NACKs due for every producer; stops the timer when nothing is missing.
  void SendNacks();

  const std::string id_;
  uv_loop_t* const loop_;
  Listener* const listener_;
  const uint32_t rtcp_ssrc_;  // sender ssrc of our RR and PLI packets
  std::unique_ptr<transport::RtpEndpoint> endpoint_;
  transport::WebRtcTransport* webrtc_ = nullptr;  // endpoint_, when it is one
  transport::PipeTransport* pipe_ = nullptr;      // endpoint_, when it is one
  std::unique_ptr<DataEndpoint> data_;            // after endpoint_: it points at it
  std::unique_ptr<UvTimer> rtcp_timer_;
  std::unique_ptr<UvTimer> key_frame_timer_;
  std::unique_ptr<UvTimer> transport_feedback_timer_;
  std::unique_ptr<UvTimer> nack_timer_;  // runs while a producer misses packets
  bool nack_timer_running_ = false;
  // The publisher's transport-wide sequence number extension (one id for the whole BUNDLE);
  // 0 until a producer negotiated it.
  uint8_t transport_cc_ext_id_ = 0;
  rtp::TransportCcReceiver transport_cc_;
  uint32_t transport_cc_media_ssrc_ = 0;  // a media ssrc of the publisher, for the feedback
  // REMB to a publisher without transport-cc (see remb()).
  std::unique_ptr<RembSender> remb_;
  // Sending side: our transport-wide numbers, the estimate they feed and its allocation.
  std::unique_ptr<BandwidthController> bandwidth_;

  absl::flat_hash_map<std::string, std::unique_ptr<Producer>> producers_;
  absl::flat_hash_map<std::string, std::unique_ptr<Consumer>> consumers_;
  absl::flat_hash_map<uint32_t, StreamRef> producers_by_ssrc_;
  absl::flat_hash_map<uint32_t, StreamRef> producers_by_rtx_ssrc_;
  absl::flat_hash_map<std::string, Producer*> producers_by_mid_;
  absl::flat_hash_map<uint32_t, Consumer*> consumers_by_ssrc_;
  Counters counters_;
};

}  // namespace sb::router

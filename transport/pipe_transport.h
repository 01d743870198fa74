// A pipe between two routers (on two workers of one host, or on two hosts): RTP and RTCP over one
// UDP socket to one remote address, with no ICE or DTLS. The control process, which creates both
// ends, tells each the other's address and, for a pipe between hosts, the SRTP keys: each end
// makes a random key for what it sends (local_srtp_key()), which is the other end's key for what
// it receives. Only datagrams from the connected address are taken, and with SRTP only those that
// authenticate (replay protection on, as for browsers); everything else is dropped and counted.
//
// With Options::sctp the pipe also carries one SCTP association (data channels, RFC 8831 over
// DCEP): each SCTP packet is one RTCP APP packet named "SCTP" (sctp_app_packet.h), so SRTCP
// protects it between hosts. Those packets go to the association, never to the RTP Listener; the
// association's events go to an optional DataListener.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "transport/rtp_endpoint.h"
#include "transport/sctp_association.h"
#include "transport/srtp_session.h"
#include "transport/udp_socket.h"

namespace sb::transport {

class PipeTransport : public RtpEndpoint,
                      public UdpSocket::Listener,
                      private SctpAssociation::Listener {
 public:
  using Listener = RtpEndpoint::Listener;

  // The SCTP association's events (Options::sctp), as SctpAssociation::Listener has them. Calls
  // come from the loop, after usrsctp returns; each may Close() the pipe (not destroy it).
  class DataListener {
   public:
    virtual ~DataListener() = default;
    virtual void OnSctpStateChange(SctpState /*state*/, const std::string& /*reason*/) {}
    virtual void OnDataChannelOpen(const DataChannelInfo& /*info*/) {}
    virtual void OnDataChannelMessage(uint16_t /*stream_id*/, uint32_t /*ppid*/,
                                      absl::Span<const uint8_t> /*data*/) {}
    virtual void OnDataChannelClosed(uint16_t /*stream_id*/) {}
    virtual void OnDataChannelBufferedAmountLow(uint16_t /*stream_id*/) {}
    virtual void OnSctpSendBufferAvailable() {}
  };

  struct Options {
    std::string listen_ip = "127.0.0.1";
    // Our port; 0-0 a free one the kernel picks.
    uint16_t port_min = 0;
    uint16_t port_max = 0;
    // SRTP between hosts (AEAD-AES-256-GCM: the cheapest with Debian's libsrtp2, see DESIGN.md).
    bool srtp = false;
    // Data channels: an SCTP association started by Connect. `sctp_client` picks even stream
    // ids, as a DTLS client would (RFC 8832 6); the two ends of a pipe must differ.
    bool sctp = false;
    bool sctp_client = false;
  };

  // Every datagram received is counted once in packets_received and, when dropped, once in
  // exactly one of the drop counters.
  struct Stats {
    uint64_t packets_received = 0;
    uint64_t bytes_received = 0;
    uint64_t rtp_received = 0;
    uint64_t rtcp_received = 0;
    uint64_t rtp_sent = 0;
    uint64_t rtcp_sent = 0;
    uint64_t bytes_sent = 0;
    uint64_t not_connected = 0;   // before Connect
    uint64_t unknown_source = 0;  // from another address than the connected one
    uint64_t not_rtp = 0;         // not RTP/RTCP (RFC 7983 first byte 128-191, 12/8 bytes)
    uint64_t srtp_auth_failed = 0;
    uint64_t srtp_replayed = 0;
    uint64_t srtp_malformed = 0;
    // APP "SCTP" packets (Options::sctp): given to the association, sent; dropped because the
    // pipe has no association (no sctp, or closed), or malformed (sctp_app_packet.h).
    uint64_t sctp_received = 0;
    uint64_t sctp_sent = 0;
    uint64_t sctp_unexpected = 0;
    uint64_t sctp_malformed = 0;
    uint64_t send_failures = 0;  // not connected, protect failed, or the kernel refused
  };

  static absl::StatusOr<std::unique_ptr<PipeTransport>> Create(uv_loop_t* loop,
                                                               const Options& options,
                                                               Listener* listener);
  ~PipeTransport() override;
  PipeTransport(const PipeTransport&) = delete;
  PipeTransport& operator=(const PipeTransport&) = delete;

  const std::string& local_ip() const { return options_.listen_ip; }
  uint16_t local_port() const { return socket_->local_port(); }
  // The SRTP profile and our key (master key + salt) for what we send; empty without SRTP.
  SrtpProfile srtp_profile() const { return kSrtpProfile; }
  const std::vector<uint8_t>& local_srtp_key() const { return local_key_; }

  // Sends to ip:port from now on and takes only what comes from there. With SRTP,
  // `remote_srtp_key` is the other end's local_srtp_key(). Once only. With Options::sctp it also
  // starts the association (INIT goes at once; SCTP retransmits it until the other end connects).
  absl::Status Connect(const std::string& ip, uint16_t port,
                       absl::Span<const uint8_t> remote_srtp_key = {});
  bool connected() const { return connected_; }

  // Where the association's events go (nullptr: nowhere). Not owned; set it before Connect to
  // hear every state change.
  void set_data_listener(DataListener* listener) { data_listener_ = listener; }
  // Created with Options::sctp (sctp() may still be null: before Connect, after Close).
  bool sctp_enabled() const { return options_.sctp; }
  // The association (Options::sctp) from Connect on, to open channels and send; nullptr before,
  // without sctp, and after Close.
  SctpAssociation* sctp() const { return sctp_.get(); }
  // The SSRC of our APP "SCTP" packets (random).
  uint32_t sctp_ssrc() const { return sctp_ssrc_; }

  // Protect in place (with SRTP: capacity >= len + SrtpMaxOverhead(), RTCP + 4) and send.
  bool SendRtp(uint8_t* data, size_t len, size_t capacity) override;
  bool SendRtcp(uint8_t* data, size_t len, size_t capacity) override;
  bool media_ready() const override { return connected_; }

  void EnableArrivalTimestamps() override { socket_->EnableArrivalTimestamps(); }
  // During a listener call: the datagram's arrival time (see UdpSocket::arrival_us).
  int64_t packet_arrival_us() const override { return socket_->arrival_us(); }

  // Stops sending and receiving, aborting the association (RFC 9260 9.1); idempotent. No
  // listener calls after it.
  void Close() override;

  const Stats& stats() const { return stats_; }

 private:
  static constexpr SrtpProfile kSrtpProfile = SrtpProfile::kAeadAes256Gcm;

  PipeTransport(uv_loop_t* loop, const Options& options, Listener* listener)
      : loop_(loop), options_(options), listener_(listener) {}

  // UdpSocket::Listener
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) override;
  void CountUnprotectFailure(SrtpError error);
  bool Send(const uint8_t* data, size_t len);
  // A decrypted APP "SCTP" datagram.
  void OnSctpAppPacket(const uint8_t* data, size_t len);

  // SctpAssociation::Listener
  void SendSctpPacket(const uint8_t* data, size_t len) override;
  void OnSctpStateChange(SctpState state, const std::string& reason) override;
  void OnDataChannelOpen(const DataChannelInfo& info) override;
  void OnDataChannelMessage(uint16_t stream_id, uint32_t ppid,
                            absl::Span<const uint8_t> data) override;
  void OnDataChannelClosed(uint16_t stream_id) override;
  void OnBufferedAmountLow(uint16_t stream_id) override;
  void OnSctpSendBufferAvailable() override;

  // Passed by argument.
  uv_loop_t* loop_ = nullptr;
  const Options options_;
  Listener* const listener_;
  DataListener* data_listener_ = nullptr;
  // Allocated by this.
  std::unique_ptr<UdpSocket> socket_;
  std::unique_ptr<SctpAssociation> sctp_;
  uint32_t sctp_ssrc_ = 0;
  std::vector<uint8_t> sctp_buffer_;  // one APP packet being built and protected
  std::vector<uint8_t> local_key_;
  std::unique_ptr<SrtpSession> srtp_out_, srtp_in_;
  sockaddr_storage remote_{};
  bool connected_ = false;
  bool closed_ = false;
  Stats stats_;
};

}  // namespace sb::transport

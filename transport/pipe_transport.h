// A pipe between two routers (on two workers of one host, or on two hosts): RTP and RTCP over one
// UDP socket to one remote address, with no ICE or DTLS. The control process, which creates both
// ends, tells each the other's address and, for a pipe between hosts, the SRTP keys: each end
// makes a random key for what it sends (local_srtp_key()), which is the other end's key for what
// it receives. Only datagrams from the connected address are taken, and with SRTP only those that
// authenticate (replay protection on, as for browsers); everything else is dropped and counted.
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
#include "transport/srtp_session.h"
#include "transport/udp_socket.h"

namespace sb::transport {

class PipeTransport : public RtpEndpoint, public UdpSocket::Listener {
 public:
  using Listener = RtpEndpoint::Listener;

  struct Options {
    std::string listen_ip = "127.0.0.1";
    // Our port; 0-0 a free one the kernel picks.
    uint16_t port_min = 0;
    uint16_t port_max = 0;
    // SRTP between hosts (AEAD-AES-256-GCM: the cheapest with Debian's libsrtp2, see DESIGN.md).
    bool srtp = false;
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
  // `remote_srtp_key` is the other end's local_srtp_key(). Once only.
  absl::Status Connect(const std::string& ip, uint16_t port,
                       absl::Span<const uint8_t> remote_srtp_key = {});
  bool connected() const { return connected_; }

  // Protect in place (with SRTP: capacity >= len + SrtpMaxOverhead(), RTCP + 4) and send.
  bool SendRtp(uint8_t* data, size_t len, size_t capacity) override;
  bool SendRtcp(uint8_t* data, size_t len, size_t capacity) override;
  bool media_ready() const override { return connected_; }

  void EnableArrivalTimestamps() override { socket_->EnableArrivalTimestamps(); }
  // During a listener call: the datagram's arrival time (see UdpSocket::arrival_us).
  int64_t packet_arrival_us() const override { return socket_->arrival_us(); }

  // Stops sending and receiving; idempotent. No listener calls after it.
  void Close() override;

  const Stats& stats() const { return stats_; }

 private:
  static constexpr SrtpProfile kSrtpProfile = SrtpProfile::kAeadAes256Gcm;

  PipeTransport(const Options& options, Listener* listener)
      : options_(options), listener_(listener) {}

  // UdpSocket::Listener
  void OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) override;
  void CountUnprotectFailure(SrtpError error);
  bool Send(const uint8_t* data, size_t len);

  const Options options_;
  Listener* const listener_;
  std::unique_ptr<UdpSocket> socket_;
  std::vector<uint8_t> local_key_;
  std::unique_ptr<SrtpSession> srtp_out_, srtp_in_;
  sockaddr_storage remote_{};
  bool connected_ = false;
  bool closed_ = false;
  Stats stats_;
};

}  // namespace sb::transport

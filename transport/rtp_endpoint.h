// The network side of one endpoint as the router sees it: a WebRTC transport (ICE, DTLS, SRTP)
// or a pipe to another router (pipe_transport.h). It sends RTP and RTCP and tells its Listener
// what arrives; the router's forwarding does not depend on which it is (DESIGN.md, "A network
// seam in router/").
#pragma once

#include <cstddef>
#include <cstdint>

namespace sb::transport {

class RtpEndpoint {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // Decrypted; the buffer is mutable and valid during the call only.
    virtual void OnRtpPacket(uint8_t* data, size_t len) = 0;
    // Decrypted compound RTCP.
    virtual void OnRtcpPacket(const uint8_t* data, size_t len) = 0;
  };

  virtual ~RtpEndpoint() = default;

  // Protect in place (capacity >= len + SrtpMaxOverhead(), RTCP + 4) and send. False when media
  // cannot flow yet or on failure.
  virtual bool SendRtp(uint8_t* data, size_t len, size_t capacity) = 0;
  virtual bool SendRtcp(uint8_t* data, size_t len, size_t capacity) = 0;
  // Media can flow: there is a path to the peer and, where used, the SRTP keys.
  virtual bool media_ready() const = 0;
  // Kernel arrival times for the packets from now on (a bandwidth estimator needs them), and the
  // one of the packet being handled (microseconds, CLOCK_REALTIME; 0 when not enabled).
  virtual void EnableArrivalTimestamps() = 0;
  virtual int64_t packet_arrival_us() const = 0;
  // Stops sending and receiving; idempotent. No listener calls after it.
  virtual void Close() = 0;
};

}  // namespace sb::transport

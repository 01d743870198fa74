// A UDP socket on the libuv loop, bound to an ip and a port taken from a range.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sb::transport {

// AF_INET6 for a literal IPv6 address (it has a colon), AF_INET otherwise.
int AddressFamilyOf(std::string_view ip);

class UdpSocket {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // data points into the socket's receive buffer: valid only during the call, and mutable
    // so that SRTP can decrypt in place without a copy.
    virtual void OnUdpPacket(uint8_t* data, size_t len, const sockaddr* from) = 0;
  };

  // Binds ip:port with port tried from a random start in [port_min, port_max], walking the
  // whole range until bind succeeds. 0-0 binds a free port the kernel picks.
  static absl::StatusOr<std::unique_ptr<UdpSocket>> Create(uv_loop_t* loop, const std::string& ip,
                                                           uint16_t port_min, uint16_t port_max,
                                                           Listener* listener);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Non-blocking send; a datagram the kernel will not take now is dropped and counted.
  bool Send(const uint8_t* data, size_t len, const sockaddr* to);
  // Stops receiving and releases the socket; idempotent. No listener calls after it.
  void Close();

  // From now on the kernel stamps each datagram with the time it reached the socket, read back
  // (SIOCGSTAMPNS) before the listener sees it: what a bandwidth estimator needs, rather than
  // the time the loop got round to it (a busy loop reads a burst that arrived over milliseconds
  // all at once). One more system call per datagram, so only where it is used.
  void EnableArrivalTimestamps();
  // During OnUdpPacket: the datagram's arrival time in microseconds of CLOCK_REALTIME when
  // timestamps are enabled (the read time if the kernel had none); 0 when not enabled.
  int64_t arrival_us() const { return arrival_us_; }

  const sockaddr_storage& local_address() const { return local_address_; }
  uint16_t local_port() const;
  uint64_t send_drops() const { return send_drops_; }

 private:
  explicit UdpSocket(Listener* listener) : listener_(listener) {}
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRecv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                     unsigned flags);

  // Passed by argument.
  Listener* listener_;
  // Allocated by this; freed by the uv_close callback.
  uv_udp_t* handle_ = nullptr;
  sockaddr_storage local_address_{};
  uint64_t send_drops_ = 0;
  bool arrival_timestamps_ = false;
  int64_t arrival_us_ = 0;
};

}  // namespace sb::transport

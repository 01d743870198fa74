#include "transport/udp_socket.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sys/ioctl.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/realtime.h"

namespace sb::transport {
namespace {

// Largest UDP payload; one buffer serves every socket since the worker has one thread.
constexpr size_t kReceiveBufferSize = 65536;
// Kernel buffers large enough to absorb a burst of a few thousand packets.
constexpr int kSocketBufferSize = 4 * 1024 * 1024;

void CloseAndFree(uv_udp_t* handle) {
  handle->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { std::unique_ptr<uv_udp_t> owned(reinterpret_cast<uv_udp_t*>(h)); });
}

}  // namespace

int AddressFamilyOf(std::string_view ip) {
  return ip.find(':') != std::string_view::npos ? AF_INET6 : AF_INET;
}

absl::StatusOr<std::unique_ptr<UdpSocket>> UdpSocket::Create(uv_loop_t* loop, const std::string& ip,
                                                             uint16_t port_min, uint16_t port_max,
                                                             Listener* listener) {
  // 0-0: one attempt at port 0, a free port the kernel picks (a worker's shared port in tests).
  const bool any_port = port_min == 0 && port_max == 0;
  if (!any_port && (port_min == 0 || port_min > port_max)) {
    return absl::InvalidArgumentError(
        absl::StrCat("udp: bad port range ", port_min, "-", port_max));
  }
  sockaddr_storage addr{};
  const bool v6 = AddressFamilyOf(ip) == AF_INET6;
  int err = v6 ? uv_ip6_addr(ip.c_str(), 0, reinterpret_cast<sockaddr_in6*>(&addr))
               : uv_ip4_addr(ip.c_str(), 0, reinterpret_cast<sockaddr_in*>(&addr));
  if (err != 0) return absl::InvalidArgumentError(absl::StrCat("udp: bad ip ", ip));

  std::unique_ptr<UdpSocket> socket(new UdpSocket(listener));
  const uint32_t range = any_port ? 1 : uint32_t{port_max} - port_min + 1;
  uint32_t start = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&start), sizeof(start));
  start %= range;

  for (uint32_t i = 0; i < range; ++i) {
    const auto port = static_cast<uint16_t>(port_min + (start + i) % range);
    if (v6) {
      reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(port);
    } else {
      reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(port);
    }
    // A fresh handle per attempt: a failed bind may leave the fd in an odd state.
    auto handle = std::make_unique<uv_udp_t>();
    err = uv_udp_init_ex(loop, handle.get(), v6 ? AF_INET6 : AF_INET);
    if (err != 0) return absl::InternalError(absl::StrCat("udp: init: ", uv_strerror(err)));
    uv_udp_t* raw = handle.release();
    err = uv_udp_bind(raw, reinterpret_cast<const sockaddr*>(&addr), v6 ? UV_UDP_IPV6ONLY : 0);
    if (err != 0) {
      CloseAndFree(raw);
      if (err == UV_EADDRINUSE || err == UV_EACCES) continue;
      return absl::UnavailableError(
          absl::StrCat("udp: bind ", ip, ":", port, ": ", uv_strerror(err)));
    }
    raw->data = socket.get();
    socket->handle_ = raw;
    int size = kSocketBufferSize;
    uv_recv_buffer_size(reinterpret_cast<uv_handle_t*>(raw), &size);
    size = kSocketBufferSize;
    uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(raw), &size);
    int len = sizeof(socket->local_address_);
    uv_udp_getsockname(raw, reinterpret_cast<sockaddr*>(&socket->local_address_), &len);
    err = uv_udp_recv_start(raw, &UdpSocket::OnAlloc, &UdpSocket::OnRecv);
    if (err != 0) return absl::InternalError(absl::StrCat("udp: recv: ", uv_strerror(err)));
    return socket;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("udp: no free port in ", port_min, "-", port_max, " on ", ip));
}

UdpSocket::~UdpSocket() { Close(); }

void UdpSocket::Close() {
  if (handle_ == nullptr) return;
  uv_udp_recv_stop(handle_);
  CloseAndFree(handle_);
  handle_ = nullptr;
}

uint16_t UdpSocket::local_port() const {
  if (local_address_.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&local_address_)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&local_address_)->sin_port);
}

bool UdpSocket::Send(const uint8_t* data, size_t len, const sockaddr* to) {
  if (handle_ == nullptr) return false;
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data)),
                             static_cast<unsigned>(len));
  const int sent = uv_udp_try_send(handle_, &buf, 1, to);
  if (sent < 0 || static_cast<size_t>(sent) != len) {
    ++send_drops_;
    SB_LOG_DEBUG("udp", "send of {} bytes dropped: {}", len,
                 sent < 0 ? uv_strerror(sent) : "short");
    return false;
  }
  return true;
}

void UdpSocket::EnableArrivalTimestamps() {
  if (arrival_timestamps_ || handle_ == nullptr) return;
  arrival_timestamps_ = true;
  // The first SIOCGSTAMPNS turns the socket's timestamps on (and fails: nothing stamped yet).
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle_), &fd) == 0) {
    timespec ts{};
    ioctl(fd, SIOCGSTAMPNS, &ts);
  }
}

void UdpSocket::OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  static thread_local char buffer[kReceiveBufferSize];
  *buf = uv_buf_init(buffer, sizeof(buffer));
}

void UdpSocket::OnRecv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                       unsigned flags) {
  auto* self = static_cast<UdpSocket*>(handle->data);
  if (self == nullptr || nread <= 0 || addr == nullptr) return;  // 0 + null addr: nothing read.
  if (flags & UV_UDP_PARTIAL) return;  // Truncated datagram: never valid for our protocols.
  self->arrival_us_ = 0;
  if (self->arrival_timestamps_) {
    // libuv reads one datagram per recvmsg here (no UV_UDP_RECVMMSG), so the socket's last
    // timestamp is this datagram's. Without one, the read time.
    uv_os_fd_t fd;
    timespec ts{};
    self->arrival_us_ = uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd) == 0 &&
                                ioctl(fd, SIOCGSTAMPNS, &ts) == 0
                            ? TimespecToUs(ts)
                            : RealtimeNowUs();
  }
  self->listener_->OnUdpPacket(reinterpret_cast<uint8_t*>(buf->base), static_cast<size_t>(nread),
                               addr);
  // Nothing after the call: the listener may have destroyed this socket.
}

}  // namespace sb::transport

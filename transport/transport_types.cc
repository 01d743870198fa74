#include "transport/transport_types.h"

namespace sb::transport {

std::string_view ToString(IceState state) {
  switch (state) {
    case IceState::kNew:
      return "new";
    case IceState::kConnected:
      return "connected";
    case IceState::kCompleted:
      return "completed";
    case IceState::kDisconnected:
      return "disconnected";
    case IceState::kClosed:
      return "closed";
  }
  return "unknown";
}

std::string_view ToString(DtlsState state) {
  switch (state) {
    case DtlsState::kNew:
      return "new";
    case DtlsState::kConnecting:
      return "connecting";
    case DtlsState::kConnected:
      return "connected";
    case DtlsState::kFailed:
      return "failed";
    case DtlsState::kClosed:
      return "closed";
  }
  return "unknown";
}

std::string_view ToString(DtlsRole role) {
  switch (role) {
    case DtlsRole::kAuto:
      return "auto";
    case DtlsRole::kClient:
      return "client";
    case DtlsRole::kServer:
      return "server";
  }
  return "unknown";
}

}  // namespace sb::transport

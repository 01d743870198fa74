// The parts of a room's media placement (room_media.h) that room_media.cc, room_media_remote.cc
// and room_media_data.cc share: its records of routers, pipes and piped producers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "signaling/room_media.h"
#include "signaling/worker_requests.h"

namespace sb::signaling {

// The key of the pipe between two routers of one host, whichever asks.
inline std::string PipeKey(const std::string& a, const std::string& b) {
  return a < b ? absl::StrCat(a, "|", b) : absl::StrCat(b, "|", a);
}

// The keys of the pipes between a local router and another node's (remote_pipes_): "in" brings
// that router's producers here (made by us), "out" takes ours there (made at its request).
inline std::string InPipeKey(const std::string& local_router, const std::string& remote_router) {
  return absl::StrCat("in|", local_router, "|", remote_router);
}
inline std::string OutPipeKey(const std::string& local_router, const std::string& remote_router) {
  return absl::StrCat("out|", local_router, "|", remote_router);
}

inline absl::Status Refused(const char* what, const fbs::Response* response) {
  return absl::UnavailableError(absl::StrCat(what, ": ", ResponseReason(response)));
}

// Erases the records of `records` (pipes, piped producers: anything with `waiters`) that
// `gone` picks, moving their waiters to `failed` for the caller to call once its state is
// consistent again.
template <typename Record, typename Gone, typename Waiter>
void EraseTakingWaiters(absl::flat_hash_map<std::string, std::unique_ptr<Record>>& records,
                        Gone gone, std::vector<Waiter>& failed) {
  absl::erase_if(records, [&](const auto& entry) {
    if (!gone(*entry.second)) return false;
    for (auto& done : entry.second->waiters) failed.push_back(std::move(done));
    return true;
  });
}

// Calls each waiter with `result` while the room lives: a waiter may end it.
template <typename Waiter, typename Result>
void CallWaiters(const std::weak_ptr<bool>& alive, std::vector<Waiter>& waiters,
                 const Result& result) {
  for (auto& done : waiters) {
    if (alive.expired()) return;
    done(result);
  }
}

// A pipe end as its worker described it (ROUTER_CREATE_PIPE_TRANSPORT's answer).
inline PipeEndpoint EndpointFrom(const fbs::PipeTransportInfo* info) {
  PipeEndpoint end;
  if (info == nullptr || info->ip() == nullptr) return end;
  end.ip = info->ip()->str();
  end.port = info->port();
  if (info->srtp_key()) end.key.assign(info->srtp_key()->begin(), info->srtp_key()->end());
  return end;
}

struct RoomMedia::Shard {
  std::string node;       // another node's router (its participants'); empty: ours
  int worker_index = -1;  // ours only
  std::string router_id;
  bool ready = false;
  bool worker_alive = true;
  absl::Status failed;  // the router could not be made
  std::vector<Done> waiters;
  size_t participants = 0;
};

struct RoomMedia::Pipe {
  struct End {
    std::string router_id;
    std::string transport_id;
    PipeEndpoint endpoint;  // where the other end sends (its PipeTransportInfo)
    bool created = false;
    bool connected = false;
  };
  End a, b;
  bool ready = false;
  std::vector<Done> waiters;
  End& EndAt(const std::string& router_id) { return a.router_id == router_id ? a : b; }
};

struct RoomMedia::PipedProducer {
  std::string producer_id;
  std::string from_router;
  std::string to_router;
  std::string relay_id;  // the relay consumer on the origin's end of the pipe
  bool ready = false;
  bool paused = false;  // as the origin is; applied to the copy once it exists
  std::vector<Done> waiters;
};

struct RoomMedia::PipedData {
  std::string origin_id;  // the data producer
  std::string from_router;
  std::string to_router;
  std::string copy_id;  // the data producer on `to_router`, once its channel opened
  bool ready = false;
  std::vector<std::function<void(absl::StatusOr<std::string>)>> waiters;
};

struct RoomMedia::RemotePipe {
  std::string local_router;
  std::string node;  // the other end's
  std::string remote_router;
  std::string transport_id;  // our end
  PipeEndpoint local_end;
  bool ready = false;
  std::vector<Done> waiters;
  // "out" pipes: the relay consumer of each producer relayed on it, by producer id; the data
  // consumer of each data producer on its channels, by data producer id.
  absl::flat_hash_map<std::string, std::string> relays;
  absl::flat_hash_map<std::string, std::string> data_relays;
};

}  // namespace sb::signaling

// What the nodes of a cluster say to each other through Redis (docs/cluster.md, "Channels"): a
// participant's entry for the other nodes hosting its room, the room channel's messages, and
// the requests and replies between two nodes about pipes. Pure code: every message from another
// node is checked here (types, sizes, counts) before anything acts on it, and fuzzed
// (tests/fuzz/cluster_messages_fuzz.cc).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rtp/rtp_parameters.h"
#include "signaling/room_media.h"
#include "signaling/track_source.h"

namespace sb::signaling {

// What another node may send in one message: entries and requests are small.
inline constexpr size_t kMaxClusterMessageBytes = 64 * 1024;
// Ids, names and addresses in them.
inline constexpr size_t kMaxClusterString = 256;
// A data channel's label in an entry (DCEP allows 65535 bytes: a longer one is not announced).
inline constexpr size_t kMaxClusterLabel = 1024;
// Data channels in one entry: what a participant may open (conference.h, kMaxDataProducers).
inline constexpr size_t kMaxClusterDataChannels = 16;

// One participant as its node announces it to the room's other nodes.
struct RemoteEntry {
  struct Track {
    std::string id;
    rtp::MediaKind kind = rtp::MediaKind::kAudio;
    TrackSource source = TrackSource::kMicrophone;
    bool paused = false;
  };
  // A data channel it opened (a data producer there): the room gets it, or only `to`.
  struct DataChannel {
    std::string id;
    std::string label;  // may be empty; at most kMaxClusterLabel
    std::string to;     // the channel's protocol: "" for the room, or a participant id
  };
  std::string id;
  std::string name;
  std::string node;    // the node its connection is on
  std::string router;  // the router its transports are on, there
  std::vector<Track> tracks;
  std::vector<DataChannel> data;  // absent from an older node's entry: none
};
nlohmann::json EntryJson(const RemoteEntry& entry);
// Fails on anything malformed, or an id that does not start with "<node>." (a node names only
// its own participants).
absl::StatusOr<RemoteEntry> ParseEntry(const nlohmann::json& json);

// On a room's channel.
struct RoomMessage {
  enum class Op { kUpsert, kRemove };
  Op op = Op::kUpsert;
  std::string node;   // the sender
  RemoteEntry entry;  // kUpsert
  std::string id;     // kRemove: the participant
};
std::string UpsertMessage(const std::string& node, const RemoteEntry& entry);
std::string RemoveMessage(const std::string& node, const std::string& id);
absl::StatusOr<RoomMessage> ParseRoomMessage(std::string_view payload);

// On a node's channel: a request to it, or a reply to one of its requests.
struct NodeMessage {
  // kRelayLayers is a notice (no reply, request_id 0): the layers the asker's copy of a relayed
  // producer needs, for dynacast at the publisher. kRelayData asks for a data producer on the
  // pipe's data channels (the reply carries nothing; the copy opens at the asker's end).
  // kClosePipe is a notice too: the sender's router ("localRouter") is gone (its worker died),
  // so the receiver closes its end of any pipe between it and its router ("remoteRouter").
  enum class Op { kOpenPipe, kRelay, kRelayLayers, kRelayData, kClosePipe, kReply };
  Op op = Op::kReply;
  uint64_t request_id = 0;
  std::string from;
  // Requests: the room, the asked node's router ("remoteRouter") and the asker's.
  std::string room;
  std::string asked_router;
  std::string asker_router;
  std::optional<PipeEndpoint> end;  // open-pipe: the asker's end; a reply to it: the other's
  std::string producer;             // relay, relay-layers, relay-data (a data producer)
  int max_layer = -1;               // relay-layers: -1 none, else the highest spatial layer
  // Replies.
  bool ok = false;
  std::string error;
  std::optional<rtp::RtpParameters> params;  // a reply to relay
};
std::string OpenPipeRequest(uint64_t request_id, const std::string& from, const std::string& room,
                            const std::string& asked_router, const std::string& asker_router,
                            const PipeEndpoint& end);
std::string RelayRequest(uint64_t request_id, const std::string& from, const std::string& room,
                         const std::string& asked_router, const std::string& asker_router,
                         const std::string& producer);
std::string RelayDataRequest(uint64_t request_id, const std::string& from, const std::string& room,
                             const std::string& asked_router, const std::string& asker_router,
                             const std::string& data_producer);
std::string RelayLayersNotice(const std::string& from, const std::string& room,
                              const std::string& asked_router, const std::string& asker_router,
                              const std::string& producer, int max_layer);
// "My router `asker_router` is gone: close your end of the pipe between it and your
// `asked_router`" (either direction). No answer.
std::string ClosePipeNotice(const std::string& from, const std::string& room,
                            const std::string& asked_router, const std::string& asker_router);
// A reply: an error, or with `end` (open-pipe) or `params` (relay).
std::string ReplyMessage(uint64_t request_id, const std::string& from, const absl::Status& status,
                         const std::optional<PipeEndpoint>& end = std::nullopt,
                         const std::optional<rtp::RtpParameters>& params = std::nullopt);
absl::StatusOr<NodeMessage> ParseNodeMessage(std::string_view payload);

}  // namespace sb::signaling

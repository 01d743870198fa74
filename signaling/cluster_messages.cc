#include "signaling/cluster_messages.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "worker/fbs/rtp_parameters_convert.h"

namespace sb::signaling {
namespace {

// SRTP master key + salt of AEAD_AES_256_GCM is 44 bytes; room to spare, no more.
constexpr size_t kMaxKeyBytes = 64;
// The RTP parameters of one relay: a few codecs, extensions and encodings.
constexpr size_t kMaxParamsBytes = 16 * 1024;
// The highest layer a relay-layers notice may name: a producer has a few simulcast encodings or
// SVC spatial layers (router/producer.h); room to spare.
constexpr int64_t kMaxRelayLayer = 15;

absl::Status Malformed(const char* what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed cluster message: ", what));
}

// A non-empty string of at most kMaxClusterString.
std::optional<std::string> StringField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty() || text.size() > kMaxClusterString) return std::nullopt;
  return text;
}

std::optional<TrackSource> SourceNamed(const std::string& name) {
  for (TrackSource source :
       {TrackSource::kMicrophone, TrackSource::kCamera, TrackSource::kScreen}) {
    if (name == TrackSourceName(source)) return source;
  }
  return std::nullopt;
}

nlohmann::json EndpointJson(const PipeEndpoint& end) {
  return {{"ip", end.ip},
          {"port", end.port},
          {"key", absl::Base64Escape(std::string(end.key.begin(), end.key.end()))}};
}

absl::StatusOr<PipeEndpoint> ParseEndpoint(const nlohmann::json& json) {
  if (!json.is_object()) return Malformed("pipe end");
  auto ip = StringField(json, "ip");
  auto port = json.find("port");
  auto key = json.find("key");
  std::string raw;
  if (!ip || port == json.end() || !port->is_number_unsigned() || port->get<uint64_t>() == 0 ||
      port->get<uint64_t>() > 65535 || key == json.end() || !key->is_string() ||
      key->get_ref<const std::string&>().size() > 2 * kMaxKeyBytes ||
      !absl::Base64Unescape(key->get<std::string>(), &raw) || raw.size() > kMaxKeyBytes) {
    return Malformed("pipe end");
  }
  return PipeEndpoint{*ip, port->get<uint16_t>(), std::vector<uint8_t>(raw.begin(), raw.end())};
}

// RTP parameters between nodes: the IPC's flatbuffers table, verified on the way in.
std::string EncodeParameters(const rtp::RtpParameters& params) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(ipc::ToFbs(fbb, params));
  return absl::Base64Escape(
      std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
}

absl::StatusOr<rtp::RtpParameters> DecodeParameters(const nlohmann::json& json) {
  std::string raw;
  if (!json.is_string() || json.get_ref<const std::string&>().size() > 2 * kMaxParamsBytes ||
      !absl::Base64Unescape(json.get<std::string>(), &raw) || raw.empty()) {
    return Malformed("parameters");
  }
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
  if (!verifier.VerifyBuffer<fbs::RtpParameters>(nullptr)) return Malformed("parameters");
  return ipc::FromFbs(flatbuffers::GetRoot<fbs::RtpParameters>(raw.data()));
}

absl::StatusOr<nlohmann::json> ParseObject(std::string_view payload) {
  if (payload.size() > kMaxClusterMessageBytes) return Malformed("too long");
  auto json = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return Malformed("not a JSON object");
  return json;
}

}  // namespace

nlohmann::json EntryJson(const RemoteEntry& entry) {
  nlohmann::json tracks = nlohmann::json::array();
  for (const auto& t : entry.tracks) {
    tracks.push_back({{"id", t.id},
                      {"kind", rtp::MediaKindName(t.kind)},
                      {"source", TrackSourceName(t.source)},
                      {"paused", t.paused}});
  }
  nlohmann::json entry_json = {{"id", entry.id},
                               {"name", entry.name},
                               {"node", entry.node},
                               {"router", entry.router},
                               {"producers", std::move(tracks)}};
  if (!entry.data.empty()) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto& d : entry.data) {
      data.push_back({{"id", d.id}, {"label", d.label}, {"to", d.to}});
    }
    entry_json["data"] = std::move(data);
  }
  return entry_json;
}

absl::StatusOr<RemoteEntry> ParseEntry(const nlohmann::json& json) {
  if (!json.is_object()) return Malformed("entry");
  RemoteEntry entry;
  auto id = StringField(json, "id");
  auto node = StringField(json, "node");
  auto router = StringField(json, "router");
  auto name = json.find("name");
  auto producers = json.find("producers");
  if (!id || !node || !router || name == json.end() || !name->is_string() ||
      name->get_ref<const std::string&>().size() > kMaxClusterString || producers == json.end() ||
      !producers->is_array() || producers->size() > 8) {
    return Malformed("entry");
  }
  // Ids a node makes start with its id: it cannot name (and so replace) another's participant.
  if (!id->starts_with(*node + ".")) return Malformed("entry of another node's participant");
  entry.id = *id;
  entry.node = *node;
  entry.router = *router;
  entry.name = name->get<std::string>();
  for (const auto& item : *producers) {
    if (!item.is_object()) return Malformed("track");
    auto track_id = StringField(item, "id");
    auto kind = StringField(item, "kind");
    auto source_name = StringField(item, "source");
    auto paused = item.find("paused");
    if (!track_id || !kind || !source_name || (*kind != "audio" && *kind != "video") ||
        paused == item.end() || !paused->is_boolean() || !track_id->starts_with(*node + ".")) {
      return Malformed("track");
    }
    auto source = SourceNamed(*source_name);
    if (!source) return Malformed("track source");
    entry.tracks.push_back({*track_id,
                            *kind == "audio" ? rtp::MediaKind::kAudio : rtp::MediaKind::kVideo,
                            *source, paused->get<bool>()});
  }
  if (auto data = json.find("data"); data != json.end()) {
    if (!data->is_array() || data->size() > kMaxClusterDataChannels) return Malformed("entry");
    for (const auto& item : *data) {
      if (!item.is_object()) return Malformed("data channel");
      auto channel_id = StringField(item, "id");
      auto label = item.find("label");
      auto to = item.find("to");
      // Data producer ids are the worker's, under its transport's id: the node's own.
      if (!channel_id || !channel_id->starts_with(*node + ".") || label == item.end() ||
          !label->is_string() || label->get_ref<const std::string&>().size() > kMaxClusterLabel ||
          to == item.end() || !to->is_string() ||
          to->get_ref<const std::string&>().size() > kMaxClusterString) {
        return Malformed("data channel");
      }
      entry.data.push_back({*channel_id, label->get<std::string>(), to->get<std::string>()});
    }
  }
  return entry;
}

std::string UpsertMessage(const std::string& node, const RemoteEntry& entry) {
  return nlohmann::json{{"op", "upsert"}, {"node", node}, {"entry", EntryJson(entry)}}.dump();
}

std::string RemoveMessage(const std::string& node, const std::string& id) {
  return nlohmann::json{{"op", "remove"}, {"node", node}, {"id", id}}.dump();
}

absl::StatusOr<RoomMessage> ParseRoomMessage(std::string_view payload) {
  auto json = ParseObject(payload);
  if (!json.ok()) return json.status();
  RoomMessage message;
  auto op = StringField(*json, "op");
  auto node = StringField(*json, "node");
  if (!op || !node) return Malformed("room message");
  message.node = *node;
  if (*op == "upsert") {
    auto entry_json = json->find("entry");
    if (entry_json == json->end()) return Malformed("upsert without entry");
    auto entry = ParseEntry(*entry_json);
    if (!entry.ok()) return entry.status();
    if (entry->node != message.node) return Malformed("entry of another node");
    message.op = RoomMessage::Op::kUpsert;
    message.entry = *std::move(entry);
    return message;
  }
  if (*op == "remove") {
    auto id = StringField(*json, "id");
    if (!id) return Malformed("remove without id");
    message.op = RoomMessage::Op::kRemove;
    message.id = *id;
    return message;
  }
  return Malformed("unknown op");
}

std::string OpenPipeRequest(uint64_t request_id, const std::string& from, const std::string& room,
                            const std::string& asked_router, const std::string& asker_router,
                            const PipeEndpoint& end) {
  return nlohmann::json{{"op", "open-pipe"},
                        {"req", request_id},
                        {"from", from},
                        {"room", room},
                        {"remoteRouter", asked_router},
                        {"localRouter", asker_router},
                        {"end", EndpointJson(end)}}
      .dump();
}

std::string RelayRequest(uint64_t request_id, const std::string& from, const std::string& room,
                         const std::string& asked_router, const std::string& asker_router,
                         const std::string& producer) {
  return nlohmann::json{{"op", "relay"},
                        {"req", request_id},
                        {"from", from},
                        {"room", room},
                        {"remoteRouter", asked_router},
                        {"localRouter", asker_router},
                        {"producer", producer}}
      .dump();
}

std::string RelayDataRequest(uint64_t request_id, const std::string& from, const std::string& room,
                             const std::string& asked_router, const std::string& asker_router,
                             const std::string& data_producer) {
  return nlohmann::json{{"op", "relay-data"},
                        {"req", request_id},
                        {"from", from},
                        {"room", room},
                        {"remoteRouter", asked_router},
                        {"localRouter", asker_router},
                        {"dataProducer", data_producer}}
      .dump();
}

std::string RelayLayersNotice(const std::string& from, const std::string& room,
                              const std::string& asked_router, const std::string& asker_router,
                              const std::string& producer, int max_layer) {
  return nlohmann::json{{"op", "relay-layers"},
                        {"req", 0},
                        {"from", from},
                        {"room", room},
                        {"remoteRouter", asked_router},
                        {"localRouter", asker_router},
                        {"producer", producer},
                        {"maxLayer", max_layer}}
      .dump();
}

std::string ClosePipeNotice(const std::string& from, const std::string& room,
                            const std::string& asked_router, const std::string& asker_router) {
  return nlohmann::json{{"op", "close-pipe"},
                        {"req", 0},
                        {"from", from},
                        {"room", room},
                        {"remoteRouter", asked_router},
                        {"localRouter", asker_router}}
      .dump();
}

std::string ReplyMessage(uint64_t request_id, const std::string& from, const absl::Status& status,
                         const std::optional<PipeEndpoint>& end,
                         const std::optional<rtp::RtpParameters>& params) {
  nlohmann::json reply = {
      {"op", "reply"}, {"req", request_id}, {"from", from}, {"ok", status.ok()}};
  if (!status.ok()) {
    reply["error"] = std::string(status.message()).substr(0, kMaxClusterString);
  }
  if (end) reply["end"] = EndpointJson(*end);
  if (params) reply["params"] = EncodeParameters(*params);
  return reply.dump();
}

absl::StatusOr<NodeMessage> ParseNodeMessage(std::string_view payload) {
  auto json = ParseObject(payload);
  if (!json.ok()) return json.status();
  NodeMessage message;
  auto op = StringField(*json, "op");
  auto from = StringField(*json, "from");
  auto req = json->find("req");
  if (!op || !from || req == json->end() || !req->is_number_unsigned()) {
    return Malformed("node message");
  }
  message.request_id = req->get<uint64_t>();
  message.from = *from;
  if (*op == "reply") {
    message.op = NodeMessage::Op::kReply;
    auto ok = json->find("ok");
    if (ok == json->end() || !ok->is_boolean()) return Malformed("reply without ok");
    message.ok = ok->get<bool>();
    if (auto error = json->find("error"); error != json->end() && error->is_string()) {
      message.error = error->get<std::string>().substr(0, kMaxClusterString);
    }
    if (auto end = json->find("end"); end != json->end()) {
      auto parsed = ParseEndpoint(*end);
      if (!parsed.ok()) return parsed.status();
      message.end = *std::move(parsed);
    }
    if (auto params = json->find("params"); params != json->end()) {
      auto parsed = DecodeParameters(*params);
      if (!parsed.ok()) return parsed.status();
      message.params = *std::move(parsed);
    }
    return message;
  }
  auto room = StringField(*json, "room");
  auto asked = StringField(*json, "remoteRouter");
  auto asker = StringField(*json, "localRouter");
  if (!room || !asked || !asker) return Malformed("request");
  message.room = *room;
  message.asked_router = *asked;
  message.asker_router = *asker;
  if (*op == "open-pipe") {
    message.op = NodeMessage::Op::kOpenPipe;
    auto end = json->find("end");
    if (end == json->end()) return Malformed("open-pipe without end");
    auto parsed = ParseEndpoint(*end);
    if (!parsed.ok()) return parsed.status();
    message.end = *std::move(parsed);
    return message;
  }
  if (*op == "relay") {
    message.op = NodeMessage::Op::kRelay;
    auto producer = StringField(*json, "producer");
    if (!producer) return Malformed("relay without producer");
    message.producer = *producer;
    return message;
  }
  if (*op == "relay-data") {
    message.op = NodeMessage::Op::kRelayData;
    auto data_producer = StringField(*json, "dataProducer");
    if (!data_producer) return Malformed("relay-data without dataProducer");
    message.producer = *data_producer;
    return message;
  }
  if (*op == "close-pipe") {
    // A notice: nothing to answer.
    if (message.request_id != 0) return Malformed("close-pipe with a request id");
    message.op = NodeMessage::Op::kClosePipe;
    return message;
  }
  if (*op == "relay-layers") {
    message.op = NodeMessage::Op::kRelayLayers;
    auto producer = StringField(*json, "producer");
    auto layer = json->find("maxLayer");
    // A layer index, or -1 for none.
    if (!producer || layer == json->end() || !layer->is_number_integer() ||
        layer->get<int64_t>() < -1 || layer->get<int64_t>() > kMaxRelayLayer) {
      return Malformed("relay-layers");
    }
    message.producer = *producer;
    message.max_layer = static_cast<int>(layer->get<int64_t>());
    return message;
  }
  return Malformed("unknown op");
}

}  // namespace sb::signaling

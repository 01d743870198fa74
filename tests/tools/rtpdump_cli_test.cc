// switchboard-rtpdump as a user runs it: the built binary on a real Chromium call capture
// (tests/data/chromium_call.pcap), on hex lines from standard input, and with bad arguments.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

struct RunResult {
  int exit_code = -1;
  std::vector<nlohmann::json> lines;
  std::string stderr_text;
};

// Runs the tool through the shell; stdout lines are parsed as JSON.
RunResult RunTool(const std::string& args, const std::string& stdin_file = "") {
  // Per process: CTest runs each test case as its own process, several at once.
  const std::string err_path =
      testing::TempDir() + "rtpdump_stderr_" + std::to_string(getpid()) + ".txt";
  std::string cmd =
      std::string(SB_BINARY_DIR) + "/tools/rtpdump/switchboard-rtpdump " + args + " 2>" + err_path;
  if (!stdin_file.empty()) cmd += " <" + stdin_file;
  RunResult r;
  FILE* out = popen(cmd.c_str(), "r");
  if (out == nullptr) return r;
  std::string line;
  char buffer[65536];
  while (fgets(buffer, sizeof(buffer), out) != nullptr) {
    line += buffer;
    if (!line.empty() && line.back() == '\n') {
      r.lines.push_back(nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false));
      line.clear();
    }
  }
  int status = pclose(out);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  r.stderr_text.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  return r;
}

TEST(RtpdumpCliTest, DecodesAChromiumCallCapture) {
  RunResult r = RunTool(std::string(SB_TEST_DATA_DIR) + "/chromium_call.pcap");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  ASSERT_GT(r.lines.size(), 100u);
  size_t use_candidate = 0, client_hello = 0, rtp_with_extensions = 0, srtcp = 0;
  for (const nlohmann::json& j : r.lines) {
    ASSERT_FALSE(j.is_discarded()) << "a line is not JSON";
    ASSERT_FALSE(j.contains("error")) << j.dump();
    ASSERT_TRUE(j.contains("index") && j.contains("time") && j.contains("src")) << j.dump();
    const std::string kind = j.value("kind", "");
    if (kind == "stun" && j["method"] == "Binding" && j["class"] == "request") {
      for (const auto& a : j["attributes"]) use_candidate += a["type"] == "USE-CANDIDATE";
      EXPECT_EQ(j["fingerprint_valid"], true) << j.dump();
    } else if (kind == "dtls") {
      for (const auto& rec : j["records"]) {
        if (!rec.contains("handshake")) continue;
        for (const auto& m : rec["handshake"]) client_hello += m["type"] == "ClientHello";
      }
    } else if (kind == "rtp") {
      rtp_with_extensions += j["extension"] == true && !j["extensions"].empty();
    } else if (kind == "rtcp") {
      srtcp += j.value("encrypted", false) && j["packets"][0].contains("ssrc");
    }
  }
  EXPECT_GT(use_candidate, 0u);
  EXPECT_GT(client_hello, 0u);
  EXPECT_GT(rtp_with_extensions, 100u);
  EXPECT_GT(srtcp, 0u);
  EXPECT_NE(r.stderr_text.find("errors 0"), std::string::npos) << r.stderr_text;
}

TEST(RtpdumpCliTest, DecodesMappedExtensionsInTheCapture) {
  // Chromium's publish offer maps mid to id 4 in this capture's first call.
  RunResult r = RunTool("--ext 4=mid --ext 2=abs-send-time " + std::string(SB_TEST_DATA_DIR) +
                        "/chromium_call.pcap");
  ASSERT_EQ(r.exit_code, 0);
  size_t mids = 0;
  for (const nlohmann::json& j : r.lines) {
    if (j.value("kind", "") != "rtp") continue;
    for (const auto& e : j["extensions"])
      mids += e.value("name", "") == "mid" && e.contains("value");
  }
  EXPECT_GT(mids, 0u);
}

TEST(RtpdumpCliTest, ReadsHexLinesAndGoesOnAfterErrors) {
  const std::string path = testing::TempDir() + "rtpdump_hex_" + std::to_string(getpid()) + ".txt";
  std::ofstream(path) << "# comment line\n"
                         "80 c8 00 06 00 00 04 57 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
                         "00 00 00 00\n"
                         "\n"
                         "zz\n"
                         "90:60:00:01:00:00:00:02:00:00:00:03:be:de:00:01:10:61:00:00:ff\n";
  RunResult r = RunTool("--hex --ext 1=mid", path);
  ASSERT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0]["kind"], "rtcp");
  EXPECT_EQ(r.lines[0]["packets"][0]["type"], "SR");
  EXPECT_EQ(r.lines[1]["index"], 2);
  EXPECT_TRUE(r.lines[1].contains("error"));
  EXPECT_EQ(r.lines[2]["kind"], "rtp");
  EXPECT_EQ(r.lines[2]["extensions"][0]["value"], "a");
  EXPECT_NE(r.stderr_text.find("rtcp 1"), std::string::npos) << r.stderr_text;
}

TEST(RtpdumpCliTest, ExitCodes) {
  EXPECT_EQ(RunTool("--help").exit_code, 0);
  EXPECT_EQ(RunTool("--no-such-flag x.pcap").exit_code, 2);
  EXPECT_EQ(RunTool("").exit_code, 2);
  EXPECT_EQ(RunTool("/nonexistent/capture.pcap").exit_code, 1);
  EXPECT_EQ(RunTool(std::string(SB_TEST_DATA_DIR) + "/README.md").exit_code, 1);  // not a capture
}

}  // namespace

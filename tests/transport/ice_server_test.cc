// ICE-lite checks answered by IceServer, without sockets.
#include "transport/ice_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <vector>

#include "tests/transport/test_loop.h"
#include "transport/stun_message.h"

namespace sb::transport {
namespace {

sockaddr_in Address(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

const sockaddr* Sa(const sockaddr_in& a) { return reinterpret_cast<const sockaddr*>(&a); }

struct Recorder : IceServer::Listener {
  void OnIceSendStun(const uint8_t* data, size_t len, const sockaddr* to) override {
    sent.emplace_back(data, data + len);
    last_to = *reinterpret_cast<const sockaddr_in*>(to);
  }
  void OnIceStateChange(IceState s) override { states.push_back(s); }
  void OnIceSelectedTuple(const sockaddr* t) override {
    selected.push_back(t ? std::optional(*reinterpret_cast<const sockaddr_in*>(t)) : std::nullopt);
  }
  std::vector<std::vector<uint8_t>> sent;
  sockaddr_in last_to{};
  std::vector<IceState> states;
  std::vector<std::optional<sockaddr_in>> selected;
};

struct RequestOptions {
  bool use_candidate = false;
  bool controlling = true;
  bool controlled = false;
  bool fingerprint = true;
  std::string password = {};
  std::string username = {};
};

std::vector<uint8_t> Request(const IceServer& ice, RequestOptions o) {
  static uint8_t counter = 0;
  uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ++counter};
  StunMessageBuilder b(kStunMethodBinding, StunClass::kRequest, tid);
  b.AddUsername(o.username.empty() ? ice.ufrag() + ":peer" : o.username);
  b.AddPriority(0x6e0001ff);
  if (o.controlling) b.AddIceControlling(42);
  if (o.controlled) b.AddIceControlled(42);
  if (o.use_candidate) b.AddUseCandidate();
  b.AddMessageIntegrity(o.password.empty() ? ice.pwd() : o.password);
  if (o.fingerprint) b.AddFingerprint();
  return b.Take();
}

class IceServerTest : public ::testing::Test {
 protected:
  IceServerTest() : ice_(std::make_unique<IceServer>(loop_.get(), &rec_, 200)) {}
  void Send(const std::vector<uint8_t>& bytes, const sockaddr_in& from) {
    ice_->ProcessStunPacket(bytes.data(), bytes.size(), Sa(from));
  }
  testing::TestLoop loop_;
  Recorder rec_;
  std::unique_ptr<IceServer> ice_;
  sockaddr_in a_ = Address("127.0.0.1", 5000);
  sockaddr_in b_ = Address("127.0.0.1", 5001);
};

TEST_F(IceServerTest, Credentials) {
  EXPECT_EQ(ice_->ufrag().size(), 16u);
  EXPECT_EQ(ice_->pwd().size(), 32u);
  IceServer other(loop_.get(), &rec_);
  EXPECT_NE(other.ufrag(), ice_->ufrag());
  EXPECT_NE(other.pwd(), ice_->pwd());
}

TEST_F(IceServerTest, ValidCheckAnsweredAndNominationCompletes) {
  Send(Request(*ice_, {}), a_);
  ASSERT_EQ(rec_.sent.size(), 1u);
  auto response = StunMessage::Parse(rec_.sent[0]);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->message_class(), StunClass::kSuccessResponse);
  EXPECT_TRUE(response->CheckIntegrity(std::string_view(ice_->pwd())));
  EXPECT_TRUE(response->CheckFingerprint());
  const auto* mapped = reinterpret_cast<const sockaddr_in*>(&*response->xor_mapped_address());
  EXPECT_EQ(mapped->sin_port, a_.sin_port);
  EXPECT_EQ(ice_->state(), IceState::kConnected);
  EXPECT_TRUE(ice_->IsValidTuple(Sa(a_)));
  EXPECT_FALSE(ice_->IsValidTuple(Sa(b_)));

  // Before nomination the latest valid tuple is selected.
  Send(Request(*ice_, {}), b_);
  ASSERT_NE(ice_->selected_tuple(), nullptr);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(b_)));
  // Nomination of a picks it for good.
  Send(Request(*ice_, {.use_candidate = true}), a_);
  EXPECT_EQ(ice_->state(), IceState::kCompleted);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(a_)));
  Send(Request(*ice_, {}), b_);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(a_)));
  EXPECT_EQ(rec_.states, (std::vector<IceState>{IceState::kConnected, IceState::kCompleted}));
}

TEST_F(IceServerTest, BadCredentialsDropped) {
  Send(Request(*ice_, {.password = "not the password"}), a_);
  Send(Request(*ice_, {.username = "someoneelse:peer"}), a_);
  Send(Request(*ice_, {.username = ice_->ufrag()}), a_);  // No ':'.
  auto tampered = Request(*ice_, {.fingerprint = false});
  tampered[25] ^= 1;
  Send(tampered, a_);
  auto bad_fp = Request(*ice_, {});
  bad_fp.back() ^= 1;
  Send(bad_fp, a_);
  EXPECT_TRUE(rec_.sent.empty());
  EXPECT_EQ(ice_->stats().auth_failures, 5u);
  EXPECT_EQ(ice_->state(), IceState::kNew);
  EXPECT_FALSE(ice_->IsValidTuple(Sa(a_)));
  const uint8_t junk[] = {0, 1, 0, 0};
  ice_->ProcessStunPacket(junk, sizeof(junk), Sa(a_));
  EXPECT_EQ(ice_->stats().malformed, 1u);
}

TEST_F(IceServerTest, RoleConflict) {
  Send(Request(*ice_, {.controlling = false, .controlled = true}), a_);
  ASSERT_EQ(rec_.sent.size(), 1u);
  auto response = StunMessage::Parse(rec_.sent[0]);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->message_class(), StunClass::kErrorResponse);
  EXPECT_EQ(response->error_code(), 487);
  EXPECT_EQ(ice_->state(), IceState::kNew);
  EXPECT_EQ(ice_->stats().role_conflicts, 1u);
}

TEST_F(IceServerTest, ConsentExpiresAndRecovers) {
  Send(Request(*ice_, {.use_candidate = true}), a_);
  EXPECT_EQ(ice_->state(), IceState::kCompleted);
  ASSERT_TRUE(loop_.RunUntil([&] { return ice_->state() == IceState::kDisconnected; }, 2000));
  EXPECT_EQ(ice_->selected_tuple(), nullptr);
  EXPECT_FALSE(ice_->IsValidTuple(Sa(a_)));
  ASSERT_FALSE(rec_.selected.empty());
  EXPECT_FALSE(rec_.selected.back());
  Send(Request(*ice_, {.use_candidate = true}), a_);
  EXPECT_EQ(ice_->state(), IceState::kCompleted);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(a_)));
  ice_->Close();
  EXPECT_EQ(ice_->state(), IceState::kClosed);
}

}  // namespace
}  // namespace sb::transport

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

// MESSAGE-INTEGRITY does not cover the source address: a peer's nominating check copied and
// sent from elsewhere authenticates, but must not move media there. It gets no answer.
TEST_F(IceServerTest, CheckReplayedFromAnotherAddressIsDropped) {
  const auto check = Request(*ice_, {.use_candidate = true});
  Send(check, a_);
  ASSERT_EQ(rec_.sent.size(), 1u);
  ASSERT_TRUE(SameAddress(ice_->selected_tuple(), Sa(a_)));
  Send(check, b_);
  EXPECT_EQ(rec_.sent.size(), 1u) << "a replayed check was answered";
  EXPECT_EQ(ice_->stats().replayed, 1u);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(a_)));
  EXPECT_FALSE(ice_->IsValidTuple(Sa(b_)));
  // A retransmission from the address it came from is answered again (RFC 8489 6.2.1).
  Send(check, a_);
  EXPECT_EQ(rec_.sent.size(), 2u);
  // Unauthenticated floods from elsewhere change nothing either.
  for (int i = 0; i < 100; ++i) {
    Send(Request(*ice_, {.use_candidate = true, .password = "guess"}), b_);
  }
  EXPECT_EQ(rec_.sent.size(), 2u);
  EXPECT_EQ(ice_->stats().auth_failures, 100u);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(a_)));
  // The peer itself (a new check, with the password) may move.
  Send(Request(*ice_, {.use_candidate = true}), b_);
  EXPECT_EQ(rec_.sent.size(), 3u);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(b_)));
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

// The success response to a check, checked with the password the check used.
bool AnsweredWith(const Recorder& rec, size_t index, const std::string& pwd) {
  if (rec.sent.size() <= index) return false;
  auto response = StunMessage::Parse(rec.sent[index]);
  return response.ok() && response->message_class() == StunClass::kSuccessResponse &&
         response->CheckIntegrity(std::string_view(pwd));
}

// RFC 8445 section 9: new local credentials; the old ones work until the peer uses the new.
TEST_F(IceServerTest, RestartKeepsOldCredentialsUntilNewOnesAreUsed) {
  Send(Request(*ice_, {.use_candidate = true}), a_);
  ASSERT_EQ(ice_->state(), IceState::kCompleted);
  const std::string old_ufrag = ice_->ufrag();
  const std::string old_pwd = ice_->pwd();
  const RequestOptions old_creds = {.password = old_pwd, .username = old_ufrag + ":peer"};

  ASSERT_TRUE(ice_->RestartIce().ok());
  EXPECT_EQ(ice_->ufrag().size(), 16u);
  EXPECT_EQ(ice_->pwd().size(), 32u);
  EXPECT_NE(ice_->ufrag(), old_ufrag);
  EXPECT_NE(ice_->pwd(), old_pwd);
  // Nothing else changed: state, tuple, no listener calls.
  EXPECT_EQ(ice_->state(), IceState::kCompleted);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(a_)));
  EXPECT_EQ(rec_.states, std::vector<IceState>{IceState::kCompleted});
  EXPECT_EQ(rec_.selected.size(), 1u);

  // The peer has not applied the new answer yet: its checks are answered, signed with the
  // password they used.
  Send(Request(*ice_, old_creds), a_);
  Send(Request(*ice_, old_creds), a_);
  ASSERT_EQ(rec_.sent.size(), 3u);
  EXPECT_TRUE(AnsweredWith(rec_, 1, old_pwd));
  EXPECT_TRUE(AnsweredWith(rec_, 2, old_pwd));
  // Mixed credentials are not credentials.
  Send(Request(*ice_, {.password = old_pwd}), a_);
  Send(Request(*ice_, {.password = ice_->pwd(), .username = old_ufrag + ":peer"}), a_);
  EXPECT_EQ(rec_.sent.size(), 3u);
  EXPECT_EQ(ice_->stats().auth_failures, 2u);

  // The peer's new ufrag, a new tuple, nominated: answered with the new password, selected.
  Send(Request(*ice_, {.use_candidate = true, .username = ice_->ufrag() + ":peer2"}), b_);
  ASSERT_EQ(rec_.sent.size(), 4u);
  EXPECT_TRUE(AnsweredWith(rec_, 3, ice_->pwd()));
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(b_)));
  EXPECT_EQ(ice_->state(), IceState::kCompleted);
  EXPECT_EQ(rec_.states.size(), 1u);
  ASSERT_EQ(rec_.selected.size(), 2u);
  EXPECT_EQ(rec_.selected.back()->sin_port, b_.sin_port);

  // From now on the old credentials are rejected, from any tuple; the new ones work.
  Send(Request(*ice_, old_creds), a_);
  Send(Request(*ice_, old_creds), b_);
  EXPECT_EQ(rec_.sent.size(), 4u);
  EXPECT_EQ(ice_->stats().auth_failures, 4u);
  Send(Request(*ice_, {.username = ice_->ufrag() + ":peer2"}), b_);
  ASSERT_EQ(rec_.sent.size(), 5u);
  EXPECT_TRUE(AnsweredWith(rec_, 4, ice_->pwd()));
  Send(Request(*ice_, {.password = "not the password"}), b_);
  Send(Request(*ice_, {.username = "someoneelse:peer2"}), b_);
  EXPECT_EQ(rec_.sent.size(), 5u);
  EXPECT_EQ(ice_->stats().auth_failures, 6u);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(b_)));
}

// The first check with the new credentials ends the old ones even when it nominates nothing
// and comes from the tuple in use; the selected tuple stays.
TEST_F(IceServerTest, RestartOnTheSameTuple) {
  Send(Request(*ice_, {.use_candidate = true}), a_);
  const RequestOptions old_creds = {.password = ice_->pwd(), .username = ice_->ufrag() + ":p"};
  ASSERT_TRUE(ice_->RestartIce().ok());
  Send(Request(*ice_, {.username = ice_->ufrag() + ":q"}), a_);
  Send(Request(*ice_, old_creds), a_);
  ASSERT_EQ(rec_.sent.size(), 2u);
  EXPECT_TRUE(AnsweredWith(rec_, 1, ice_->pwd()));
  EXPECT_EQ(ice_->stats().auth_failures, 1u);
  EXPECT_TRUE(SameAddress(ice_->selected_tuple(), Sa(a_)));
  EXPECT_EQ(ice_->state(), IceState::kCompleted);
}

// Two restarts before the peer used the first: the credentials it uses still work, the
// never-used ones from the first restart do not, the latest ones do.
TEST_F(IceServerTest, RestartTwiceKeepsTheCredentialsInUse) {
  Send(Request(*ice_, {.use_candidate = true}), a_);
  const RequestOptions in_use = {.password = ice_->pwd(), .username = ice_->ufrag() + ":peer"};
  ASSERT_TRUE(ice_->RestartIce().ok());
  const RequestOptions skipped = {.password = ice_->pwd(), .username = ice_->ufrag() + ":peer"};
  ASSERT_TRUE(ice_->RestartIce().ok());
  EXPECT_NE(ice_->ufrag() + ":peer", skipped.username);

  Send(Request(*ice_, in_use), a_);
  ASSERT_EQ(rec_.sent.size(), 2u);
  EXPECT_TRUE(AnsweredWith(rec_, 1, in_use.password));
  Send(Request(*ice_, skipped), a_);
  EXPECT_EQ(rec_.sent.size(), 2u);
  EXPECT_EQ(ice_->stats().auth_failures, 1u);
  Send(Request(*ice_, {}), a_);
  ASSERT_EQ(rec_.sent.size(), 3u);
  EXPECT_TRUE(AnsweredWith(rec_, 2, ice_->pwd()));
  Send(Request(*ice_, in_use), a_);
  EXPECT_EQ(rec_.sent.size(), 3u);
}

// A restart before any check: the credentials handed out at creation still work until the new
// ones are used. A closed server cannot restart.
TEST_F(IceServerTest, RestartBeforeConnectedAndAfterClose) {
  const RequestOptions first = {.password = ice_->pwd(), .username = ice_->ufrag() + ":peer"};
  ASSERT_TRUE(ice_->RestartIce().ok());
  Send(Request(*ice_, first), a_);
  ASSERT_EQ(rec_.sent.size(), 1u);
  EXPECT_TRUE(AnsweredWith(rec_, 0, first.password));
  EXPECT_EQ(ice_->state(), IceState::kConnected);
  ice_->Close();
  EXPECT_EQ(ice_->RestartIce().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sb::transport

// The fixture of the router tests that need real transports: a Router on a test loop with a
// fresh certificate and two WebRTC transports, "pub" and "sub", on 127.0.0.1. `Events` is the
// test's EventSink.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "router/router.h"
#include "tests/transport/test_loop.h"
#include "transport/dtls_certificate.h"

namespace sb::router::testing {

inline transport::WebRtcTransport::Options LoopbackTransportOptions() {
  transport::WebRtcTransport::Options options;
  options.listen = {{.ip = "127.0.0.1", .announced = {}}};
  options.port_min = 40000;
  options.port_max = 49999;
  return options;
}

template <typename Events>
class RouterFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cert = transport::DtlsCertificate::Generate();
    ASSERT_TRUE(cert.ok());
    cert_ = *std::move(cert);
    router_ = std::make_unique<Router>("r1", loop_.get(), cert_.get(), &events_);
    auto pub = router_->CreateWebRtcTransport("pub", LoopbackTransportOptions());
    auto sub = router_->CreateWebRtcTransport("sub", LoopbackTransportOptions());
    ASSERT_TRUE(pub.ok() && sub.ok());
    pub_ = *pub;
    sub_ = *sub;
  }
  void TearDown() override { router_.reset(); }

  transport::testing::TestLoop loop_;  // outlives the router: closes its handles last
  std::unique_ptr<transport::DtlsCertificate> cert_;
  Events events_;
  std::unique_ptr<Router> router_;
  Transport* pub_ = nullptr;
  Transport* sub_ = nullptr;
};

}  // namespace sb::router::testing

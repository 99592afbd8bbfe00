// TLS (verification, wrong CA, host name, mutual TLS) and ACL / AUTH against the fixture servers.
#include <gtest/gtest.h>

#include <string>

#include "redis/client.h"
#include "redis/server_checks.h"
#include "redis_test_env.h"

namespace authstore::redis {
namespace {

using testing::fixture_value;
using testing::tls_file;

std::string tls_url(const std::string& port_key, const std::string& query) {
  return "rediss://127.0.0.1:" + fixture_value(port_key) + "/?" + query;
}

Result<Reply> ping(const std::string& url) {
  auto c = Client::from_url(url);
  if (!c.ok()) return c.status();
  return (*c)->call({"PING"});
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { AUTHSTORE_REQUIRE_REDIS_FIXTURE(); }
};

TEST_F(TlsTest, TlsWithVerificationConnects) {
  Result<Reply> r = ping(tls_url("REDIS_TLS_PORT", "ca_file=" + tls_file("ca.crt")));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value(), Reply::simple_string("PONG"));
}

TEST_F(TlsTest, TlsWithCaDirectoryAndHostNameConnects) {
  // "localhost" is in the certificate's SANs; verified by name, sent as SNI.
  Result<Reply> r =
      ping("rediss://localhost:" + fixture_value("REDIS_TLS_PORT") + "?ca_file=" + tls_file("ca.crt"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
}

TEST_F(TlsTest, TlsWrongCaRefused) {
  Result<Reply> r = ping(tls_url("REDIS_TLS_PORT", "ca_file=" + tls_file("other-ca.crt")));
  EXPECT_EQ(r.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate verification failed"), std::string::npos)
      << r.status().message();
}

TEST_F(TlsTest, TlsHostNameMismatchRefused) {
  Result<Reply> r =
      ping(tls_url("REDIS_TLS_PORT", "ca_file=" + tls_file("ca.crt") + "&sni=not-the-server.example"));
  EXPECT_EQ(r.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate verification failed"), std::string::npos)
      << r.status().message();
}

TEST_F(TlsTest, TlsInsecureSkipVerifyAcceptsUnknownCa) {
  Result<Reply> r = ping(
      tls_url("REDIS_TLS_PORT", "ca_file=" + tls_file("other-ca.crt") + "&insecure_skip_tls_verify=true"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
}

// A TLS client on a plain port: the server never answers the ClientHello; the caller is told the
// TLS handshake failed, not merely that no reply came before the deadline.
TEST_F(TlsTest, TlsToAPlainPortSaysTheTlsHandshakeFailed) {
  for (const std::string timeouts :
       {"&timeout=300ms&connect_timeout=2s", "&timeout=2s&connect_timeout=300ms"}) {
    Result<Reply> r = ping("rediss://127.0.0.1:" + fixture_value("REDIS_PLAIN_PORT") +
                           "?insecure_skip_tls_verify=true" + timeouts);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("TLS handshake"), std::string::npos)
        << timeouts << ": " << r.status().message();
  }
}

TEST_F(TlsTest, MutualTlsWithClientCertificateConnects) {
  Result<Reply> r = ping(tls_url("REDIS_MTLS_PORT", "ca_file=" + tls_file("ca.crt") +
                                                        "&cert_file=" + tls_file("client.crt") +
                                                        "&key_file=" + tls_file("client.key")));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value(), Reply::simple_string("PONG"));
}

TEST_F(TlsTest, MutualTlsWithoutClientCertificateRefused) {
  Result<Reply> r = ping(tls_url("REDIS_MTLS_PORT", "ca_file=" + tls_file("ca.crt")));
  EXPECT_EQ(r.code(), StatusCode::kUnavailable) << r.status().to_string();
}

TEST_F(TlsTest, MissingCaFileGivesInvalidArgument) {
  auto c = Client::from_url(tls_url("REDIS_TLS_PORT", "ca_file=/nonexistent/ca.pem"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().field(), "ca_file");
}

class AclTest : public ::testing::Test {
 protected:
  void SetUp() override { AUTHSTORE_REQUIRE_REDIS_FIXTURE(); }
  static std::string url(const std::string& userinfo) {
    return "redis://" + userinfo + "@127.0.0.1:" + fixture_value("REDIS_ACL_PORT");
  }
};

TEST_F(AclTest, AclUserWithPasswordConnects) {
  auto c = Client::from_url(url("app:app-secret"));
  ASSERT_TRUE(c.ok());
  Result<Reply> who = (*c)->call({"SET", "app:acl-test", "1"});
  ASSERT_TRUE(who.ok()) << who.status().to_string();
}

TEST_F(AclTest, PasswordOnlyAuthConnects) {
  Result<Reply> r = ping(url(":default-secret"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
}

TEST_F(AclTest, WrongPasswordGivesPermissionDenied) {
  const std::string secret = "not-the-app-secret";
  auto c = Client::from_url(url("app:" + secret));
  ASSERT_TRUE(c.ok());
  Result<Reply> r = (*c)->call({"PING"});
  EXPECT_EQ(r.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("authentication failed for user 'app'"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find(secret), std::string::npos);  // never the secret
  // While backing off, callers fail fast and still see why.
  Result<Reply> again = (*c)->call({"PING"});
  EXPECT_EQ(again.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(again.status().message().find(secret), std::string::npos);
}

TEST_F(AclTest, NoPasswordGivesPermissionDenied) {
  Result<Reply> r = ping("redis://127.0.0.1:" + fixture_value("REDIS_ACL_PORT"));
  EXPECT_EQ(r.code(), StatusCode::kPermissionDenied) << r.status().to_string();
}

TEST_F(AclTest, AclForbiddenCommandGivesPermissionDenied) {
  auto c = Client::from_url(url("app:app-secret"));
  ASSERT_TRUE(c.ok());
  Result<Reply> r = (*c)->call({"FLUSHALL"});
  EXPECT_EQ(r.code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r.value().error_code(), "NOPERM");
  // A forbidden key pattern too; the connection stays usable.
  EXPECT_EQ((*c)->call({"GET", "other:key"}).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE((*c)->call({"PING"}).ok());
}

TEST_F(AclTest, MaxmemoryCheckWarnsWhenConfigForbidden) {
  auto c = Client::from_url(url("app:app-secret"));
  ASSERT_TRUE(c.ok());
  Result<MaxmemoryPolicy> p = check_maxmemory_policy(**c);
  ASSERT_TRUE(p.ok()) << p.status().to_string();  // a warning, not a failure
  EXPECT_FALSE(p->known);
  EXPECT_FALSE(p->safe());
  EXPECT_NE(p->warning.find("noeviction"), std::string::npos);
}

}  // namespace
}  // namespace authstore::redis

// Conformance: values at the edges of what the stores accept are refused before anything is
// written (no error leaves a write behind), on every backend; the latest accepted time works.
#include <cstdint>
#include <limits>

#include "conformance/backends.h"

namespace authstore::testing {
namespace {

template <class T>
class ExtremesTest : public StoreTest<T> {};
TYPED_TEST_SUITE(ExtremesTest, Backends, TraitsName);

constexpr std::int64_t kHuge = std::numeric_limits<std::int64_t>::max() - 5;
constexpr std::int64_t kYear9999End = 253'402'300'799'999;

TYPED_TEST(ExtremesTest, SessionExpiringNearInt64MaxIsRefusedAndNothingIsWritten) {
  SessionStore& s = this->store().sessions();
  Session se;
  se.id = SessionStore::new_session_id();
  se.user_id = "quinn";
  se.refresh_expires_at = kHuge;
  auto r = s.upsert(se);
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "refresh_expires_at");
  EXPECT_EQ(s.get(se.id, "quinn", "full").code(), StatusCode::kNotFound);
  auto all = s.get_all("quinn", "full");
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_TRUE(all->empty());

  se.refresh_expires_at = kYear9999End;  // the latest accepted: stored and read back
  auto saved = s.upsert(se);
  ASSERT_TRUE(saved.ok()) << saved.status().to_string();
  auto back = s.get(se.id, "quinn", "full");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->refresh_expires_at, kYear9999End);
}

TYPED_TEST(ExtremesTest, ClientTokenWithAHugeTtlIsRefusedAndNothingIsWritten) {
  ClientTokenStore& t = this->store().client_tokens();
  TokenRecord tr;
  tr.access_token = "at";
  auto r = t.save("huge", tr, kHuge);
  EXPECT_EQ(r.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "ttl_ms");
  EXPECT_EQ(t.get("huge").code(), StatusCode::kNotFound);

  tr.refresh_token = "rt";
  tr.refresh_expires_at = kHuge;  // the entry's expiry comes from the record (ttl 0)
  EXPECT_EQ(t.save("huge", tr, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.get("huge").code(), StatusCode::kNotFound);

  tr.refresh_expires_at = kYear9999End;
  ASSERT_TRUE(t.save("latest", tr, 0).ok());
  EXPECT_TRUE(t.get("latest").ok());
}

}  // namespace
}  // namespace authstore::testing

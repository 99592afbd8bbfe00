// Result<T>: ok() implies a value; value() without one is an error the caller sees, never a
// made-up default.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "authstore/status.h"

namespace authstore {
namespace {

// A payload without a default constructor: a Result must not need one.
struct NoDefault {
  explicit NoDefault(int v) : value(v) {}
  int value;
};

TEST(ResultTest, OkStatusWithoutValueIsInternal) {
  Result<std::string> r{Status()};
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("without a value"), std::string::npos) << r.status().message();
  Result<Done> d = Status::Ok();
  EXPECT_EQ(d.code(), StatusCode::kInternal);
}

TEST(ResultTest, OkWithValue) {
  Result<std::string> r = std::string("v");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r.value(), "v");
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(r->size(), 1u);
  EXPECT_EQ(std::move(r).value(), "v");
  Result<Done> d = Done{};
  EXPECT_TRUE(d.ok());
}

TEST(ResultTest, OutcomeMayCarryValue) {
  Result<std::string> r(Status(StatusCode::kAlreadyConsumed, "used"), std::string("details"));
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r.value(), "details");
  EXPECT_EQ(r.code(), StatusCode::kAlreadyConsumed);
}

TEST(ResultTest, ValueWithoutValueThrows) {
  Result<std::string> r = Status(StatusCode::kNotFound, "gone", "code");
  EXPECT_THROW((void)r.value(), BadResultAccess);
  EXPECT_THROW((void)*r, BadResultAccess);
  EXPECT_THROW((void)r->size(), BadResultAccess);
  EXPECT_THROW((void)std::move(r).value(), BadResultAccess);
  const Result<std::string>& cr = r;
  try {
    (void)cr.value();
    ADD_FAILURE() << "value() returned";
  } catch (const BadResultAccess& e) {
    EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("not_found"), std::string::npos) << e.what();
  }
  EXPECT_EQ(r.value_or("fallback"), "fallback");
  // The OK-without-value result of the first test throws too: it has no value either.
  Result<std::string> bad{Status()};
  EXPECT_THROW((void)bad.value(), BadResultAccess);
}

TEST(ResultTest, PayloadNeedsNoDefaultConstructor) {
  static_assert(!std::is_default_constructible_v<NoDefault>);
  Result<NoDefault> none = Status(StatusCode::kNotFound, "none");
  EXPECT_FALSE(none.has_value());
  Result<NoDefault> some = NoDefault(7);
  EXPECT_EQ(some->value, 7);
  EXPECT_EQ(none.value_or(NoDefault(3)).value, 3);
}

}  // namespace
}  // namespace authstore

// src/core/keyring.h: building the ring from keys, key files and the environment.
#include "core/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/encoding.h"
#include "test_ring.h"

namespace authstore::internal {
namespace {

using testing::make_ring;
using testing::secret_for;

TEST(KeyRing, FromKeysDerivesDistinctSubKeysPerKey) {
  auto ring = make_ring({1, 2});
  const RingKey* k1 = ring->find(1);
  const RingKey* k2 = ring->find(2);
  ASSERT_NE(k1, nullptr);
  ASSERT_NE(k2, nullptr);
  EXPECT_EQ(k1->id, 1);
  EXPECT_EQ(k1->encrypt.size(), 32u);
  EXPECT_EQ(k1->encrypt, hkdf_sha256(secret_for(1), "authstore v1 encrypt", 32));
  EXPECT_NE(k1->encrypt, k2->encrypt);
  EXPECT_NE(k1->record_mac->mac("x"), k1->lookup->mac("x"));
  EXPECT_NE(k1->record_mac->mac("x"), k2->record_mac->mac("x"));
  EXPECT_EQ(k1->record_mac->mac("x"),
            HmacKey(hkdf_sha256(secret_for(1), "authstore v1 record-mac", 32)).mac("x"));
  EXPECT_EQ(k1->lookup->mac("x"), HmacKey(hkdf_sha256(secret_for(1), "authstore v1 lookup", 32)).mac("x"));
  EXPECT_EQ(ring->find(3), nullptr);
  EXPECT_EQ(ring->find(0), nullptr);
}

TEST(KeyRing, CurrentDefaultsToHighestId) {
  EXPECT_EQ(make_ring({3, 1, 2})->current().id, 3);
  EXPECT_EQ(make_ring({1, 2}, 1)->current().id, 1);
}

TEST(KeyRing, RejectsEmptyRing) {
  auto r = KeyRing::from_keys({}, 0, "");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyRing, RejectsKeyIdZero) {
  auto r = KeyRing::from_keys({KeyEntry{0, std::string(32, 'x')}}, 0, "");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyRing, RejectsShortSecretWithoutEchoingIt) {
  const std::string secret = "short-secret-0123456789abcdefgh";  // 31 bytes
  auto r = KeyRing::from_keys({KeyEntry{1, secret}}, 0, "");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().to_string().find(secret), std::string::npos);
  EXPECT_TRUE(KeyRing::from_keys({KeyEntry{1, std::string(32, 'x')}}, 0, "").ok());
}

TEST(KeyRing, RejectsDuplicateIds) {
  auto r = KeyRing::from_keys({KeyEntry{1, std::string(32, 'x')}, KeyEntry{1, std::string(32, 'y')}}, 0, "");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyRing, RejectsCurrentIdNotInRing) {
  auto r = KeyRing::from_keys({KeyEntry{1, std::string(32, 'x')}}, 2, "");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyRing, RejectsShortRouteSecret) {
  auto r = KeyRing::from_keys({KeyEntry{1, std::string(32, 'x')}}, 0, std::string(31, 'r'));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

// The index key must survive rotation: adding a key (or changing the current one) keeps it.
TEST(KeyRing, IndexKeyIsStableAcrossRotationWhenRouteSecretDerived) {
  auto one = KeyRing::from_keys({KeyEntry{1, secret_for(1)}}, 0, "");
  auto two = KeyRing::from_keys({KeyEntry{2, secret_for(2)}, KeyEntry{1, secret_for(1)}}, 2, "");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one.value()->index().mac("subject"), two.value()->index().mac("subject"));
}

TEST(KeyRing, IndexKeyComesFromRouteSecretWhenSet) {
  auto a = make_ring({1});
  auto b = make_ring({5, 6});  // same fixed route secret
  EXPECT_EQ(a->index().mac("s"), b->index().mac("s"));
  EXPECT_EQ(a->index().mac("s"),
            HmacKey(hkdf_sha256(std::string(32, 'r'), "authstore v1 index", 32)).mac("s"));
  auto c = KeyRing::from_keys({KeyEntry{1, secret_for(1)}}, 0, "");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->index().mac("s"), c.value()->index().mac("s"));
}

std::string b64(std::string_view s) { return base64url_encode(s); }

TEST(KeyFile, ParsesRouteKeysCurrentCommentsAndCrlf) {
  const std::string text = "# comment\n\n   \t\nroute " + b64(std::string(32, 'r')) + "\r\n" + "key 1 " +
                           b64(std::string(32, 'a')) + "\n" + "  key 7 " + b64(std::string(40, 'b')) +
                           "  \n" + "current 1\n";
  auto parsed = parse_key_file(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->route_secret, std::string(32, 'r'));
  ASSERT_EQ(parsed->keys.size(), 2u);
  EXPECT_EQ(parsed->keys[0].id, 1);
  EXPECT_EQ(parsed->keys[0].secret, std::string(32, 'a'));
  EXPECT_EQ(parsed->keys[1].id, 7);
  EXPECT_EQ(parsed->keys[1].secret, std::string(40, 'b'));
  EXPECT_EQ(parsed->current_key_id, 1);
}

void expect_key_file_error(const std::string& text, const std::string& fragment) {
  auto parsed = parse_key_file(text);
  ASSERT_FALSE(parsed.ok()) << text;
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
  EXPECT_EQ(parsed.status().field(), "key_file");
  EXPECT_NE(parsed.status().message().find(fragment), std::string::npos)
      << parsed.status().message() << " lacks " << fragment;
}

TEST(KeyFile, RejectsMalformedLinesNamingTheLine) {
  const std::string good = "key 1 " + b64(std::string(32, 'a')) + "\n";
  expect_key_file_error("", "no 'key' line");
  expect_key_file_error("# only a comment\n", "no 'key' line");
  expect_key_file_error(good + "bogus 1\n", "line 2");
  expect_key_file_error("key 0 " + b64(std::string(32, 'a')) + "\n", "1..65535");
  expect_key_file_error("key 65536 " + b64(std::string(32, 'a')) + "\n", "1..65535");
  expect_key_file_error("key -1 " + b64(std::string(32, 'a')) + "\n", "1..65535");
  expect_key_file_error("key x " + b64(std::string(32, 'a')) + "\n", "line 1");
  expect_key_file_error("key 1 " + b64(std::string(31, 'a')) + "\n", ">= 32 bytes");
  expect_key_file_error("key 1 not*base64url*at*all*not*base64url*at*all*xx\n", "base64url");
  expect_key_file_error("key 1\n", "line 1");
  expect_key_file_error(good + "key 2 " + b64(std::string(32, 'b')) + " trailing\n", "line 2");
  expect_key_file_error(good + "route " + b64(std::string(31, 'r')) + "\n", "route");
  expect_key_file_error(good + "current 0\n", "current");
  expect_key_file_error(good + "current 70000\n", "current");
  expect_key_file_error(good + "current 1 2\n", "trailing");
}

TEST(KeyFile, ErrorsNeverContainSecretMaterial) {
  const std::string secret_b64 = b64("this-secret-is-too-short-31byte");
  auto parsed = parse_key_file("key 1 " + secret_b64 + "\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().to_string().find(secret_b64), std::string::npos);
  auto trailing = parse_key_file("key 1 " + b64(std::string(32, 'a')) + " " + secret_b64 + "\n");
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.status().to_string().find(secret_b64), std::string::npos);
}

// Saves and restores an environment variable around a test.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
    ::unsetenv(name);
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class KeyRingLoad : public ::testing::Test {
 protected:
  EnvGuard secret_{"AUTHSTORE_SECRET"};
  EnvGuard file_{"AUTHSTORE_KEY_FILE"};
};

TEST_F(KeyRingLoad, NoSecretIsFailedPrecondition) {
  KeyOptions o;
  bool throwaway = true;
  auto r = KeyRing::load(o, false, &throwaway);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(throwaway);
  o.development_mode = true;  // development mode alone is not enough: the backend must allow it
  EXPECT_EQ(KeyRing::load(o, false, nullptr).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(KeyRingLoad, ThrowawayOnlyWithDevelopmentModeAndPermission) {
  KeyOptions o;
  EXPECT_EQ(KeyRing::load(o, true, nullptr).status().code(), StatusCode::kFailedPrecondition);
  o.development_mode = true;
  bool throwaway = false;
  auto r = KeyRing::load(o, true, &throwaway);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(throwaway);
}

TEST_F(KeyRingLoad, ExplicitKeysWinOverEnvironment) {
  ::setenv("AUTHSTORE_SECRET", "short", 1);  // would be an error if it were read
  KeyOptions o;
  o.keys = {KeyEntry{4, secret_for(4)}};
  bool throwaway = true;
  auto r = KeyRing::load(o, true, &throwaway);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value()->current().id, 4);
  EXPECT_FALSE(throwaway);
}

TEST_F(KeyRingLoad, EnvironmentSecretIsKeyOneAndMustBeLongEnough) {
  ::setenv("AUTHSTORE_SECRET", "0123456789abcdef0123456789abcdef", 1);
  auto r = KeyRing::load(KeyOptions{}, false, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value()->current().id, 1);
  ::setenv("AUTHSTORE_SECRET", "0123456789abcdef0123456789abcde", 1);
  auto shortr = KeyRing::load(KeyOptions{}, false, nullptr);
  EXPECT_EQ(shortr.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(shortr.status().to_string().find("0123456789abcdef0123456789abcde"), std::string::npos);
}

// Writes `text` to `path` with `mode` (replacing any file there).
void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::remove(path.c_str());
  {
    std::ofstream out(path);
    out << text;
  }
  ::chmod(path.c_str(), mode);
}

std::string good_key_file() {
  return "route " + b64(std::string(32, 'r')) + "\nkey 1 " + b64(std::string(32, 'a')) + "\nkey 2 " +
         b64(std::string(32, 'b')) + "\ncurrent 1\n";
}

TEST_F(KeyRingLoad, KeyFileFromOptionsAndEnvironment) {
  const std::string path = ::testing::TempDir() + "authstore_keyring_test.keys";
  write_file(path, good_key_file());
  KeyOptions o;
  o.key_file = path;
  auto r = KeyRing::load(o, false, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value()->current().id, 1);
  EXPECT_NE(r.value()->find(2), nullptr);

  ::setenv("AUTHSTORE_KEY_FILE", path.c_str(), 1);
  auto e = KeyRing::load(KeyOptions{}, false, nullptr);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e.value()->current().id, 1);
  std::remove(path.c_str());
}

TEST_F(KeyRingLoad, MissingKeyFileIsFailedPrecondition) {
  KeyOptions o;
  o.key_file = ::testing::TempDir() + "authstore_no_such_file.keys";
  auto r = KeyRing::load(o, true, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().field(), "key_file");
}

class KeyFileSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "authstore_keyfile_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Result<std::shared_ptr<KeyRing>> load(const std::string& path, bool insecure = false) {
    KeyOptions o;
    o.key_file = path;
    o.allow_insecure_key_file = insecure;
    return KeyRing::load(o, false, nullptr);
  }
  EnvGuard secret_{"AUTHSTORE_SECRET"};
  EnvGuard file_{"AUTHSTORE_KEY_FILE"};
  EnvGuard insecure_{"AUTHSTORE_ALLOW_INSECURE_KEY_FILE"};
  std::string dir_;
};

void expect_refused(const Result<std::shared_ptr<KeyRing>>& r, const std::string& fragment) {
  ASSERT_FALSE(r.ok()) << fragment;
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().to_string();
  EXPECT_EQ(r.status().field(), "key_file");
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST_F(KeyFileSafety, GroupOrOtherAccessIsRefusedUnlessExplicitlyAllowed) {
  const std::string path = dir_ + "/k";
  for (mode_t mode : {0644, 0640, 0604, 0660, 0666, 0620}) {
    write_file(path, good_key_file(), mode);
    expect_refused(load(path), "chmod 600");
    EXPECT_NE(load(path).status().message().find("allow_insecure_key_file"), std::string::npos);
    EXPECT_TRUE(load(path, true).ok()) << mode;
  }
  ::setenv("AUTHSTORE_ALLOW_INSECURE_KEY_FILE", "1", 1);
  EXPECT_TRUE(load(path).ok());
  ::unsetenv("AUTHSTORE_ALLOW_INSECURE_KEY_FILE");
  for (mode_t mode : {0600, 0400}) {
    write_file(path, good_key_file(), mode);
    EXPECT_TRUE(load(path).ok()) << mode;
  }
}

TEST_F(KeyFileSafety, FileOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  const std::string path = dir_ + "/k";
  write_file(path, good_key_file());
  ASSERT_EQ(::chown(path.c_str(), 4242, 4242), 0);
  expect_refused(load(path), "owned by uid 4242");
  EXPECT_TRUE(load(path, true).ok());
}

TEST_F(KeyFileSafety, SymlinkIsRefused) {
  const std::string target = dir_ + "/real";
  const std::string link = dir_ + "/link";
  write_file(target, good_key_file());
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  expect_refused(load(link), "symbolic link");
  EXPECT_TRUE(load(link, true).ok());
}

TEST_F(KeyFileSafety, DevicesFifosAndHugeFilesAreRefusedWithoutHanging) {
  expect_refused(load("/dev/zero", true), "not a regular file");
  expect_refused(load("/dev/zero"), "not a regular file");
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(load(fifo), "not a regular file");  // opened O_NONBLOCK: no writer, no hang
  const std::string big = dir_ + "/big";
  write_file(big, good_key_file() + std::string(70 * 1024, '#'));
  expect_refused(load(big), "64 KiB");
  write_file(big, good_key_file() + "#" + std::string(60 * 1024, ' ') + "\n");
  EXPECT_TRUE(load(big).ok());
}

TEST(KeyFile, SecondRouteOrCurrentLineAndRepeatedKeyIdAreRefused) {
  const std::string good = "key 1 " + b64(std::string(32, 'a')) + "\n";
  const std::string route = "route " + b64(std::string(32, 'r')) + "\n";
  expect_key_file_error(good + route + "route " + b64(std::string(32, 's')) + "\n", "second 'route'");
  expect_key_file_error(good + "current 1\ncurrent 1\n", "second 'current'");
  expect_key_file_error(good + "key 1 " + b64(std::string(32, 'b')) + "\n", "appears twice");
}

TEST(KeyFile, TrailingCommentsAreAllowed) {
  const std::string text = "route " + b64(std::string(32, 'r')) + "   # never changes\n" + "key 1 " +
                           b64(std::string(32, 'a')) + "\t# first\n" + "current 1 # now\n";
  auto parsed = parse_key_file(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->keys.size(), 1u);
  EXPECT_EQ(parsed->current_key_id, 1);
  EXPECT_EQ(parsed->route_secret, std::string(32, 'r'));
}

// The key-file example of docs/security.md, with its placeholders filled in, parses.
TEST(KeyFile, TheExampleInTheSecurityDocParses) {
  std::ifstream in(std::string(AUTHSTORE_SOURCE_DIR) + "/docs/security.md");
  ASSERT_TRUE(in.good());
  std::string line;
  bool in_section = false;
  bool in_block = false;
  std::string example;
  while (std::getline(in, line)) {
    if (line.rfind("### Key file", 0) == 0) in_section = true;
    if (!in_section) continue;
    if (line.rfind("```", 0) == 0) {
      if (in_block) break;
      in_block = true;
      continue;
    }
    if (in_block) example += line + "\n";
  }
  ASSERT_NE(example.find("route"), std::string::npos) << "no example found";
  int n = 0;
  for (std::size_t at; (at = example.find("<b64u secret>")) != std::string::npos;) {
    example.replace(at, 13, b64(std::string(32, static_cast<char>('a' + n++))));
  }
  auto parsed = parse_key_file(example);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string() << "\n" << example;
  EXPECT_EQ(parsed->keys.size(), 2u);
  EXPECT_EQ(parsed->current_key_id, 2);
  EXPECT_FALSE(parsed->route_secret.empty());
}

TEST_F(KeyRingLoad, EmptyEnvironmentVariablesAreErrorsNotFallbacks) {
  KeyOptions dev;
  dev.development_mode = true;
  ::setenv("AUTHSTORE_SECRET", "", 1);
  auto r = KeyRing::load(dev, true, nullptr);  // would otherwise fall back to a throwaway key
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "AUTHSTORE_SECRET");
  ::unsetenv("AUTHSTORE_SECRET");
  ::setenv("AUTHSTORE_KEY_FILE", "", 1);
  auto f = KeyRing::load(dev, true, nullptr);
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().field(), "AUTHSTORE_KEY_FILE");
}

TEST(WeakSecret, ZeroRepetitiveAndPasswordLikeSecretsAreWeakRandomOnesAreNot) {
  EXPECT_TRUE(weak_secret(std::string(32, '\0')));
  EXPECT_TRUE(weak_secret(std::string(32, 'x')));
  EXPECT_TRUE(weak_secret("correct horse battery staple 123"));
  EXPECT_TRUE(weak_secret(std::string(16, '\x01') + std::string(16, '\x02')));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(weak_secret(random_bytes(32)));
}

TEST_F(KeyRingLoad, WeakSecretsAreLoadedUnchangedWithAWarning) {
  const std::string password = "correct horse battery staple 123";
  ::setenv("AUTHSTORE_SECRET", password.c_str(), 1);
  std::vector<std::string> warnings;
  auto r = KeyRing::load(KeyOptions{}, false, nullptr, [&](std::string_view m) { warnings.emplace_back(m); });
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("looks weak"), std::string::npos);
  EXPECT_EQ(warnings[0].find(password), std::string::npos);
  // Same derivations as before: records and tokens of an existing secret keep working.
  EXPECT_EQ(r.value()->current().encrypt, hkdf_sha256(password, "authstore v1 encrypt", 32));
  warnings.clear();
  KeyOptions strong;
  strong.keys = {KeyEntry{1, random_bytes(32)}};
  strong.route_secret = random_bytes(32);
  ASSERT_TRUE(
      KeyRing::load(strong, false, nullptr, [&](std::string_view m) { warnings.emplace_back(m); }).ok());
  EXPECT_TRUE(warnings.empty());
}

TEST(CreateKeyFile, WritesStrongKeysAndNeverFollowsASymlink) {
  const std::string dir = ::testing::TempDir() + "authstore_create_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/k";
  ASSERT_TRUE(create_key_file(path).ok());
  auto text = read_key_file(path, false);
  ASSERT_TRUE(text.ok()) << text.status().to_string();
  auto parsed = parse_key_file(text.value());
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(weak_secret(parsed->keys[0].secret));
  EXPECT_FALSE(weak_secret(parsed->route_secret));
  const std::string link = dir + "/link";
  ASSERT_EQ(::symlink((dir + "/elsewhere").c_str(), link.c_str()), 0);
  EXPECT_FALSE(create_key_file(link).ok());
  EXPECT_FALSE(std::filesystem::exists(dir + "/elsewhere"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace authstore::internal

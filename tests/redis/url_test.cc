// parse_url(): the ecosystem's Redis URL forms and precise errors.
#include <gtest/gtest.h>

#include "redis/client.h"
#include "redis/options.h"

namespace authstore::redis {
namespace {

using namespace std::chrono_literals;

ClientOptions parse_ok(std::string_view url) {
  Result<ClientOptions> r = parse_url(url);
  EXPECT_TRUE(r.ok()) << url << ": " << r.status().to_string();
  return r.ok() ? r.value() : ClientOptions{};
}

Status parse_error(std::string_view url) {
  Result<ClientOptions> r = parse_url(url);
  EXPECT_FALSE(r.ok()) << url;
  EXPECT_EQ(r.status().field(), "url");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status();
}

TEST(RedisUrl, HostPortDbUserPassword) {
  ClientOptions o = parse_ok("redis://app:p%40ss@cache.internal:6380/2");
  EXPECT_EQ(o.host, "cache.internal");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.db, 2);
  EXPECT_EQ(o.username, "app");
  EXPECT_EQ(o.password, "p@ss");
  EXPECT_FALSE(o.tls.enabled);
}

TEST(RedisUrl, PasswordOnlyForms) {
  EXPECT_EQ(parse_ok("redis://:secret@h").password, "secret");
  EXPECT_EQ(parse_ok("redis://:secret@h").username, "");
  EXPECT_EQ(parse_ok("redis://secret@h").password, "secret");
}

TEST(RedisUrl, DefaultsWhenOmitted) {
  ClientOptions o = parse_ok("redis://localhost");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.db, 0);
  EXPECT_EQ(parse_ok("redis://localhost/").db, 0);
}

TEST(RedisUrl, Ipv6Host) {
  ClientOptions o = parse_ok("redis://[::1]:7000");
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 7000);
}

TEST(RedisUrl, RedissEnablesTlsWithFilesAndSni) {
  ClientOptions o =
      parse_ok("rediss://h:6390?ca_file=/ca.pem&cert_file=/c.pem&key_file=/k.pem&sni=redis.example");
  EXPECT_TRUE(o.tls.enabled);
  EXPECT_EQ(o.tls.ca_file, "/ca.pem");
  EXPECT_EQ(o.tls.cert_file, "/c.pem");
  EXPECT_EQ(o.tls.key_file, "/k.pem");
  EXPECT_EQ(o.tls.server_name, "redis.example");
  EXPECT_FALSE(o.tls.insecure_skip_verify_dangerous);
  EXPECT_TRUE(parse_ok("rediss://h?insecure_skip_tls_verify=true").tls.insecure_skip_verify_dangerous);
}

TEST(RedisUrl, UnixSocketWithDb) {
  ClientOptions o = parse_ok("unix:///run/redis/redis.sock?db=4&timeout=2s");
  EXPECT_EQ(o.unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(o.db, 4);
  EXPECT_EQ(o.command_timeout, 2000ms);
}

TEST(RedisUrl, TimeoutOptionsWithUnits) {
  ClientOptions o = parse_ok("redis://h?timeout=250ms&connect_timeout=3s&ping_interval=0");
  EXPECT_EQ(o.command_timeout, 250ms);
  EXPECT_EQ(o.connect_timeout, 3000ms);
  EXPECT_EQ(o.idle_ping_interval, 0ms);
  EXPECT_EQ(parse_ok("redis://h?timeout=1500").command_timeout, 1500ms);
  EXPECT_EQ(parse_ok("redis://h?connections=4&client_name=svc").connections, 4U);
  EXPECT_EQ(parse_ok("redis://h?timeout=1us").command_timeout, 1ms);  // rounded up, never to 0
}

TEST(RedisUrl, MalformedUrlsGetPreciseErrors) {
  EXPECT_NE(parse_error("localhost:6379").message().find("missing scheme"), std::string::npos);
  EXPECT_NE(parse_error("http://h").message().find("unsupported scheme 'http'"), std::string::npos);
  EXPECT_NE(parse_error("redis://h:0").message().find("port"), std::string::npos);
  EXPECT_NE(parse_error("redis://h:99999").message().find("port"), std::string::npos);
  EXPECT_NE(parse_error("redis://h:abc").message().find("port"), std::string::npos);
  EXPECT_NE(parse_error("redis://h:").message().find("empty port"), std::string::npos);
  EXPECT_NE(parse_error("redis://h/x").message().find("database"), std::string::npos);
  EXPECT_NE(parse_error("redis://h/-1").message().find("database"), std::string::npos);
  EXPECT_NE(parse_error("redis://").message().find("missing host"), std::string::npos);
  EXPECT_NE(parse_error("redis://[::1").message().find("IPv6"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?bogus=1").message().find("unknown option 'bogus'"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?timeout=soon").message().find("timeout"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?timeout").message().find("no value"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?ca_file=/x").message().find("rediss://"), std::string::npos);
  EXPECT_NE(parse_error("rediss://h?cert_file=/x").message().find("key_file"), std::string::npos);
  EXPECT_NE(parse_error("unix://relative.sock").message().find("absolute"), std::string::npos);
  EXPECT_NE(parse_error("redis://u%zz:p@h").message().find("%-escape"), std::string::npos);
  EXPECT_NE(parse_error("redis://user:@h").message().find("needs a password"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?connections=0").message().find("connections"), std::string::npos);
}

TEST(RedisUrl, ErrorsNeverEchoThePassword) {
  Result<ClientOptions> r = parse_url("redis://app:hunter2-secret@h:badport");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(r.status().to_string().find("hunter2"), std::string::npos);
}

// A password with an unescaped '?' turns its tail into the "query": the error must not repeat it.
TEST(RedisUrl, MisplacedSecretInTheQueryIsNeverRepeated) {
  for (const char* url : {"redis://se?cretpassword@host", "redis://user:p?w=rest@host:6379",
                          "redis://h?x%zz@secret=1", "redis://h?Secret-Tail"}) {
    Result<ClientOptions> r = parse_url(url);
    ASSERT_FALSE(r.ok()) << url;
    const std::string m = r.status().to_string();
    for (const char* part : {"cretpassword", "rest@host", "x%zz@secret", "Secret-Tail"}) {
      EXPECT_EQ(m.find(part), std::string::npos) << url << " -> " << m;
    }
  }
  EXPECT_NE(parse_url("redis://se?cretpassword@host").status().message().find("not shown"),
            std::string::npos);
  // A plain unknown name is still named, so a typo is easy to find.
  EXPECT_NE(parse_url("redis://h?timout=1s").status().message().find("'timout'"), std::string::npos);
}

// A percent-encoded NUL would cut a path short (the file opened would be another one): refused.
TEST(RedisUrl, NulInPathsAndFileOptionsIsRefused) {
  for (const char* url : {"unix:///tmp/x%00y.sock", "rediss://h?ca_file=/x%00y",
                          "rediss://h?cert_file=/a%00&key_file=/b", "redis://h?client_name=a%00b"}) {
    Result<ClientOptions> r = parse_url(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_NE(r.status().message().find("NUL"), std::string::npos) << r.status().to_string();
  }
}

// The query, as the one parser (src/core/url_query.h) reads it: values percent-decoded, a repeated
// option's last value wins, empty parameters skipped, an empty value is the option's to judge.
TEST(RedisUrl, QueryEdgeCases) {
  ClientOptions o =
      parse_ok("rediss://h?ca_file=/etc/my%20certs/ca%2Bx.pem&client_name=svc%2D1&sni=r%2Eexample");
  EXPECT_EQ(o.tls.ca_file, "/etc/my certs/ca+x.pem");
  EXPECT_EQ(o.client_name, "svc-1");
  EXPECT_EQ(o.tls.server_name, "r.example");
  EXPECT_EQ(parse_ok("rediss://h?ca_file=/a+b").tls.ca_file, "/a+b");  // '+' is not a space
  EXPECT_EQ(parse_ok("redis://h?timeout=1s&timeout=250ms").command_timeout, 250ms);
  EXPECT_EQ(parse_ok("redis://h?db=1&db=2").db, 2);
  EXPECT_EQ(parse_ok("redis://h/3?&&timeout=2s&").command_timeout, 2000ms);
  EXPECT_EQ(parse_ok("redis://h/3?&&timeout=2s&").db, 3);
  EXPECT_EQ(parse_ok("redis://h?").host, "h");
  EXPECT_EQ(parse_ok("redis://h?timeout=%32%35%30ms").command_timeout, 250ms);  // decoded, then read
  EXPECT_EQ(parse_ok("redis://h?client_name=").client_name, "");
  EXPECT_NE(parse_error("redis://h?timeout=").message().find("option 'timeout'"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?connections=").message().find("option 'connections'"), std::string::npos);
  const std::string bad_escape = parse_error("redis://h?client_name=a%zz").message();
  EXPECT_NE(bad_escape.find("option 'client_name' has a malformed %-escape"), std::string::npos)
      << bad_escape;
  EXPECT_NE(parse_error("redis://h?client_name=a%2").message().find("%-escape"), std::string::npos);
  // A space written as it is (not %20) has always been accepted; client_name then refuses it itself.
  EXPECT_NE(
      parse_error("redis://h?client_name=a b").message().find("option 'client_name' must not contain spaces"),
      std::string::npos);
  // An unknown option is named and the known ones listed, even after a valid one.
  const std::string unknown = parse_error("redis://h?timeout=1s&tiemout=2s").message();
  EXPECT_NE(unknown.find("unknown option 'tiemout' (expected timeout"), std::string::npos) << unknown;
}

// Cluster URLs: every form, and precise errors for bad ones.
using Seeds = std::vector<std::pair<std::string, std::uint16_t>>;

ClusterUrl cluster_ok(std::string_view url) {
  Result<ClusterUrl> r = parse_cluster_url(url);
  EXPECT_TRUE(r.ok()) << url << ": " << r.status().to_string();
  return r.ok() ? r.value() : ClusterUrl{};
}

std::string cluster_error(std::string_view url) {
  Result<ClusterUrl> r = parse_cluster_url(url);
  EXPECT_FALSE(r.ok()) << url;
  EXPECT_EQ(r.status().field(), "url");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(RedisClusterUrl, SeedsUserPasswordAndOptionsForEveryNode) {
  ClusterUrl c = cluster_ok("redis+cluster://app:p%40ss@n1:7000,n2:7001,[::1]:7002?timeout=250ms");
  EXPECT_EQ(c.seeds, (Seeds{{"n1", 7000}, {"n2", 7001}, {"::1", 7002}}));
  EXPECT_EQ(c.node.username, "app");
  EXPECT_EQ(c.node.password, "p@ss");
  EXPECT_EQ(c.node.command_timeout, 250ms);
  EXPECT_FALSE(c.node.tls.enabled);
  EXPECT_TRUE(is_cluster_url("redis+cluster://h"));
  EXPECT_TRUE(is_cluster_url("rediss+cluster://h"));
  EXPECT_FALSE(is_cluster_url("redis://h"));
}

TEST(RedisClusterUrl, OneSeedDefaultPortDbZeroPasswordOnlyAndTls) {
  ClusterUrl c = cluster_ok("redis+cluster://h1");
  EXPECT_EQ(c.seeds, (Seeds{{"h1", 6379}}));
  EXPECT_EQ(cluster_ok("redis+cluster://h1:7000/0").seeds, (Seeds{{"h1", 7000}}));
  EXPECT_EQ(cluster_ok("redis+cluster://h1:7000/").seeds, (Seeds{{"h1", 7000}}));
  ClusterUrl p = cluster_ok("redis+cluster://:secret@h1:7000,h2");
  EXPECT_EQ(p.node.password, "secret");
  EXPECT_TRUE(p.node.username.empty());
  EXPECT_EQ(p.seeds, (Seeds{{"h1", 7000}, {"h2", 6379}}));
  ClusterUrl t = cluster_ok("rediss+cluster://h1:7000,h2:7001?ca_file=/etc/ca.pem&sni=redis.example");
  EXPECT_TRUE(t.node.tls.enabled);
  EXPECT_EQ(t.node.tls.ca_file, "/etc/ca.pem");
}

TEST(RedisClusterUrl, BadFormsSayWhatIsWrong) {
  EXPECT_NE(cluster_error("redis://h1:7000").find("redis+cluster://"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://h1:7000/2").find("only database 0"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://h1:7000?db=1").find("only database 0"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://").find("at least one seed"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://u:p@").find("at least one seed"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://h1:7000,,h2").find("seed 2"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://h1:7000,h2:99999").find("seed 2"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://h1:7000,h2:99999").find("port"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://h1?timeout=fast").find("timeout"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://h1?ca_file=/x").find("rediss"), std::string::npos);
  // The password never appears in an error.
  EXPECT_EQ(cluster_error("redis+cluster://u:hunter2@h1:0").find("hunter2"), std::string::npos);
}

SentinelUrl sentinel_ok(std::string_view url) {
  Result<SentinelUrl> r = parse_sentinel_url(url);
  EXPECT_TRUE(r.ok()) << url << ": " << r.status().to_string();
  return r.ok() ? r.value() : SentinelUrl{};
}

std::string sentinel_error(std::string_view url) {
  Result<SentinelUrl> r = parse_sentinel_url(url);
  EXPECT_FALSE(r.ok()) << url;
  EXPECT_EQ(r.status().field(), "url");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(RedisSentinelUrl, SentinelsMasterNameDbAndBothCredentials) {
  SentinelUrl s = sentinel_ok(
      "redis+sentinel://app:p%40ss@s1:26380,s2,[::1]:26381/mymaster/3"
      "?sentinel_username=watch&sentinel_password=s%3Acret&timeout=250ms&client_name=svc");
  EXPECT_EQ(s.sentinels, (Seeds{{"s1", 26380}, {"s2", 26379}, {"::1", 26381}}));
  EXPECT_EQ(s.master_name, "mymaster");
  EXPECT_EQ(s.master.username, "app");
  EXPECT_EQ(s.master.password, "p@ss");
  EXPECT_EQ(s.master.db, 3);
  EXPECT_EQ(s.master.command_timeout, 250ms);
  EXPECT_EQ(s.sentinel.username, "watch");
  EXPECT_EQ(s.sentinel.password, "s:cret");
  EXPECT_EQ(s.sentinel.db, 0);  // a sentinel has no databases
  EXPECT_EQ(s.sentinel.command_timeout, 250ms);
  EXPECT_EQ(s.sentinel.client_name, "svc");
  EXPECT_FALSE(s.master.tls.enabled);
  EXPECT_TRUE(is_sentinel_url("redis+sentinel://h/m"));
  EXPECT_TRUE(is_sentinel_url("rediss+sentinel://h/m"));
  EXPECT_TRUE(is_sentinel_url("redis-sentinel://h?sentinelMasterId=m"));
  EXPECT_FALSE(is_sentinel_url("redis://h"));
  EXPECT_FALSE(is_sentinel_url("redis+cluster://h"));
}

TEST(RedisSentinelUrl, DefaultsNoCredentialsAndTls) {
  SentinelUrl s = sentinel_ok("redis+sentinel://s1/m");
  EXPECT_EQ(s.sentinels, (Seeds{{"s1", 26379}}));
  EXPECT_EQ(s.master_name, "m");
  EXPECT_EQ(s.master.db, 0);
  EXPECT_TRUE(s.master.password.empty());
  EXPECT_TRUE(s.sentinel.password.empty());
  EXPECT_EQ(sentinel_ok("redis+sentinel://s1/m/").master.db, 0);
  EXPECT_EQ(sentinel_ok("redis+sentinel://s1/m?db=5").master.db, 5);
  EXPECT_EQ(sentinel_ok("redis+sentinel://s1/my%2Dmaster").master_name, "my-master");
  SentinelUrl p = sentinel_ok("redis+sentinel://:secret@s1/m");
  EXPECT_EQ(p.master.password, "secret");
  EXPECT_TRUE(p.sentinel.password.empty());  // the master's password is not the sentinels'
  SentinelUrl t = sentinel_ok("rediss+sentinel://s1:26390,s2/m?ca_file=/etc/ca.pem&sni=redis.example");
  EXPECT_TRUE(t.master.tls.enabled);
  EXPECT_TRUE(t.sentinel.tls.enabled);
  EXPECT_EQ(t.sentinel.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(sentinel_ok("redis+sentinel://s1/m?sentinel_password=x").sentinel.password, "x");
  EXPECT_TRUE(sentinel_ok("redis+sentinel://s1/m?sentinel_password=x").sentinel.username.empty());
}

TEST(RedisSentinelUrl, LettuceForm) {
  SentinelUrl s = sentinel_ok("redis-sentinel://secret@s1:26380,s2/2?sentinelMasterId=mymaster&timeout=2s");
  EXPECT_EQ(s.sentinels, (Seeds{{"s1", 26380}, {"s2", 26379}}));
  EXPECT_EQ(s.master_name, "mymaster");
  EXPECT_EQ(s.master.password, "secret");
  EXPECT_EQ(s.master.db, 2);
  EXPECT_EQ(s.master.command_timeout, 2000ms);
  EXPECT_EQ(sentinel_ok("redis-sentinel://s1#mymaster").master_name, "mymaster");
  EXPECT_EQ(sentinel_ok("redis-sentinel://s1?sentinelMasterId=m#m").master_name, "m");
  EXPECT_TRUE(sentinel_ok("rediss-sentinel://s1?sentinelMasterId=m").master.tls.enabled);
}

TEST(RedisSentinelUrl, BadFormsSayWhatIsWrong) {
  EXPECT_NE(sentinel_error("redis://h").find("redis+sentinel://"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1").find("names its master"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/").find("names its master"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel:///m").find("at least one sentinel"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://u:p@/m").find("at least one sentinel"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1,,s2/m").find("sentinel 2"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1,s2:99999/m").find("sentinel 2: redis url: port"),
            std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m/x").find("database"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m/1/2").find("/master_name[/db]"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m?timeout=fast").find("timeout"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m?ca_file=/x").find("rediss"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m?bogus=1").find("bogus"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m#x").find("fragments"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m%20x").find("master name"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m%zz").find("master name"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m?sentinelMasterId=m").find("redis-sentinel://"),
            std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m?sentinel_username=u").find("needs sentinel_password"),
            std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m?sentinel_password").find("no value"), std::string::npos);
  EXPECT_NE(sentinel_error("redis+sentinel://s1/m?sentinel_password=%zz").find("sentinel_password"),
            std::string::npos);
  EXPECT_NE(sentinel_error("redis-sentinel://s1").find("sentinelMasterId"), std::string::npos);
  EXPECT_NE(sentinel_error("redis-sentinel://s1/2/3?sentinelMasterId=m").find("[/db]"), std::string::npos);
  EXPECT_NE(sentinel_error("redis-sentinel://s1?sentinelMasterId=a#b").find("twice"), std::string::npos);
  // No password, the master's or the sentinels', ever appears in an error.
  EXPECT_EQ(sentinel_error("redis+sentinel://u:hunter2@s1:0/m").find("hunter2"), std::string::npos);
  EXPECT_EQ(sentinel_error("redis+sentinel://u:hunter2@s1/m?sentinel_password=swordfish&timeout=x")
                .find("swordfish"),
            std::string::npos);
  EXPECT_EQ(sentinel_error("redis+sentinel://s1/m?sentinel_password=swordfish&sentinel_username=u&x=1")
                .find("swordfish"),
            std::string::npos);
}

TEST(RedisSentinelUrl, SentinelOptionsAreDecodedAndTheRestPassedOn) {
  Result<SentinelUrl> r = parse_sentinel_url(
      "redis+sentinel://s1/m?&sentinel_password=p%40ss&&timeout=2s&sentinel_password=p%2Bq&");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r.value().sentinel.password, "p+q");  // decoded; the last one wins
  EXPECT_EQ(r.value().master.password, "");
  EXPECT_EQ(r.value().master.command_timeout, 2000ms);
  EXPECT_EQ(r.value().sentinel.command_timeout, 2000ms);
}

TEST(RedisUrl, WaitOptionsOnStandaloneAndCluster) {
  ClientOptions none = parse_ok("redis://h");
  EXPECT_EQ(none.wait_replicas, 0);  // no WAIT unless asked for
  ClientOptions o = parse_ok("redis://h?wait_replicas=1&wait_timeout_ms=200");
  EXPECT_EQ(o.wait_replicas, 1);
  EXPECT_EQ(o.wait_timeout, 200ms);
  ClusterUrl c = cluster_ok("redis+cluster://n1:7000,n2:7001?wait_replicas=2&wait_timeout_ms=50");
  EXPECT_EQ(c.node.wait_replicas, 2);  // every node's client
  EXPECT_EQ(c.node.wait_timeout, 50ms);
  EXPECT_NE(parse_error("redis://h?wait_replicas=-1").message().find("wait_replicas"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?wait_replicas=many").message().find("wait_replicas"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?wait_timeout_ms=0").message().find("wait_timeout_ms"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?wait_timeout_ms=2s").message().find("milliseconds"), std::string::npos);
  EXPECT_NE(cluster_error("redis+cluster://h1?wait_replicas=x").find("wait_replicas"), std::string::npos);
}

TEST(RedisUrl, WaitTimeoutMustFitInsideTheCommandTimeout) {
  // WAIT 0 would block forever; a WAIT longer than every caller's deadline only holds the
  // connection after they gave up.
  auto too_long = Client::from_url("redis://h?wait_replicas=1&wait_timeout_ms=1000&timeout=1s");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(too_long.status().field(), "wait_timeout_ms");
  EXPECT_TRUE(Client::from_url("redis://h?wait_replicas=1&wait_timeout_ms=999&timeout=1s").ok());
  EXPECT_TRUE(Client::from_url("redis://h?wait_timeout_ms=5000").ok());  // no WAIT: unused
  // The Cluster and Sentinel parsers check the same, when the URL is read.
  auto cluster = parse_cluster_url("redis+cluster://n1:7000?wait_replicas=1&wait_timeout_ms=1000&timeout=1s");
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.status().field(), "wait_timeout_ms");
  auto sentinel = parse_sentinel_url("redis+sentinel://s1/m?wait_replicas=1&wait_timeout_ms=1000");
  ASSERT_FALSE(sentinel.ok());
  EXPECT_EQ(sentinel.status().field(), "wait_timeout_ms");
  EXPECT_TRUE(parse_sentinel_url("redis+sentinel://s1/m?wait_replicas=1&wait_timeout_ms=999").ok());
}

TEST(RedisUrl, SpinUsOnStandaloneClusterAndSentinel) {
  EXPECT_EQ(parse_ok("redis://h").spin_before_block, 0us);  // off unless asked for
  EXPECT_EQ(parse_ok("redis://h?spin_us=50").spin_before_block, 50us);
  EXPECT_EQ(parse_ok("rediss://h?spin_us=1000").spin_before_block, 1000us);
  EXPECT_EQ(parse_ok("unix:///tmp/r.sock?spin_us=0").spin_before_block, 0us);
  ClientOptions base;
  base.spin_before_block = 70us;  // the URL wins when it names spin_us; else base's value stays
  EXPECT_EQ(parse_url("redis://h?spin_us=0", base).value().spin_before_block, 0us);
  EXPECT_EQ(parse_url("redis://h", base).value().spin_before_block, 70us);
  EXPECT_EQ(cluster_ok("redis+cluster://n1:7000,n2?spin_us=40").node.spin_before_block, 40us);
  SentinelUrl s = sentinel_ok("redis+sentinel://s1,s2/m?spin_us=40");
  EXPECT_EQ(s.master.spin_before_block, 40us);
  EXPECT_EQ(s.sentinel.spin_before_block, 0us);  // nobody waits on a sentinel: no busy I/O thread
  for (const char* bad : {"1001", "-1", "x", "", "5us", "0x10"}) {
    EXPECT_NE(parse_error(std::string("redis://h?spin_us=") + bad).message().find("spin_us"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(cluster_error("redis+cluster://h1?spin_us=2000").find("spin_us"), std::string::npos);
  ClientOptions direct;
  direct.spin_before_block = 1001us;
  auto refused = Client::create(direct);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().field(), "spin_us");
}

// A deadline of 0 fails every call: refused when the URL is read, as a URL error naming the option,
// on every URL form (the fuzzer found redis+sentinel://...?timeout=0s answering field "timeout").
TEST(RedisUrl, ZeroTimeoutsAreRefusedWhenTheUrlIsRead) {
  for (const char* url : {"redis://h?timeout=0", "redis://h?timeout=0s", "redis://h?connect_timeout=0ms",
                          "redis://h?timeout=0us", "unix:///r.sock?connect_timeout=0"}) {
    EXPECT_NE(parse_error(url).message().find("must be a positive duration"), std::string::npos) << url;
  }
  EXPECT_NE(cluster_error("redis+cluster://h1,h2?timeout=0s").find("timeout' must be a positive"),
            std::string::npos);
  EXPECT_NE(
      sentinel_error("redis+sentinel://app:pw@s1,[::1]/m?timeout=0s").find("timeout' must be a positive"),
      std::string::npos);
  EXPECT_NE(
      sentinel_error("redis-sentinel://s1?sentinelMasterId=m&connect_timeout=0").find("connect_timeout"),
      std::string::npos);
  EXPECT_EQ(parse_ok("redis://h?ping_interval=0s").idle_ping_interval, 0ms);  // 0 = no idle ping
}

}  // namespace
}  // namespace authstore::redis

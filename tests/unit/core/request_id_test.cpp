#include "core/request_id.hpp"

#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

namespace meridian::core {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

TEST(RequestIdTest, Format) {
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 36u) << id;
    ASSERT_EQ(id.substr(0, 4), "req_") << id;
    for (char c : id.substr(4)) ASSERT_TRUE(IsLowerHex(c)) << id;
    // Our own ids pass our own client check (they are echoed back and may be re-sent).
    ASSERT_TRUE(IsAcceptableClientRequestId(id)) << id;
  }
}

TEST(RequestIdTest, UniqueOver100k) {
  std::unordered_set<std::string> seen;
  constexpr int kCount = 100'000;
  seen.reserve(kCount);
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(seen.insert(NewRequestId()).second);
}

TEST(RequestIdTest, UniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25'000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      ids[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(NewRequestId());
    });
  }
  for (auto& th : threads) th.join();
  std::unordered_set<std::string> seen;
  for (const auto& v : ids) {
    for (const auto& id : v) ASSERT_TRUE(seen.insert(id).second) << id;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(RequestIdTest, BitsLookRandom) {
  // Every hex digit position takes many values: catches a stuck or truncated generator.
  std::vector<std::unordered_set<char>> per_position(32);
  for (int i = 0; i < 2000; ++i) {
    std::string id = NewRequestId();
    for (int p = 0; p < 32; ++p) per_position[p].insert(id[4 + p]);
  }
  for (int p = 0; p < 32; ++p) EXPECT_EQ(per_position[p].size(), 16u) << "position " << p;
}

TEST(RequestIdTest, ClientIdAcceptance) {
  struct Case {
    std::string id;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"a", true},
      {"req_0123456789abcdef0123456789abcdef", true},
      {"550e8400-e29b-41d4-a716-446655440000", true},
      {"trace:span.1_A-Z", true},
      {std::string(128, 'x'), true},
      {std::string(129, 'x'), false},
      {"", false},
      {"has space", false},
      {"tab\there", false},
      {"crlf\r\nInjected: yes", false},
      {"lf\n", false},
      {"quote\"", false},
      {"semi;colon", false},
      {"slash/", false},
      {"percent%0d", false},
      {"braces{}", false},
      {"equals=", false},
      {"nul" + std::string(1, '\0'), false},
      {"caf\xC3\xA9", false},  // non-ASCII
      {"\x7f", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(IsAcceptableClientRequestId(c.id), c.ok) << "'" << c.id << "'";
  }
}

}  // namespace
}  // namespace meridian::core

#include "audit/sqlite_audit_store.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "audit/verify.hpp"
#include "audit_test_util.hpp"

namespace meridian::audit {
namespace {

using testing::RawInt;
using testing::RawSql;
using testing::TempDir;

SqliteAuditStoreOptions Fast() {
  SqliteAuditStoreOptions o;
  o.durability = Durability::kNormal;
  return o;
}

std::unique_ptr<SqliteAuditStore> OpenOrDie(const std::string& db, SqliteAuditStoreOptions o = {}) {
  auto store = SqliteAuditStore::Open(db, std::move(o));
  if (!store) ADD_FAILURE() << store.error().message;
  return store ? *std::move(store) : nullptr;
}

std::string Body(int i) { return fmt::format(R"({{"i":{}}})", i); }

void ExpectVerifiesOk(const std::string& db, std::int64_t records) {
  auto report = Verify(db);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->ok()) << report->problem->ToString();
  EXPECT_EQ(report->records, records);
  EXPECT_EQ(report->head.seq, records);
}

TEST(SqliteAuditStoreTest, NewLogAppendsAChainFromGenesis) {
  TempDir dir;
  const std::string db = dir.File("state/audit.db");  // parent created by Open
  std::int64_t now = 1'700'000'000'000;
  SqliteAuditStoreOptions o;
  o.clock = [&] { return now++; };
  auto store = OpenOrDie(db, o);
  ASSERT_TRUE(store);

  auto head = store->Head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->seq, 0);
  EXPECT_EQ(head->hash, kGenesisHash);

  auto r1 = store->Append(kKindAdmin, R"({"action":"start"})");
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(r1->seq, 1);
  EXPECT_EQ(r1->time_ms, 1'700'000'000'000);
  EXPECT_EQ(r1->kind, "admin");
  EXPECT_EQ(r1->body, R"({"action":"start"})");
  EXPECT_EQ(r1->prev_hash, kGenesisHash);
  EXPECT_EQ(r1->hash, RecordHash(*r1));

  auto r2 = store->Append(kKindRequest, R"({"request_id":"req_1"})");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->seq, 2);
  EXPECT_EQ(r2->prev_hash, r1->hash);

  auto range = store->ReadRange(1, 10);
  ASSERT_TRUE(range);
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ((*range)[0].hash, r1->hash);
  EXPECT_EQ((*range)[1].body, r2->body);
  EXPECT_EQ(store->ReadRange(2, 10)->size(), 1u);
  EXPECT_EQ(store->ReadRange(3, 10)->size(), 0u);
  EXPECT_EQ(store->ReadRange(1, 0)->size(), 0u);
  EXPECT_EQ(store->Head()->hash, r2->hash);

  // WAL mode, the side files, and the key readable by its owner only.
  EXPECT_TRUE(std::filesystem::exists(db + "-wal"));
  struct stat st{};
  ASSERT_EQ(::stat((db + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto anchor = ReadHeadFile(db + ".head");
  ASSERT_TRUE(anchor && *anchor);
  EXPECT_EQ((*anchor)->seq, 2);
  EXPECT_EQ((*anchor)->hash, r2->hash);
  EXPECT_EQ(store->last_anchor_error(), "");

  store.reset();
  ExpectVerifiesOk(db, 2);
}

TEST(SqliteAuditStoreTest, RefusesBadEntriesAndAppendsNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("audit.db"), Fast());
  ASSERT_TRUE(store);
  for (auto [kind, body] : std::vector<std::pair<std::string, std::string>>{
           {"other", "{}"}, {"", "{}"}, {"admin", "[1,2]"}, {"admin", "{"}, {"admin", ""},
           {"admin", "\"x\""}, {"admin", "{\"a\":\"\xff\"}"}, {"admin", std::string(kMaxBodyBytes + 1, ' ')}}) {
    auto r = store->Append(kind, body);
    ASSERT_FALSE(r) << kind << " " << body;
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidRequest);
  }
  // A batch with one bad entry appends none of them.
  const AppendEntry batch[] = {{kKindAdmin, "{}"}, {kKindAdmin, "nope"}};
  EXPECT_FALSE(store->AppendBatch(batch));
  EXPECT_EQ(store->Head()->seq, 0);
}

TEST(SqliteAuditStoreTest, BatchAppendsAtomicallyAndChains) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  auto store = OpenOrDie(db, Fast());
  ASSERT_TRUE(store);
  std::vector<std::string> bodies;
  for (int i = 0; i < 100; ++i) bodies.push_back(Body(i));
  std::vector<AppendEntry> entries;
  for (const auto& b : bodies) entries.push_back({kKindRequest, b});
  auto head = store->AppendBatch(entries);
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->seq, 100);
  EXPECT_EQ(store->AppendBatch({})->seq, 100);
  auto r = store->Append(kKindAdmin, "{}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, 101);
  EXPECT_EQ(r->prev_hash, head->hash);
  store.reset();
  ExpectVerifiesOk(db, 101);
}

TEST(SqliteAuditStoreTest, ReopenContinuesTheChain) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  std::string last_hash;
  for (int round = 0; round < 3; ++round) {
    auto store = OpenOrDie(db, Fast());
    ASSERT_TRUE(store);
    EXPECT_EQ(store->Head()->seq, round * 5);
    for (int i = 0; i < 5; ++i) {
      auto r = store->Append(kKindRequest, Body(i));
      ASSERT_TRUE(r);
      EXPECT_EQ(r->seq, round * 5 + i + 1);
      if (!last_hash.empty()) {
        EXPECT_EQ(r->prev_hash, last_hash);
      }
      last_hash = r->hash;
    }
  }
  ExpectVerifiesOk(db, 15);
  // The default (fully durable) store reopens it too.
  auto store = OpenOrDie(db);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->Append(kKindAdmin, "{}")->prev_hash, last_hash);
}

// 8 threads x 500 appends through one store: seqs are contiguous and the chain verifies.
TEST(SqliteAuditStoreTest, ConcurrentAppendsChainCorrectly) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  auto store = OpenOrDie(db, Fast());
  ASSERT_TRUE(store);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store->Append(kKindRequest, fmt::format(R"({{"t":{},"i":{}}})", t, i))) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = store->ReadRange(1, 1'000'000);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::string> bodies;
  for (std::size_t i = 0; i < all->size(); ++i) {
    ASSERT_EQ((*all)[i].seq, static_cast<std::int64_t>(i + 1));
    bodies.insert((*all)[i].body);
  }
  EXPECT_EQ(bodies.size(), all->size()) << "every append stored exactly once";
  store.reset();
  ExpectVerifiesOk(db, kThreads * kPerThread);
}

// Two stores on one file (as two gateway processes would be): SQLite's write lock and the
// head read inside the transaction keep one chain.
TEST(SqliteAuditStoreTest, TwoStoresOnOneFileShareTheChain) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  auto a = OpenOrDie(db, Fast());
  auto b = OpenOrDie(db, Fast());
  ASSERT_TRUE(a && b);
  std::atomic<int> failures{0};
  auto run = [&](SqliteAuditStore& s) {
    for (int i = 0; i < 200; ++i) {
      if (!s.Append(kKindRequest, Body(i))) ++failures;
    }
  };
  std::thread ta([&] { run(*a); });
  std::thread tb([&] { run(*b); });
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  a.reset();
  b.reset();
  ExpectVerifiesOk(db, 400);
}

// Crash consistency: the process dies between a commit and the head file update, so the head
// file names an older record. That is not tampering: verification is ok (and says how many
// records are not yet anchored); the next open brings the head file forward.
TEST(SqliteAuditStoreTest, HeadFileLaggingAfterACrashIsNotTampering) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  {
    auto store = OpenOrDie(db, Fast());
    ASSERT_TRUE(store);
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(store->Append(kKindRequest, Body(i)));
    std::filesystem::copy_file(db + ".head", dir.File("head-at-25"));
    for (int i = 25; i < 30; ++i) ASSERT_TRUE(store->Append(kKindRequest, Body(i)));
  }
  // The on-disk state of a crash after commit 30 but before its head file update (and the four
  // before it, as if each of those updates had also been lost).
  std::filesystem::copy_file(dir.File("head-at-25"), db + ".head", std::filesystem::copy_options::overwrite_existing);
  auto report = Verify(db);
  ASSERT_TRUE(report);
  ASSERT_TRUE(report->ok()) << report->problem->ToString();
  EXPECT_EQ(report->records, 30);
  EXPECT_EQ(report->unanchored, 5);

  auto store = OpenOrDie(db, Fast());
  ASSERT_TRUE(store);
  EXPECT_EQ((*ReadHeadFile(db + ".head"))->seq, 30);
  EXPECT_EQ(store->Append(kKindAdmin, "{}")->seq, 31);
  store.reset();
  report = Verify(db);
  ASSERT_TRUE(report && report->ok());
  EXPECT_EQ(report->unanchored, 0);
}

// A real crash: a child process appends in a loop and is SIGKILLed at an arbitrary moment
// (between statements, inside a commit, between a commit and the head file rename, ...).
// Verification never reports tampering, and the next open continues the chain.
TEST(SqliteAuditStoreTest, KilledWriterLeavesAVerifiableLog) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  std::int64_t expected_min = 0;
  for (int round = 0; round < 3; ++round) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = SqliteAuditStore::Open(db);  // fully durable, as in production
      if (!store) ::_exit(3);
      for (int i = 0;; ++i) {
        if (!(*store)->Append(kKindRequest, Body(i))) ::_exit(4);
      }
    }
    // Wait for 20 more records, then kill without warning.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (RawInt(db, "SELECT seq FROM audit_head") < expected_min + 20 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);

    auto report = Verify(db);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_TRUE(report->ok()) << report->problem->ToString();
    EXPECT_GE(report->records, expected_min + 20);
    EXPECT_LE(report->unanchored, 1);
    expected_min = report->records;

    auto store = OpenOrDie(db);
    ASSERT_TRUE(store);
    auto r = store->Append(kKindAdmin, R"({"action":"restart"})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->seq, expected_min + 1);
    expected_min = r->seq;
  }
  ExpectVerifiesOk(db, expected_min);
}

// Verify reads one snapshot (head file first, then table and head record), so running it
// while a writer appends never reports a problem.
TEST(SqliteAuditStoreTest, VerifyWhileAppendingIsAlwaysOk) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  auto store = OpenOrDie(db, Fast());
  ASSERT_TRUE(store);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (!store->Append(kKindRequest, Body(i))) break;
    }
  });
  std::int64_t last = 0;
  for (int round = 0; round < 40; ++round) {
    auto report = Verify(db);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_TRUE(report->ok()) << report->problem->ToString();
    EXPECT_GE(report->records, last);
    last = report->records;
  }
  stop = true;
  writer.join();
  EXPECT_GT(last, 0);
}

TEST(SqliteAuditStoreTest, OpenRefusesToAppendOnATamperedLog) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  {
    auto store = OpenOrDie(db, Fast());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Append(kKindRequest, Body(i)));
  }
  RawSql(db, "DELETE FROM audit_log WHERE seq > 8");
  auto store = SqliteAuditStore::Open(db, Fast());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("meridian audit verify"), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find("names seq 10 but the newest record is seq 8"), std::string::npos)
      << store.error().message;
}

TEST(SqliteAuditStoreTest, OpenRefusesWhenAnchorsAreGone) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  {
    auto store = OpenOrDie(db, Fast());
    ASSERT_TRUE(store->Append(kKindRequest, Body(1)));
  }
  std::filesystem::rename(db + ".head", dir.File("saved.head"));
  auto no_head = SqliteAuditStore::Open(db, Fast());
  ASSERT_FALSE(no_head);
  EXPECT_NE(no_head.error().message.find(".head is missing"), std::string::npos) << no_head.error().message;
  std::filesystem::rename(dir.File("saved.head"), db + ".head");

  std::filesystem::remove(db + ".key");
  auto no_key = SqliteAuditStore::Open(db, Fast());
  ASSERT_FALSE(no_key);
  EXPECT_NE(no_key.error().message.find(".key: missing"), std::string::npos) << no_key.error().message;

  // The whole database deleted while the head file remains: not silently started afresh.
  std::filesystem::remove(db);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  auto gone = SqliteAuditStore::Open(db, Fast());
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("the log is empty but its head file names seq 1"), std::string::npos)
      << gone.error().message;
}

TEST(SqliteAuditStoreTest, HeadFileFailureDoesNotFailTheAppend) {
  TempDir dir;
  const std::string db = dir.File("audit.db");
  auto store = OpenOrDie(db, Fast());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Append(kKindRequest, Body(1)));
  // Make the rename impossible: the head file's path is now a non-empty directory.
  std::filesystem::remove(db + ".head");
  std::filesystem::create_directories(db + ".head/x");
  auto r = store->Append(kKindRequest, Body(2));
  ASSERT_TRUE(r) << "the record is committed and chained even though the anchor could not move";
  EXPECT_NE(store->last_anchor_error(), "");
  std::filesystem::remove_all(db + ".head");
  ASSERT_TRUE(store->Append(kKindRequest, Body(3)));
  EXPECT_EQ(store->last_anchor_error(), "");
  EXPECT_EQ((*ReadHeadFile(db + ".head"))->seq, 3);
}

}  // namespace
}  // namespace meridian::audit

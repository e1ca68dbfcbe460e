// One test per kind of tampering, each done the way an attacker would: raw SQL on the database
// file (or file operations on its side files) while no gateway runs. Each asserts the exact
// kind, position and message that `meridian audit verify` reports.

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "audit/sqlite_audit_store.hpp"
#include "audit/verify.hpp"
#include "audit_test_util.hpp"

namespace meridian::audit {
namespace {

using testing::RawSql;
using testing::TempDir;

constexpr int kRecords = 30;

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("audit.db");
    Append(kRecords);
  }

  void Append(int n) {
    SqliteAuditStoreOptions o;
    o.durability = Durability::kNormal;
    o.clock = [this] { return now_++; };
    auto store = SqliteAuditStore::Open(db_, o);
    ASSERT_TRUE(store) << store.error().message;
    for (int i = 0; i < n; ++i) {
      const std::string body = fmt::format(R"({{"i":{}}})", static_cast<int>(records_.size()) + 1);
      auto r = (*store)->Append(i % 5 == 0 ? kKindAdmin : kKindRequest, body);
      ASSERT_TRUE(r) << r.error().message;
      records_.push_back(*r);
    }
  }

  const AuditRecord& Rec(std::int64_t seq) const { return records_.at(static_cast<std::size_t>(seq - 1)); }

  // SQL that inserts `r` as given.
  static std::string InsertSql(const AuditRecord& r) {
    return fmt::format("INSERT INTO audit_log (seq, time_ms, kind, body, prev_hash, hash) VALUES ({}, {}, '{}', '{}', '{}', '{}')",
                       r.seq, r.time_ms, r.kind, r.body, r.prev_hash, r.hash);
  }

  // A record a forger who knows the hash definition (but not the key) would write at `seq`
  // after `prev_hash`.
  static AuditRecord Forge(std::int64_t seq, const std::string& prev_hash, const std::string& body) {
    AuditRecord r;
    r.seq = seq;
    r.time_ms = 1'800'000'000'000;
    r.kind = std::string(kKindAdmin);
    r.body = body;
    r.prev_hash = prev_hash;
    r.hash = RecordHash(r);
    return r;
  }

  Problem Expect(ProblemKind kind, std::int64_t seq, const std::string& text, VerifyOptions options = {}) {
    auto report = Verify(db_, options);
    EXPECT_TRUE(report) << report.error().message;
    if (!report) return {};
    EXPECT_FALSE(report->ok()) << "tampering not detected";
    if (report->ok()) return {};
    const Problem& p = *report->problem;
    EXPECT_EQ(ProblemKindName(p.kind), ProblemKindName(kind)) << p.ToString();
    EXPECT_EQ(p.seq, seq) << p.ToString();
    EXPECT_EQ(p.ToString(), text);
    return p;
  }

  TempDir dir_;
  std::string db_;
  std::int64_t now_ = 1'700'000'000'000;
  std::vector<AuditRecord> records_;
};

TEST_F(TamperTest, UntouchedLogVerifies) {
  auto report = Verify(db_);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->ok()) << report->problem->ToString();
  EXPECT_EQ(report->records, kRecords);
  EXPECT_EQ(report->head.hash, Rec(kRecords).hash);
  EXPECT_EQ(report->unanchored, 0);
}

TEST_F(TamperTest, EditBody) {
  RawSql(db_, R"(UPDATE audit_log SET body = '{"i":999}' WHERE seq = 17)");
  Expect(ProblemKind::kEdited, 17, "record 17: edited (hash mismatch)");
}

TEST_F(TamperTest, EditEachOtherField) {
  for (const char* sql : {"UPDATE audit_log SET time_ms = time_ms + 1 WHERE seq = 9",
                          "UPDATE audit_log SET kind = 'admin' WHERE seq = 9",
                          "UPDATE audit_log SET prev_hash = hash WHERE seq = 9"}) {
    SCOPED_TRACE(sql);
    RawSql(db_, sql);
    Expect(ProblemKind::kEdited, 9, "record 9: edited (hash mismatch)");
    RawSql(db_, "DELETE FROM audit_log WHERE seq = 9; " + InsertSql(Rec(9)));
  }
}

TEST_F(TamperTest, EditHash) {
  RawSql(db_, fmt::format("UPDATE audit_log SET hash = '{}' WHERE seq = 17", Rec(3).hash));
  Expect(ProblemKind::kEdited, 17, "record 17: edited (hash mismatch)");
}

// The forger edits record 17 and recomputes its hash: 17 is self-consistent, but 18 still
// links to the original.
TEST_F(TamperTest, EditBodyAndRehash) {
  const AuditRecord forged = Forge(17, Rec(16).hash, R"({"i":-17})");
  RawSql(db_, fmt::format("UPDATE audit_log SET time_ms = {}, kind = '{}', body = '{}', hash = '{}' WHERE seq = 17",
                          forged.time_ms, forged.kind, forged.body, forged.hash));
  Expect(ProblemKind::kEdited, 17, "record 17: edited (re-hashed: record 18 still links to the original)");
}

// ... and re-hashes every later record too, and moves the head record (without the key, so
// its MAC is wrong): the chain is whole, but the head file's anchor no longer matches.
TEST_F(TamperTest, RewriteTheRestOfTheChain) {
  std::string prev = Rec(16).hash;
  std::string sql = "BEGIN;";
  for (std::int64_t seq = 17; seq <= kRecords; ++seq) {
    AuditRecord r = Rec(seq);
    if (seq == 17) r.body = R"({"i":-17})";
    r.prev_hash = prev;
    r.hash = RecordHash(r);
    prev = r.hash;
    sql += fmt::format("UPDATE audit_log SET body = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};", r.body,
                       r.prev_hash, r.hash, seq);
  }
  sql += fmt::format("UPDATE audit_head SET hash = '{}'; COMMIT;", prev);
  RawSql(db_, sql);
  Expect(ProblemKind::kRewritten, kRecords,
         "record 30: rewritten (the head file names another hash: the chain was rebuilt at or before this record)");
}

// Opening the store checks the anchors, not the whole chain (that is O(records)), so an edit in
// the middle does not stop appends; the records appended afterwards do not hide it either.
TEST_F(TamperTest, AppendingOnTopDoesNotHideAnEdit) {
  RawSql(db_, R"(UPDATE audit_log SET body = '{"i":999}' WHERE seq = 17)");
  Append(3);
  Expect(ProblemKind::kEdited, 17, "record 17: edited (hash mismatch)");
}

TEST_F(TamperTest, DeleteMiddle) {
  RawSql(db_, "DELETE FROM audit_log WHERE seq = 17");
  const Problem p = Expect(ProblemKind::kDeleted, 17, "record 17: deleted (1 record missing)");
  EXPECT_EQ(p.count, 1);
}

TEST_F(TamperTest, DeleteSeveral) {
  RawSql(db_, "DELETE FROM audit_log WHERE seq BETWEEN 10 AND 12");
  const Problem p = Expect(ProblemKind::kDeleted, 10, "record 10: deleted (3 records missing: 10..12)");
  EXPECT_EQ(p.count, 3);
}

TEST_F(TamperTest, DeleteFirst) {
  RawSql(db_, "DELETE FROM audit_log WHERE seq = 1");
  Expect(ProblemKind::kDeleted, 1, "record 1: deleted (1 record missing)");
}

// Deleted, and the later records renumbered to close the gap.
TEST_F(TamperTest, DeleteAndRenumber) {
  RawSql(db_,
         "BEGIN; DELETE FROM audit_log WHERE seq = 17;"
         "UPDATE audit_log SET seq = -seq WHERE seq > 17;"
         "UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0; COMMIT;");
  Expect(ProblemKind::kDeleted, 17, "record 17: deleted (1 record missing; later records renumbered)");
}

// A forged record appended after the last one, chained correctly: only the head record (MACed,
// written in the same transaction as every genuine append) shows it.
TEST_F(TamperTest, InsertForgedRecordAtTheEnd) {
  RawSql(db_, InsertSql(Forge(kRecords + 1, Rec(kRecords).hash, R"({"forged":true})")));
  Expect(ProblemKind::kInserted, 31, "record 31: inserted (beyond the head record at seq 30)");
}

// ... and moving the head record too (no key: the MAC gives it away).
TEST_F(TamperTest, InsertForgedRecordAtTheEndAndMoveTheHead) {
  const AuditRecord forged = Forge(kRecords + 1, Rec(kRecords).hash, R"({"forged":true})");
  RawSql(db_, InsertSql(forged) + fmt::format("; UPDATE audit_head SET seq = 31, hash = '{}'", forged.hash));
  Expect(ProblemKind::kAnchorInvalid, 0, "head record: invalid (MAC mismatch: it was not written by the store)");
}

// A forged record inserted in the middle, the later records shifted up to make room.
TEST_F(TamperTest, InsertForgedRecordInTheMiddle) {
  RawSql(db_, "BEGIN; UPDATE audit_log SET seq = -seq WHERE seq >= 17;"
              "UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0;" +
                  InsertSql(Forge(17, Rec(16).hash, R"({"forged":true})")) + "; COMMIT;");
  const Problem p = Expect(ProblemKind::kInserted, 17,
                           "record 17: inserted (not in the original chain; the records after it are shifted by 1)");
  EXPECT_EQ(p.count, 1);
}

TEST_F(TamperTest, InsertBelowTheFirstRecord) {
  RawSql(db_, InsertSql(Forge(0, std::string(kGenesisHash), R"({"forged":true})")));
  Expect(ProblemKind::kInserted, 0, "record 0: inserted (seq below 1)");
}

TEST_F(TamperTest, SwapTwoAdjacentRecords) {
  RawSql(db_, "BEGIN; UPDATE audit_log SET seq = -1 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = 6;"
              "UPDATE audit_log SET seq = 6 WHERE seq = -1; COMMIT;");
  const Problem p = Expect(ProblemKind::kReordered, 5, "record 5: reordered (holds record 6)");
  EXPECT_EQ(p.other, 6);
}

TEST_F(TamperTest, SwapTwoDistantRecords) {
  RawSql(db_, "BEGIN; UPDATE audit_log SET seq = -1 WHERE seq = 5; UPDATE audit_log SET seq = 5 WHERE seq = 20;"
              "UPDATE audit_log SET seq = 20 WHERE seq = -1; COMMIT;");
  Expect(ProblemKind::kReordered, 5, "record 5: reordered (holds record 20)");
}

TEST_F(TamperTest, MoveARecordToTheEnd) {
  RawSql(db_, "UPDATE audit_log SET seq = 100 WHERE seq = 5");
  Expect(ProblemKind::kReordered, 5, "record 5: reordered (moved to seq 100)");
}

TEST_F(TamperTest, TruncateTail) {
  RawSql(db_, "DELETE FROM audit_log WHERE seq > 25");
  const Problem p = Expect(ProblemKind::kTruncated, 26, "record 26: truncated (the head record names seq 30; the log ends at 25)");
  EXPECT_EQ(p.count, 5);
}

// ... and moving the head record back to match (without the key): the head file still knows.
TEST_F(TamperTest, TruncateTailAndMoveTheHeadRecord) {
  RawSql(db_, fmt::format("DELETE FROM audit_log WHERE seq > 25; UPDATE audit_head SET seq = 25, hash = '{}'",
                          Rec(25).hash));
  Expect(ProblemKind::kTruncated, 26, "record 26: truncated (the head file names seq 30; the log ends at 25)");
}

TEST_F(TamperTest, TruncateEverything) {
  RawSql(db_, "DELETE FROM audit_log");
  const Problem p = Expect(ProblemKind::kTruncated, 1, "record 1: truncated (the head record names seq 30; the log ends at 0)");
  EXPECT_EQ(p.count, 30);
}

TEST_F(TamperTest, DropTheTables) {
  RawSql(db_, "DROP TABLE audit_log; DROP TABLE audit_head");
  Expect(ProblemKind::kTruncated, 1, "record 1: truncated (the table audit_log is gone; the head file names seq 30)");
}

TEST_F(TamperTest, DeleteTheDatabaseFile) {
  std::filesystem::remove(db_);
  std::filesystem::remove(db_ + "-wal");
  std::filesystem::remove(db_ + "-shm");
  Expect(ProblemKind::kTruncated, 1, "record 1: truncated (the database file is missing; the head file names seq 30)");
}

// Replacing the database with an older copy (its head record is genuine, MAC and all).
TEST_F(TamperTest, RollBackToAnOlderCopy) {
  std::filesystem::copy_file(db_, dir_.File("old.db"));  // the store checkpointed it on close
  Append(5);
  std::filesystem::remove(db_ + "-wal");
  std::filesystem::remove(db_ + "-shm");
  std::filesystem::copy_file(dir_.File("old.db"), db_, std::filesystem::copy_options::overwrite_existing);
  Expect(ProblemKind::kTruncated, 31, "record 31: truncated (the head file names seq 35; the log ends at 30)");
}

TEST_F(TamperTest, DeleteTheHeadFile) {
  std::filesystem::remove(db_ + ".head");
  Expect(ProblemKind::kAnchorMissing, 0, fmt::format("head file: missing ({}.head)", db_));
  // Without the anchors, the chain alone is fine.
  auto report = Verify(db_, {.chain_only = true});
  ASSERT_TRUE(report && report->ok());
}

TEST_F(TamperTest, DeleteTheHeadRecord) {
  RawSql(db_, "DELETE FROM audit_head");
  Expect(ProblemKind::kAnchorMissing, 0, "head record: missing (no row in audit_head)");
}

TEST_F(TamperTest, DeleteTheKey) {
  std::filesystem::remove(db_ + ".key");
  Expect(ProblemKind::kAnchorInvalid, 0, fmt::format("head record: invalid (cannot check its MAC: {}.key: missing)", db_));
}

TEST_F(TamperTest, GarbleTheHeadFile) {
  {
    std::FILE* f = std::fopen((db_ + ".head").c_str(), "w");
    std::fputs("meridian-audit-head v1\n30 nothex\n", f);
    std::fclose(f);
  }
  Expect(ProblemKind::kAnchorInvalid, 0, fmt::format("head file: invalid ({}.head: not a valid head file)", db_));
}

TEST_F(TamperTest, ChainOnlyStillCatchesChainProblems) {
  RawSql(db_, "DELETE FROM audit_log WHERE seq = 4");
  Expect(ProblemKind::kDeleted, 4, "record 4: deleted (1 record missing)", {.chain_only = true});
  RawSql(db_, "DELETE FROM audit_log WHERE seq > 4");
}

TEST_F(TamperTest, NotAnAuditLog) {
  const std::string other = dir_.File("other.db");
  {
    std::FILE* f = std::fopen(other.c_str(), "w");
    std::fputs("this is not a database, just text that is long enough to have a header......", f);
    std::fclose(f);
  }
  auto garbage = Verify(other);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("cannot read " + other), std::string::npos) << garbage.error().message;

  const std::string empty_sqlite = dir_.File("plain.db");
  RawSql(empty_sqlite, "CREATE TABLE t (x)", /*create=*/true);
  auto plain = Verify(empty_sqlite);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().message, empty_sqlite + " is not a Meridian audit log");

  auto missing = Verify(dir_.File("nope.db"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "no audit log at " + dir_.File("nope.db"));
}

}  // namespace
}  // namespace meridian::audit

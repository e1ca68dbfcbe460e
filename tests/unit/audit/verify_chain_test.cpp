// VerifyChain over an in-memory source: the store-independent part of verification that a
// PostgreSQL store will reuse.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "audit/verify.hpp"

namespace meridian::audit {
namespace {

class VectorSource final : public RecordSource {
 public:
  std::vector<AuditRecord> records;  // kept in ascending seq order by the tests
  int scans = 0;

  core::Result<void> Scan(const std::function<bool(const AuditRecord&)>& fn) override {
    ++scans;
    for (const auto& r : records) {
      if (!fn(r)) break;
    }
    return {};
  }
  core::Result<std::optional<AuditRecord>> FindByHash(std::string_view hash) override {
    for (const auto& r : records) {
      if (r.hash == hash) return std::optional(r);
    }
    return std::optional<AuditRecord>{};
  }
};

std::vector<AuditRecord> Chain(int n) {
  std::vector<AuditRecord> out;
  std::string prev(kGenesisHash);
  for (int i = 1; i <= n; ++i) {
    AuditRecord r{i, 1000 + i, "request", fmt::format(R"({{"n":{}}})", i), prev, ""};
    r.hash = RecordHash(r);
    prev = r.hash;
    out.push_back(r);
  }
  return out;
}

Anchor Present(std::string name, std::int64_t seq, std::string hash, bool may_lag) {
  Anchor a;
  a.name = std::move(name);
  a.state = Anchor::State::kPresent;
  a.seq = seq;
  a.hash = std::move(hash);
  a.may_lag = may_lag;
  return a;
}

TEST(VerifyChainTest, EmptyLogWithGenesisAnchorsIsOk) {
  VectorSource source;
  const Anchor anchors[] = {Present("head record", 0, std::string(kGenesisHash), false),
                            Present("head file", 0, std::string(kGenesisHash), true)};
  auto report = VerifyChain(source, anchors);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->records, 0);
  EXPECT_EQ(report->head.hash, kGenesisHash);
}

TEST(VerifyChainTest, GenesisAnchorWithAWrongHashIsARewrite) {
  VectorSource source;
  const Anchor anchors[] = {Present("head file", 0, std::string(64, 'a'), true)};
  auto report = VerifyChain(source, anchors);
  ASSERT_TRUE(report && !report->ok());
  EXPECT_EQ(report->problem->kind, ProblemKind::kRewritten);
  EXPECT_EQ(report->problem->seq, 0);
}

TEST(VerifyChainTest, LaggingAnchorIsCountedNotReported) {
  VectorSource source;
  source.records = Chain(10);
  const Anchor anchors[] = {Present("head record", 10, source.records[9].hash, false),
                            Present("head file", 7, source.records[6].hash, true)};
  auto report = VerifyChain(source, anchors);
  ASSERT_TRUE(report);
  ASSERT_TRUE(report->ok()) << report->problem->ToString();
  EXPECT_EQ(report->records, 10);
  EXPECT_EQ(report->unanchored, 3);
  EXPECT_EQ(source.scans, 1) << "one pass over the records when nothing is wrong";
}

TEST(VerifyChainTest, ALaggingAnchorThatDoesNotMatchIsARewrite) {
  VectorSource source;
  source.records = Chain(10);
  const Anchor anchors[] = {Present("head file", 7, source.records[5].hash, true)};
  auto report = VerifyChain(source, anchors);
  ASSERT_TRUE(report && !report->ok());
  EXPECT_EQ(report->problem->ToString(),
            "record 7: rewritten (the head file names another hash: the chain was rebuilt at or before this record)");
}

TEST(VerifyChainTest, ReportsOnlyTheFirstProblem) {
  VectorSource source;
  source.records = Chain(10);
  source.records[2].body = "{}";                                   // edited at 3
  source.records.erase(source.records.begin() + 6);                // deleted 7
  auto report = VerifyChain(source, {});
  ASSERT_TRUE(report && !report->ok());
  EXPECT_EQ(report->problem->ToString(), "record 3: edited (hash mismatch)");
  EXPECT_EQ(report->records, 2) << "records checked before the problem";
  EXPECT_EQ(report->head.seq, 2);
}

TEST(VerifyChainTest, ReorderedRunOfRecords) {
  // 4 5 6 moved to the end and everything renumbered: 1 2 3 7 8 9 10 4 5 6.
  VectorSource source;
  auto chain = Chain(10);
  std::vector<AuditRecord> moved;
  for (int i : {0, 1, 2, 6, 7, 8, 9, 3, 4, 5}) moved.push_back(chain[i]);
  for (std::size_t i = 0; i < moved.size(); ++i) moved[i].seq = static_cast<std::int64_t>(i + 1);
  source.records = moved;
  auto report = VerifyChain(source, {});
  ASSERT_TRUE(report && !report->ok());
  EXPECT_EQ(report->problem->ToString(), "record 4: reordered (holds record 7)");
  EXPECT_EQ(report->problem->other, 7);
}

TEST(VerifyChainTest, ProblemKindNames) {
  EXPECT_EQ(ProblemKindName(ProblemKind::kEdited), "edited");
  EXPECT_EQ(ProblemKindName(ProblemKind::kChainBroken), "chain broken");
  EXPECT_EQ(ProblemKindName(ProblemKind::kAnchorMissing), "anchor missing");
  Problem p;
  p.kind = ProblemKind::kAnchorMissing;
  p.anchor = "head file";
  p.detail = "x.head";
  EXPECT_EQ(p.ToString(), "head file: missing (x.head)");
}

}  // namespace
}  // namespace meridian::audit

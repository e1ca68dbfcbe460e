#include "audit/verify.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "audit/anchor.hpp"
#include "audit/sqlite_util.hpp"

namespace meridian::audit {

namespace {

// How far the explanation looks for the seq a moved record was written at.
constexpr std::int64_t kRenumberWindow = 1024;
// How many links back the explanation follows to place a moved record.
constexpr int kMaxLinks = 64;

bool HashesAt(const AuditRecord& r, std::int64_t seq) {
  return RecordHash(seq, r.time_ms, r.kind, r.body, r.prev_hash) == r.hash;
}

Problem MakeProblem(ProblemKind kind, std::int64_t seq, std::string detail, std::int64_t count = 0,
                    std::int64_t other = 0) {
  Problem p;
  p.kind = kind;
  p.seq = seq;
  p.count = count;
  p.other = other;
  p.detail = std::move(detail);
  return p;
}

std::string Missing(std::int64_t first, std::int64_t count) {
  if (count == 1) return "1 record missing";
  return fmt::format("{} records missing: {}..{}", count, first, first + count - 1);
}

// Why the scan stopped at a record.
enum class Stop { kNone, kSeqBelowExpected, kGap, kBadHash, kBadLink };

class Explainer {
 public:
  explicit Explainer(RecordSource& source) : source_(source) {}

  // The seq `r` was written at, worked out by following prev_hash links back to a record that
  // is where it was written (or to the genesis hash) and counting forward. nullopt if a link
  // leads nowhere or a record on the way does not hash at the seq it should.
  core::Result<std::optional<std::int64_t>> OriginalSeq(const AuditRecord& r) {
    std::vector<AuditRecord> path{r};
    std::set<std::string> seen{r.hash};
    std::optional<std::int64_t> base;
    for (int step = 0; step < kMaxLinks && !base; ++step) {
      const AuditRecord& cur = path.back();
      if (cur.prev_hash == kGenesisHash) {
        base = 0;
        break;
      }
      auto found = source_.FindByHash(cur.prev_hash);
      if (!found) return std::unexpected(found.error());
      if (!*found || !seen.insert((*found)->hash).second) return std::optional<std::int64_t>{};
      if (HashesAt(**found, (*found)->seq)) {
        base = (*found)->seq;
      } else {
        path.push_back(**std::move(found));
      }
    }
    if (!base) return std::optional<std::int64_t>{};
    std::int64_t seq = *base;
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      ++seq;
      if (!HashesAt(*it, seq)) return std::optional<std::int64_t>{};
    }
    return std::optional(seq);
  }

  // A gap: records expected..r.seq-1 are missing at their places.
  core::Result<Problem> Gap(const AuditRecord& r, std::int64_t expected) {
    const std::int64_t count = r.seq - expected;
    if (count == 1 && r.prev_hash != kGenesisHash) {
      // The one missing record may have been moved rather than deleted.
      auto found = source_.FindByHash(r.prev_hash);
      if (!found) return std::unexpected(found.error());
      if (*found && (*found)->seq != expected && HashesAt(**found, expected)) {
        return MakeProblem(ProblemKind::kReordered, expected, fmt::format("moved to seq {}", (*found)->seq), 0,
                           expected);
      }
    }
    return MakeProblem(ProblemKind::kDeleted, expected, Missing(expected, count), count);
  }

  // r sits at the expected seq but does not hash there.
  core::Result<Problem> BadHash(const AuditRecord& r) {
    auto original = OriginalSeq(r);
    if (!original) return std::unexpected(original.error());
    if (*original && **original < r.seq) {
      const std::int64_t n = r.seq - **original;
      return MakeProblem(ProblemKind::kInserted, **original,
                         fmt::format("not in the original chain; the records after it are shifted by {}", n), n);
    }
    if (*original && **original > r.seq) {
      return MakeProblem(ProblemKind::kReordered, r.seq, fmt::format("holds record {}", **original), 0, **original);
    }
    // Renumbered after a deletion or an insertion whose links no longer lead anywhere.
    for (std::int64_t d = 1; d <= kRenumberWindow; ++d) {
      if (HashesAt(r, r.seq + d)) {
        return MakeProblem(ProblemKind::kDeleted, r.seq, Missing(r.seq, d) + "; later records renumbered", d);
      }
      if (r.seq - d >= 1 && HashesAt(r, r.seq - d)) {
        return MakeProblem(ProblemKind::kInserted, r.seq - d,
                           fmt::format("not in the original chain; the records after it are shifted by {}", d), d);
      }
    }
    return MakeProblem(ProblemKind::kEdited, r.seq, "hash mismatch");
  }

  // r hashes at its seq but does not link to the record before it.
  core::Result<Problem> BadLink(const AuditRecord& r) {
    if (r.seq == 1) return MakeProblem(ProblemKind::kEdited, 1, "re-hashed: prev_hash is not the genesis hash");
    auto found = source_.FindByHash(r.prev_hash);
    if (!found) return std::unexpected(found.error());
    if (!*found) {
      // r links to a version of its predecessor that is no longer in the log: the predecessor
      // was edited and re-hashed (or replaced by a forged record).
      return MakeProblem(ProblemKind::kEdited, r.seq - 1,
                         fmt::format("re-hashed: record {} still links to the original", r.seq));
    }
    return MakeProblem(ProblemKind::kChainBroken, r.seq,
                       fmt::format("prev_hash names the record at seq {}, not record {}", (*found)->seq, r.seq - 1));
  }

 private:
  RecordSource& source_;
};

}  // namespace

std::string_view ProblemKindName(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::kEdited: return "edited";
    case ProblemKind::kDeleted: return "deleted";
    case ProblemKind::kInserted: return "inserted";
    case ProblemKind::kReordered: return "reordered";
    case ProblemKind::kChainBroken: return "chain broken";
    case ProblemKind::kTruncated: return "truncated";
    case ProblemKind::kRewritten: return "rewritten";
    case ProblemKind::kAnchorMissing: return "anchor missing";
    case ProblemKind::kAnchorInvalid: return "anchor invalid";
  }
  return "unknown";
}

std::string Problem::ToString() const {
  if (kind == ProblemKind::kAnchorMissing || kind == ProblemKind::kAnchorInvalid) {
    return fmt::format("{}: {} ({})", anchor, kind == ProblemKind::kAnchorMissing ? "missing" : "invalid", detail);
  }
  return fmt::format("record {}: {} ({})", seq, ProblemKindName(kind), detail);
}

core::Result<VerifyReport> VerifyChain(RecordSource& source, std::span<const Anchor> anchors) {
  VerifyReport report;
  std::int64_t expected = 1;
  std::string expected_prev(kGenesisHash);
  std::vector<std::optional<std::string>> hash_at_anchor(anchors.size());
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    if (anchors[i].state == Anchor::State::kPresent && anchors[i].seq == 0) hash_at_anchor[i] = std::string(kGenesisHash);
  }

  Stop stop = Stop::kNone;
  AuditRecord stopped_at;
  auto scanned = source.Scan([&](const AuditRecord& r) {
    if (r.seq < expected) {
      stop = Stop::kSeqBelowExpected;
    } else if (r.seq > expected) {
      stop = Stop::kGap;
    } else if (!HashesAt(r, r.seq)) {
      stop = Stop::kBadHash;
    } else if (r.prev_hash != expected_prev) {
      stop = Stop::kBadLink;
    }
    if (stop != Stop::kNone) {
      stopped_at = r;
      return false;
    }
    for (std::size_t i = 0; i < anchors.size(); ++i) {
      if (anchors[i].state == Anchor::State::kPresent && anchors[i].seq == r.seq) hash_at_anchor[i] = r.hash;
    }
    ++report.records;
    report.head = AuditHead{r.seq, r.hash};
    expected = r.seq + 1;
    expected_prev = r.hash;
    return true;
  });
  if (!scanned) return std::unexpected(scanned.error());

  Explainer explain(source);
  core::Result<Problem> problem = MakeProblem(ProblemKind::kChainBroken, 0, "");
  switch (stop) {
    case Stop::kNone: break;
    case Stop::kSeqBelowExpected:
      problem = stopped_at.seq < 1
                    ? MakeProblem(ProblemKind::kInserted, stopped_at.seq, "seq below 1", 1)
                    : MakeProblem(ProblemKind::kChainBroken, stopped_at.seq, "records out of seq order");
      break;
    case Stop::kGap: problem = explain.Gap(stopped_at, expected); break;
    case Stop::kBadHash: problem = explain.BadHash(stopped_at); break;
    case Stop::kBadLink: problem = explain.BadLink(stopped_at); break;
  }
  if (stop != Stop::kNone) {
    if (!problem) return std::unexpected(problem.error());
    report.problem = *std::move(problem);
    return report;
  }

  // The chain is whole from 1 to `last`; now the anchors.
  const std::int64_t last = report.head.seq;
  auto present = [&](const Anchor& a) { return a.state == Anchor::State::kPresent; };
  // 1. An anchor beyond the end: the newest records were cut off.
  const Anchor* furthest = nullptr;
  for (const auto& a : anchors) {
    if (present(a) && a.seq > last && (!furthest || a.seq > furthest->seq)) furthest = &a;
  }
  if (furthest) {
    report.problem = MakeProblem(
        ProblemKind::kTruncated, last + 1,
        fmt::format("the {} names seq {}; the log ends at {}", furthest->name, furthest->seq, last),
        furthest->seq - last, furthest->seq);
    return report;
  }
  // 2. An anchored record that hashes differently: the chain was rebuilt up to there.
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    const Anchor& a = anchors[i];
    if (present(a) && hash_at_anchor[i] && *hash_at_anchor[i] != a.hash) {
      report.problem = MakeProblem(
          ProblemKind::kRewritten, a.seq,
          fmt::format("the {} names another hash: the chain was rebuilt at or before this record", a.name));
      return report;
    }
  }
  // 3. Records beyond an anchor that never lags: appended by someone other than the store.
  for (const auto& a : anchors) {
    if (present(a) && !a.may_lag && a.seq < last) {
      report.problem = MakeProblem(ProblemKind::kInserted, a.seq + 1,
                                   fmt::format("beyond the {} at seq {}", a.name, a.seq), last - a.seq);
      return report;
    }
  }
  // 4. Anchors that are gone or cannot be trusted.
  for (const auto& a : anchors) {
    if (!present(a)) {
      Problem p = MakeProblem(
          a.state == Anchor::State::kMissing ? ProblemKind::kAnchorMissing : ProblemKind::kAnchorInvalid, 0, a.detail);
      p.anchor = a.name;
      report.problem = std::move(p);
      return report;
    }
  }
  for (const auto& a : anchors) {
    if (present(a) && a.may_lag) report.unanchored = std::max(report.unanchored, last - a.seq);
  }
  return report;
}

namespace {

class SqliteSource final : public RecordSource {
 public:
  explicit SqliteSource(sqlite3* db) : db_(db) {}

  core::Result<void> Scan(const std::function<bool(const AuditRecord&)>& fn) override {
    auto stmt = sqlite::Prepare(db_, "SELECT seq, time_ms, kind, body, prev_hash, hash FROM audit_log ORDER BY seq");
    if (!stmt) return std::unexpected(stmt.error());
    while (true) {
      const int rc = sqlite3_step(stmt->get());
      if (rc == SQLITE_DONE) return {};
      if (rc != SQLITE_ROW) return sqlite::Fail(db_, "cannot read the audit log");
      if (!fn(Read(stmt->get()))) return {};
    }
  }

  core::Result<std::optional<AuditRecord>> FindByHash(std::string_view hash) override {
    auto stmt = sqlite::Prepare(
        db_, "SELECT seq, time_ms, kind, body, prev_hash, hash FROM audit_log WHERE hash = ?1 ORDER BY seq LIMIT 1");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_bind_text(stmt->get(), 1, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return std::optional<AuditRecord>{};
    if (rc != SQLITE_ROW) return sqlite::Fail(db_, "cannot read the audit log");
    return std::optional(Read(stmt->get()));
  }

 private:
  static AuditRecord Read(sqlite3_stmt* s) {
    AuditRecord r;
    r.seq = sqlite3_column_int64(s, 0);
    r.time_ms = sqlite3_column_int64(s, 1);
    r.kind = sqlite::ColumnString(s, 2);
    r.body = sqlite::ColumnString(s, 3);
    r.prev_hash = sqlite::ColumnString(s, 4);
    r.hash = sqlite::ColumnString(s, 5);
    return r;
  }

  sqlite3* db_;
};

Anchor HeadFileAnchor(const AuditPaths& paths) {
  Anchor a;
  a.name = "head file";
  a.may_lag = true;
  auto file = ReadHeadFile(paths.head);
  if (!file) {
    a.state = Anchor::State::kInvalid;
    a.detail = file.error().message;
  } else if (!*file) {
    a.state = Anchor::State::kMissing;
    a.detail = paths.head;
  } else {
    a.state = Anchor::State::kPresent;
    a.seq = (*file)->seq;
    a.hash = (*file)->hash;
  }
  return a;
}

core::Result<Anchor> HeadRecordAnchor(sqlite3* db, const AuditPaths& paths) {
  Anchor a;
  a.name = "head record";
  a.may_lag = false;
  auto exists = sqlite::TableExists(db, "audit_head");
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) {
    a.detail = "table audit_head is gone";
    return a;
  }
  auto stmt = sqlite::Prepare(db, "SELECT seq, hash, mac FROM audit_head WHERE id = 1");
  if (!stmt) return std::unexpected(stmt.error());
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_DONE) {
    a.detail = "no row in audit_head";
    return a;
  }
  if (rc != SQLITE_ROW) return sqlite::Fail(db, "cannot read the audit log");
  a.seq = sqlite3_column_int64(stmt->get(), 0);
  a.hash = sqlite::ColumnString(stmt->get(), 1);
  const std::string mac = sqlite::ColumnString(stmt->get(), 2);
  auto key = ReadKeyFile(paths.key);
  if (!key) {
    a.state = Anchor::State::kInvalid;
    a.detail = "cannot check its MAC: " + key.error().message;
  } else if (!ConstantTimeEqual(mac, HeadMac(*key, a.seq, a.hash))) {
    a.state = Anchor::State::kInvalid;
    a.detail = "MAC mismatch: it was not written by the store";
  } else {
    a.state = Anchor::State::kPresent;
  }
  return a;
}

// The whole log is gone but the head file says it had records.
VerifyReport LogGone(const Anchor& head_file, std::string_view what) {
  VerifyReport report;
  report.problem = MakeProblem(ProblemKind::kTruncated, 1,
                               fmt::format("{}; the head file names seq {}", what, head_file.seq), head_file.seq,
                               head_file.seq);
  return report;
}

}  // namespace

core::Result<VerifyReport> Verify(const std::string& db_path, const VerifyOptions& options) {
  const AuditPaths paths = PathsForDb(db_path);
  // The head file is read before the database snapshot: it never names a record that was not
  // committed first, so it cannot name one beyond the snapshot.
  std::vector<Anchor> anchors;
  if (!options.chain_only) anchors.push_back(HeadFileAnchor(paths));
  const Anchor* head_file = options.chain_only ? nullptr : &anchors.back();
  const bool head_file_has_records =
      head_file && head_file->state == Anchor::State::kPresent && head_file->seq > 0;

  struct stat st{};
  if (::stat(db_path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT && head_file_has_records) return LogGone(*head_file, "the database file is missing");
    return core::Fail(core::ErrorCode::kInternal,
                      err == ENOENT ? fmt::format("no audit log at {}", db_path)
                                    : fmt::format("cannot open {}: {}", db_path, std::strerror(err)));
  }

  auto db = sqlite::Open(db_path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  if (!db) return std::unexpected(db.error());
  sqlite3* raw = db->get();
  sqlite3_busy_timeout(raw, 5000);
  auto cannot_read = [&](const core::Error& e) {
    return core::Fail(core::ErrorCode::kInternal, fmt::format("cannot read {}: {}", db_path, e.message));
  };

  // One read transaction: the table and the head record come from the same snapshot.
  if (auto ok = sqlite::Exec(raw, "BEGIN"); !ok) return cannot_read(ok.error());
  struct Commit {
    sqlite3* db;
    ~Commit() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
  } commit{raw};

  auto exists = sqlite::TableExists(raw, "audit_log");
  if (!exists) return cannot_read(exists.error());
  if (!*exists) {
    if (head_file_has_records) return LogGone(*head_file, "the table audit_log is gone");
    return core::Fail(core::ErrorCode::kInternal, fmt::format("{} is not a Meridian audit log", db_path));
  }
  if (!options.chain_only) {
    auto head_record = HeadRecordAnchor(raw, paths);
    if (!head_record) return cannot_read(head_record.error());
    // The head record first: it never lags, so it is the sharper witness.
    anchors.insert(anchors.begin(), *std::move(head_record));
  }
  SqliteSource source(raw);
  auto report = VerifyChain(source, anchors);
  if (!report) return cannot_read(report.error());
  return report;
}

}  // namespace meridian::audit

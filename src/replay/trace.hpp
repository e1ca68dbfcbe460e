#pragma once
// Trace readers for `meridian replay` (docs/replay.md, "Trace formats"). Each format becomes the
// same list of TraceRequest records: arrival time, token counts, prefix block ids and, when the
// trace has text (tau-bench), the conversation the prompt is made of.
//
// Bad records. A record that cannot be read (not JSON, a missing or negative field, a bad
// timestamp) is skipped and counted (Trace::skipped), and the first kMaxIssues are kept as
// "FILE:LINE: message" (tau-bench: "FILE: [INDEX]: message", the entry of the top-level array).
// Real traces carry the odd broken line and one should not lose a whole replay to it; the
// count is in the report so nothing is hidden. ReadOptions::strict turns the first bad record
// into the error instead. A file that cannot be read, an Azure CSV without its header, or a
// tau-bench file that is not a JSON array always fails.
//
// Pure apart from reading the file; thread-safe (no shared state).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

#include "core/error.hpp"

namespace meridian::replay {

enum class TraceFormat : std::uint8_t {
  kMooncake,  // JSONL: {"timestamp" ms, "input_length", "output_length", "hash_ids": [...]}
  kAzure,     // CSV: TIMESTAMP,ContextTokens,GeneratedTokens (Azure LLM inference 2023)
  kTauBench,  // JSON array of {"task_id", "traj": [OpenAI chat messages], ...}
};

// "mooncake", "azure", "tau-bench".
std::string_view FormatName(TraceFormat format);
std::optional<TraceFormat> ParseFormat(std::string_view name);
// By file name: *.jsonl → mooncake, *.csv → azure, *.json → tau-bench; nullopt otherwise.
std::optional<TraceFormat> GuessFormat(std::string_view path);

struct TraceRequest {
  double time_ms = 0;               // arrival, relative to the trace's start
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  // Prefix identity: equal ids at equal positions = an equal prompt prefix up to there.
  // Mooncake: its hash_ids (one per 512-token block). tau-bench: one chained hash per message.
  // Azure: none.
  std::vector<std::uint64_t> prefix_ids;
  std::int32_t conversation = -1;   // index into Trace::conversations; -1 = no text
  std::uint32_t message_count = 0;  // the prompt is that conversation's first N messages
};

struct Trace {
  TraceFormat format = TraceFormat::kMooncake;
  std::string file;
  std::vector<TraceRequest> requests;           // in file order
  std::vector<boost::json::array> conversations;  // tau-bench: each trajectory's messages
  std::uint64_t skipped = 0;                    // bad records left out
  std::vector<std::string> issues;              // the first kMaxIssues of them, "FILE:LINE: message"

  static constexpr std::size_t kMaxIssues = 10;
  bool has_text() const { return !conversations.empty(); }
  bool has_prefix_ids() const;
};

struct ReadOptions {
  bool strict = false;            // the first bad record fails the read
  std::size_t limit = 0;          // stop after this many requests (0 = all)
  // tau-bench has no times: trajectory i starts at i × conversation_gap_ms and its calls follow
  // each other every turn_gap_ms (a user reading and typing, tools answering).
  double conversation_gap_ms = 20'000;
  double turn_gap_ms = 5'000;
};

// Readers of a file's text; `file` is used in messages only.
core::Result<Trace> ReadMooncake(std::string_view text, std::string_view file, const ReadOptions& options = {});
core::Result<Trace> ReadAzure(std::string_view text, std::string_view file, const ReadOptions& options = {});
core::Result<Trace> ReadTauBench(std::string_view text, std::string_view file, const ReadOptions& options = {});

// Reads `path` in `format` (nullopt: GuessFormat; unknown: an error naming the file).
core::Result<Trace> ReadTrace(const std::string& path, std::optional<TraceFormat> format,
                              const ReadOptions& options = {});

// Parses "YYYY-MM-DD HH:MM:SS[.fraction]" (Azure's TIMESTAMP) into milliseconds since
// 1970-01-01 UTC. nullopt when malformed.
std::optional<double> ParseAzureTimestamp(std::string_view text);

}  // namespace meridian::replay

#pragma once
// The simulator's request capture, exposed at GET /sim/requests: the raw bodies of the last
// kCapacity POST requests to /v1/*, oldest first, so that tests can assert what an upstream
// actually received (e.g. that the gateway pseudonymized a prompt). Thread-safe (one mutex);
// bounded: at most kCapacity entries of at most kMaxBodyBytes each.

#include <array>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>

namespace meridian::sim {

class RequestCapture {
 public:
  static constexpr std::size_t kCapacity = 64;
  static constexpr std::size_t kMaxBodyBytes = 1024 * 1024;

  // Records one request, evicting the oldest when full. A body over kMaxBodyBytes keeps its
  // first kMaxBodyBytes bytes (less, back to the start of a UTF-8 sequence the cut would
  // split) and is flagged truncated. Slots reuse their buffers: no allocation once warm.
  void Record(std::string_view path, std::string_view body);

  // Forgets every entry and releases the buffers (DELETE /sim/requests).
  void Clear();

  std::size_t size() const;

  // {"requests":[{"path":"...","body":"..."[,"truncated":true]}, ...]}, oldest first. The body
  // is a JSON string of the raw bytes; bytes that are not valid UTF-8 become U+FFFD.
  std::string ToJson() const;

 private:
  struct Entry {
    std::string path;
    std::string body;
    bool truncated = false;
  };

  mutable std::mutex mu_;
  std::array<Entry, kCapacity> ring_;
  std::size_t next_ = 0;   // slot the next Record writes
  std::size_t count_ = 0;  // live entries (<= kCapacity)
};

// Appends `text` as a quoted JSON string like AppendJsonString, but replaces each byte that is
// not part of a well-formed UTF-8 sequence with U+FFFD, so the result is always valid JSON.
void AppendJsonStringUtf8Safe(std::string& out, std::string_view text);

}  // namespace meridian::sim

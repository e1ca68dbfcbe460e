#pragma once
// Redaction and pseudonymization of classifier findings, and restoration of pseudonyms in the
// backend's answer (whole texts or streams of chunks). Pure: no I/O, no JSON, never logs values.
// See docs/redaction.md for the placeholder format and the limits.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "classify/classifier.hpp"
#include "core/data_class.hpp"

namespace meridian::redact {

// Class mask: bit i = core::DataClass(i).
using ClassMask = std::uint32_t;

constexpr ClassMask Bit(core::DataClass c) { return ClassMask{1} << static_cast<int>(c); }

// "[REDACTED_EMAIL]", "[REDACTED_DE_TAX_ID]", ...: what a redacted value becomes.
std::string_view RedactionText(core::DataClass c);

// Per-request state: which placeholder stands for which original value.
// Not thread-safe (const members may run concurrently); one per request. Owns copies of the
// originals (never logs them; overwritten on destruction, best effort). Movable, not copyable; a
// StreamRestorer refers to it, so do not move it while one is in use.
class Pseudonymizer {
 public:
  static constexpr std::size_t kMinKeySize = 16;

  // `key`: secret bytes (precondition: at least kMinKeySize; the caller validates it) used to
  // derive stable placeholder ids: the same (class, value) gets the same placeholder under the
  // same key in every request, so multi-turn conversations stay consistent.
  explicit Pseudonymizer(std::string_view key);
  ~Pseudonymizer();
  Pseudonymizer(Pseudonymizer&&) noexcept = default;
  Pseudonymizer& operator=(Pseudonymizer&&) noexcept = default;
  Pseudonymizer(const Pseudonymizer&) = delete;
  Pseudonymizer& operator=(const Pseudonymizer&) = delete;

  // Returns `text` with each finding (spans into `text`, sorted, non-overlapping, as
  // classify::Finding) whose class bit is in `redact` replaced by "[REDACTED_<CLASS>]" and each
  // in `pseudonymize` by its placeholder "[<CLASS>_<id>]" (CLASS = upper-case class name; id = 8
  // lower-case hex chars of HMAC-SHA256(key, class name + '\0' + value), lengthened by 8 at a
  // time if two different values in this object would get the same placeholder). Findings in
  // neither mask are left as is; redact wins if a class is in both. Fails closed: a value that
  // cannot be pseudonymized (HMAC failure, or a placeholder that would contain the value) is
  // redacted instead. Findings that break the precondition are clipped to the text and to the
  // end of the previous finding, never dropped. Counts what it replaced.
  std::string Apply(std::string_view text, std::span<const classify::Finding> findings,
                    ClassMask redact, ClassMask pseudonymize);

  // Replaces every placeholder this object created with its original; other text (including
  // placeholder-looking text it did not create, and redaction texts) is unchanged. Text without
  // '[' costs one memchr and a copy.
  std::string Restore(std::string_view text) const;

  bool has_placeholders() const { return !entries_.empty(); }
  int redacted_count() const { return redacted_; }
  int pseudonymized_count() const { return pseudonymized_; }
  // Longest placeholder created so far (0 if none).
  std::size_t max_placeholder_size() const { return max_size_; }

 private:
  friend class StreamRestorer;
  // Placeholder and original bytes live in arena_ (after the key); entries refer to them by
  // offset, so the whole state is a few flat allocations.
  struct Entry {
    std::uint32_t ph_off;
    std::uint32_t ph_len;
    std::uint32_t orig_off;
    std::uint32_t orig_len;
    std::uint64_t value_hash;  // of (class, original)
    std::uint64_t ph_hash;     // of the placeholder
    core::DataClass cls;
  };
  struct Slot {
    std::uint32_t by_value = 0;        // entry index + 1, 0 = empty
    std::uint32_t by_placeholder = 0;  // entry index + 1, 0 = empty
  };

  std::string_view PlaceholderOf(const Entry& e) const {
    return {arena_.data() + e.ph_off, e.ph_len};
  }
  std::string_view OriginalOf(const Entry& e) const {
    return {arena_.data() + e.orig_off, e.orig_len};
  }
  // The entry for (cls, value), created if new; nullptr if no placeholder can be made.
  const Entry* Pseudonym(core::DataClass cls, std::string_view value);
  const Entry* FindPlaceholder(std::string_view candidate) const;
  bool PlaceholderTaken(std::string_view placeholder, std::uint64_t hash) const;
  void Rehash(std::size_t capacity);
  // Whether `s` is a proper prefix of a placeholder this object created.
  bool IsProperPlaceholderPrefix(std::string_view s) const;

  std::string arena_;  // the key, then each entry's placeholder and original
  std::size_t key_size_ = 0;
  std::vector<Entry> entries_;
  std::vector<Slot> table_;            // open addressing, power-of-two size, at most half full
  std::vector<std::uint32_t> sorted_;  // entry indexes in placeholder order (prefix checks)
  std::size_t max_size_ = 0;
  std::size_t min_size_ = 0;
  int redacted_ = 0;
  int pseudonymized_ = 0;
};

// Restores placeholders in a stream of text chunks (e.g. the successive `delta.content` strings
// of one choice), where a placeholder may be split across any number of chunks. The
// concatenation of every Feed and the final Flush equals Restore(concatenation of the chunks).
//
// Holds back only a suffix that starts at the last '[' and is a proper prefix of one of the
// known placeholders, so output lags input by at most max_placeholder_size() - 1 bytes, and
// text whose '[' cannot begin a placeholder is emitted in the same call. Since '[' is ASCII,
// holding back never splits a UTF-8 sequence (a sequence the producer split across chunks is
// passed on as split). Not thread-safe; one per stream.
class StreamRestorer {
 public:
  explicit StreamRestorer(const Pseudonymizer& p) : p_(p) {}  // p must outlive this

  std::string Feed(std::string_view chunk);  // text that can be emitted now
  std::string Flush();                       // everything still held back (end of stream)
  std::size_t held_back() const { return pending_.size(); }

 private:
  const Pseudonymizer& p_;
  std::string pending_;
};

}  // namespace meridian::redact

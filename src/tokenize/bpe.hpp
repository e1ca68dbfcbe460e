#pragma once
// Internal to src/tokenize: the rank table and the byte-pair merge.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace meridian::tokenize::detail {

inline constexpr std::uint32_t kNoRank = 0xFFFFFFFFu;

// Byte string -> rank, open addressing over one arena of token bytes. Immutable after Build.
class RankTable {
 public:
  // Adds a token; call Build after the last one. Returns false if `rank` is already taken.
  bool Add(std::string_view bytes, std::uint32_t rank);
  // Builds the hash index. Returns false (and sets *duplicate) if two ranks have equal bytes.
  bool Build(std::string* duplicate);

  std::uint32_t Find(const unsigned char* p, std::size_t n) const {
    if (n > max_len_) return kNoRank;
    const std::uint64_t h = Hash(p, n);
    const std::uint32_t tag = static_cast<std::uint32_t>(h >> 32) | 1u;  // 0 marks empty
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return kNoRank;
      if (s.tag == tag && s.len == n && Equal(arena_.data() + s.offset, p, n)) return s.rank;
    }
  }
  std::uint32_t Find(std::string_view bytes) const {
    return Find(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  // The bytes of `rank`, empty if the rank is not in the table.
  std::string_view Bytes(std::uint32_t rank) const {
    if (rank >= by_rank_.size()) return {};
    const Span& s = by_rank_[rank];
    return {arena_.data() + s.offset, s.len};
  }
  std::size_t size() const { return count_; }
  std::size_t RankLimit() const { return by_rank_.size(); }

  // Byte strings up to 16 bytes (nearly every lookup) are hashed and compared with at most
  // four overlapping loads, never reading outside [p, p + n).
  static std::uint64_t Hash(const unsigned char* p, std::size_t n) {
    std::uint64_t a, b;
    if (n <= 16) {
      if (n >= 8) {
        a = Load64(p);
        b = Load64(p + n - 8);
      } else if (n >= 4) {
        a = Load32(p);
        b = Load32(p + n - 4);
      } else if (n > 0) {
        a = (std::uint64_t{p[0]} << 16) | (std::uint64_t{p[n >> 1]} << 8) | p[n - 1];
        b = 0;
      } else {
        a = b = 0;
      }
    } else {
      return HashLong(p, n);
    }
    return Mix((a ^ 0xa0761d6478bd642full) * (b ^ 0xe7037ed1a0b428dbull ^ n));
  }

 private:
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t rank = 0;
    std::uint32_t offset = 0;
    std::uint32_t len = 0;
  };
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t len = 0;
  };
  static std::uint64_t Load64(const void* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  static std::uint64_t Load32(const void* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  static std::uint64_t Mix(std::uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
  }
  static std::uint64_t HashLong(const unsigned char* p, std::size_t n);
  static bool Equal(const char* a, const unsigned char* b, std::size_t n) {
    if (n >= 8 && n <= 16) {
      return Load64(a) == Load64(b) && Load64(a + n - 8) == Load64(b + n - 8);
    }
    if (n >= 4 && n < 8) {
      return Load32(a) == Load32(b) && Load32(a + n - 4) == Load32(b + n - 4);
    }
    if (n > 0 && n < 4) {
      const auto* ua = reinterpret_cast<const unsigned char*>(a);
      return ua[0] == b[0] && ua[n >> 1] == b[n >> 1] && ua[n - 1] == b[n - 1];
    }
    return std::memcmp(a, b, n) == 0;
  }

  std::string arena_;
  std::vector<Span> by_rank_;  // len 0 = no such rank
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
  std::size_t max_len_ = 0;
};

// Splits one pre-tokenized piece (n >= 1 bytes) into BPE tokens, merging the adjacent pair of
// lowest rank first, leftmost among equals (tiktoken's order). Writes the start offset of each
// token into `starts` (followed by n) and returns the number of tokens. Every single byte must
// have a rank. Pieces above kLongPiece bytes use a heap: O(n log n) instead of O(n^2).
inline constexpr std::size_t kLongPiece = 96;
std::size_t MergePiece(const RankTable& table, const unsigned char* p, std::size_t n,
                       std::vector<std::uint32_t>& starts);
// The two ways MergePiece takes, for tests: the quadratic one needs n <= kLongPiece.
std::size_t MergeQuadratic(const RankTable& table, const unsigned char* p, std::size_t n,
                           std::vector<std::uint32_t>& starts);
std::size_t MergeHeap(const RankTable& table, const unsigned char* p, std::size_t n,
                      std::vector<std::uint32_t>& starts);

}  // namespace meridian::tokenize::detail

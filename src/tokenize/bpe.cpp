#include "tokenize/bpe.hpp"

#include <algorithm>
#include <cstring>

namespace meridian::tokenize::detail {

std::uint64_t RankTable::HashLong(const unsigned char* p, std::size_t n) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull * (n + 1);
  const unsigned char* const tail = p + n - 8;
  while (n > 8) {
    h = (h ^ Load64(p)) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  h = (h ^ Load64(tail)) * 0xbf58476d1ce4e5b9ull;
  return Mix(h);
}

bool RankTable::Add(std::string_view bytes, std::uint32_t rank) {
  if (rank >= by_rank_.size()) by_rank_.resize(static_cast<std::size_t>(rank) + 1);
  if (by_rank_[rank].len != 0) return false;
  by_rank_[rank] = Span{static_cast<std::uint32_t>(arena_.size()),
                        static_cast<std::uint32_t>(bytes.size())};
  arena_.append(bytes);
  ++count_;
  max_len_ = std::max(max_len_, bytes.size());
  return true;
}

bool RankTable::Build(std::string* duplicate) {
  std::size_t cap = 16;
  while (cap < count_ * 2) cap <<= 1;  // load factor <= 0.5
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (std::uint32_t rank = 0; rank < by_rank_.size(); ++rank) {
    const Span sp = by_rank_[rank];
    if (sp.len == 0) continue;
    const auto* p = reinterpret_cast<const unsigned char*>(arena_.data() + sp.offset);
    const std::uint64_t h = Hash(p, sp.len);
    const std::uint32_t tag = static_cast<std::uint32_t>(h >> 32) | 1u;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.tag == 0) {
        s = Slot{tag, rank, sp.offset, sp.len};
        break;
      }
      if (s.tag == tag && s.len == sp.len && Equal(arena_.data() + s.offset, p, sp.len)) {
        if (duplicate) *duplicate = std::string(arena_.data() + sp.offset, sp.len);
        return false;
      }
    }
  }
  return true;
}

// tiktoken's quadratic merge over a small piece: ranks[i] is the rank of the bytes of parts
// i and i+1 together; repeatedly merge the first lowest pair.
std::size_t MergeQuadratic(const RankTable& t, const unsigned char* p, std::size_t n,
                       std::vector<std::uint32_t>& starts) {
  std::uint32_t pos[kLongPiece + 1];
  std::uint32_t rank[kLongPiece + 1];
  std::size_t m = n + 1;  // entries, the last is the end sentinel
  for (std::size_t i = 0; i < m; ++i) pos[i] = static_cast<std::uint32_t>(i);
  for (std::size_t i = 0; i + 2 < m; ++i) rank[i] = t.Find(p + i, 2);
  rank[m - 2] = kNoRank;
  for (;;) {
    std::uint32_t best = kNoRank;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < m; ++i) {
      if (rank[i] < best) {
        best = rank[i];
        at = i;
      }
    }
    if (best == kNoRank) break;
    // Part at+1 joins part at.
    // (A loop, not memmove: the arrays are short and the call costs more than the copy.)
    for (std::size_t i = at + 1; i + 1 < m; ++i) {
      pos[i] = pos[i + 1];
      rank[i] = rank[i + 1];
    }
    --m;
    auto pair_rank = [&](std::size_t i) {
      return i + 2 < m ? t.Find(p + pos[i], pos[i + 2] - pos[i]) : kNoRank;
    };
    rank[at] = pair_rank(at);
    if (at > 0) rank[at - 1] = pair_rank(at - 1);
  }
  starts.assign(pos, pos + m);
  return m - 1;
}

// The same merge order with a heap keyed by (rank, start): the first lowest pair is the
// smallest key. The heap is indexed (each part has at most one entry, for the pair it starts,
// updated in place), so scratch memory stays at about 20 bytes per byte of the piece.
std::size_t MergeHeap(const RankTable& t, const unsigned char* p, std::size_t n,
                      std::vector<std::uint32_t>& starts) {
  constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  // Per part start i: next/prev part start (n = end), the rank of the pair (i, next), and
  // where i sits in the heap (kNone: no entry).
  std::vector<std::uint32_t> next(n + 1), prev(n + 1), rank(n + 1, kNoRank), where(n + 1, kNone);
  std::vector<std::uint32_t> heap;
  heap.reserve(n);
  auto less = [&](std::uint32_t a, std::uint32_t b) {
    return rank[a] != rank[b] ? rank[a] < rank[b] : a < b;
  };
  auto place = [&](std::size_t at, std::uint32_t node) {
    heap[at] = node;
    where[node] = static_cast<std::uint32_t>(at);
  };
  auto sift_up = [&](std::size_t at) {
    const std::uint32_t node = heap[at];
    while (at > 0) {
      const std::size_t parent = (at - 1) / 2;
      if (!less(node, heap[parent])) break;
      place(at, heap[parent]);
      at = parent;
    }
    place(at, node);
  };
  auto sift_down = [&](std::size_t at) {
    const std::uint32_t node = heap[at];
    const std::size_t size = heap.size();
    for (;;) {
      std::size_t child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && less(heap[child + 1], heap[child])) ++child;
      if (!less(heap[child], node)) break;
      place(at, heap[child]);
      at = child;
    }
    place(at, node);
  };
  auto remove = [&](std::uint32_t node) {
    const std::uint32_t at = where[node];
    if (at == kNone) return;
    where[node] = kNone;
    const std::uint32_t last = heap.back();
    heap.pop_back();
    if (last == node) return;
    place(at, last);
    sift_up(at);
    sift_down(where[last]);
  };
  // Recomputes the pair starting at `node` and moves its heap entry.
  auto update = [&](std::uint32_t node) {
    const std::uint32_t right = next[node];
    const std::uint32_t r = right < n ? t.Find(p + node, next[right] - node) : kNoRank;
    if (r == kNoRank) {
      remove(node);
      rank[node] = kNoRank;
      return;
    }
    rank[node] = r;
    if (where[node] == kNone) {
      heap.push_back(node);
      sift_up(heap.size() - 1);
    } else {
      sift_up(where[node]);
      sift_down(where[node]);
    }
  };
  for (std::size_t i = 0; i <= n; ++i) {
    next[i] = static_cast<std::uint32_t>(i + 1);
    prev[i] = static_cast<std::uint32_t>(i == 0 ? 0 : i - 1);
  }
  for (std::uint32_t i = 0; i + 1 < n; ++i) {
    rank[i] = t.Find(p + i, 2);
    if (rank[i] != kNoRank) {
      heap.push_back(i);
      where[i] = static_cast<std::uint32_t>(heap.size() - 1);
    }
  }
  for (std::size_t i = heap.size() / 2; i-- > 0;) sift_down(i);  // heapify
  while (!heap.empty()) {
    const std::uint32_t left = heap[0];
    const std::uint32_t right = next[left];
    // Part `right` joins part `left`.
    remove(right);
    rank[right] = kNoRank;
    next[left] = next[right];
    if (next[right] <= n) prev[next[right]] = left;
    update(left);
    if (left > 0) update(prev[left]);
  }
  starts.clear();
  for (std::uint32_t i = 0; i < n; i = next[i]) starts.push_back(i);
  const std::size_t count = starts.size();
  starts.push_back(static_cast<std::uint32_t>(n));
  return count;
}

std::size_t MergePiece(const RankTable& table, const unsigned char* p, std::size_t n,
                       std::vector<std::uint32_t>& starts) {
  if (n <= kLongPiece) return MergeQuadratic(table, p, n, starts);
  return MergeHeap(table, p, n, starts);
}

}  // namespace meridian::tokenize::detail

#include "sim/capture.hpp"

#include "sim/content.hpp"

namespace meridian::sim {
namespace {

// Length of the well-formed UTF-8 sequence starting at text[i], or 0 if it is not one
// (Unicode 15 table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = at(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

void AppendJsonStringUtf8Safe(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t start = 0;  // start of the run of valid text not yet appended
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = Utf8SequenceLength(text, i);
    if (n != 0) {
      i += n;
      continue;
    }
    AppendJsonEscaped(out, text.substr(start, i - start));
    out.append("\xEF\xBF\xBD");  // U+FFFD
    ++i;
    start = i;
  }
  AppendJsonEscaped(out, text.substr(start));
  out.push_back('"');
}

void RequestCapture::Record(std::string_view path, std::string_view body) {
  bool truncated = false;
  if (body.size() > kMaxBodyBytes) {
    std::size_t cut = kMaxBodyBytes;
    // Back off to the start of the sequence the cut would split (at most 3 bytes).
    std::size_t back = 0;
    while (back < 3 && cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) {
      --cut;
      ++back;
    }
    if ((static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) cut = kMaxBodyBytes;  // not UTF-8 anyway
    body = body.substr(0, cut);
    truncated = true;
  }
  std::lock_guard lock(mu_);
  Entry& e = ring_[next_];
  e.path.assign(path);
  e.body.assign(body);
  e.truncated = truncated;
  next_ = (next_ + 1) % kCapacity;
  if (count_ < kCapacity) ++count_;
}

void RequestCapture::Clear() {
  std::lock_guard lock(mu_);
  for (Entry& e : ring_) e = Entry{};
  next_ = 0;
  count_ = 0;
}

std::size_t RequestCapture::size() const {
  std::lock_guard lock(mu_);
  return count_;
}

std::string RequestCapture::ToJson() const {
  std::lock_guard lock(mu_);
  std::size_t bytes = 16;
  for (const Entry& e : ring_) bytes += e.path.size() + e.body.size() + 48;
  std::string out;
  out.reserve(bytes);
  out.append("{\"requests\":[");
  std::size_t first = (next_ + kCapacity - count_) % kCapacity;
  for (std::size_t k = 0; k < count_; ++k) {
    const Entry& e = ring_[(first + k) % kCapacity];
    if (k != 0) out.push_back(',');
    out.append("{\"path\":");
    AppendJsonStringUtf8Safe(out, e.path);
    out.append(",\"body\":");
    AppendJsonStringUtf8Safe(out, e.body);
    if (e.truncated) out.append(",\"truncated\":true");
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

}  // namespace meridian::sim

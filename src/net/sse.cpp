#include "net/sse.hpp"

#include <cstring>
#include <string>

namespace meridian::net {

namespace {

constexpr unsigned char kBom[3] = {0xEF, 0xBB, 0xBF};
// After a huge event, give the memory back instead of keeping it for the stream's lifetime.
constexpr std::size_t kKeepCapacity = 256 * 1024;

std::size_t FindByte(const char* base, std::size_t from, std::size_t to, char c) {
  if (from >= to) return to;
  const void* hit = std::memchr(base + from, c, to - from);
  return hit == nullptr ? to : static_cast<std::size_t>(static_cast<const char*>(hit) - base);
}

// Parses an all-ASCII-digits value; nullopt if empty, not digits, or overflowing.
std::optional<std::uint64_t> ParseRetry(std::string_view value) {
  if (value.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

// Appends `text` without CR, LF and NUL.
void AppendFieldValue(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  }
}

// Appends "<prefix>line\n" for every line of text (split at LF, CRLF or CR).
void AppendLines(std::string& out, std::string_view prefix, std::string_view text) {
  const char* base = text.data();
  const std::size_t n = text.size();
  std::size_t pos = 0;
  std::size_t cr = FindByte(base, 0, n, '\r');  // next CR at or after pos (or n)
  while (true) {
    if (cr < pos) cr = FindByte(base, pos, n, '\r');
    std::size_t eol = FindByte(base, pos, cr, '\n');
    out.append(prefix);
    if (eol > pos) {
      out.push_back(' ');
      out.append(base + pos, eol - pos);
    }
    out.push_back('\n');
    if (eol == n) return;
    pos = eol + 1;
    if (base[eol] == '\r' && pos < n && base[pos] == '\n') ++pos;
    if (pos == n) {  // text ended with a line break: that is one more (empty) line
      out.append(prefix).push_back('\n');
      return;
    }
  }
}

}  // namespace

core::Result<void> SseParser::TooLarge() const {
  return core::Fail(core::ErrorCode::kUpstreamError,
                    "SSE event exceeds the limit of " + std::to_string(options_.max_event_bytes) +
                        " bytes");
}

core::Result<void> SseParser::Feed(std::string_view bytes, SseEventCallback on_event) {
  return FeedImpl(bytes, on_event, nullptr);
}

core::Result<void> SseParser::Feed(std::string_view bytes, SseEventCallback on_event,
                                   SseCommentCallback on_comment) {
  return FeedImpl(bytes, on_event, &on_comment);
}

core::Result<void> SseParser::FeedImpl(std::string_view bytes, SseEventCallback on_event,
                                       const SseCommentCallback* on_comment) {
  if (failed_) return TooLarge();
  const char* base = bytes.data();
  const std::size_t n = bytes.size();
  std::size_t pos = 0;

  if (at_start_) {
    // Match the BOM byte by byte; it may itself be split across chunks.
    while (pos < n && bom_seen_ < sizeof kBom &&
           static_cast<unsigned char>(base[pos]) == kBom[bom_seen_]) {
      ++bom_seen_;
      ++pos;
    }
    if (bom_seen_ == sizeof kBom) {
      at_start_ = false;
      bom_seen_ = 0;
    } else if (pos < n) {
      // Not a BOM: bytes held back so far are the start of the first line.
      line_.append(reinterpret_cast<const char*>(kBom), bom_seen_);
      bom_seen_ = 0;
      at_start_ = false;
    } else {
      return {};  // everything so far is a BOM prefix
    }
  }

  if (skip_lf_ && pos < n) {
    if (base[pos] == '\n') ++pos;
    skip_lf_ = false;
  }

  const std::size_t max = options_.max_event_bytes;
  std::size_t cr = FindByte(base, pos, n, '\r');  // next CR at or after pos (or n)
  while (pos < n) {
    if (cr < pos) cr = FindByte(base, pos, n, '\r');
    std::size_t eol = FindByte(base, pos, cr, '\n');  // LF before the next CR, or that CR
    std::size_t length = eol - pos;
    if (data_.size() + line_.size() + length > max) {
      failed_ = true;
      return TooLarge();
    }
    if (eol == n) {  // the line continues in the next chunk
      line_.append(base + pos, length);
      break;
    }
    if (line_.empty()) {
      ProcessLine(std::string_view(base + pos, length), on_event, on_comment);
    } else {
      line_.append(base + pos, length);
      ProcessLine(line_, on_event, on_comment);
      line_.clear();
    }
    pos = eol + 1;
    if (base[eol] == '\r') {
      if (pos == n) {
        skip_lf_ = true;
      } else if (base[pos] == '\n') {
        ++pos;
      }
    }
  }
  return {};
}

void SseParser::ProcessLine(std::string_view line, SseEventCallback on_event,
                            const SseCommentCallback* on_comment) {
  if (line.empty()) {
    Dispatch(on_event);
    return;
  }
  if (line.front() == ':') {
    if (on_comment != nullptr) {
      std::string_view text = line.substr(1);
      if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
      (*on_comment)(text);
    }
    return;
  }
  std::string_view field = line;
  std::string_view value;
  if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  } else if (field == "retry") {
    if (auto ms = ParseRetry(value)) {
      retry_ = ms;
      reconnect_ = ms;
    }
  }
  // Any other field is ignored.
}

void SseParser::Dispatch(SseEventCallback on_event) {
  if (!data_.empty()) {
    data_.pop_back();  // the '\n' after the last data line
    on_event(SseEvent{type_, data_, id_, retry_});
    if (data_.capacity() > kKeepCapacity) {
      std::string().swap(data_);
    }
  }
  data_.clear();
  type_.clear();
  retry_.reset();
}

core::Result<void> SseParser::Finish() const {
  if (failed_) return TooLarge();
  if (!data_.empty() || !line_.empty() || bom_seen_ != 0) {
    return core::Fail(core::ErrorCode::kUpstreamError,
                      "SSE stream truncated: it ended inside an event, before the blank line");
  }
  return {};
}

void SseParser::Reset() {
  line_.clear();
  data_.clear();
  type_.clear();
  id_.clear();
  retry_.reset();
  reconnect_.reset();
  bom_seen_ = 0;
  at_start_ = true;
  skip_lf_ = false;
  failed_ = false;
}

void AppendSseEvent(std::string& out, std::string_view data, std::string_view event,
                    std::string_view id) {
  out.reserve(out.size() + data.size() + event.size() + id.size() + 24);
  if (!event.empty()) {
    out.append("event: ");
    AppendFieldValue(out, event);
    out.push_back('\n');
  }
  if (!id.empty()) {
    out.append("id: ");
    AppendFieldValue(out, id);
    out.push_back('\n');
  }
  AppendLines(out, "data:", data);
  out.push_back('\n');
}

std::string EncodeSseEvent(std::string_view data, std::string_view event, std::string_view id) {
  std::string out;
  AppendSseEvent(out, data, event, id);
  return out;
}

void AppendSseComment(std::string& out, std::string_view text) {
  AppendLines(out, ":", text);
  out.push_back('\n');
}

}  // namespace meridian::net

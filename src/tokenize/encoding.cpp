#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "core/utf8.hpp"
#include "tokenize/internal.hpp"

namespace meridian::tokenize {

namespace {

using detail::kNoRank;

core::Result<std::unique_ptr<Encoding>> LoadError(const std::filesystem::path& file,
                                                  std::size_t line, std::string_view what) {
  if (line == 0) {
    return core::Fail(core::ErrorCode::kInternal,
                      fmt::format("tokenizer rank file {}: {}", file.string(), what));
  }
  return core::Fail(core::ErrorCode::kInternal,
                    fmt::format("tokenizer rank file {}:{}: {}", file.string(), line, what));
}

// Strict standard base64 with padding; false on anything else.
bool DecodeBase64(std::string_view in, std::string& out) {
  static const auto kTable = [] {
    std::array<signed char, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    return t;
  }();
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=') {
        if (i + 4 != in.size() || k < 2) return false;
        v[k] = 0;
        ++pad;
      } else {
        if (pad > 0) return false;
        v[k] = kTable[static_cast<unsigned char>(c)];
        if (v[k] < 0) return false;
      }
    }
    const std::uint32_t w = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(w >> 16));
    if (pad < 2) out.push_back(static_cast<char>((w >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(w & 0xFF));
  }
  return true;
}

template <class T>
bool ParseNumber(std::string_view s, T& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Ranks above this are refused: a corrupt file must not make the loader allocate gigabytes.
constexpr std::uint32_t kMaxRank = 1u << 24;

// Runs `piece` through BPE, calling emit(rank) per token.
template <class Emit>
void EncodePiece(const detail::RankTable& ranks, std::string_view piece,
                 std::vector<std::uint32_t>& starts, Emit&& emit) {
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  const std::uint32_t whole = ranks.Find(p, piece.size());
  if (whole != kNoRank) {
    emit(whole);
    return;
  }
  const std::size_t count = detail::MergePiece(ranks, p, piece.size(), starts);
  for (std::size_t i = 0; i < count; ++i) emit(ranks.Find(p + starts[i], starts[i + 1] - starts[i]));
}

std::size_t CountPiece(const detail::RankTable& ranks, std::string_view piece,
                       std::vector<std::uint32_t>& starts) {
  const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  if (piece.size() == 1 || ranks.Find(p, piece.size()) != kNoRank) return 1;
  return detail::MergePiece(ranks, p, piece.size(), starts);
}

std::vector<std::uint32_t>& Scratch() {
  thread_local std::vector<std::uint32_t> starts;
  return starts;
}

}  // namespace

Encoding::Encoding(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoding::~Encoding() = default;

core::Result<std::unique_ptr<Encoding>> Encoding::Load(std::string_view name,
                                                       const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / (std::string(name) + ".ranks");
  auto enc = LoadFile(file);
  if (!enc) return enc;
  if ((*enc)->Name() != name) {
    return LoadError(file, 2, fmt::format("holds encoding '{}', expected '{}'", (*enc)->Name(), name));
  }
  return enc;
}

core::Result<std::unique_ptr<Encoding>> Encoding::LoadFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return LoadError(file, 0,
                     fmt::format("cannot open: {} (the build generates it from the npm package "
                                 "tiktoken: run `make deps`, then build)",
                                 std::strerror(errno)));
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return LoadError(file, 0, "read error");

  auto impl = std::make_unique<Impl>();
  std::size_t pos = 0, line_no = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= data.size()) return false;
    std::size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    line = std::string_view(data).substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    return true;
  };
  std::string_view line;
  if (!next_line(line) || line != "meridian-ranks 1") {
    return LoadError(file, 1, "not a Meridian rank file (first line must be 'meridian-ranks 1')");
  }
  std::size_t tokens = 0;
  bool have_tokens = false;
  while (!have_tokens && next_line(line)) {
    const std::size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    const std::string_view value = sp == std::string_view::npos ? "" : line.substr(sp + 1);
    if (key == "name") {
      impl->name = value;
    } else if (key == "source") {
      impl->source = value;
    } else if (key == "pattern") {
      impl->pattern = value;
    } else if (key == "special") {
      const std::size_t sp2 = value.find(' ');
      std::uint32_t id = 0;
      if (sp2 == std::string_view::npos || !ParseNumber(value.substr(0, sp2), id) ||
          sp2 + 1 >= value.size()) {
        return LoadError(file, line_no, "expected 'special <id> <text>'");
      }
      impl->special.emplace_back(std::string(value.substr(sp2 + 1)), id);
    } else if (key == "tokens") {
      if (!ParseNumber(value, tokens) || tokens == 0 || tokens > kMaxRank) {
        return LoadError(file, line_no, "expected 'tokens <count>'");
      }
      have_tokens = true;
    } else {
      return LoadError(file, line_no, fmt::format("unknown header line '{}'", key));
    }
  }
  if (!have_tokens) return LoadError(file, line_no, "no 'tokens <count>' line");
  if (impl->name.empty()) return LoadError(file, 0, "no 'name' line");
  if (impl->pattern.empty()) return LoadError(file, 0, "no 'pattern' line");

  std::string bytes;
  for (std::size_t i = 0; i < tokens; ++i) {
    if (!next_line(line)) {
      return LoadError(file, line_no, fmt::format("ends after {} of {} tokens", i, tokens));
    }
    const std::size_t sp = line.find(' ');
    std::uint32_t rank = 0;
    if (sp == std::string_view::npos || !DecodeBase64(line.substr(0, sp), bytes) ||
        !ParseNumber(line.substr(sp + 1), rank)) {
      return LoadError(file, line_no, "expected '<base64 bytes> <rank>'");
    }
    if (rank >= kMaxRank) return LoadError(file, line_no, fmt::format("rank {} too large", rank));
    if (!impl->ranks.Add(bytes, rank)) {
      return LoadError(file, line_no, fmt::format("rank {} appears twice", rank));
    }
  }
  while (next_line(line)) {
    if (!line.empty()) return LoadError(file, line_no, "text after the last token");
  }
  std::string duplicate;
  if (!impl->ranks.Build(&duplicate)) {
    return LoadError(file, 0, fmt::format("token bytes appear twice ({} bytes)", duplicate.size()));
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (impl->ranks.Find(std::string_view(&c, 1)) == kNoRank) {
      return LoadError(file, 0, fmt::format("byte 0x{:02x} has no token (BPE needs all 256)", b));
    }
  }
  if (std::string err = impl->splitter.Compile(impl->pattern); !err.empty()) {
    return LoadError(file, 0, err);
  }
  return std::unique_ptr<Encoding>(new Encoding(std::move(impl)));
}

const std::string& Encoding::Name() const { return impl_->name; }
const std::string& Encoding::Pattern() const { return impl_->pattern; }
std::size_t Encoding::VocabularySize() const { return impl_->ranks.RankLimit(); }

std::optional<std::uint32_t> Encoding::SpecialToken(std::string_view text) const {
  for (const auto& [t, id] : impl_->special) {
    if (t == text) return id;
  }
  return std::nullopt;
}

std::size_t Encoding::Count(std::string_view text) const {
  std::string repaired;
  if (core::FirstInvalidUtf8(text)) {
    repaired = detail::RepairUtf8(text);
    text = repaired;
  }
  auto& starts = Scratch();
  std::size_t count = 0;
  impl_->splitter.ForEach(text, [&](std::size_t b, std::size_t e) {
    count += CountPiece(impl_->ranks, text.substr(b, e - b), starts);
  });
  return count;
}

std::vector<std::uint32_t> Encoding::Encode(std::string_view text) const {
  std::string repaired;
  if (core::FirstInvalidUtf8(text)) {
    repaired = detail::RepairUtf8(text);
    text = repaired;
  }
  auto& starts = Scratch();
  std::vector<std::uint32_t> out;
  out.reserve(text.size() / 4 + 4);
  impl_->splitter.ForEach(text, [&](std::size_t b, std::size_t e) {
    EncodePiece(impl_->ranks, text.substr(b, e - b), starts,
                [&](std::uint32_t r) { out.push_back(r); });
  });
  return out;
}

std::string Encoding::Decode(std::span<const std::uint32_t> tokens) const {
  std::string out;
  for (std::uint32_t t : tokens) out.append(impl_->ranks.Bytes(t));
  return out;
}

std::size_t Encoding::Impl::CountPieces(std::string_view text) const {
  std::size_t n = 0;
  splitter.ForEach(text, [&](std::size_t, std::size_t) { ++n; });
  return n;
}

}  // namespace meridian::tokenize

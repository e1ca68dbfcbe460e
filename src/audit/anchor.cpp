#include "audit/anchor.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "audit/record.hpp"

namespace meridian::audit {

namespace {

constexpr std::string_view kHeadMagic = "meridian-audit-head v1\n";
constexpr std::size_t kKeyBytes = 32;

std::unexpected<core::Error> SysFail(std::string_view what, const std::string& path, int err) {
  return core::Fail(core::ErrorCode::kInternal, fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

// Reads a whole small file. nullopt if it does not exist.
core::Result<std::optional<std::string>> ReadSmallFile(const std::string& path, std::size_t max) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return SysFail("cannot open", path, errno);
  }
  std::string data;
  char buf[512];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return SysFail("cannot read", path, err);
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > max) {
      ::close(fd);
      return core::Fail(core::ErrorCode::kInternal, fmt::format("{}: unexpectedly large", path));
    }
  }
  ::close(fd);
  return std::optional<std::string>(std::move(data));
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<std::string> ParseKey(std::string_view text) {
  if (text.size() != 2 * kKeyBytes + 1 || text.back() != '\n') return std::nullopt;
  std::string key(kKeyBytes, '\0');
  for (std::size_t i = 0; i < kKeyBytes; ++i) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(text.data() + 2 * i, text.data() + 2 * i + 2, value, 16);
    if (ec != std::errc{} || ptr != text.data() + 2 * i + 2) return std::nullopt;
    key[i] = static_cast<char>(value);
  }
  return key;
}

}  // namespace

AuditPaths PathsForDb(const std::string& db_path) {
  return AuditPaths{db_path, db_path + ".head", db_path + ".key"};
}

AuditPaths PathsForStateDir(const std::string& state_dir) {
  std::string db = state_dir;
  if (!db.empty() && db.back() != '/') db.push_back('/');
  db.append(kAuditDbFileName);
  return PathsForDb(db);
}

core::Result<std::optional<HeadAnchor>> ReadHeadFile(const std::string& path) {
  auto data = ReadSmallFile(path, 4096);
  if (!data) return std::unexpected(data.error());
  if (!*data) return std::optional<HeadAnchor>{};
  std::string_view text = **data;
  auto invalid = [&] {
    return core::Fail(core::ErrorCode::kInternal, fmt::format("{}: not a valid head file", path));
  };
  if (!text.starts_with(kHeadMagic) || !text.ends_with('\n')) return invalid();
  text.remove_prefix(kHeadMagic.size());
  text.remove_suffix(1);
  const auto space = text.find(' ');
  if (space == std::string_view::npos || space == 0) return invalid();
  HeadAnchor anchor;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + space, anchor.seq);
  if (ec != std::errc{} || ptr != text.data() + space || anchor.seq < 0) return invalid();
  anchor.hash = std::string(text.substr(space + 1));
  if (!IsHashHex(anchor.hash)) return invalid();
  return std::optional<HeadAnchor>(std::move(anchor));
}

core::Result<void> WriteHeadFile(const std::string& path, const HeadAnchor& anchor, bool sync) {
  // Unique per write, so two stores (or processes) updating the same head file never share a
  // temp file; the rename makes the last writer win, which at worst leaves the file lagging.
  static std::atomic<std::uint64_t> counter{0};
  const std::string tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter.fetch_add(1));
  const std::string content = fmt::format("{}{} {}\n", kHeadMagic, anchor.seq, anchor.hash);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return SysFail("cannot create", tmp, errno);
  if (!WriteAll(fd, content) || (sync && ::fsync(fd) != 0)) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return SysFail("cannot write", tmp, err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return SysFail("cannot write", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return SysFail("cannot rename onto", path, err);
  }
  return {};
}

core::Result<std::string> ReadKeyFile(const std::string& path) {
  auto data = ReadSmallFile(path, 4096);
  if (!data) return std::unexpected(data.error());
  if (!*data) return core::Fail(core::ErrorCode::kInternal, fmt::format("{}: missing", path));
  auto key = ParseKey(**data);
  if (!key) return core::Fail(core::ErrorCode::kInternal, fmt::format("{}: not a valid key file", path));
  return *std::move(key);
}

core::Result<std::string> CreateKeyFile(const std::string& path) {
  unsigned char raw[kKeyBytes];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    return core::Fail(core::ErrorCode::kInternal, "cannot generate the audit key: no randomness");
  }
  const std::string key(reinterpret_cast<const char*>(raw), sizeof raw);
  const std::string content = ToHex(key) + "\n";
  // Written to a private temp name and linked into place: link() never replaces an existing
  // file, so a key that already exists is never overwritten, and nobody sees a partial key.
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return SysFail("cannot create", tmp, errno);
  if (!WriteAll(fd, content) || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return SysFail("cannot write", tmp, err);
  }
  ::close(fd);
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_err = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_err == EEXIST) return ReadKeyFile(path);
    return SysFail("cannot create", path, link_err);
  }
  return key;
}

}  // namespace meridian::audit

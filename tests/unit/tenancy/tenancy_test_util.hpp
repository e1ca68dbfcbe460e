#pragma once
// Test helpers for the tenancy module: a temp directory per test, a fixed clock, and a shortcut
// to call the admin API. Test-only: may throw.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <boost/json.hpp>

#include "tenancy/admin_api.hpp"

namespace meridian::tenancy::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "meridian-tenancy-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Every byte of a file (empty if absent).
inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> now = std::make_shared<std::atomic<std::int64_t>>(1'700'000'000'000);
  std::function<std::int64_t()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
};

inline AdminResult Call(TenancyStore& store, std::string_view method, std::string_view path, std::string_view body = {},
                        std::string_view query = {}, const AdminOptions& options = {}) {
  return HandleAdminRequest(store, AdminRequest{method, path, query, body, "test-admin"}, options);
}

inline boost::json::value Json(const std::string& text) { return boost::json::parse(text); }

}  // namespace meridian::tenancy::testing

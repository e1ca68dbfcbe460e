// Cost of authenticating a virtual key (docs/tenancy.md, "Performance"): the per-request path —
// SHA-256 of the presented key, the store's version check (SQLite `PRAGMA data_version`) and
// the hash lookup — with 1 and 2 threads, its parts alone, and a reload after a change.

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "tenancy/admin_api.hpp"
#include "tenancy/directory.hpp"
#include "tenancy/sqlite_tenancy_store.hpp"

namespace {

using namespace meridian::tenancy;

// A store with one tenant, one team and `keys` keys; the secrets are returned.
struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<SqliteTenancyStore> store;
  std::vector<std::string> secrets;

  explicit Fixture(int keys) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "meridian-tenancy-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    store = std::move(*SqliteTenancyStore::Open((dir / "tenancy.db").string()));
    auto call = [&](std::string_view method, std::string_view path, std::string_view body) {
      return HandleAdminRequest(*store, AdminRequest{method, path, {}, body, "bench"});
    };
    call("POST", "/admin/tenants", R"({"id":"acme","models":["gpt-4o","fast"],"limits":{"usd_per_day":"10"}})");
    call("POST", "/admin/tenants/acme/teams", R"({"id":"research","data_classes":["email"]})");
    for (int i = 0; i < keys; ++i) {
      AdminResult r = call("POST", "/admin/keys", R"({"tenant":"acme","team":"research"})");
      auto v = boost::json::parse(r.body);
      secrets.emplace_back(v.at("key").as_string());
    }
  }
  ~Fixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Fixture& Shared() {
  static Fixture f(1000);
  return f;
}

void BM_Authenticate(benchmark::State& state) {
  Fixture& f = Shared();
  static KeyDirectory* dir = new KeyDirectory(*f.store);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7;
  for (auto _ : state) {
    AuthResult r = dir->Authenticate(f.secrets[i++ % f.secrets.size()]);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Authenticate)->Threads(1)->Threads(2);

void BM_Version(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) benchmark::DoNotOptimize(f.store->Version());
}
BENCHMARK(BM_Version);

void BM_HashKey(benchmark::State& state) {
  Fixture& f = Shared();
  for (auto _ : state) benchmark::DoNotOptimize(HashKey(f.secrets[0]));
}
BENCHMARK(BM_HashKey);

// A change (an update of the tenant) before every lookup: version check, LoadAll of 1,000
// keys, index rebuild.
void BM_AuthenticateAfterChange(benchmark::State& state) {
  Fixture& f = Shared();
  KeyDirectory dir(*f.store);
  bool flip = false;
  for (auto _ : state) {
    state.PauseTiming();
    flip = !flip;
    HandleAdminRequest(*f.store, AdminRequest{"PATCH", "/admin/tenants/acme", {},
                                              flip ? R"({"name":"a"})" : R"({"name":"b"})", "bench"});
    state.ResumeTiming();
    benchmark::DoNotOptimize(dir.Authenticate(f.secrets[0]));
  }
}
BENCHMARK(BM_AuthenticateAfterChange)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

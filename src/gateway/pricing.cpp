#include "gateway/pricing.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "catalog/overrides.hpp"

namespace meridian::gateway {

namespace {

config::ConfigIssue FromCatalog(const catalog::Issue& issue) {
  return config::ConfigIssue{issue.file, issue.line, issue.field, issue.message};
}

}  // namespace

std::expected<std::vector<BackendPrices>, std::vector<config::ConfigIssue>> BuildPrices(const config::Config& config) {
  std::vector<config::ConfigIssue> issues;
  catalog::Catalog catalog;
  if (!config.catalog_file.empty()) {
    std::filesystem::path file(config.catalog_file);
    if (file.is_relative() && !config.source.empty()) {
      file = std::filesystem::path(config.source).parent_path() / file;
    }
    auto loaded = catalog::Catalog::LoadLiteLlmFile(file.string());
    if (!loaded) {
      issues.push_back(config::ConfigIssue{config.source, 0, "catalog.file", loaded.error().ToString()});
    } else {
      catalog = std::move(*loaded);
    }
  }
  std::vector<BackendPrices> out(config.backends.size());
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    const config::BackendConfig& b = config.backends[i];
    auto overrides = catalog::ParsePriceOverrides(b.prices, b.path + ".prices", config.source,
                                                  [](std::string_view text) { return config::InterpolateEnv(text); });
    if (!overrides) {
      for (const auto& issue : overrides.error()) issues.push_back(FromCatalog(issue));
      continue;
    }
    for (const auto& [model, override] : *overrides) {
      if (std::find(b.models.begin(), b.models.end(), model) == b.models.end()) {
        issues.push_back(config::ConfigIssue{config.source, override.line, b.path + ".prices." + model,
                                             fmt::format("'{}' is not one of this backend's models", model)});
      }
    }
    for (const std::string& model : b.models) {
      auto entry = catalog::Resolve(catalog, model, b.provider, &*overrides);
      if (entry) out[i].emplace(model, std::move(*entry));
    }
  }
  if (!issues.empty()) return std::unexpected(std::move(issues));
  return out;
}

std::string FormatUsd(std::int64_t micro_usd) {
  const char* sign = micro_usd < 0 ? "-" : "";
  std::uint64_t m = micro_usd < 0 ? static_cast<std::uint64_t>(-(micro_usd + 1)) + 1 : static_cast<std::uint64_t>(micro_usd);
  return fmt::format("{}{}.{:06}", sign, m / 1'000'000, m % 1'000'000);
}

}  // namespace meridian::gateway

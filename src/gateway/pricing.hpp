#pragma once
// What each backend's models cost: the LiteLLM catalog named by `catalog.file` with each
// backend's `prices` overrides on top (docs/catalog.md), resolved once per configuration so a
// request's cost is one lookup and a few integer multiplications. Pure apart from reading the
// catalog file.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog/catalog.hpp"
#include "catalog/cost.hpp"
#include "config/config.hpp"

namespace meridian::gateway {

// Model id -> its resolved entry, for one backend (models with no price are absent).
using BackendPrices = std::unordered_map<std::string, catalog::Entry>;

// One BackendPrices per entry of config.backends (same order). Fails with every problem found
// (an unreadable or malformed catalog file, a bad `prices` entry, a priced model the backend
// does not serve) as "FILE:LINE: FIELD: MESSAGE" issues, for `config check` and start-up.
std::expected<std::vector<BackendPrices>, std::vector<config::ConfigIssue>> BuildPrices(const config::Config& config);

// Micro-USD as the decimal USD string of the cost header ("0.000123"; exact, never rounded).
std::string FormatUsd(std::int64_t micro_usd);

}  // namespace meridian::gateway

#include "replay/replay_config.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <iterator>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace meridian::replay {

SimBackend ReplayConfig::For(const config::BackendConfig& backend) const {
  if (auto it = backends.find(backend.id); it != backends.end()) return it->second;
  if (auto it = tier_defaults.find(backend.tier); it != tier_defaults.end()) return it->second;
  return SimBackend{};
}

std::string SplitReplaySection(std::string_view text, std::string* replay_block) {
  std::string rest, block;
  bool inside = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    const bool last = nl == std::string_view::npos;
    std::string_view line = text.substr(pos, last ? std::string_view::npos : nl - pos);
    const bool top_level = !line.empty() && line[0] != ' ' && line[0] != '\t' && line[0] != '#' && line[0] != '\r';
    if (top_level) inside = line.starts_with("replay:");
    // Both outputs keep every line (blank where the other owns it): line numbers stay the file's.
    (inside ? block : rest).append(line);
    rest += last ? "" : "\n";
    block += last ? "" : "\n";
    if (last) break;
    pos = nl + 1;
  }
  if (replay_block) *replay_block = std::move(block);
  return rest;
}

namespace {

class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  core::Error Bad(const YAML::Node& node, std::string_view path, std::string_view message) const {
    core::Error e;
    e.code = core::ErrorCode::kInvalidRequest;
    const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    e.message = line > 0 ? fmt::format("{}:{}: {}: {}", file_, line, path, message)
                         : fmt::format("{}: {}: {}", file_, path, message);
    return e;
  }

  // Every key of `map` must be one of `known`.
  core::Result<void> Keys(const YAML::Node& map, std::string_view path, std::initializer_list<std::string_view> known) const {
    if (!map.IsMap()) return std::unexpected(Bad(map, path, "expected a map"));
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.Scalar();
      bool ok = false;
      for (auto k : known) ok = ok || k == key;
      if (!ok) return std::unexpected(Bad(it->first, fmt::format("{}.{}", path, key), "unknown field"));
    }
    return {};
  }

  core::Result<double> Number(const YAML::Node& n, std::string_view path, double min) const {
    double v = 0;
    const std::string& s = n.Scalar();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!n.IsScalar() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v) || v < min) {
      return std::unexpected(Bad(n, path, fmt::format("expected a number >= {}", min)));
    }
    return v;
  }

  core::Result<std::uint64_t> Whole(const YAML::Node& n, std::string_view path, std::uint64_t min) const {
    std::uint64_t v = 0;
    const std::string& s = n.Scalar();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (!n.IsScalar() || ec != std::errc() || p != s.data() + s.size() || v < min) {
      return std::unexpected(Bad(n, path, fmt::format("expected a whole number >= {}", min)));
    }
    return v;
  }

  // "250ms", "1.5s" or a bare number of milliseconds.
  core::Result<double> Millis(const YAML::Node& n, std::string_view path) const {
    std::string s = n.IsScalar() ? n.Scalar() : std::string();
    double scale = 1;
    if (s.ends_with("ms")) {
      s.resize(s.size() - 2);
    } else if (s.ends_with("s")) {
      s.resize(s.size() - 1);
      scale = 1000;
    }
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v) || v < 0) {
      return std::unexpected(Bad(n, path, "expected a duration such as 250ms or 1.5s"));
    }
    return v * scale;
  }

  core::Result<std::vector<std::string>> Strings(const YAML::Node& n, std::string_view path) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) return std::unexpected(Bad(n, path, "expected a string or a list of strings"));
    for (const auto& item : n) {
      if (!item.IsScalar() || item.Scalar().empty()) return std::unexpected(Bad(item, path, "expected a non-empty string"));
      out.push_back(item.Scalar());
    }
    return out;
  }

  core::Result<SimBackend> Backend(const YAML::Node& n, std::string_view path, SimBackend out) const {
    if (auto ok = Keys(n, path, {"ttft", "tokens_per_s", "prefill_tokens_per_s", "replicas", "cache_blocks"}); !ok) {
      return std::unexpected(ok.error());
    }
    if (n["ttft"]) {
      auto v = Millis(n["ttft"], fmt::format("{}.ttft", path));
      if (!v) return std::unexpected(v.error());
      out.ttft_ms = *v;
    }
    if (n["tokens_per_s"]) {
      auto v = Number(n["tokens_per_s"], fmt::format("{}.tokens_per_s", path), 0.001);
      if (!v) return std::unexpected(v.error());
      out.tokens_per_s = *v;
    }
    if (n["prefill_tokens_per_s"]) {
      auto v = Number(n["prefill_tokens_per_s"], fmt::format("{}.prefill_tokens_per_s", path), 0);
      if (!v) return std::unexpected(v.error());
      out.prefill_tokens_per_s = *v;
    }
    if (n["replicas"]) {
      auto v = Whole(n["replicas"], fmt::format("{}.replicas", path), 1);
      if (!v || *v > 1024) return std::unexpected(Bad(n["replicas"], fmt::format("{}.replicas", path), "expected 1..1024"));
      out.replicas = static_cast<std::uint32_t>(*v);
    }
    if (n["cache_blocks"]) {
      auto v = Whole(n["cache_blocks"], fmt::format("{}.cache_blocks", path), 1);
      if (!v) return std::unexpected(v.error());
      out.cache_blocks = *v;
    }
    return out;
  }

 private:
  std::string_view file_;
};

// The whole section; `root` is the `replay` node.
core::Result<ReplayConfig> ParseRoot(const YAML::Node& root, const Reader& r) {
  ReplayConfig out;
  // Defaults per tier: the edge is close but slow, the cloud far but fast.
  out.tier_defaults[config::Tier::kEdge] = {.ttft_ms = 150, .tokens_per_s = 30};
  out.tier_defaults[config::Tier::kLocal] = {.ttft_ms = 250, .tokens_per_s = 60};
  out.tier_defaults[config::Tier::kCloud] = {.ttft_ms = 600, .tokens_per_s = 90};
  out.compare.replicas = 8;
  if (!root || root.IsNull()) return out;
  if (auto ok = r.Keys(root, "replay",
                       {"targets", "per_alias", "strategy", "expected_output_tokens", "strong", "declare", "tiers",
                        "backends", "prefix", "seed"});
      !ok) {
    return std::unexpected(ok.error());
  }
  if (root["targets"]) {
    auto v = r.Strings(root["targets"], "replay.targets");
    if (!v) return std::unexpected(v.error());
    out.targets = std::move(*v);
  }
  if (const YAML::Node p = root["per_alias"]) {
    if (!p.IsScalar() || (p.Scalar() != "true" && p.Scalar() != "false")) {
      return std::unexpected(r.Bad(p, "replay.per_alias", "expected true or false"));
    }
    out.per_alias = p.Scalar() == "true";
  }
  if (root["strategy"]) {
    if (out.per_alias) {
      return std::unexpected(r.Bad(root["strategy"], "replay.strategy",
                                   "not used with per_alias: true (each alias routes with its own strategy; "
                                   "--strategy overrides them all)"));
    }
    auto s = route::ParseStrategy(root["strategy"].Scalar());
    if (!s) {
      return std::unexpected(r.Bad(root["strategy"], "replay.strategy",
                                   "unknown strategy (p2c, cheapest, fastest, weighted, least-busy, priority)"));
    }
    out.strategy = *s;
  }
  if (root["expected_output_tokens"]) {
    auto v = r.Whole(root["expected_output_tokens"], "replay.expected_output_tokens", 0);
    if (!v) return std::unexpected(v.error());
    out.expected_output_tokens = static_cast<std::int64_t>(*v);
  }
  if (root["strong"]) {
    auto v = r.Strings(root["strong"], "replay.strong");
    if (!v) return std::unexpected(v.error());
    out.strong = std::move(*v);
  }
  if (const YAML::Node d = root["declare"]) {
    if (auto ok = r.Keys(d, "replay.declare", {"classes", "jurisdiction"}); !ok) return std::unexpected(ok.error());
    if (d["classes"]) out.declared_classes = d["classes"].Scalar();
    if (d["jurisdiction"]) out.declared_jurisdiction = d["jurisdiction"].Scalar();
  }
  if (const YAML::Node tiers = root["tiers"]) {
    if (auto ok = r.Keys(tiers, "replay.tiers", {"edge", "local", "cloud"}); !ok) return std::unexpected(ok.error());
    for (auto [name, tier] : {std::pair{"edge", config::Tier::kEdge}, std::pair{"local", config::Tier::kLocal},
                              std::pair{"cloud", config::Tier::kCloud}}) {
      if (!tiers[name]) continue;
      auto b = r.Backend(tiers[name], fmt::format("replay.tiers.{}", name), out.tier_defaults[tier]);
      if (!b) return std::unexpected(b.error());
      out.tier_defaults[tier] = *b;
    }
  }
  if (const YAML::Node backends = root["backends"]) {
    if (!backends.IsMap()) return std::unexpected(r.Bad(backends, "replay.backends", "expected a map of backend id to settings"));
    for (auto it = backends.begin(); it != backends.end(); ++it) {
      const std::string id = it->first.Scalar();
      auto b = r.Backend(it->second, fmt::format("replay.backends.{}", id), SimBackend{});
      if (!b) return std::unexpected(b.error());
      out.backends[id] = *b;
    }
  }
  if (const YAML::Node p = root["prefix"]) {
    if (auto ok = r.Keys(p, "replay.prefix", {"placement", "block_tokens", "key_blocks", "load_factor", "compare"}); !ok) {
      return std::unexpected(ok.error());
    }
    if (p["placement"]) {
      auto v = route::ParsePlacement(p["placement"].Scalar());
      if (!v) return std::unexpected(r.Bad(p["placement"], "replay.prefix.placement", "expected affinity, round-robin or least-busy"));
      out.placement = *v;
    }
    if (p["block_tokens"]) {
      auto v = r.Whole(p["block_tokens"], "replay.prefix.block_tokens", 1);
      if (!v) return std::unexpected(v.error());
      out.block_tokens = static_cast<std::uint32_t>(*v);
    }
    if (p["key_blocks"]) {
      auto v = r.Whole(p["key_blocks"], "replay.prefix.key_blocks", 1);
      if (!v) return std::unexpected(v.error());
      out.compare.key_blocks = static_cast<std::uint32_t>(*v);
    }
    if (p["load_factor"]) {
      auto v = r.Number(p["load_factor"], "replay.prefix.load_factor", 1.0);
      if (!v) return std::unexpected(v.error());
      out.compare.affinity.load_factor = *v;
    }
    if (const YAML::Node c = p["compare"]) {
      if (auto ok = r.Keys(c, "replay.prefix.compare", {"replicas", "cache_blocks", "prefill_tokens_per_s", "decode_tokens_per_s"});
          !ok) {
        return std::unexpected(ok.error());
      }
      if (c["replicas"]) {
        auto v = r.Whole(c["replicas"], "replay.prefix.compare.replicas", 0);
        if (!v) return std::unexpected(v.error());
        out.compare.replicas = static_cast<std::uint32_t>(*v);
      }
      if (c["cache_blocks"]) {
        auto v = r.Whole(c["cache_blocks"], "replay.prefix.compare.cache_blocks", 1);
        if (!v) return std::unexpected(v.error());
        out.compare.cache_blocks = *v;
      }
      if (c["prefill_tokens_per_s"]) {
        auto v = r.Number(c["prefill_tokens_per_s"], "replay.prefix.compare.prefill_tokens_per_s", 0.001);
        if (!v) return std::unexpected(v.error());
        out.compare.prefill_tokens_per_s = *v;
      }
      if (c["decode_tokens_per_s"]) {
        auto v = r.Number(c["decode_tokens_per_s"], "replay.prefix.compare.decode_tokens_per_s", 0.001);
        if (!v) return std::unexpected(v.error());
        out.compare.decode_tokens_per_s = *v;
      }
    }
  }
  if (root["seed"]) {
    auto v = r.Whole(root["seed"], "replay.seed", 0);
    if (!v) return std::unexpected(v.error());
    out.seed = *v;
  }
  return out;
}

}  // namespace

core::Result<ReplayConfig> ParseReplaySection(std::string_view block, std::string_view file) {
  Reader reader(file);
  try {
    const YAML::Node doc = YAML::Load(std::string(block));
    return ParseRoot(doc.IsMap() ? doc["replay"] : YAML::Node(), reader);
  } catch (const YAML::Exception& e) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("{}:{}: replay: {}", file, e.mark.line + 1, e.msg));
  }
}

core::Result<LoadedReplayConfig> LoadReplayConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Fail(core::ErrorCode::kNotFound, fmt::format("cannot read configuration file '{}'", path));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string block;
  const std::string gateway_text = SplitReplaySection(text, &block);
  auto gateway = config::ParseConfig(gateway_text, path);
  if (!gateway) {
    std::string message;
    for (const auto& issue : gateway.error()) {
      if (!message.empty()) message += '\n';
      message += issue.ToString();
    }
    return core::Fail(core::ErrorCode::kInvalidRequest, std::move(message));
  }
  auto replay = ParseReplaySection(block, path);
  if (!replay) return std::unexpected(replay.error());
  gateway->source = path;
  return LoadedReplayConfig{std::move(*gateway), std::move(*replay)};
}

}  // namespace meridian::replay

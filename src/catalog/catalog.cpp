#include "catalog/catalog.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "catalog/decimal.hpp"

namespace meridian::catalog {
namespace {

namespace json = boost::json;

constexpr int kPicoScale = 12;  // USD per token -> pico-USD per token

std::string_view KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

// The number's decimal text: integers as written, doubles in their shortest round-trip form.
std::string NumberText(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::double_: return ShortestDecimal(v.get_double());
    default: return {};
  }
}

// boost::json::parse's handler, except that a number with a fraction or exponent becomes the
// double nearest to its text (std::from_chars): Boost 1.81's own conversion is not always
// correctly rounded, and the shortest text of a double one ulp off is not the file's text.
struct PreciseHandler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::string number;  // the parts of a number split across writes

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::system::error_code&) { st.push_object(n); return true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::system::error_code&) { st.push_array(n); return true; }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) { st.push_chars(s); return true; }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code&) { st.push_key(s); return true; }
  bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) { st.push_chars(s); return true; }
  bool on_string(json::string_view s, std::size_t, boost::system::error_code&) { st.push_string(s); return true; }
  bool on_number_part(json::string_view s, boost::system::error_code&) { number.append(s.data(), s.size()); return true; }
  bool on_int64(std::int64_t i, json::string_view, boost::system::error_code&) { number.clear(); st.push_int64(i); return true; }
  bool on_uint64(std::uint64_t u, json::string_view, boost::system::error_code&) { number.clear(); st.push_uint64(u); return true; }
  bool on_double(double d, json::string_view s, boost::system::error_code&) {
    number.append(s.data(), s.size());
    double exact = d;
    auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), exact);
    if (ec != std::errc{} || ptr != number.data() + number.size()) exact = d;  // out of range: keep Boost's
    number.clear();
    st.push_double(exact);
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) { st.push_bool(b); return true; }
  bool on_null(boost::system::error_code&) { st.push_null(); return true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }
};

json::value ParsePrecise(std::string_view text, boost::system::error_code& ec) {
  json::basic_parser<PreciseHandler> parser{json::parse_options{}};
  parser.handler().st.reset();
  std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) return nullptr;
  return parser.handler().st.release();
}

// A tier price key, `<kind>_above_<N>k_tokens`: which price it sets and above how many tokens.
struct TierKey {
  std::optional<PicoUsdPerToken> PriceTier::*member;
  std::int64_t above_tokens;
};

constexpr std::pair<std::string_view, std::optional<PicoUsdPerToken> PriceTier::*> kTierKinds[] = {
    {"input_cost_per_token", &PriceTier::input},
    {"output_cost_per_token", &PriceTier::output},
    {"cache_read_input_token_cost", &PriceTier::cache_read},
    {"cache_creation_input_token_cost", &PriceTier::cache_write},
    {"output_cost_per_reasoning_token", &PriceTier::reasoning},
};

// nullopt for any other key (including "..._above_200k_tokens_priority" and
// "cache_creation_input_token_cost_above_1hr_above_200k_tokens", whose kinds are not modelled).
std::optional<TierKey> ParseTierKey(std::string_view key) {
  constexpr std::string_view kSuffix = "k_tokens";
  constexpr std::string_view kAbove = "_above_";
  if (!key.ends_with(kSuffix)) return std::nullopt;
  const std::size_t above = key.rfind(kAbove);
  if (above == std::string_view::npos || above + kAbove.size() > key.size() - kSuffix.size()) return std::nullopt;
  const std::string_view kind = key.substr(0, above);
  const std::string_view digits =
      key.substr(above + kAbove.size(), key.size() - kSuffix.size() - above - kAbove.size());
  // At most 12 digits: N × 1000 stays far inside int64.
  if (digits.empty() || digits.size() > 12) return std::nullopt;
  std::int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  for (const auto& [name, member] : kTierKinds) {
    if (kind == name) return TierKey{member, n * 1000};
  }
  return std::nullopt;
}

// Collects the issues of one entry.
struct EntryReader {
  std::string_view file;
  std::string_view key;
  const json::object& object;
  std::vector<Issue>& issues;
  bool ok = true;

  void Fail(std::string_view field, std::string message) {
    ok = false;
    issues.push_back(Issue{std::string(file), 0, fmt::format("{}.{}", key, field), std::move(message)});
  }

  std::optional<PicoUsdPerToken> Price(std::string_view field, bool& rounded) {
    const json::value* v = object.if_contains(field);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) {
      Fail(field, fmt::format("expected a number (USD per token), got {}", KindName(*v)));
      return std::nullopt;
    }
    if (v->is_double() && !std::isfinite(v->get_double())) {
      Fail(field, "expected a finite number");
      return std::nullopt;
    }
    std::string text = NumberText(*v);
    if (!text.empty() && text.front() == '-') {
      Fail(field, fmt::format("must not be negative, got {}", text));
      return std::nullopt;
    }
    std::optional<ScaledDecimal> scaled = ParseScaledDecimal(text, kPicoScale);
    if (!scaled) {
      Fail(field, fmt::format("price {} USD per token is out of range", text));
      return std::nullopt;
    }
    if (!scaled->exact) rounded = true;
    return scaled->value;
  }

  std::optional<std::int64_t> Tokens(std::string_view field) {
    const json::value* v = object.if_contains(field);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) {
      Fail(field, fmt::format("expected a token count, got {}", KindName(*v)));
      return std::nullopt;
    }
    if (v->is_int64()) {
      if (v->get_int64() < 0) {
        Fail(field, fmt::format("must not be negative, got {}", v->get_int64()));
        return std::nullopt;
      }
      return v->get_int64();
    }
    if (v->is_uint64()) {
      if (v->get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) {
        Fail(field, fmt::format("token count {} is out of range", v->get_uint64()));
        return std::nullopt;
      }
      return static_cast<std::int64_t>(v->get_uint64());
    }
    // A double is accepted when it is a whole number (the file has 2000000.0).
    double d = v->get_double();
    if (!std::isfinite(d) || d != std::floor(d)) {
      Fail(field, fmt::format("expected a whole number of tokens, got {}", ShortestDecimal(d)));
      return std::nullopt;
    }
    if (d < 0) {
      Fail(field, fmt::format("must not be negative, got {}", ShortestDecimal(d)));
      return std::nullopt;
    }
    if (d > 9.0e18) {
      Fail(field, fmt::format("token count {} is out of range", ShortestDecimal(d)));
      return std::nullopt;
    }
    return static_cast<std::int64_t>(d);
  }

  // Every `<kind>_above_<N>k_tokens` price of the entry, grouped by N, ascending.
  std::vector<PriceTier> Tiers(bool& rounded) {
    std::map<std::int64_t, PriceTier> by_threshold;
    for (const auto& member : object) {
      std::string_view field = member.key();
      std::optional<TierKey> tk = ParseTierKey(field);
      if (!tk) continue;
      std::optional<PicoUsdPerToken> price = Price(field, rounded);
      if (!price) continue;
      PriceTier& tier = by_threshold[tk->above_tokens];
      tier.above_tokens = tk->above_tokens;
      tier.*(tk->member) = price;
    }
    std::vector<PriceTier> out;
    out.reserve(by_threshold.size());
    for (auto& [above, tier] : by_threshold) out.push_back(std::move(tier));
    return out;
  }

  bool Flag(std::string_view field) {
    const json::value* v = object.if_contains(field);
    if (v == nullptr) return false;
    if (!v->is_bool()) {
      Fail(field, fmt::format("expected true or false, got {}", KindName(*v)));
      return false;
    }
    return v->get_bool();
  }

  std::string String(std::string_view field, bool required) {
    const json::value* v = object.if_contains(field);
    if (v == nullptr) {
      if (required) Fail(field, "required field is missing");
      return {};
    }
    if (!v->is_string()) {
      Fail(field, fmt::format("expected a string, got {}", KindName(*v)));
      return {};
    }
    if (required && v->get_string().empty()) {
      Fail(field, "must not be empty");
      return {};
    }
    return std::string(v->get_string());
  }
};

// Fields whose presence makes an object a model entry.
constexpr std::array<std::string_view, 7> kModelFields = {
    "litellm_provider", "mode",          "input_cost_per_token", "output_cost_per_token",
    "max_input_tokens", "max_output_tokens", "max_tokens"};

bool LooksLikeModel(const json::object& object) {
  for (std::string_view f : kModelFields) {
    if (object.contains(f)) return true;
  }
  return false;
}

// Meridian provider kind -> LiteLLM names (docs/configuration.md, "Provider presets").
struct AliasRow {
  std::string_view meridian;
  std::span<const std::string_view> providers;
  std::span<const std::string_view> prefixes;
};
constexpr std::string_view kOpenAiProviders[] = {"openai", "text-completion-openai"};
constexpr std::string_view kOpenAiPrefixes[] = {"openai/"};
constexpr std::string_view kAzureProviders[] = {"azure", "azure_text"};
constexpr std::string_view kAzurePrefixes[] = {"azure/"};
constexpr std::string_view kAnthropicProviders[] = {"anthropic"};
constexpr std::string_view kAnthropicPrefixes[] = {"anthropic/"};
constexpr std::string_view kGeminiProviders[] = {"gemini"};
constexpr std::string_view kGeminiPrefixes[] = {"gemini/"};
constexpr std::string_view kMistralProviders[] = {"mistral"};
constexpr std::string_view kMistralPrefixes[] = {"mistral/"};
constexpr std::string_view kDeepSeekProviders[] = {"deepseek"};
constexpr std::string_view kDeepSeekPrefixes[] = {"deepseek/"};
constexpr std::string_view kQwenProviders[] = {"dashscope"};
constexpr std::string_view kQwenPrefixes[] = {"dashscope/"};
constexpr std::string_view kGroqProviders[] = {"groq"};
constexpr std::string_view kGroqPrefixes[] = {"groq/"};
constexpr std::string_view kTogetherProviders[] = {"together_ai"};
constexpr std::string_view kTogetherPrefixes[] = {"together_ai/"};
constexpr std::string_view kXaiProviders[] = {"xai"};
constexpr std::string_view kXaiPrefixes[] = {"xai/"};
constexpr std::string_view kOpenRouterProviders[] = {"openrouter"};
constexpr std::string_view kOpenRouterPrefixes[] = {"openrouter/"};
constexpr std::string_view kOllamaProviders[] = {"ollama"};
constexpr std::string_view kOllamaPrefixes[] = {"ollama/"};
constexpr std::string_view kVllmProviders[] = {"hosted_vllm"};
constexpr std::string_view kVllmPrefixes[] = {"hosted_vllm/"};

const AliasRow kAliases[] = {
    {"openai", kOpenAiProviders, kOpenAiPrefixes},
    {"azure-openai", kAzureProviders, kAzurePrefixes},
    {"anthropic", kAnthropicProviders, kAnthropicPrefixes},
    {"gemini", kGeminiProviders, kGeminiPrefixes},
    {"mistral", kMistralProviders, kMistralPrefixes},
    {"deepseek", kDeepSeekProviders, kDeepSeekPrefixes},
    {"qwen", kQwenProviders, kQwenPrefixes},
    {"groq", kGroqProviders, kGroqPrefixes},
    {"together", kTogetherProviders, kTogetherPrefixes},
    {"xai", kXaiProviders, kXaiPrefixes},
    {"openrouter", kOpenRouterProviders, kOpenRouterPrefixes},
    {"ollama", kOllamaProviders, kOllamaPrefixes},
    {"vllm", kVllmProviders, kVllmPrefixes},
    {"llamacpp", {}, {}},
    {"sglang", {}, {}},
    {"simulator", {}, {}},
};

// Builds A + B + C in a stack buffer when it fits, else on the heap.
class KeyBuffer {
 public:
  std::string_view Join(std::string_view a, std::string_view b, std::string_view c = {}) {
    const std::size_t n = a.size() + b.size() + c.size();
    char* out = stack_;
    if (n > sizeof stack_) {
      heap_.resize(n);
      out = heap_.data();
    }
    if (!a.empty()) std::memcpy(out, a.data(), a.size());
    if (!b.empty()) std::memcpy(out + a.size(), b.data(), b.size());
    if (!c.empty()) std::memcpy(out + a.size() + b.size(), c.data(), c.size());
    return {out, n};
  }

 private:
  char stack_[256];
  std::string heap_;
};

}  // namespace

std::string Issue::ToString() const {
  std::string out = file;
  if (line > 0) out += fmt::format(":{}", line);
  out += ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

std::optional<ProviderAlias> LiteLlmNames(std::string_view meridian_provider) {
  for (const AliasRow& row : kAliases) {
    if (row.meridian == meridian_provider) return ProviderAlias{row.providers, row.prefixes};
  }
  return std::nullopt;
}

std::expected<Catalog, Issue> Catalog::LoadLiteLlm(std::string_view json_text, std::string_view file) {
  boost::system::error_code ec;
  json::value root = ParsePrecise(json_text, ec);
  if (ec) {
    return std::unexpected(Issue{std::string(file), 0, "", fmt::format("not valid JSON: {}", ec.message())});
  }
  if (!root.is_object()) {
    return std::unexpected(
        Issue{std::string(file), 0, "", fmt::format("expected a JSON object of models, got {}", KindName(root))});
  }
  Catalog catalog;
  const json::object& models = root.get_object();
  catalog.entries_.reserve(models.size());
  for (const auto& [key_sv, value] : models) {
    std::string_view key = key_sv;
    if (key == "sample_spec" || !value.is_object()) continue;
    const json::object& object = value.get_object();
    if (!LooksLikeModel(object)) continue;

    EntryReader r{file, key, object, catalog.issues_};
    Entry e;
    e.key = std::string(key);
    e.provider = r.String("litellm_provider", true);
    e.mode = r.String("mode", false);
    e.max_input_tokens = r.Tokens("max_input_tokens");
    e.max_output_tokens = r.Tokens("max_output_tokens");
    bool rounded = false;
    e.prices.input = r.Price("input_cost_per_token", rounded);
    e.prices.output = r.Price("output_cost_per_token", rounded);
    e.prices.cache_read = r.Price("cache_read_input_token_cost", rounded);
    e.prices.cache_write = r.Price("cache_creation_input_token_cost", rounded);
    e.prices.reasoning = r.Price("output_cost_per_reasoning_token", rounded);
    e.prices.tiers = r.Tiers(rounded);
    e.rounded_prices = rounded;
    e.capabilities.function_calling = r.Flag("supports_function_calling");
    e.capabilities.vision = r.Flag("supports_vision");
    e.capabilities.response_schema = r.Flag("supports_response_schema");
    e.capabilities.reasoning = r.Flag("supports_reasoning");
    e.capabilities.prompt_caching = r.Flag("supports_prompt_caching");
    if (!r.ok) continue;
    catalog.entries_.insert_or_assign(e.key, std::move(e));
  }
  return catalog;
}

std::expected<Catalog, Issue> Catalog::LoadLiteLlmFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(Issue{path, 0, "", "cannot read the model catalog file"});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::unexpected(Issue{path, 0, "", "cannot read the model catalog file"});
  return LoadLiteLlm(text.str(), path);
}

const Entry* Catalog::FindKey(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

const Entry* Catalog::Find(std::string_view model, std::string_view provider_hint) const {
  if (model.empty()) return nullptr;
  const Entry* exact = FindKey(model);
  if (!provider_hint.empty()) {
    KeyBuffer buffer;
    if (std::optional<ProviderAlias> alias = LiteLlmNames(provider_hint)) {
      if (exact != nullptr) {
        for (std::string_view p : alias->providers) {
          if (exact->provider == p) return exact;
        }
      }
      for (std::string_view p : alias->prefixes) {
        if (const Entry* e = FindKey(buffer.Join(p, model))) return e;
      }
    } else {
      // An unmapped hint stands for itself: a LiteLLM provider name and key prefix.
      if (exact != nullptr && exact->provider == provider_hint) return exact;
      if (const Entry* e = FindKey(buffer.Join(provider_hint, "/", model))) return e;
    }
  }
  if (exact != nullptr) return exact;
  if (std::size_t slash = model.find('/'); slash != std::string_view::npos && slash + 1 < model.size()) {
    return FindKey(model.substr(slash + 1));
  }
  return nullptr;
}

std::size_t Catalog::CountMode(std::string_view mode) const {
  std::size_t n = 0;
  for (const auto& [key, e] : entries_) n += e.mode == mode ? 1 : 0;
  return n;
}

void Catalog::ForEach(const std::function<void(const Entry&)>& visit) const {
  for (const auto& [key, e] : entries_) visit(e);
}

void Catalog::Put(Entry entry) {
  std::string key = entry.key;
  entries_.insert_or_assign(std::move(key), std::move(entry));
}

}  // namespace meridian::catalog

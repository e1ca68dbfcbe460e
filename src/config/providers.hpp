#pragma once
// What Meridian knows about each provider kind a backend may name (`backends[].provider`):
// the wire dialect it speaks, its public base URL, how it takes the API key, and the quirks the
// request encoder must respect. Pure data, looked up at load time; docs/configuration.md has
// the table as users see it.

#include <optional>
#include <span>
#include <string_view>

namespace meridian::config {

// The wire format a backend is spoken to in (`backends[].dialect`).
enum class WireDialect {
  kOpenAiChat,         // POST {base}/chat/completions
  kOpenAiResponses,    // POST {base}/responses
  kAnthropicMessages,  // POST {base}/messages
  kGemini,             // POST {base}/models/{model}:generateContent
};

// "openai_chat", "openai_responses", "anthropic_messages", "gemini".
std::string_view WireDialectName(WireDialect dialect);
// The dialect named `name`, or nullopt.
std::optional<WireDialect> ParseWireDialect(std::string_view name);
// Every dialect name, for error messages.
std::span<const std::string_view> WireDialectNames();

struct ProviderPreset {
  std::string_view name;               // as written in `provider`
  WireDialect dialect;                 // the default `dialect`
  std::string_view base_url;           // the default `base_url` ("" = must be configured)
  // Quirks of OpenAI-compatible servers (docs/configuration.md, "Provider presets"):
  bool legacy_max_tokens;   // takes `max_tokens`, not `max_completion_tokens`
  bool cache_breakpoints;   // accepts OpenAI `prompt_cache_breakpoint` on content parts
  bool stream_usage_option; // accepts stream_options.include_usage (else: usage arrives anyway
                            // in the last chunk, or not at all)
  bool deployments;         // Azure: {base}/deployments/{deployment}/... ?api-version=
};

// The preset for `provider`, or nullptr for a name that is not a known provider.
const ProviderPreset* FindProviderPreset(std::string_view provider);
// Every preset, in the order of the documentation table.
std::span<const ProviderPreset> ProviderPresets();

// The `anthropic-version` header Meridian sends to Anthropic-dialect backends.
inline constexpr std::string_view kAnthropicVersion = "2023-06-01";
// The Azure OpenAI `api-version` used when a backend sets none (a GA version).
inline constexpr std::string_view kDefaultAzureApiVersion = "2024-10-21";

}  // namespace meridian::config

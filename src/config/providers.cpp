#include "config/providers.hpp"

#include <array>

namespace meridian::config {

namespace {

constexpr std::array<std::string_view, 4> kDialectNames = {"openai_chat", "openai_responses",
                                                           "anthropic_messages", "gemini"};

// Base URLs are the providers' documented OpenAI-compatible (or native) endpoints; local
// servers get their default ports on loopback. Quirks as documented by each project:
// most compatible servers take the classic `max_tokens`; Mistral and Together reject or ignore
// `stream_options`; only OpenAI itself knows `prompt_cache_breakpoint`.
constexpr ProviderPreset kPresets[] = {
    //  name           dialect                          base_url                                               legacy cache  usage  deploy
    {"openai",       WireDialect::kOpenAiChat,        "https://api.openai.com/v1",                           false, true,  true,  false},
    {"azure-openai", WireDialect::kOpenAiChat,        "",                                                    false, false, true,  true},
    {"anthropic",    WireDialect::kAnthropicMessages, "https://api.anthropic.com/v1",                        false, false, false, false},
    {"gemini",       WireDialect::kGemini,            "https://generativelanguage.googleapis.com/v1beta",    false, false, false, false},
    {"mistral",      WireDialect::kOpenAiChat,        "https://api.mistral.ai/v1",                           true,  false, false, false},
    {"deepseek",     WireDialect::kOpenAiChat,        "https://api.deepseek.com/v1",                         true,  false, true,  false},
    {"qwen",         WireDialect::kOpenAiChat,        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", true, false, true, false},
    {"groq",         WireDialect::kOpenAiChat,        "https://api.groq.com/openai/v1",                      true,  false, true,  false},
    {"together",     WireDialect::kOpenAiChat,        "https://api.together.xyz/v1",                         true,  false, false, false},
    {"xai",          WireDialect::kOpenAiChat,        "https://api.x.ai/v1",                                 true,  false, true,  false},
    {"openrouter",   WireDialect::kOpenAiChat,        "https://openrouter.ai/api/v1",                        true,  false, true,  false},
    {"ollama",       WireDialect::kOpenAiChat,        "http://127.0.0.1:11434/v1",                           true,  false, true,  false},
    {"vllm",         WireDialect::kOpenAiChat,        "http://127.0.0.1:8000/v1",                            true,  false, true,  false},
    {"llamacpp",     WireDialect::kOpenAiChat,        "http://127.0.0.1:8080/v1",                            true,  false, true,  false},
    {"sglang",       WireDialect::kOpenAiChat,        "http://127.0.0.1:30000/v1",                           true,  false, true,  false},
    {"simulator",    WireDialect::kOpenAiChat,        "",                                                    false, true,  true,  false},
};

}  // namespace

std::string_view WireDialectName(WireDialect dialect) {
  return kDialectNames[static_cast<std::size_t>(dialect)];
}

std::optional<WireDialect> ParseWireDialect(std::string_view name) {
  for (std::size_t i = 0; i < kDialectNames.size(); ++i) {
    if (kDialectNames[i] == name) return static_cast<WireDialect>(i);
  }
  return std::nullopt;
}

std::span<const std::string_view> WireDialectNames() { return kDialectNames; }

const ProviderPreset* FindProviderPreset(std::string_view provider) {
  for (const ProviderPreset& p : kPresets) {
    if (p.name == provider) return &p;
  }
  return nullptr;
}

std::span<const ProviderPreset> ProviderPresets() { return kPresets; }

}  // namespace meridian::config

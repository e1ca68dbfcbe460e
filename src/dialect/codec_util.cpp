#include "dialect/codec_util.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include <boost/json/parse.hpp>
#include <boost/json/serializer.hpp>

namespace meridian::dialect::detail {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// true for bytes that need escaping inside a JSON string.
constexpr bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// The length of the well-formed UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when
// it is not one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else return 0;
  if (s.size() - i < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Strings from parsed JSON are valid UTF-8; bytes from elsewhere (header values, a URL
      // path) may not be. Each byte of an invalid sequence becomes U+FFFD, so that the output
      // is always valid JSON.
      if (const std::size_t n = Utf8Length(s, i); n != 0) {
        i += n - 1;
        continue;
      }
      out.append(s.data() + run, i - run);
      run = i + 1;
      out += "\\ufffd";
      continue;
    }
    if (!NeedsEscape(c)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void AppendJsonDouble(std::string& out, double d) {
  // JSON has no NaN or infinity: NaN is written as null, an infinity as a number every parser
  // reads back as the largest magnitude it has (Boost.JSON: the same infinity).
  if (std::isnan(d)) {
    out += "null";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "1e999" : "-1e999";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  if (ec != std::errc()) {
    out += "0.0";
    return;
  }
  std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out += text;
  if (text.find_first_of(".eEin") == std::string_view::npos) out += ".0";
}

void JsonWriter::Int(std::int64_t v) {
  Sep();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, static_cast<std::size_t>(end - buf));
}

// Written member by member rather than with Boost's serializer, which writes a non-finite
// double (the parser makes one of 1e999 or 0e99999) as NaN / Infinity: not JSON.
void JsonWriter::Value(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      BeginObject();
      Members(v.get_object());
      EndObject();
      return;
    case json::kind::array:
      BeginArray();
      for (const json::value& e : v.get_array()) Value(e);
      EndArray();
      return;
    case json::kind::string: String(v.get_string()); return;
    case json::kind::double_: Double(v.get_double()); return;
    case json::kind::int64: Int(v.get_int64()); return;
    case json::kind::uint64: {
      Sep();
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
      out_.append(buf, static_cast<std::size_t>(end - buf));
      return;
    }
    case json::kind::bool_: Bool(v.get_bool()); return;
    case json::kind::null: Null(); return;
  }
}

std::string Serialize(const json::value& v) {
  std::string out;
  JsonWriter(out).Value(v);
  return out;
}

std::string Serialize(const json::object& o) {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Members(o);
  w.EndObject();
  return out;
}

void JsonWriter::Members(const json::object& o) {
  for (const auto& kv : o) {
    Key(kv.key());
    Value(kv.value());
  }
}

std::string Path::Str() const {
  // Collect the chain (root first).
  const Path* chain[64];
  int n = 0;
  for (const Path* p = this; p != nullptr && n < 64; p = p->parent) chain[n++] = p;
  std::string out;
  for (int i = n - 1; i >= 0; --i) {
    const Path* p = chain[i];
    if (p->index != static_cast<std::size_t>(-1)) {
      out += '[';
      out += std::to_string(p->index);
      out += ']';
    } else if (!p->key.empty()) {
      if (!out.empty()) out += '.';
      out += p->key;
    }
  }
  return out;
}

void Reader::Fail(const Path& path, std::string_view problem) { FailAt(path.Str(), problem); }

void Reader::FailAt(std::string path, std::string_view problem) {
  if (error_) return;
  core::Error e;
  e.code = code_;
  e.message = path.empty() ? std::string(problem) : path + ": " + std::string(problem);
  e.param = std::move(path);
  error_ = std::move(e);
}

std::string_view Reader::String(const json::value& v, const Path& path) {
  if (const auto* s = v.if_string()) return std::string_view(s->data(), s->size());
  Fail(path, "must be a string");
  return {};
}

const json::object* Reader::Object(const json::value& v, const Path& path) {
  if (const auto* o = v.if_object()) return o;
  Fail(path, "must be an object");
  return nullptr;
}

const json::array* Reader::Array(const json::value& v, const Path& path) {
  if (const auto* a = v.if_array()) return a;
  Fail(path, "must be an array");
  return nullptr;
}

double Reader::Number(const json::value& v, const Path& path) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  Fail(path, "must be a number");
  return 0;
}

std::int64_t Reader::Int(const json::value& v, const Path& path) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    const double d = v.get_double();
    // Range first: converting an out-of-range double (or NaN) to an integer is undefined.
    if (d > -9.2e18 && d < 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d))) {
      return static_cast<std::int64_t>(d);
    }
  }
  Fail(path, "must be an integer");
  return 0;
}

bool Reader::Bool(const json::value& v, const Path& path) {
  if (v.is_bool()) return v.get_bool();
  Fail(path, "must be a boolean");
  return false;
}

std::optional<std::string_view> Reader::OptString(const json::object& o, std::string_view key,
                                                  const Path& parent) {
  const json::value* v = Get(o, key);
  if (v == nullptr) return std::nullopt;
  return String(*v, parent.Member(key));
}

std::optional<double> Reader::OptNumber(const json::object& o, std::string_view key,
                                        const Path& parent) {
  const json::value* v = Get(o, key);
  if (v == nullptr) return std::nullopt;
  return Number(*v, parent.Member(key));
}

std::optional<std::int64_t> Reader::OptInt(const json::object& o, std::string_view key,
                                           const Path& parent) {
  const json::value* v = Get(o, key);
  if (v == nullptr) return std::nullopt;
  return Int(*v, parent.Member(key));
}

std::optional<bool> Reader::OptBool(const json::object& o, std::string_view key,
                                    const Path& parent) {
  const json::value* v = Get(o, key);
  if (v == nullptr) return std::nullopt;
  return Bool(*v, parent.Member(key));
}

std::string_view Reader::ReqString(const json::object& o, std::string_view key,
                                   const Path& parent) {
  const json::value* v = Get(o, key);
  if (v == nullptr) {
    Fail(parent.Member(key), "missing");
    return {};
  }
  return String(*v, parent.Member(key));
}

void CollectExtra(const json::object& o, std::initializer_list<std::string_view> known,
                  json::object& extra) {
  for (const auto& kv : o) {
    if (kv.value().is_null()) continue;
    const std::string_view key = kv.key();
    bool is_known = false;
    for (std::string_view k : known) {
      if (k == key) {
        is_known = true;
        break;
      }
    }
    if (!is_known) extra[key] = kv.value();  // copied into extra's (default) storage
  }
}

std::optional<DataUrl> ParseDataUrl(std::string_view url) {
  constexpr std::string_view kPrefix = "data:";
  if (url.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::size_t comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view meta = url.substr(kPrefix.size(), comma - kPrefix.size());
  constexpr std::string_view kB64 = ";base64";
  if (meta.size() < kB64.size() || meta.substr(meta.size() - kB64.size()) != kB64) {
    return std::nullopt;
  }
  meta.remove_suffix(kB64.size());
  if (meta.empty()) return std::nullopt;
  return DataUrl{meta, url.substr(comma + 1)};
}

core::Result<json::object> ParseObject(std::string_view body, core::ErrorCode code) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return core::Fail(code, "body: invalid JSON (" + ec.message() + ")");
  if (!v.is_object()) return core::Fail(code, "body: must be a JSON object");
  return std::move(v.get_object());
}

std::string OpaquePartLabel(const json::value& raw) {
  if (raw.is_object()) {
    if (const auto* t = raw.get_object().if_contains("type"); t && t->is_string()) {
      return "'" + std::string(t->get_string()) + "' content";
    }
  }
  return "this content";
}

core::Result<const json::object*> ParseObjectIn(std::string_view body, core::ErrorCode code,
                                                json::monotonic_resource& resource,
                                                std::optional<json::value>& holder) {
  boost::system::error_code ec;
  holder.emplace(json::parse(body, ec, json::storage_ptr(&resource)));
  if (ec) return core::Fail(code, "body: invalid JSON (" + ec.message() + ")");
  if (!holder->is_object()) return core::Fail(code, "body: must be a JSON object");
  return &holder->get_object();
}

EventParser::EventParser() : resource_(buffer_, sizeof buffer_) {}

const json::object* EventParser::Parse(std::string_view text, std::string& error) {
  value_.reset();  // before the memory it lives in is released
  resource_.release();
  parser_.reset(json::storage_ptr(&resource_));
  boost::system::error_code ec;
  parser_.write(text.data(), text.size(), ec);
  if (ec) {
    error = "invalid JSON in stream event (" + ec.message() + ")";
    return nullptr;
  }
  value_.emplace(parser_.release());
  if (!value_->is_object()) {
    error = "stream event is not a JSON object";
    return nullptr;
  }
  return &value_->get_object();
}

std::string Unsupported(Dialect target) {
  return "not supported by " + std::string(DialectTitle(target));
}

namespace {

bool IsZero(const json::value& v) {
  return (v.is_int64() && v.get_int64() == 0) || (v.is_uint64() && v.get_uint64() == 0) ||
         (v.is_double() && v.get_double() == 0.0);
}
bool IsOne(const json::value& v) {
  return (v.is_int64() && v.get_int64() == 1) || (v.is_uint64() && v.get_uint64() == 1) ||
         (v.is_double() && v.get_double() == 1.0);
}
bool IsFalse(const json::value& v) { return v.is_bool() && !v.get_bool(); }
bool IsEmpty(const json::value& v) {
  return (v.is_object() && v.get_object().empty()) || (v.is_array() && v.get_array().empty());
}

}  // namespace

bool DroppableExtra(Dialect origin, ExtraScope scope, std::string_view key,
                    const json::value& value) {
  if (value.is_null()) return true;
  if (origin == Dialect::kOpenAiChat) {
    if (scope == ExtraScope::kRequest) {
      // Neutral values: the OpenAI defaults, which mean "nothing asked for".
      if (key == "n") return IsOne(value);
      if (key == "presence_penalty" || key == "frequency_penalty") return IsZero(value);
      if (key == "logprobs" || key == "store") return IsFalse(value);
      if (key == "top_logprobs") return IsZero(value);
      if (key == "logit_bias" || key == "metadata") return IsEmpty(value);
      if (key == "modalities") {
        return value.is_array() && value.get_array().size() == 1 &&
               value.get_array()[0].is_string() && value.get_array()[0].get_string() == "text";
      }
      // Hints that do not change the answer (docs/dialects.md, "dropped hints").
      if (key == "stream_options") return true;  // leftover transport options
      if (key == "prompt_cache_key" || key == "prompt_cache_retention" ||
          key == "prompt_cache_options") {
        return true;
      }
    }
    return false;
  }
  if (origin == Dialect::kAnthropicMessages) {
    if (scope == ExtraScope::kRequest) {
      // Top-level automatic caching: the OpenAI side caches prefixes automatically.
      if (key == "cache_control") return true;
    }
    if (scope == ExtraScope::kPart) {
      if (key == "citations") {  // {"enabled": false} asks for nothing
        if (IsEmpty(value) || IsFalse(value)) return true;
        if (value.is_object()) {
          const auto* enabled = value.get_object().if_contains("enabled");
          return value.get_object().size() == 1 && enabled != nullptr && IsFalse(*enabled);
        }
        return false;
      }
    }
    return false;
  }
  if (origin == Dialect::kGemini) {
    if (scope == ExtraScope::kRequest) {
      // D6: a provider's filter thresholds mean nothing to another provider's filters.
      if (key == "safetySettings") return true;
    }
    if (scope == ExtraScope::kConfig) {
      // Neutral values (the defaults, which ask for nothing).
      if (key == "candidateCount") return IsOne(value);
      if (key == "presencePenalty" || key == "frequencyPenalty") return IsZero(value);
      if (key == "responseLogprobs") return IsFalse(value);
      if (key == "logprobs") return IsZero(value);
      if (key == "responseModalities") {
        return value.is_array() && value.get_array().size() == 1 &&
               value.get_array()[0].is_string() &&
               (value.get_array()[0].get_string() == "TEXT" ||
                value.get_array()[0].get_string() == "text");
      }
      // The OpenAPI-subset schema is carried, converted, by the canonical response format.
      if (key == "responseSchema") return true;
    }
    if (scope == ExtraScope::kPart) {
      // D4: signed for the Gemini model that wrote it; meaningless elsewhere.
      if (key == "thoughtSignature") return true;
      // A functionCall / functionResponse id (kept inside those members): carried by the
      // canonical id.
      if (key == "functionCall" || key == "functionResponse") {
        return value.is_object() && value.get_object().size() == 1 &&
               value.get_object().contains("id");
      }
      if (key == "thought") return IsFalse(value);
    }
    if (scope == ExtraScope::kMessage) {
      // systemInstruction.role: roles are modelled; a system instruction's says nothing.
      if (key == "role") return true;
    }
    if (scope == ExtraScope::kTool) {
      // The OpenAPI-subset `parameters`: carried, converted, by the canonical parameters.
      if (key == "parameters") return true;
    }
    return false;
  }
  return false;
}

void RejectExtras(Reader& reader, const json::object& extra, Dialect origin, Dialect target,
                  ExtraScope scope, const Path& path) {
  if (origin == target) return;
  for (const auto& kv : extra) {
    if (DroppableExtra(origin, scope, kv.key(), kv.value())) continue;
    // Gemini's generationConfig / toolConfig leftovers: name the member inside.
    if (origin == Dialect::kGemini && scope == ExtraScope::kRequest && kv.value().is_object() &&
        (kv.key() == "generationConfig" || kv.key() == "toolConfig")) {
      const Path inner = path.Member(kv.key());
      RejectExtras(reader, kv.value().get_object(), origin, target, ExtraScope::kConfig, inner);
      if (!reader.ok()) return;
      continue;
    }
    reader.Fail(path.Member(kv.key()), Unsupported(target));
    return;
  }
}

std::string GeminiField(std::string_view canonical) {
  struct Name {
    std::string_view canonical, gemini;
  };
  static constexpr Name kNames[] = {
      {"top_k", "generationConfig.topK"},
      {"top_p", "generationConfig.topP"},
      {"temperature", "generationConfig.temperature"},
      {"stop", "generationConfig.stopSequences"},
      {"seed", "generationConfig.seed"},
      {"max_tokens", "generationConfig.maxOutputTokens"},
      {"reasoning", "generationConfig.thinkingConfig"},
      {"response_format", "generationConfig.responseMimeType"},
      {"response_format.type", "generationConfig.responseMimeType"},
      {"response_format.json_schema.description", "generationConfig.responseJsonSchema"},
      {"tool_choice", "toolConfig.functionCallingConfig"},
  };
  for (const Name& n : kNames) {
    if (n.canonical == canonical) return std::string(n.gemini);
  }
  return std::string(canonical);
}

std::string GeminiMessagePath(const Message& m) {
  if (m.source < 0) return "systemInstruction";
  return "contents[" + std::to_string(m.source) + "]";
}

std::string GeminiPartPath(const Message& m, std::size_t j) {
  return GeminiMessagePath(m) + ".parts[" +
         std::to_string(static_cast<std::size_t>(m.source_offset) + j) + "]";
}

std::string GeminiToolPath(const Tool& t, std::size_t canonical_index) {
  if (t.source < 0) return "tools[" + std::to_string(canonical_index) + "]";
  std::string out = "tools[" + std::to_string(t.source) + "]";
  if (t.raw.is_null()) {
    out += ".functionDeclarations[" + std::to_string(t.source_offset) + "]";
  } else if (t.raw.is_object() && !t.raw.get_object().empty()) {
    out += ".";
    out += t.raw.get_object().begin()->key();
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    const bool two = i + 1 < bytes.size();
    if (two) n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += two ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace meridian::dialect::detail

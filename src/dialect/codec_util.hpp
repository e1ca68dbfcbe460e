#pragma once
// Helpers shared by the dialect codecs (internal to src/dialect): a JSON writer that appends
// to a std::string, a reader that checks types and remembers the first failure with the JSON
// path of the field at fault, and small conversions. Not part of the module's interface.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

#include "core/error.hpp"
#include "dialect/canonical.hpp"

namespace meridian::dialect::detail {

namespace json = boost::json;

// ---- writing ---------------------------------------------------------------------------

// Appends `s` as a JSON string literal (quotes included) to `out`.
void AppendJsonString(std::string& out, std::string_view s);
// Appends a double in the shortest form that reads back to the same value, always with a
// fraction or exponent ("1.0", not "1"), so it parses back as a double.
void AppendJsonDouble(std::string& out, double d);

// A minimal streaming JSON writer: commas are placed automatically. The caller keeps the
// structure well formed (Key before each member value, matching Begin/End).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void BeginObject() { Sep(); out_ += '{'; first_ = true; }
  void EndObject() { out_ += '}'; first_ = false; }
  void BeginArray() { Sep(); out_ += '['; first_ = true; }
  void EndArray() { out_ += ']'; first_ = false; }
  void Key(std::string_view key) {
    Sep();
    AppendJsonString(out_, key);
    out_ += ':';
    after_key_ = true;
  }
  void String(std::string_view s) { Sep(); AppendJsonString(out_, s); }
  void Int(std::int64_t v);
  void Double(double v) { Sep(); AppendJsonDouble(out_, v); }
  void Bool(bool v) { Sep(); out_ += v ? "true" : "false"; }
  void Null() { Sep(); out_ += "null"; }
  void Value(const json::value& v);
  // Already-serialized, valid JSON.
  void Raw(std::string_view json_text) { Sep(); out_ += json_text; }
  // Writes every member of `o` (inside an object being written).
  void Members(const json::object& o);

  // Shorthands: Key + value.
  void Str(std::string_view key, std::string_view v) { Key(key); String(v); }
  void Int(std::string_view key, std::int64_t v) { Key(key); Int(v); }

  std::string& out() { return out_; }

 private:
  void Sep() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_ += ',';
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
  bool after_key_ = false;
};

// ---- reading ---------------------------------------------------------------------------

// A JSON path for messages: built on the stack while walking, rendered only on failure.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;                       // member name, or
  std::size_t index = static_cast<std::size_t>(-1);  // array index
  std::string Str() const;                     // "messages[2].content[0].type"
  Path Member(std::string_view k) const { return Path{this, k}; }
  Path At(std::size_t i) const { return Path{this, {}, i}; }
};

// Reads typed values and records the first failure (a 400 naming the path by default).
// Every accessor returns a harmless default once failed, so decoders can check ok() at the
// points where continuing makes no sense.
class Reader {
 public:
  explicit Reader(core::ErrorCode code = core::ErrorCode::kInvalidRequest) : code_(code) {}

  bool ok() const { return !error_.has_value(); }
  void Fail(const Path& path, std::string_view problem);
  void FailAt(std::string path, std::string_view problem);
  core::Error TakeError() { return std::move(*error_); }

  // The member `key` of `o`, or nullptr when absent or null.
  static const json::value* Get(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }

  std::string_view String(const json::value& v, const Path& path);
  const json::object* Object(const json::value& v, const Path& path);
  const json::array* Array(const json::value& v, const Path& path);
  double Number(const json::value& v, const Path& path);
  std::int64_t Int(const json::value& v, const Path& path);
  bool Bool(const json::value& v, const Path& path);

  // Optional members (absent/null = nullopt); the path is `parent.key`.
  std::optional<std::string_view> OptString(const json::object& o, std::string_view key,
                                            const Path& parent);
  std::optional<double> OptNumber(const json::object& o, std::string_view key,
                                  const Path& parent);
  std::optional<std::int64_t> OptInt(const json::object& o, std::string_view key,
                                     const Path& parent);
  std::optional<bool> OptBool(const json::object& o, std::string_view key, const Path& parent);
  // Required string member: fails "missing" when absent or null.
  std::string_view ReqString(const json::object& o, std::string_view key, const Path& parent);

 private:
  core::ErrorCode code_;
  std::optional<core::Error> error_;
};

// Copies every member of `o` whose key is not in `known` (and whose value is not null) into
// `extra`, using the default memory resource.
void CollectExtra(const json::object& o, std::initializer_list<std::string_view> known,
                  json::object& extra);

// A deep copy of `v` in the default memory resource.
inline json::value Copy(const json::value& v) { return json::value(v, json::storage_ptr()); }

// "data:<media type>;base64,<payload>" → media type and payload; nullopt otherwise.
struct DataUrl {
  std::string_view media_type;
  std::string_view data;
};
std::optional<DataUrl> ParseDataUrl(std::string_view url);

// Parses `body` into `holder` with its memory in `resource` (cheap to free all at once); the
// object stays valid while both live. Fails like ParseObject.
core::Result<const json::object*> ParseObjectIn(std::string_view body, core::ErrorCode code,
                                                json::monotonic_resource& resource,
                                                std::optional<json::value>& holder);

// A body parsed into a stack arena (16 KiB, spilling to the heap): the tree is scratch, freed at
// once with this object, so whatever a decoder keeps must be copied out of it. Not copyable.
class ScratchObject {
 public:
  ScratchObject() = default;
  ScratchObject(const ScratchObject&) = delete;
  ScratchObject& operator=(const ScratchObject&) = delete;
  // The object, valid while this lives; fails like ParseObject.
  core::Result<const json::object*> Parse(std::string_view body, core::ErrorCode code) {
    return ParseObjectIn(body, code, resource_, holder_);
  }

 private:
  alignas(16) unsigned char buffer_[16384];
  json::monotonic_resource resource_{buffer_, sizeof buffer_};
  std::optional<json::value> holder_;
};

// How a 400 names a part the target cannot carry: "'<type>' content", or "this content" when
// the part has no string `type`.
std::string OpaquePartLabel(const json::value& raw);

// Parses a request/response body into a JSON object with the default memory resource.
// Fails with `code` ("body: ..." for 400s) when it is not valid JSON or not an object.
core::Result<json::object> ParseObject(std::string_view body, core::ErrorCode code);

// A parser for stream events: reuses its memory between events (a monotonic resource over a
// fixed buffer, released on every Parse). The returned value is valid until the next Parse.
class EventParser {
 public:
  EventParser();
  // nullptr with `error` set when `text` is not one JSON object.
  const json::object* Parse(std::string_view text, std::string& error);

 private:
  alignas(16) unsigned char buffer_[8192];
  json::monotonic_resource resource_;
  json::parser parser_;
  std::optional<json::value> value_;  // move-constructed, so it keeps the monotonic storage
};

// "not supported by Anthropic Messages" style message for a field the target lacks.
std::string Unsupported(Dialect target);

// Extras that a foreign encoder may drop by a documented rule (neutral values or pure hints);
// anything else fails with 400. `key` is the member name in the origin dialect, `scope`
// tells where it was found.
// kConfig: a member of Gemini's generationConfig / toolConfig, kept under that key of the
// request's extra (RejectExtras walks into those objects to name the member).
enum class ExtraScope : std::uint8_t { kRequest, kMessage, kPart, kTool, kConfig };
bool DroppableExtra(Dialect origin, ExtraScope scope, std::string_view key,
                    const json::value& value);

// Fails `reader` at the first extra of `extra` that the target cannot carry. `path` is where
// the extra members live ("" for the top level).
void RejectExtras(Reader& reader, const json::object& extra, Dialect origin, Dialect target,
                  ExtraScope scope, const Path& path);

// ---- Gemini origin paths ------------------------------------------------------------------
// Where a canonical element came from in a Gemini body, for other encoders' 400s.

// A top-level canonical field ("top_k", "stop", "seed", "temperature", "top_p", "max_tokens",
// "reasoning", "response_format", "tool_choice", ...) → its Gemini path
// ("generationConfig.topK"); unknown names are returned unchanged.
std::string GeminiField(std::string_view canonical);
// "contents[i]" / "systemInstruction".
std::string GeminiMessagePath(const Message& m);
// "contents[i].parts[j]" / "systemInstruction.parts[j]" for part `j` of canonical message `m`.
std::string GeminiPartPath(const Message& m, std::size_t j);
// "tools[i].functionDeclarations[j]" (a declared function) / "tools[i]" (an opaque tool).
std::string GeminiToolPath(const Tool& t, std::size_t canonical_index);

// `v` as compact JSON text written by JsonWriter: unlike json::serialize, never NaN or Infinity
// (the parser makes those of 0e99999 and 1e999), which are not JSON.
std::string Serialize(const json::value& v);
std::string Serialize(const json::object& o);

// Standard base64 (with padding) of `bytes`.
std::string Base64Encode(std::string_view bytes);

}  // namespace meridian::dialect::detail

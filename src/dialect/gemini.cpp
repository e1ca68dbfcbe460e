#include "dialect/gemini.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace meridian::dialect::gemini {

namespace json = boost::json;
using detail::JsonWriter;
using detail::Path;
using detail::Reader;

namespace {

constexpr Dialect kSelf = Dialect::kGemini;

}  // namespace

// ---- field names -------------------------------------------------------------------------
// Gemini's REST API is proto JSON: every field may be written lowerCamelCase (as the
// reference does) or snake_case (as many of Google's curl examples do). Both are read; the
// codec writes lowerCamelCase.

namespace field {

// "inlineData" → "inline_data" into `buf` (the caller's; at least 64 bytes).
std::string_view Snake(std::string_view camel, char* buf, std::size_t cap) {
  std::size_t n = 0;
  for (char c : camel) {
    if (n + 2 >= cap) return camel;
    if (c >= 'A' && c <= 'Z') {
      buf[n++] = '_';
      buf[n++] = static_cast<char>(c - 'A' + 'a');
    } else {
      buf[n++] = c;
    }
  }
  return std::string_view(buf, n);
}

// "inline_data" → "inlineData" into `buf`; keys without '_' are returned as they are.
std::string_view Camel(std::string_view key, char* buf, std::size_t cap) {
  if (key.find('_') == std::string_view::npos || key.size() >= cap) return key;
  std::size_t n = 0;
  bool up = false;
  for (char c : key) {
    if (c == '_') {
      up = true;
      continue;
    }
    buf[n++] = (up && c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    up = false;
  }
  return std::string_view(buf, n);
}

// The member `camel` (or its snake_case spelling) of `o`; nullptr when absent or null.
const json::value* Get(const json::object& o, std::string_view camel) {
  if (const json::value* v = o.if_contains(camel)) return v->is_null() ? nullptr : v;
  char buf[64];
  const std::string_view snake = Snake(camel, buf, sizeof buf);
  if (snake.size() == camel.size()) return nullptr;
  const json::value* v = o.if_contains(snake);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

// Copies the members of `o` not named in `known` (camelCase; either spelling matches).
void Leftovers(const json::object& o, std::initializer_list<std::string_view> known,
               json::object& extra) {
  for (const auto& kv : o) {
    if (kv.value().is_null()) continue;
    char buf[64];
    const std::string_view key = Camel(kv.key(), buf, sizeof buf);
    bool is_known = false;
    for (std::string_view k : known) {
      if (k == key) {
        is_known = true;
        break;
      }
    }
    if (!is_known) extra[kv.key()] = kv.value();
  }
}

}  // namespace field

namespace {

std::optional<std::string_view> OptStr(Reader& r, const json::object& o, std::string_view key,
                                       const Path& parent) {
  const json::value* v = field::Get(o, key);
  if (v == nullptr) return std::nullopt;
  return r.String(*v, parent.Member(key));
}

std::string_view ReqStr(Reader& r, const json::object& o, std::string_view key,
                        const Path& parent) {
  const json::value* v = field::Get(o, key);
  if (v == nullptr) {
    r.Fail(parent.Member(key), "missing");
    return {};
  }
  return r.String(*v, parent.Member(key));
}

std::optional<double> OptNum(Reader& r, const json::object& o, std::string_view key,
                             const Path& parent) {
  const json::value* v = field::Get(o, key);
  if (v == nullptr) return std::nullopt;
  return r.Number(*v, parent.Member(key));
}

std::optional<std::int64_t> OptInt(Reader& r, const json::object& o, std::string_view key,
                                   const Path& parent) {
  const json::value* v = field::Get(o, key);
  if (v == nullptr) return std::nullopt;
  // proto JSON writes int64 as strings ("123"); int32 counts as numbers.
  if (const auto* s = v->if_string()) {
    std::int64_t n = 0;
    const auto* end = s->data() + s->size();
    auto [p, ec] = std::from_chars(s->data(), end, n);
    if (ec == std::errc() && p == end) return n;
  }
  return r.Int(*v, parent.Member(key));
}

std::optional<bool> OptBool(Reader& r, const json::object& o, std::string_view key,
                            const Path& parent) {
  const json::value* v = field::Get(o, key);
  if (v == nullptr) return std::nullopt;
  return r.Bool(*v, parent.Member(key));
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Files API and Cloud Storage URIs name provider-bound files (canonical kFileId).
bool ProviderBoundUri(std::string_view uri) {
  return StartsWith(uri, "gs://") ||
         StartsWith(uri, "https://generativelanguage.googleapis.com/") ||
         StartsWith(uri, "files/");
}

// Gemini's Schema (an OpenAPI 3.0 subset: upper-case types, `nullable`, `propertyOrdering`)
// → JSON Schema, for the other dialects (rule G6).
json::value ToJsonSchema(const json::value& v) {
  if (const auto* a = v.if_array()) {
    json::array out;
    out.reserve(a->size());
    for (const auto& x : *a) out.push_back(ToJsonSchema(x));
    return out;
  }
  const auto* o = v.if_object();
  if (o == nullptr) return json::value(v, json::storage_ptr());
  json::object out;
  bool nullable = false;
  for (const auto& kv : *o) {
    char buf[64];
    const std::string_view key = field::Camel(kv.key(), buf, sizeof buf);
    const json::value& x = kv.value();
    if (key == "type" && x.is_string()) {
      std::string t(x.get_string());
      if (t == "TYPE_UNSPECIFIED") continue;
      for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out["type"] = t;
    } else if (key == "nullable") {
      nullable = x.is_bool() && x.get_bool();
    } else if (key == "propertyOrdering") {
      continue;  // an ordering hint with no JSON Schema form
    } else if (key == "properties" && x.is_object()) {
      json::object props;
      for (const auto& p : x.get_object()) props[p.key()] = ToJsonSchema(p.value());
      out["properties"] = std::move(props);
    } else if (key == "items" || key == "anyOf") {
      out[key] = ToJsonSchema(x);
    } else {
      out[key] = json::value(x, json::storage_ptr());
    }
  }
  if (nullable) {
    if (const auto* t = out.if_contains("type"); t && t->is_string()) {
      out["type"] = json::array{json::value(t->get_string()), "null"};
    }
  }
  return out;
}

// ---- request decoding --------------------------------------------------------------------

enum class Side : std::uint8_t { kSystem, kUser, kModel };

// A function call waiting for its response (request decoding).
struct OpenCall {
  std::string id;
  std::string name;
  bool answered = false;
  int content = 0;  // index of the model content that made the call
};

// inlineData / fileData → an image or PDF part; false when the part must stay opaque (audio,
// video, text and other media have no canonical form).
bool DecodeMedia(Reader& r, const json::object& part, const json::value& media, bool file,
                 const Path& p, ContentPart& out) {
  const json::object* m = r.Object(media, p);
  if (m == nullptr) return true;
  std::string_view mime;
  if (file) {
    mime = OptStr(r, *m, "mimeType", p).value_or("");
    out.data = ReqStr(r, *m, "fileUri", p);
    out.source = ProviderBoundUri(out.data) ? SourceKind::kFileId : SourceKind::kUrl;
  } else {
    mime = ReqStr(r, *m, "mimeType", p);
    out.data = ReqStr(r, *m, "data", p);
    out.source = SourceKind::kBase64;
  }
  if (!r.ok()) return true;
  if (StartsWith(mime, "image/")) {
    out.kind = PartKind::kImage;
  } else if (mime == "application/pdf") {
    out.kind = PartKind::kDocument;
  } else {
    return false;
  }
  out.media_type = mime;
  json::object inner;
  field::Leftovers(*m, {"mimeType", "data", "fileUri"}, inner);
  if (!inner.empty()) out.extra[file ? "fileData" : "inlineData"] = std::move(inner);
  return true;
}

// functionResponse.response → the tool result's text (rule G2): {"output": "s"} → s,
// {"error": "s"} → s and is_error, anything else → its JSON text.
void ResponseText(const json::object& response, ContentPart& result) {
  if (response.size() == 1) {
    const auto& kv = *response.begin();
    if (kv.value().is_string() && (kv.key() == "output" || kv.key() == "error")) {
      result.content.push_back(ContentPart::Text(std::string(kv.value().get_string())));
      result.is_error = kv.key() == "error";
      return;
    }
  }
  result.content.push_back(ContentPart::Text(detail::Serialize(response)));
}

struct RequestDecoder {
  Reader r;
  ChatRequest req;
  std::vector<OpenCall> calls;

  // One part of content `ci` (-1: systemInstruction) → `out`; `k` counts the content's
  // function calls (for generated ids).
  void Part(const json::value& v, Side side, int ci, int& k, const Path& p,
            std::vector<ContentPart>& out) {
    const json::object* o = r.Object(v, p);
    if (o == nullptr) return;
    static constexpr std::string_view kData[] = {
        "text", "inlineData", "fileData", "functionCall", "functionResponse",
        "executableCode", "codeExecutionResult", "toolCall", "toolResponse"};
    std::string_view data_key;
    const json::value* data = nullptr;
    for (std::string_view key : kData) {
      if (const json::value* x = field::Get(*o, key)) {
        if (data != nullptr) {
          r.Fail(p, "a part holds one of text, inlineData, fileData, functionCall, "
                    "functionResponse (found '" + std::string(data_key) + "' and '" +
                        std::string(key) + "')");
          return;
        }
        data = x;
        data_key = key;
      }
    }
    if (data == nullptr) {
      r.Fail(p, "unknown part (expected text, inlineData, fileData, functionCall or "
                "functionResponse)");
      return;
    }
    if (side == Side::kSystem && data_key != "text") {
      r.Fail(p, "systemInstruction parts must be text");
      return;
    }
    ContentPart part;
    if (data_key == "text") {
      const bool thought = OptBool(r, *o, "thought", p).value_or(false);
      part.text = r.String(*data, p.Member("text"));
      if (thought) {
        if (side != Side::kModel) {
          r.Fail(p.Member("thought"), "thought parts belong in model contents");
          return;
        }
        part.kind = PartKind::kThinking;
        part.signature = OptStr(r, *o, "thoughtSignature", p).value_or("");
        field::Leftovers(*o, {"text", "thought", "thoughtSignature"}, part.extra);
      } else {
        part.kind = PartKind::kText;
        field::Leftovers(*o, {"text"}, part.extra);
      }
    } else if (data_key == "inlineData" || data_key == "fileData") {
      const bool file = data_key == "fileData";
      if (!DecodeMedia(r, *o, *data, file, p.Member(data_key), part)) {
        part = ContentPart{};
        part.kind = PartKind::kOpaque;
        part.raw = detail::Copy(v);
      } else {
        field::Leftovers(*o, {data_key}, part.extra);
      }
    } else if (data_key == "functionCall") {
      if (side != Side::kModel) {
        r.Fail(p.Member("functionCall"), "function calls belong in model contents");
        return;
      }
      const Path fp = p.Member("functionCall");
      const json::object* fc = r.Object(*data, fp);
      if (fc == nullptr) return;
      part.kind = PartKind::kToolUse;
      part.name = ReqStr(r, *fc, "name", fp);
      if (const json::value* args = field::Get(*fc, "args")) {
        if (r.Object(*args, fp.Member("args")) != nullptr) part.arguments = detail::Serialize(*args);
      } else {
        part.arguments = "{}";
      }
      if (auto id = OptStr(r, *fc, "id", fp); id && !id->empty()) {
        part.id = *id;
      } else {
        part.id = "call_" + std::to_string(ci) + "_" + std::to_string(k);
      }
      ++k;
      json::object inner;
      field::Leftovers(*fc, {"name", "args"}, inner);
      if (!inner.empty()) part.extra["functionCall"] = std::move(inner);
      field::Leftovers(*o, {"functionCall"}, part.extra);
      calls.push_back(OpenCall{part.id, part.name, false, ci});
    } else if (data_key == "functionResponse") {
      if (side != Side::kUser) {
        r.Fail(p.Member("functionResponse"), "function responses belong in user contents");
        return;
      }
      const Path fp = p.Member("functionResponse");
      const json::object* fr = r.Object(*data, fp);
      if (fr == nullptr) return;
      part.kind = PartKind::kToolResult;
      const std::string_view name = ReqStr(r, *fr, "name", fp);
      if (!r.ok()) return;
      // The call it answers: by id when it has one, else the earliest open call of that name in
      // the latest model turn that has one (a user turn answers the turn just before it; an
      // older call left unanswered must not take a newer call's result).
      OpenCall* call = nullptr;
      if (auto id = OptStr(r, *fr, "id", fp); id && !id->empty()) {
        for (auto& c : calls) {
          if (c.id == *id) call = &c;
        }
        if (call == nullptr) {
          r.Fail(fp.Member("id"), "no earlier functionCall has id '" + std::string(*id) + "'");
          return;
        }
      } else {
        for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
          if (it->answered || it->name != name) continue;
          if (call != nullptr && it->content != call->content) break;
          call = &*it;  // keeps moving to the earliest of that latest turn
        }
        if (call == nullptr) {
          r.Fail(fp.Member("name"),
                 "no earlier functionCall named '" + std::string(name) + "' is unanswered");
          return;
        }
      }
      call->answered = true;
      part.id = call->id;
      const json::value* resp = field::Get(*fr, "response");
      const json::object* ro = resp ? r.Object(*resp, fp.Member("response")) : nullptr;
      if (resp == nullptr) r.Fail(fp.Member("response"), "missing");
      if (ro == nullptr) return;
      ResponseText(*ro, part);
      if (const json::value* pv = field::Get(*fr, "parts")) {
        const Path pp = fp.Member("parts");
        if (const json::array* pa = r.Array(*pv, pp)) {
          for (std::size_t i = 0; i < pa->size() && r.ok(); ++i) {
            const Path ip = pp.At(i);
            const json::object* po = r.Object((*pa)[i], ip);
            if (po == nullptr) return;
            ContentPart media;
            const json::value* in = field::Get(*po, "inlineData");
            const json::value* fd = field::Get(*po, "fileData");
            const bool modelled = (in != nullptr || fd != nullptr) &&
                                  DecodeMedia(r, *po, in ? *in : *fd, in == nullptr,
                                              ip.Member(in ? "inlineData" : "fileData"), media);
            if (!r.ok()) return;
            if (!modelled) {  // other media: Gemini only
              media = ContentPart{};
              media.kind = PartKind::kOpaque;
              media.raw = detail::Copy((*pa)[i]);
            } else {
              field::Leftovers(*po, {"inlineData", "fileData"}, media.extra);
            }
            part.content.push_back(std::move(media));
          }
        }
      }
      json::object inner;
      field::Leftovers(*fr, {"name", "response", "parts"}, inner);
      if (!inner.empty()) part.extra["functionResponse"] = std::move(inner);
      field::Leftovers(*o, {"functionResponse"}, part.extra);
    } else {  // executableCode, codeExecutionResult, toolCall, toolResponse: Gemini only
      part.kind = PartKind::kOpaque;
      part.raw = detail::Copy(v);
    }
    out.push_back(std::move(part));
  }

  void System(const json::value& v, const Path& p) {
    const json::object* o = r.Object(v, p);
    if (o == nullptr) return;
    Message sys;
    sys.role = Role::kSystem;
    sys.source = -1;
    const json::value* parts = field::Get(*o, "parts");
    if (parts == nullptr) {
      r.Fail(p.Member("parts"), "missing");
      return;
    }
    const json::array* a = r.Array(*parts, p.Member("parts"));
    if (a == nullptr) return;
    int k = 0;
    for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
      Part((*a)[i], Side::kSystem, -1, k, p.Member("parts").At(i), sys.content);
    }
    field::Leftovers(*o, {"parts"}, sys.extra);  // e.g. a `role`: nothing to do with it
    req.messages.push_back(std::move(sys));
  }

  // One content → canonical messages: a user content's functionResponse parts become kTool
  // messages (one each), the parts between them user messages, in order.
  void Content(const json::value& v, int index, const Path& cp) {
    const json::object* c = r.Object(v, cp);
    if (c == nullptr) return;
    const std::string_view role = OptStr(r, *c, "role", cp).value_or("user");
    if (!r.ok()) return;
    if (role != "user" && role != "model") {
      r.Fail(cp.Member("role"), "must be 'user' or 'model'");
      return;
    }
    const bool model = role == "model";
    json::object extra;
    field::Leftovers(*c, {"role", "parts"}, extra);
    const json::value* pv = field::Get(*c, "parts");
    const Path pp = cp.Member("parts");
    if (pv == nullptr) {
      r.Fail(pp, "missing");
      return;
    }
    const json::array* a = r.Array(*pv, pp);
    if (a == nullptr) return;
    std::vector<ContentPart> parts;
    parts.reserve(a->size());
    int k = 0;
    for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
      Part((*a)[i], model ? Side::kModel : Side::kUser, index, k, pp.At(i), parts);
    }
    if (!r.ok()) return;
    Message msg;
    msg.role = model ? Role::kAssistant : Role::kUser;
    msg.source = index;
    msg.extra = extra;
    bool any_result = false;
    for (const auto& p : parts) any_result |= p.kind == PartKind::kToolResult;
    if (!any_result) {
      msg.content = std::move(parts);
      req.messages.push_back(std::move(msg));
      return;
    }
    Message run;
    run.role = Role::kUser;
    run.source = index;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].kind == PartKind::kToolResult) {
        if (!run.content.empty()) {
          req.messages.push_back(std::move(run));
          run = Message{};
          run.role = Role::kUser;
          run.source = index;
        }
        Message tool;
        tool.role = Role::kTool;
        tool.source = index;
        tool.source_offset = static_cast<int>(i);
        tool.content.push_back(std::move(parts[i]));
        req.messages.push_back(std::move(tool));
      } else {
        if (run.content.empty()) run.source_offset = static_cast<int>(i);
        run.content.push_back(std::move(parts[i]));
      }
    }
    if (!run.content.empty()) req.messages.push_back(std::move(run));
    if (!extra.empty()) req.messages.back().extra = extra;
  }

  void Tools(const json::value& v, const Path& p) {
    const json::array* a = r.Array(v, p);
    if (a == nullptr) return;
    for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
      const Path tp = p.At(i);
      const json::object* o = r.Object((*a)[i], tp);
      if (o == nullptr) return;
      const json::value* decls = field::Get(*o, "functionDeclarations");
      if (decls == nullptr) {  // googleSearch, codeExecution, urlContext, ...: Gemini only
        Tool tool;
        tool.raw = detail::Copy((*a)[i]);
        tool.source = static_cast<int>(i);
        req.tools.push_back(std::move(tool));
        continue;
      }
      const Path dp = tp.Member("functionDeclarations");
      const json::array* da = r.Array(*decls, dp);
      if (da == nullptr) return;
      for (std::size_t j = 0; j < da->size() && r.ok(); ++j) {
        const Path fp = dp.At(j);
        const json::object* f = r.Object((*da)[j], fp);
        if (f == nullptr) return;
        Tool tool;
        tool.source = static_cast<int>(i);
        tool.source_offset = static_cast<int>(j);
        tool.name = ReqStr(r, *f, "name", fp);
        if (auto d = OptStr(r, *f, "description", fp)) tool.description = *d;
        if (const json::value* js = field::Get(*f, "parametersJsonSchema")) {
          if (r.Object(*js, fp.Member("parametersJsonSchema")) != nullptr) {
            tool.parameters.emplace(*js, json::storage_ptr());
          }
        } else if (const json::value* ps = field::Get(*f, "parameters")) {
          // The OpenAPI subset: converted for other dialects, kept whole for Gemini.
          if (r.Object(*ps, fp.Member("parameters")) != nullptr) tool.parameters = ToJsonSchema(*ps);
        }
        field::Leftovers(*f, {"name", "description", "parametersJsonSchema"}, tool.extra);
        req.tools.push_back(std::move(tool));
      }
      json::object rest;
      field::Leftovers(*o, {"functionDeclarations"}, rest);
      if (!rest.empty()) {  // another tool in the same entry: kept as an opaque tool
        Tool tool;
        tool.raw = std::move(rest);
        tool.source = static_cast<int>(i);
        req.tools.push_back(std::move(tool));
      }
    }
  }

  void ToolConfig(const json::value& v, const Path& p) {
    const json::object* o = r.Object(v, p);
    if (o == nullptr) return;
    json::object rest;
    field::Leftovers(*o, {"functionCallingConfig"}, rest);
    if (!rest.empty()) req.extra["toolConfig"] = std::move(rest);
    const json::value* fv = field::Get(*o, "functionCallingConfig");
    if (fv == nullptr) return;
    const Path fp = p.Member("functionCallingConfig");
    const json::object* f = r.Object(*fv, fp);
    if (f == nullptr) return;
    const std::string_view mode = OptStr(r, *f, "mode", fp).value_or("AUTO");
    const json::value* names = field::Get(*f, "allowedFunctionNames");
    const json::array* na = names ? r.Array(*names, fp.Member("allowedFunctionNames")) : nullptr;
    json::object extra;
    field::Leftovers(*f, {"mode", "allowedFunctionNames"}, extra);
    if (!r.ok()) return;
    ToolChoice& c = req.tool_choice;
    const bool plain = extra.empty() && field::Get(*f, "mode") != nullptr;
    if (plain && na == nullptr && mode == "AUTO") {
      c.mode = ToolChoice::Mode::kAuto;
    } else if (plain && na == nullptr && mode == "NONE") {
      c.mode = ToolChoice::Mode::kNone;
    } else if (plain && na == nullptr && mode == "ANY") {
      c.mode = ToolChoice::Mode::kRequired;
    } else if (plain && mode == "ANY" && na != nullptr && na->size() == 1 &&
               (*na)[0].is_string()) {
      c.mode = ToolChoice::Mode::kTool;
      c.name = std::string((*na)[0].get_string());
    } else if (mode == "AUTO" || mode == "ANY" || mode == "NONE" || mode == "VALIDATED" ||
               mode == "MODE_UNSPECIFIED") {
      c.raw = detail::Copy(*fv);  // several allowed names, VALIDATED, ...: Gemini only
    } else {
      r.Fail(fp.Member("mode"), "unknown mode '" + std::string(mode) + "'");
    }
  }

  void GenerationConfig(const json::value& v, const Path& p) {
    const json::object* g = r.Object(v, p);
    if (g == nullptr) return;
    req.temperature = OptNum(r, *g, "temperature", p);
    req.top_p = OptNum(r, *g, "topP", p);
    req.top_k = OptInt(r, *g, "topK", p);
    req.max_tokens = OptInt(r, *g, "maxOutputTokens", p);
    req.seed = OptInt(r, *g, "seed", p);
    if (const json::value* s = field::Get(*g, "stopSequences")) {
      const Path sp = p.Member("stopSequences");
      if (const json::array* a = r.Array(*s, sp)) {
        for (std::size_t i = 0; i < a->size(); ++i) req.stop.emplace_back(r.String((*a)[i], sp.At(i)));
      }
    }
    json::object rest;
    field::Leftovers(*g, {"temperature", "topP", "topK", "maxOutputTokens", "seed",
                          "stopSequences", "responseMimeType", "responseJsonSchema",
                          "thinkingConfig"},
                     rest);
    // Output format (rule G6).
    const auto mime = OptStr(r, *g, "responseMimeType", p);
    const json::value* json_schema = field::Get(*g, "responseJsonSchema");
    const json::value* schema = field::Get(*g, "responseSchema");
    if (mime && *mime != "application/json" && *mime != "text/plain") {
      rest["responseMimeType"] = std::string(*mime);  // text/x.enum, ...: Gemini only
      if (json_schema != nullptr) rest["responseJsonSchema"] = *json_schema;
    } else if (mime || json_schema != nullptr || schema != nullptr) {
      ResponseFormat f;
      if (json_schema != nullptr) {
        f.type = ResponseFormat::Type::kJsonSchema;
        f.schema = detail::Copy(*json_schema);
      } else if (schema != nullptr) {
        f.type = ResponseFormat::Type::kJsonSchema;
        f.schema = ToJsonSchema(*schema);  // the original stays in `rest` for Gemini
      } else {
        f.type = *mime == "text/plain" ? ResponseFormat::Type::kText
                                       : ResponseFormat::Type::kJsonObject;
      }
      req.response_format = std::move(f);
    }
    if (const json::value* tv = field::Get(*g, "thinkingConfig")) {
      const Path tp = p.Member("thinkingConfig");
      if (const json::object* t = r.Object(*tv, tp)) {
        if (auto budget = OptInt(r, *t, "thinkingBudget", tp)) {
          if (*budget > 0) {
            req.reasoning.thinking = Reasoning::Thinking::kEnabled;
            req.reasoning.budget_tokens = *budget;
          } else if (*budget == 0) {
            req.reasoning.thinking = Reasoning::Thinking::kDisabled;
          } else if (*budget == -1) {
            req.reasoning.thinking = Reasoning::Thinking::kAdaptive;
          } else {
            r.Fail(tp.Member("thinkingBudget"), "must be -1 (dynamic), 0 (off) or positive");
          }
        }
        if (auto level = OptStr(r, *t, "thinkingLevel", tp)) req.reasoning.effort = *level;
        if (auto include = OptBool(r, *t, "includeThoughts", tp)) {
          req.reasoning.display = *include ? "summarized" : "omitted";
        }
        json::object trest;
        field::Leftovers(*t, {"thinkingBudget", "thinkingLevel", "includeThoughts"}, trest);
        if (!trest.empty()) rest["thinkingConfig"] = std::move(trest);
      }
    }
    if (!rest.empty()) req.extra["generationConfig"] = std::move(rest);
  }
};

}  // namespace

// ---- targets -----------------------------------------------------------------------------

std::optional<Target> ParseTarget(std::string_view pq) {
  std::string_view path = pq, query;
  if (const std::size_t q = pq.find('?'); q != std::string_view::npos) {
    path = pq.substr(0, q);
    query = pq.substr(q + 1);
  }
  if (path.empty() || path[0] != '/') return std::nullopt;
  path.remove_prefix(1);
  const std::size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash < 2 || path[0] != 'v') return std::nullopt;
  Target t;
  t.version = path.substr(0, slash);
  const std::string_view rest = path.substr(slash + 1);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view method = rest.substr(colon + 1);
  std::string_view name = rest.substr(0, colon);
  if (method == "generateContent") t.stream = false;
  else if (method == "streamGenerateContent") t.stream = true;
  else return std::nullopt;
  if (StartsWith(name, "models/")) {
    name.remove_prefix(7);
    if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  } else if (name.find('/') == std::string_view::npos || name.back() == '/') {
    return std::nullopt;
  }
  t.model = name;
  t.sse = false;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (param == "alt=sse") t.sse = true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  if (!t.stream) t.sse = true;  // meaningless without streaming
  return t;
}

std::string TargetPath(std::string_view model, bool stream, std::string_view version) {
  std::string out = "/";
  out += version;
  out += model.find('/') == std::string_view::npos ? "/models/" : "/";
  out += model;
  out += stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
  return out;
}

// ---- requests ----------------------------------------------------------------------------

core::Result<ChatRequest> DecodeRequest(const json::object& body, const Target& target) {
  RequestDecoder d;
  ChatRequest& req = d.req;
  Reader& r = d.r;
  req.origin = kSelf;
  const Path root;
  req.model = target.model;
  if (req.model.empty()) r.FailAt("model", "missing (the model is named in the path)");
  req.stream = target.stream;
  if (req.stream) req.stream_include_usage = true;  // Gemini streams always report usage
  if (const json::value* s = field::Get(body, "systemInstruction")) {
    d.System(*s, root.Member("systemInstruction"));
  }
  const json::value* contents = field::Get(body, "contents");
  if (contents == nullptr) {
    r.Fail(root.Member("contents"), "missing");
  } else if (const json::array* a = r.Array(*contents, root.Member("contents"))) {
    req.messages.reserve(req.messages.size() + a->size());
    const Path cp = root.Member("contents");
    for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
      d.Content((*a)[i], static_cast<int>(i), cp.At(i));
    }
  }
  if (const json::value* v = field::Get(body, "tools")) d.Tools(*v, root.Member("tools"));
  if (const json::value* v = field::Get(body, "toolConfig")) {
    d.ToolConfig(*v, root.Member("toolConfig"));
  }
  if (const json::value* v = field::Get(body, "generationConfig")) {
    d.GenerationConfig(*v, root.Member("generationConfig"));
  }
  // `model` in a body is the proto's field, also in the path: the path wins.
  field::Leftovers(body, {"model", "contents", "systemInstruction", "tools", "toolConfig",
                          "generationConfig"},
                   req.extra);
  if (!r.ok()) return std::unexpected(r.TakeError());
  return std::move(req);
}

core::Result<ChatRequest> DecodeRequest(std::string_view body, const Target& target) {
  detail::ScratchObject scratch;
  auto obj = scratch.Parse(body, core::ErrorCode::kInvalidRequest);
  if (!obj) return std::unexpected(std::move(obj.error()));
  return DecodeRequest(**obj, target);
}

namespace {

// ---- request encoding --------------------------------------------------------------------

// An image URL's type from its extension ("" when it has none Gemini takes): fileData wants a
// mimeType, and OpenAI / Anthropic URL images have none.
std::string_view ImageTypeOf(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const std::size_t dot = url.rfind('.');
  if (dot == std::string_view::npos || url.find('/', dot) != std::string_view::npos) return {};
  std::string ext(url.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "webp") return "image/webp";
  if (ext == "gif") return "image/gif";
  if (ext == "heic") return "image/heic";
  if (ext == "heif") return "image/heif";
  return {};
}

bool IsJsonObjectText(std::string_view text, json::value& out) {
  if (text.empty() || text.front() != '{') return false;
  boost::system::error_code ec;
  out = json::parse(text, ec);
  return !ec && out.is_object();
}

struct Encoder {
  Encoder(const ChatRequest& request, const EncodeOptions& options)
      : req(request), opt(options) {}
  const ChatRequest& req;
  const EncodeOptions& opt;
  Reader r;
  std::string out;
  JsonWriter w{out};

  bool foreign() const { return req.origin != kSelf; }
  void FailAt(std::string path, std::string_view problem) { r.FailAt(std::move(path), problem); }

  // ---- paths in the origin's body
  std::string TopField(std::string_view canonical) const {
    if (req.origin == Dialect::kOpenAiChat) {
      if (canonical == "reasoning") return "reasoning_effort";
      if (canonical == "max_tokens") return "max_completion_tokens";
    }
    if (req.origin == Dialect::kAnthropicMessages) {
      if (canonical == "stop") return "stop_sequences";
      if (canonical == "reasoning") return "thinking";
      if (canonical == "response_format") return "output_config.format";
      if (canonical == "parallel_tool_calls") return "tool_choice.disable_parallel_tool_use";
    }
    if (req.origin == kSelf) return detail::GeminiField(canonical);
    return std::string(canonical);
  }
  std::string MsgPath(const Message& m, std::size_t i) const {
    if (req.origin == kSelf) return detail::GeminiMessagePath(m);
    if (m.source < 0) {
      return req.origin == Dialect::kAnthropicMessages ? "system"
                                                       : "messages[" + std::to_string(i) + "]";
    }
    return "messages[" + std::to_string(m.source) + "]";
  }
  std::string PartPath(const Message& m, std::size_t i, std::size_t j) const {
    if (req.origin == kSelf) return detail::GeminiPartPath(m, j);
    if (req.origin == Dialect::kOpenAiChat) {
      const ContentPart& p = m.content[j];
      if (m.role == Role::kAssistant && p.kind == PartKind::kToolUse) {
        std::size_t k = 0;
        for (std::size_t x = 0; x < j; ++x) k += m.content[x].kind == PartKind::kToolUse;
        return MsgPath(m, i) + ".tool_calls[" + std::to_string(k) + "]";
      }
      if (p.kind == PartKind::kRefusal) return MsgPath(m, i) + ".refusal";
      if (m.role == Role::kTool) return MsgPath(m, i) + ".content";
      return MsgPath(m, i) + ".content[" + std::to_string(j) + "]";
    }
    if (m.source < 0) return "system[" + std::to_string(j) + "]";
    return MsgPath(m, i) + ".content[" + std::to_string(m.source_offset + j) + "]";
  }

  void Extras(const json::object& extra, detail::ExtraScope scope, const std::string& path) {
    if (extra.empty()) return;
    if (!foreign()) {
      w.Members(extra);
      return;
    }
    Path root;
    Path p{&root, path};
    detail::RejectExtras(r, extra, req.origin, kSelf, scope, p);
  }

  // Part-level extras of a Gemini part whose data member carries inner extras under its own
  // name (functionCall.id, inlineData.displayName, ...): those go inside, the rest beside.
  void PartExtras(const ContentPart& p, std::string_view inner_key, const std::string& path) {
    if (!foreign()) {
      for (const auto& kv : p.extra) {
        if (kv.key() == inner_key) continue;
        w.Key(kv.key());
        w.Value(kv.value());
      }
      return;
    }
    Extras(p.extra, detail::ExtraScope::kPart, path);
  }
  void InnerExtras(const ContentPart& p, std::string_view inner_key) {
    if (foreign()) return;
    if (const auto* v = p.extra.if_contains(inner_key); v && v->is_object()) {
      w.Members(v->get_object());
    }
  }

  void Media(const ContentPart& p, const std::string& path) {
    const bool document = p.kind == PartKind::kDocument;
    std::string_view mime = p.media_type;
    if (mime == "image/jpg") mime = "image/jpeg";
    switch (p.source) {
      case SourceKind::kBase64:
        if (document && mime.empty()) mime = "application/pdf";  // OpenAI file inputs are PDFs
        w.Key("inlineData");
        w.BeginObject();
        w.Str("mimeType", mime);
        w.Str("data", p.data);
        InnerExtras(p, "inlineData");
        w.EndObject();
        PartExtras(p, "inlineData", path);
        return;
      case SourceKind::kText:  // a plain-text document: inline text/plain data
        w.Key("inlineData");
        w.BeginObject();
        w.Str("mimeType", mime.empty() ? std::string_view("text/plain") : mime);
        w.Str("data", detail::Base64Encode(p.text));
        w.EndObject();
        PartExtras(p, "inlineData", path);
        return;
      case SourceKind::kFileId:
        if (foreign()) {
          FailAt(path, "file references are " + detail::Unsupported(kSelf));
          return;
        }
        [[fallthrough]];
      case SourceKind::kUrl:
        w.Key("fileData");
        w.BeginObject();
        if (document && mime.empty()) mime = "application/pdf";
        if (!document && mime.empty()) mime = ImageTypeOf(p.data);
        if (!mime.empty()) w.Str("mimeType", mime);
        w.Str("fileUri", p.data);
        InnerExtras(p, "fileData");
        w.EndObject();
        PartExtras(p, "fileData", path);
        return;
      case SourceKind::kNone: FailAt(path, "missing source"); return;
    }
  }

  // Tool-call id → function name, for functionResponse names.
  std::string_view CallName(std::string_view id, std::size_t before) const {
    for (std::size_t i = before; i-- > 0;) {
      const Message& m = req.messages[i];
      if (m.role != Role::kAssistant) continue;
      for (const ContentPart& p : m.content) {
        if (p.kind == PartKind::kToolUse && p.id == id) return p.name;
      }
    }
    return {};
  }
  // The position of the call with `id` in the last assistant message before `before`.
  std::size_t CallOrder(std::string_view id, std::size_t before) const {
    for (std::size_t i = before; i-- > 0;) {
      const Message& m = req.messages[i];
      if (m.role != Role::kAssistant) continue;
      std::size_t k = 0;
      for (const ContentPart& p : m.content) {
        if (p.kind != PartKind::kToolUse) continue;
        if (p.id == id) return k;
        ++k;
      }
      break;
    }
    return static_cast<std::size_t>(-1);
  }

  void ToolResult(const ContentPart& p, std::string_view name, const std::string& path) {
    w.BeginObject();
    w.Key("functionResponse");
    w.BeginObject();
    InnerExtras(p, "functionResponse");
    w.Str("name", name);
    std::string text;
    bool first = true;
    std::vector<const ContentPart*> media;
    for (std::size_t k = 0; k < p.content.size(); ++k) {
      const ContentPart& c = p.content[k];
      if (c.kind == PartKind::kText) {
        if (!first) text += '\n';  // several text blocks become one text (rule G2)
        text += c.text;
        first = false;
      } else if (c.kind == PartKind::kImage || c.kind == PartKind::kDocument ||
                 (c.kind == PartKind::kOpaque && !foreign())) {
        media.push_back(&c);
      } else {
        FailAt(path + "[" + std::to_string(k) + "]",
               std::string(PartKindName(c.kind)) + " content in a tool result is " +
                   detail::Unsupported(kSelf));
        return;
      }
    }
    w.Key("response");
    json::value parsed;
    const bool object = !p.is_error && IsJsonObjectText(text, parsed);
    bool wrapped_like = false;
    if (object && parsed.get_object().size() == 1) {
      const auto& kv = *parsed.get_object().begin();
      wrapped_like = kv.value().is_string() && (kv.key() == "output" || kv.key() == "error");
    }
    if (object && !wrapped_like) {
      w.Value(parsed);
    } else {
      w.BeginObject();
      w.Str(p.is_error ? "error" : "output", text);
      w.EndObject();
    }
    if (!media.empty()) {
      w.Key("parts");
      w.BeginArray();
      for (std::size_t k = 0; k < media.size() && r.ok(); ++k) {
        if (media[k]->kind == PartKind::kOpaque) {
          w.Value(media[k]->raw);
          continue;
        }
        w.BeginObject();
        Media(*media[k], path + ".content[" + std::to_string(k) + "]");
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();  // functionResponse
    PartExtras(p, "functionResponse", path);
    w.EndObject();
  }

  // One part of a user or model content. `first_call`: no functionCall written yet in this
  // content (for the thought-signature fallback, rule G3).
  void Part(const ContentPart& p, const std::string& path, bool& first_call) {
    switch (p.kind) {
      case PartKind::kText:
      case PartKind::kRefusal:  // an OpenAI refusal in the history is what the model said
        w.BeginObject();
        w.Str("text", p.text);
        // cache markers: no Gemini form (rule G1)
        if (p.kind == PartKind::kText) Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      case PartKind::kImage:
      case PartKind::kDocument:
        w.BeginObject();
        Media(p, path);  // detail and document names: no Gemini form (rule G4)
        w.EndObject();
        return;
      case PartKind::kToolUse: {
        w.BeginObject();
        w.Key("functionCall");
        w.BeginObject();
        InnerExtras(p, "functionCall");
        w.Str("name", p.name);
        w.Key("args");
        if (p.arguments.empty()) {
          w.Raw("{}");
        } else if (!foreign()) {
          w.Raw(p.arguments);  // decoded from an object: valid JSON already
        } else {
          json::value args;
          if (!IsJsonObjectText(p.arguments, args)) {
            FailAt(path + (req.origin == Dialect::kOpenAiChat ? ".function.arguments" : ".input"),
                   "must be a JSON object to be sent to " + std::string(DialectTitle(kSelf)));
            w.Raw("{}");
          } else {
            w.Value(args);
          }
        }
        w.EndObject();
        PartExtras(p, "functionCall", path);
        if (foreign() && first_call && !opt.unsigned_call_signature.empty()) {
          w.Str("thoughtSignature", opt.unsigned_call_signature);
        }
        first_call = false;
        w.EndObject();
        return;
      }
      case PartKind::kThinking:
        if (foreign()) return;  // signed for another provider's model (rule D4)
        w.BeginObject();
        w.Str("text", p.text);
        w.Key("thought");
        w.Bool(true);
        if (!p.signature.empty()) w.Str("thoughtSignature", p.signature);
        w.Members(p.extra);
        w.EndObject();
        return;
      case PartKind::kRedactedThinking: return;  // Anthropic's own (rule D4)
      case PartKind::kToolResult:
        FailAt(path, "a tool result outside a tool message");
        return;
      case PartKind::kOpaque:
        if (foreign()) {
          FailAt(path, detail::OpaquePartLabel(p.raw) + " is " + detail::Unsupported(kSelf));
          return;
        }
        w.Value(p.raw);
        return;
    }
  }

  void System(std::size_t count) {
    w.Key("systemInstruction");
    w.BeginObject();
    w.Key("parts");
    w.BeginArray();
    for (std::size_t i = 0; i < count && r.ok(); ++i) {
      const Message& m = req.messages[i];
      for (std::size_t j = 0; j < m.content.size() && r.ok(); ++j) {
        const ContentPart& p = m.content[j];
        if (p.kind != PartKind::kText) {
          FailAt(PartPath(m, i, j),
                 "system content must be text in " + std::string(DialectTitle(kSelf)));
          break;
        }
        bool unused = true;
        Part(p, PartPath(m, i, j), unused);
      }
    }
    w.EndArray();
    for (std::size_t i = 0; i < count && r.ok(); ++i) {
      Extras(req.messages[i].extra, detail::ExtraScope::kMessage, MsgPath(req.messages[i], i));
    }
    w.EndObject();
  }

  void Contents(std::size_t first) {
    const auto& msgs = req.messages;
    w.Key("contents");
    w.BeginArray();
    std::size_t i = first;
    while (i < msgs.size() && r.ok()) {
      const Message& m = msgs[i];
      if (m.role == Role::kSystem || m.role == Role::kDeveloper) {
        FailAt(MsgPath(m, i), "a system message after the conversation has started is " +
                                  detail::Unsupported(kSelf));
        break;
      }
      w.BeginObject();
      w.Str("role", m.role == Role::kAssistant ? "model" : "user");
      w.Key("parts");
      w.BeginArray();
      if (m.role == Role::kTool) {
        // Consecutive tool results, in the order of their calls, and a user message right
        // after them, form one user content (rule G2).
        const std::size_t start = i;
        std::vector<std::pair<std::size_t, std::size_t>> order;  // (call order, message)
        while (i < msgs.size() && msgs[i].role == Role::kTool) {
          const ContentPart* res = msgs[i].content.empty() ? nullptr : &msgs[i].content[0];
          order.emplace_back(res ? CallOrder(res->id, start) : 0, i);
          ++i;
        }
        std::stable_sort(order.begin(), order.end());
        for (const auto& [unused, ti] : order) {
          const Message& t = msgs[ti];
          for (std::size_t j = 0; j < t.content.size() && r.ok(); ++j) {
            const ContentPart& res = t.content[j];
            const std::string path = PartPath(t, ti, j);
            if (res.kind != PartKind::kToolResult) {
              FailAt(path, "a tool message holds one tool result");
              break;
            }
            const std::string_view name = CallName(res.id, start);
            if (name.empty()) {
              FailAt(path, "no earlier tool call has id '" + res.id + "'");
              break;
            }
            ToolResult(res, name, path);
          }
          // A Gemini content's own extras ride on its last message (written below).
          if (foreign()) Extras(t.extra, detail::ExtraScope::kMessage, MsgPath(t, ti));
        }
        const Message* last = &msgs[i - 1];
        if (i < msgs.size() && msgs[i].role == Role::kUser && r.ok()) {
          const Message& u = msgs[i];
          bool unused = true;
          for (std::size_t j = 0; j < u.content.size() && r.ok(); ++j) {
            Part(u.content[j], PartPath(u, i, j), unused);
          }
          if (foreign()) Extras(u.extra, detail::ExtraScope::kMessage, MsgPath(u, i));
          last = &u;
          ++i;
        }
        w.EndArray();
        if (!foreign()) w.Members(last->extra);
        w.EndObject();
        continue;
      }
      bool first_call = true;
      for (std::size_t j = 0; j < m.content.size() && r.ok(); ++j) {
        const ContentPart& p = m.content[j];
        if (m.role == Role::kUser &&
            (p.kind == PartKind::kToolUse || p.kind == PartKind::kThinking)) {
          FailAt(PartPath(m, i, j), "tool calls belong in assistant messages");
          break;
        }
        Part(p, PartPath(m, i, j), first_call);
      }
      w.EndArray();
      Extras(m.extra, detail::ExtraScope::kMessage, MsgPath(m, i));
      w.EndObject();
      ++i;
    }
    w.EndArray();
  }

  void Tools() {
    if (req.tools.empty()) return;
    w.Key("tools");
    w.BeginArray();
    bool in_group = false;
    int group_source = -2;
    for (std::size_t i = 0; i < req.tools.size() && r.ok(); ++i) {
      const Tool& t = req.tools[i];
      const std::string path = req.origin == kSelf ? detail::GeminiToolPath(t, i)
                               : req.origin == Dialect::kOpenAiChat
                                   ? "tools[" + std::to_string(i) + "].function"
                                   : "tools[" + std::to_string(i) + "]";
      if (!t.raw.is_null()) {
        if (in_group) {
          w.EndArray();
          w.EndObject();
          in_group = false;
        }
        if (foreign()) {
          std::string type;
          if (t.raw.is_object()) {
            if (const auto* ty = t.raw.get_object().if_contains("type"); ty && ty->is_string()) {
              type = " '" + std::string(ty->get_string()) + "'";
            }
          }
          FailAt("tools[" + std::to_string(i) + "].type",
                 "tool type" + type + " is " + detail::Unsupported(kSelf));
          return;
        }
        w.Value(t.raw);
        continue;
      }
      // Declared functions share one functionDeclarations entry (per source entry for Gemini).
      if (!in_group || t.source != group_source) {
        if (in_group) {
          w.EndArray();
          w.EndObject();
        }
        w.BeginObject();
        w.Key("functionDeclarations");
        w.BeginArray();
        in_group = true;
        group_source = t.source;
      }
      w.BeginObject();
      w.Str("name", t.name);
      if (!t.description.empty()) w.Str("description", t.description);
      const bool openapi = !foreign() && t.extra.contains("parameters");
      if (t.parameters && !openapi) {
        w.Key("parametersJsonSchema");
        w.Value(*t.parameters);
      }
      // strict and cache markers: no Gemini form (rules G1, G4).
      Extras(t.extra, detail::ExtraScope::kTool, path);
      w.EndObject();
    }
    if (in_group) {
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
  }

  void ToolConfig() {
    const ToolChoice& c = req.tool_choice;
    const json::value* leftover = foreign() ? nullptr : req.extra.if_contains("toolConfig");
    if (req.parallel_tool_calls && !*req.parallel_tool_calls && !req.tools.empty() &&
        c.mode != ToolChoice::Mode::kNone) {
      FailAt(TopField("parallel_tool_calls"),
             "disabling parallel tool calls is " + detail::Unsupported(kSelf));
      return;
    }
    if (!c.raw.is_null() && foreign()) {
      FailAt(TopField("tool_choice"), detail::Unsupported(kSelf));
      return;
    }
    if (c.raw.is_null() && c.mode == ToolChoice::Mode::kUnset && leftover == nullptr) return;
    w.Key("toolConfig");
    w.BeginObject();
    if (!c.raw.is_null()) {
      w.Key("functionCallingConfig");
      w.Value(c.raw);
    } else if (c.mode != ToolChoice::Mode::kUnset) {
      w.Key("functionCallingConfig");
      w.BeginObject();
      switch (c.mode) {
        case ToolChoice::Mode::kAuto: w.Str("mode", "AUTO"); break;
        case ToolChoice::Mode::kNone: w.Str("mode", "NONE"); break;
        case ToolChoice::Mode::kRequired: w.Str("mode", "ANY"); break;
        case ToolChoice::Mode::kTool:
          w.Str("mode", "ANY");
          w.Key("allowedFunctionNames");
          w.BeginArray();
          w.String(c.name);
          w.EndArray();
          break;
        case ToolChoice::Mode::kUnset: break;
      }
      w.EndObject();
    }
    if (leftover != nullptr && leftover->is_object()) w.Members(leftover->get_object());
    w.EndObject();
  }

  // thinkingConfig members (rule G5); false when nothing is written.
  void Thinking(JsonWriter& g) {
    const Reasoning& rs = req.reasoning;
    const json::object* rest = nullptr;
    if (!foreign()) {
      if (const auto* gc = req.extra.if_contains("generationConfig"); gc && gc->is_object()) {
        if (const auto* t = gc->get_object().if_contains("thinkingConfig"); t && t->is_object()) {
          rest = &t->get_object();
        }
      }
    }
    std::optional<std::int64_t> budget;
    std::string level;
    std::optional<bool> include;
    if (!foreign()) {
      switch (rs.thinking) {
        case Reasoning::Thinking::kEnabled: budget = rs.budget_tokens.value_or(1024); break;
        case Reasoning::Thinking::kDisabled: budget = 0; break;
        case Reasoning::Thinking::kAdaptive: budget = -1; break;
        case Reasoning::Thinking::kUnset: break;
      }
      level = rs.effort;
      if (rs.display == "summarized") include = true;
      if (rs.display == "omitted") include = false;
    } else {
      if (rs.thinking == Reasoning::Thinking::kEnabled && rs.budget_tokens) {
        budget = *rs.budget_tokens;  // an explicit budget wins over an effort
      } else if (!rs.effort.empty()) {
        std::string e = rs.effort;
        for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (e == "none") {
          budget = 0;
        } else if (e != "minimal" && e != "low" && e != "medium" && e != "high" &&
                   e != "xhigh" && e != "max") {
          FailAt(TopField("reasoning"), "'" + rs.effort + "' is " + detail::Unsupported(kSelf));
          return;
        } else if (opt.effort_as_budget) {
          // Google's table for reasoning_effort on Gemini 2.5.
          budget = (e == "minimal" || e == "low") ? 1024 : e == "medium" ? 8192 : 24576;
        } else {
          level = (e == "xhigh" || e == "max") ? "high" : e;
        }
      } else if (rs.thinking == Reasoning::Thinking::kAdaptive) {
        budget = -1;
      } else if (rs.thinking == Reasoning::Thinking::kDisabled) {
        budget = 0;
      }
      // An Anthropic client with thinking on expects its thinking blocks back.
      if (req.origin == Dialect::kAnthropicMessages && (budget.value_or(0) != 0 || !level.empty())) {
        if (rs.display != "omitted") include = true;
      }
    }
    if (!budget && level.empty() && !include && rest == nullptr) return;
    g.Key("thinkingConfig");
    g.BeginObject();
    if (budget) g.Int("thinkingBudget", *budget);
    if (!level.empty()) g.Str("thinkingLevel", level);
    if (include) {
      g.Key("includeThoughts");
      g.Bool(*include);
    }
    if (rest != nullptr) g.Members(*rest);
    g.EndObject();
  }

  void GenerationConfig() {
    // Written into a scratch string: it is left out when empty.
    std::string body;
    JsonWriter g(body);
    g.BeginObject();
    const json::object* rest = nullptr;
    if (!foreign()) {
      if (const auto* gc = req.extra.if_contains("generationConfig"); gc && gc->is_object()) {
        rest = &gc->get_object();
      }
    }
    if (req.temperature) {
      g.Key("temperature");
      g.Double(*req.temperature);
    }
    if (req.top_p) {
      g.Key("topP");
      g.Double(*req.top_p);
    }
    if (req.top_k) g.Int("topK", *req.top_k);
    if (req.max_tokens) g.Int("maxOutputTokens", *req.max_tokens);
    if (!req.stop.empty()) {
      if (foreign() && req.stop.size() > 5) {
        FailAt(TopField("stop"), "more than 5 stop sequences are " + detail::Unsupported(kSelf));
        return;
      }
      g.Key("stopSequences");
      g.BeginArray();
      for (const auto& s : req.stop) g.String(s);
      g.EndArray();
    }
    if (req.seed) g.Int("seed", *req.seed);
    if (const auto& f = req.response_format) {
      switch (f->type) {
        case ResponseFormat::Type::kText:
          if (!foreign()) g.Str("responseMimeType", "text/plain");
          break;
        case ResponseFormat::Type::kJsonObject: g.Str("responseMimeType", "application/json"); break;
        case ResponseFormat::Type::kJsonSchema:
          if (!f->description.empty()) {
            FailAt(TopField("response_format.json_schema.description"), detail::Unsupported(kSelf));
            return;
          }
          g.Str("responseMimeType", "application/json");
          // A Gemini body's own responseSchema (OpenAPI subset) is written back as it came.
          if (!f->schema.is_null() && (rest == nullptr || !rest->contains("responseSchema"))) {
            g.Key("responseJsonSchema");
            g.Value(f->schema);
          }
          break;
      }
    }
    Thinking(g);
    if (!r.ok()) return;
    if (rest != nullptr) {
      for (const auto& kv : *rest) {
        if (kv.key() == "thinkingConfig") continue;
        g.Key(kv.key());
        g.Value(kv.value());
      }
    }
    g.EndObject();
    if (body.size() > 2) {
      w.Key("generationConfig");
      w.Raw(body);
    }
  }

  void Run() {
    const auto& msgs = req.messages;
    if (req.model.empty()) {
      FailAt("model", "missing");
      return;
    }
    for (char c : req.model) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '/' || c == '@';
      if (!ok) {
        FailAt("model", "'" + req.model + "' is not a Gemini model name");
        return;
      }
    }
    std::size_t system_count = 0;
    while (system_count < msgs.size() && (msgs[system_count].role == Role::kSystem ||
                                          msgs[system_count].role == Role::kDeveloper)) {
      ++system_count;
    }
    w.BeginObject();
    if (system_count > 0) System(system_count);
    if (!r.ok()) return;
    Contents(system_count);
    if (!r.ok()) return;
    Tools();
    if (!r.ok()) return;
    ToolConfig();
    if (!r.ok()) return;
    GenerationConfig();
    if (!r.ok()) return;
    // user / safety_identifier: no Gemini form (rule G4).
    if (!req.service_tier.empty() && foreign() && req.service_tier != "auto" &&
        req.service_tier != "default" && req.service_tier != "standard_only") {
      FailAt("service_tier", "'" + req.service_tier + "' is " + detail::Unsupported(kSelf));
      return;
    }
    if (!foreign()) {
      for (const auto& kv : req.extra) {
        if (kv.key() == "generationConfig" || kv.key() == "toolConfig") continue;
        w.Key(kv.key());
        w.Value(kv.value());
      }
    } else {
      json::object rest;
      for (const auto& kv : req.extra) {
        if (req.origin == Dialect::kOpenAiChat && kv.key() == "safety_identifier") continue;
        rest[kv.key()] = kv.value();
      }
      Extras(rest, detail::ExtraScope::kRequest, "");
    }
    w.EndObject();
  }
};

}  // namespace

core::Result<EncodedRequest> EncodeRequest(const ChatRequest& request,
                                           const EncodeOptions& options) {
  Encoder e{request, options};
  e.out.reserve(1024);
  e.Run();
  if (!e.r.ok()) return std::unexpected(e.r.TakeError());
  EncodedRequest out;
  out.model = request.model;
  if (StartsWith(out.model, "models/")) out.model.erase(0, 7);
  out.stream = request.stream;
  out.path = TargetPath(out.model, out.stream, options.version);
  out.body = std::move(e.out);
  return out;
}

// ---- finish reasons ----------------------------------------------------------------------

namespace {

bool GeminiFinish(std::string_view s) {
  static constexpr std::string_view kReasons[] = {
      "STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "LANGUAGE", "OTHER", "BLOCKLIST",
      "PROHIBITED_CONTENT", "SPII", "MALFORMED_FUNCTION_CALL", "IMAGE_SAFETY",
      "IMAGE_PROHIBITED_CONTENT", "IMAGE_OTHER", "NO_IMAGE", "IMAGE_RECITATION",
      "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE",
      "MALFORMED_RESPONSE", "FINISH_REASON_UNSPECIFIED"};
  for (std::string_view r : kReasons) {
    if (r == s) return true;
  }
  return false;
}

}  // namespace

std::string_view FinishReasonString(FinishReason reason, std::string_view raw) {
  switch (reason) {
    case FinishReason::kStop:
    case FinishReason::kStopSequence:
    case FinishReason::kToolCalls:
    case FinishReason::kPauseTurn: return "STOP";
    case FinishReason::kLength:
    case FinishReason::kContextExhausted: return "MAX_TOKENS";
    case FinishReason::kContentFilter:
      return GeminiFinish(raw) && raw != "STOP" && raw != "MAX_TOKENS" ? raw
                                                                        : std::string_view("SAFETY");
    case FinishReason::kOther: return GeminiFinish(raw) ? raw : std::string_view("OTHER");
    case FinishReason::kNone: break;
  }
  return "STOP";
}

FinishReason ParseFinishReason(std::string_view s) {
  if (s == "STOP") return FinishReason::kStop;
  if (s == "MAX_TOKENS") return FinishReason::kLength;
  if (s == "SAFETY" || s == "RECITATION" || s == "BLOCKLIST" || s == "PROHIBITED_CONTENT" ||
      s == "SPII" || s == "IMAGE_SAFETY" || s == "IMAGE_PROHIBITED_CONTENT" ||
      s == "IMAGE_RECITATION") {
    return FinishReason::kContentFilter;
  }
  return FinishReason::kOther;
}

// ---- responses ---------------------------------------------------------------------------

// usageMetadata → canonical (rule G7): promptTokenCount includes cachedContentTokenCount;
// candidatesTokenCount excludes thoughtsTokenCount; toolUsePromptTokenCount is prompt-side
// input outside promptTokenCount. Shared with gemini_stream.cpp.
void ReadUsage(const json::object& u, Usage& out, bool keep_extra);
void ReadUsage(const json::object& u, Usage& out, bool keep_extra) {
  auto count = [&](std::string_view key) -> std::optional<std::int64_t> {
    const json::value* v = field::Get(u, key);
    if (v == nullptr) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v->is_double()) {  // in range only: converting a larger double is undefined
      const double d = v->get_double();
      if (d > -9.2e18 && d < 9.2e18) return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
  };
  const std::int64_t prompt = count("promptTokenCount").value_or(0);
  const std::int64_t tool = count("toolUsePromptTokenCount").value_or(0);
  const std::int64_t candidates = count("candidatesTokenCount").value_or(0);
  out.cache_read_tokens = count("cachedContentTokenCount");
  out.cache_write_tokens.reset();
  out.reasoning_tokens = count("thoughtsTokenCount");
  out.input_tokens = prompt + tool;
  out.output_tokens = candidates + out.reasoning_tokens.value_or(0);
  out.extra = json::object();
  if (keep_extra) {
    field::Leftovers(u, {"promptTokenCount", "candidatesTokenCount", "totalTokenCount",
                         "cachedContentTokenCount", "thoughtsTokenCount"},
                     out.extra);
    // Kept as the integer it was counted as (300.0 → 300), so that writing it back subtracts
    // the same amount from input_tokens (found by fuzz/gemini_response: not a fixpoint).
    if (count("toolUsePromptTokenCount")) out.extra["toolUsePromptTokenCount"] = tool;
  } else if (tool != 0) {
    out.extra["toolUsePromptTokenCount"] = tool;
  }
}

// Canonical → usageMetadata members. Zero counts are left out, as Gemini (proto3) does.
void WriteUsageMembers(JsonWriter& w, const Usage& u, bool same_dialect);
void WriteUsageMembers(JsonWriter& w, const Usage& u, bool same_dialect) {
  std::int64_t tool = 0;
  if (same_dialect) {
    if (const auto* t = u.extra.if_contains("toolUsePromptTokenCount"); t && t->is_int64()) {
      tool = t->get_int64();
    }
  }
  const std::int64_t reasoning = u.reasoning_tokens.value_or(0);
  const std::int64_t prompt = u.input_tokens - tool;
  const std::int64_t candidates = u.output_tokens - reasoning;
  if (prompt != 0) w.Int("promptTokenCount", prompt);
  if (candidates != 0) w.Int("candidatesTokenCount", candidates);
  if (u.input_tokens + u.output_tokens != 0) {
    w.Int("totalTokenCount", u.input_tokens + u.output_tokens);
  }
  if (u.cache_read_tokens.value_or(0) != 0) {
    w.Int("cachedContentTokenCount", *u.cache_read_tokens);
  }
  if (reasoning != 0) w.Int("thoughtsTokenCount", reasoning);
  if (same_dialect) w.Members(u.extra);
}

namespace {

// A response's model parts → canonical parts. Tool calls without an id get
// "call_<responseId>_<n>" (rule G2).
void DecodeModelPart(Reader& r, const json::value& v, const Path& p, std::string_view id_base,
                     int& calls, std::vector<ContentPart>& out) {
  const json::object* o = r.Object(v, p);
  if (o == nullptr) return;
  ContentPart part;
  if (const json::value* t = field::Get(*o, "text")) {
    part.text = r.String(*t, p.Member("text"));
    if (OptBool(r, *o, "thought", p).value_or(false)) {
      part.kind = PartKind::kThinking;
      part.signature = OptStr(r, *o, "thoughtSignature", p).value_or("");
      field::Leftovers(*o, {"text", "thought", "thoughtSignature"}, part.extra);
    } else {
      part.kind = PartKind::kText;
      field::Leftovers(*o, {"text"}, part.extra);
    }
  } else if (const json::value* fcv = field::Get(*o, "functionCall")) {
    const Path fp = p.Member("functionCall");
    const json::object* fc = r.Object(*fcv, fp);
    if (fc == nullptr) return;
    part.kind = PartKind::kToolUse;
    part.name = ReqStr(r, *fc, "name", fp);
    if (const json::value* args = field::Get(*fc, "args")) {
      if (r.Object(*args, fp.Member("args")) != nullptr) part.arguments = detail::Serialize(*args);
    } else {
      part.arguments = "{}";
    }
    if (auto id = OptStr(r, *fc, "id", fp); id && !id->empty()) {
      part.id = *id;
    } else {
      part.id = "call_";
      if (!id_base.empty()) {
        part.id += id_base;
        part.id += '_';
      }
      part.id += std::to_string(calls);
    }
    ++calls;
    json::object inner;
    field::Leftovers(*fc, {"name", "args"}, inner);
    if (!inner.empty()) part.extra["functionCall"] = std::move(inner);
    field::Leftovers(*o, {"functionCall"}, part.extra);
  } else if (const json::value* in = field::Get(*o, "inlineData")) {
    if (!DecodeMedia(r, *o, *in, false, p.Member("inlineData"), part)) {
      part = ContentPart{};
      part.kind = PartKind::kOpaque;
      part.raw = detail::Copy(v);
    } else {
      field::Leftovers(*o, {"inlineData"}, part.extra);
    }
  } else {  // executableCode, codeExecutionResult, fileData, ...: Gemini only
    part.kind = PartKind::kOpaque;
    part.raw = detail::Copy(v);
  }
  out.push_back(std::move(part));
}

}  // namespace

core::Result<ChatResponse> DecodeResponse(std::string_view body) {
  detail::ScratchObject scratch;
  auto parsed = scratch.Parse(body, core::ErrorCode::kUpstreamError);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object& o = **parsed;
  Reader r(core::ErrorCode::kUpstreamError);
  const Path root;
  ChatResponse resp;
  resp.origin = kSelf;
  if (auto id = OptStr(r, o, "responseId", root)) resp.id = *id;
  if (auto model = OptStr(r, o, "modelVersion", root)) resp.model = *model;
  const json::value* cv = field::Get(o, "candidates");
  const json::array* ca = cv ? r.Array(*cv, root.Member("candidates")) : nullptr;
  const std::size_t n = ca ? ca->size() : 0;
  if (r.ok() && n > 1) r.Fail(root.Member("candidates"), "expected at most one candidate");
  bool calls_made = false;
  if (r.ok() && n == 1) {
    const Path candidates = root.Member("candidates");  // cp's parent: must outlive cp
    const Path cp = candidates.At(0);
    if (const json::object* c = r.Object((*ca)[0], cp)) {
      if (const json::value* content = field::Get(*c, "content")) {
        const Path ctp = cp.Member("content");
        if (const json::object* co = r.Object(*content, ctp)) {
          if (const json::value* parts = field::Get(*co, "parts")) {
            if (const json::array* pa = r.Array(*parts, ctp.Member("parts"))) {
              int calls = 0;
              for (std::size_t i = 0; i < pa->size() && r.ok(); ++i) {
                DecodeModelPart(r, (*pa)[i], ctp.Member("parts").At(i), resp.id, calls,
                                resp.content);
              }
              calls_made = calls > 0;
            }
          }
        }
      }
      if (auto fr = OptStr(r, *c, "finishReason", cp)) {
        resp.finish_reason = ParseFinishReason(*fr);
        resp.finish_raw = *fr;
        if (resp.finish_reason == FinishReason::kStop && calls_made) {
          resp.finish_reason = FinishReason::kToolCalls;  // Gemini says STOP (rule G2)
        }
      }
      json::object rest;
      field::Leftovers(*c, {"content", "finishReason"}, rest);
      if (!rest.empty()) resp.extra["candidate"] = std::move(rest);
    }
  }
  if (r.ok() && n == 0) {
    // A prompt blocked before generation: promptFeedback.blockReason says why.
    std::string_view block;
    if (const json::value* pf = field::Get(o, "promptFeedback"); pf && pf->is_object()) {
      if (const json::value* b = field::Get(pf->get_object(), "blockReason"); b && b->is_string()) {
        block = b->get_string();
      }
    }
    if (block.empty()) {
      r.Fail(root.Member("candidates"), "missing");
    } else {
      resp.finish_reason = FinishReason::kContentFilter;
      resp.finish_raw = block;
    }
  }
  if (const json::value* u = field::Get(o, "usageMetadata")) {
    if (const json::object* uo = r.Object(*u, root.Member("usageMetadata"))) {
      Usage usage;
      ReadUsage(*uo, usage, true);
      resp.usage = std::move(usage);
    }
  }
  field::Leftovers(o, {"candidates", "usageMetadata", "modelVersion", "responseId"}, resp.extra);
  if (!r.ok()) return std::unexpected(r.TakeError());
  return resp;
}

core::Result<std::string> EncodeResponse(const ChatResponse& resp) {
  const bool foreign = resp.origin != kSelf;
  std::string out;
  out.reserve(512);
  JsonWriter w(out);
  w.BeginObject();
  // A Gemini response for a blocked prompt has no candidate.
  bool blocked = false;
  if (!foreign && resp.content.empty()) {
    if (const auto* pf = resp.extra.if_contains("promptFeedback"); pf && pf->is_object()) {
      blocked = pf->get_object().contains("blockReason");
    }
  }
  bool refusal = false;
  if (!blocked) {
    w.Key("candidates");
    w.BeginArray();
    w.BeginObject();
    // Parts first, into a scratch string: an empty content is left out.
    std::string parts;
    JsonWriter pw(parts);
    pw.BeginArray();
    bool any = false;
    for (const ContentPart& p : resp.content) {
      switch (p.kind) {
        case PartKind::kText:
        case PartKind::kRefusal:
          refusal |= p.kind == PartKind::kRefusal;
          pw.BeginObject();
          pw.Str("text", p.text);
          if (!foreign && p.kind == PartKind::kText) pw.Members(p.extra);
          pw.EndObject();
          break;
        case PartKind::kThinking:
          pw.BeginObject();
          pw.Str("text", p.text);
          pw.Key("thought");
          pw.Bool(true);
          if (!p.signature.empty()) pw.Str("thoughtSignature", p.signature);
          if (!foreign) pw.Members(p.extra);
          pw.EndObject();
          break;
        case PartKind::kRedactedThinking: continue;  // no Gemini form (rule D4)
        case PartKind::kToolUse: {
          pw.BeginObject();
          pw.Key("functionCall");
          pw.BeginObject();
          if (!foreign) {
            if (const auto* inner = p.extra.if_contains("functionCall"); inner && inner->is_object()) {
              pw.Members(inner->get_object());
            }
          }
          pw.Str("name", p.name);
          pw.Key("args");
          json::value args;
          if (p.arguments.empty()) {
            pw.Raw("{}");
          } else if (IsJsonObjectText(p.arguments, args)) {
            pw.Value(args);
          } else {
            return core::Fail(core::ErrorCode::kUpstreamError,
                              "the upstream tool call '" + p.name +
                                  "' has arguments that are not a JSON object");
          }
          pw.EndObject();
          if (!foreign) {
            for (const auto& kv : p.extra) {
              if (kv.key() == "functionCall") continue;
              pw.Key(kv.key());
              pw.Value(kv.value());
            }
          }
          pw.EndObject();
          break;
        }
        case PartKind::kImage:
          if (!foreign && p.source == SourceKind::kBase64) {
            pw.BeginObject();
            pw.Key("inlineData");
            pw.BeginObject();
            pw.Str("mimeType", p.media_type);
            pw.Str("data", p.data);
            if (const auto* inner = p.extra.if_contains("inlineData"); inner && inner->is_object()) {
              pw.Members(inner->get_object());
            }
            pw.EndObject();
            for (const auto& kv : p.extra) {
              if (kv.key() == "inlineData") continue;
              pw.Key(kv.key());
              pw.Value(kv.value());
            }
            pw.EndObject();
            break;
          }
          [[fallthrough]];
        case PartKind::kOpaque:
          if (!foreign && p.kind == PartKind::kOpaque) {
            pw.Value(p.raw);
            break;
          }
          [[fallthrough]];
        default:
          return core::Fail(core::ErrorCode::kUpstreamError,
                            "the upstream response holds " + std::string(PartKindName(p.kind)) +
                                " content that Google Gemini cannot carry");
      }
      any = true;
    }
    pw.EndArray();
    if (any) {
      w.Key("content");
      w.BeginObject();
      w.Key("parts");
      w.Raw(parts);
      w.Str("role", "model");
      w.EndObject();
    }
    FinishReason fr = resp.finish_reason;
    if (refusal && (fr == FinishReason::kStop || fr == FinishReason::kNone)) {
      fr = FinishReason::kContentFilter;
    }
    if (fr != FinishReason::kNone) {
      w.Str("finishReason", FinishReasonString(fr, foreign ? "" : resp.finish_raw));
    }
    const json::value* cand = foreign ? nullptr : resp.extra.if_contains("candidate");
    if (cand != nullptr && cand->is_object()) {
      w.Members(cand->get_object());
    } else if (foreign) {
      w.Int("index", 0);
    }
    w.EndObject();
    w.EndArray();
  }
  if (resp.usage) {
    w.Key("usageMetadata");
    w.BeginObject();
    WriteUsageMembers(w, *resp.usage, !foreign);
    w.EndObject();
  }
  if (!resp.model.empty()) w.Str("modelVersion", resp.model);
  if (!resp.id.empty()) w.Str("responseId", resp.id);
  if (!foreign) {
    for (const auto& kv : resp.extra) {
      if (kv.key() == "candidate") continue;
      w.Key(kv.key());
      w.Value(kv.value());
    }
  }
  w.EndObject();
  return out;
}

// ---- errors ------------------------------------------------------------------------------

namespace {

ErrorClass ClassForStatusName(std::string_view s, int status) {
  if (s == "INVALID_ARGUMENT" || s == "FAILED_PRECONDITION" || s == "OUT_OF_RANGE") {
    return status == 413 ? ErrorClass::kRequestTooLarge : ErrorClass::kInvalidRequest;
  }
  if (s == "UNAUTHENTICATED") return ErrorClass::kAuthentication;
  if (s == "PERMISSION_DENIED") return ErrorClass::kPermission;
  if (s == "NOT_FOUND") return ErrorClass::kNotFound;
  if (s == "ALREADY_EXISTS" || s == "ABORTED") return ErrorClass::kConflict;
  if (s == "RESOURCE_EXHAUSTED") return ErrorClass::kRateLimited;
  if (s == "INTERNAL" || s == "UNKNOWN" || s == "DATA_LOSS") {
    return status >= 500 ? ErrorClassForStatus(status) : ErrorClass::kInternal;
  }
  if (s == "UNAVAILABLE") return status == 502 ? ErrorClass::kBadGateway : ErrorClass::kUnavailable;
  if (s == "DEADLINE_EXCEEDED") return ErrorClass::kTimeout;
  return ErrorClassForStatus(status);
}

// "13s" / "0.5s" → "13" / "1" (whole seconds, rounded up, as retry-after wants).
std::string RetryDelaySeconds(std::string_view d) {
  if (d.empty() || d.back() != 's') return {};
  d.remove_suffix(1);
  double secs = 0;
  auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), secs);
  // An absurd delay (beyond int64 seconds, or NaN) is dropped rather than converted.
  if (ec != std::errc() || p != d.data() + d.size() || !(secs >= 0 && secs < 9.2e18)) return {};
  return std::to_string(static_cast<std::int64_t>(std::ceil(secs)));
}

}  // namespace

ApiError DecodeError(int status, std::string_view body, const ErrorHeaders& headers) {
  ApiError e;
  e.origin = kSelf;
  e.status = status;
  e.cls = ErrorClassForStatus(status);
  e.retry_after = headers.retry_after;
  e.retry_after_ms = headers.retry_after_ms;
  if (headers.should_retry == "true") e.should_retry = true;
  if (headers.should_retry == "false") e.should_retry = false;
  e.request_id = headers.request_id;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_array() && v.get_array().size() == 1) {  // a non-SSE stream's error
    json::value first = v.get_array()[0];
    v = std::move(first);
  }
  const json::object* err = nullptr;
  if (!ec && v.is_object()) {
    if (const auto* inner = v.get_object().if_contains("error"); inner && inner->is_object()) {
      err = &inner->get_object();
    }
  }
  if (err == nullptr) {
    e.message = "upstream error (HTTP " + std::to_string(status) + ")";
    return e;
  }
  if (const auto* m = err->if_contains("message"); m && m->is_string()) {
    e.message = std::string(m->get_string());
  }
  if (const auto* s = err->if_contains("status"); s && s->is_string()) {
    e.type = std::string(s->get_string());
    e.cls = ClassForStatusName(e.type, status);
  }
  if (const auto* d = err->if_contains("details"); d && d->is_array()) {
    for (const auto& detail : d->get_array()) {
      if (!detail.is_object()) continue;
      const json::object& o = detail.get_object();
      const auto* type = o.if_contains("@type");
      if (type == nullptr || !type->is_string()) continue;
      const std::string_view t = type->get_string();
      if (t.ends_with("google.rpc.RetryInfo") && e.retry_after.empty()) {
        if (const auto* delay = o.if_contains("retryDelay"); delay && delay->is_string()) {
          e.retry_after = RetryDelaySeconds(delay->get_string());
        }
      } else if (t.ends_with("google.rpc.ErrorInfo")) {
        if (const auto* reason = o.if_contains("reason"); reason && reason->is_string()) {
          // An invalid key comes as 400 INVALID_ARGUMENT; other SDKs expect 401.
          if (reason->get_string() == "API_KEY_INVALID") e.cls = ErrorClass::kAuthentication;
        }
      }
    }
  }
  return e;
}

std::string ErrorBody(const ApiError& error) {
  const ErrorMapping& m = ErrorMappingFor(error.cls);
  const bool same = error.origin == kSelf;
  int status = (error.cls == ErrorClass::kOther || same) ? error.status : m.gemini_status;
  if (status < 400 || status > 599) status = 502;
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Key("error");
  w.BeginObject();
  w.Int("code", status);
  w.Str("message", error.message);
  w.Str("status", same && !error.type.empty() ? std::string_view(error.type)
                                              : m.gemini_status_name);
  if (!error.retry_after.empty() &&
      error.retry_after.find_first_not_of("0123456789") == std::string::npos) {
    w.Key("details");
    w.BeginArray();
    w.BeginObject();
    w.Str("@type", "type.googleapis.com/google.rpc.RetryInfo");
    w.Str("retryDelay", error.retry_after + "s");
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
  return out;
}

HttpError EncodeError(const ApiError& error) {
  const ErrorMapping& m = ErrorMappingFor(error.cls);
  HttpError out;
  out.status = (error.cls == ErrorClass::kOther || error.origin == kSelf) ? error.status
                                                                           : m.gemini_status;
  if (out.status < 400 || out.status > 599) out.status = 502;
  out.body = ErrorBody(error);
  if (!error.retry_after.empty()) out.headers.emplace_back("retry-after", error.retry_after);
  return out;
}

}  // namespace meridian::dialect::gemini

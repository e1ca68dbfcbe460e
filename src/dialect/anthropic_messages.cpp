#include "dialect/anthropic_messages.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace meridian::dialect::anthropic {

namespace json = boost::json;
using detail::JsonWriter;
using detail::Path;
using detail::Reader;

namespace {

constexpr Dialect kSelf = Dialect::kAnthropicMessages;

// ---- request decoding --------------------------------------------------------------------

std::optional<CacheControl> ReadCache(Reader& r, const json::object& o, const Path& p) {
  const json::value* v = Reader::Get(o, "cache_control");
  if (v == nullptr) return std::nullopt;
  const Path cp = p.Member("cache_control");
  const json::object* c = r.Object(*v, cp);
  if (c == nullptr) return std::nullopt;
  const std::string_view type = r.ReqString(*c, "type", cp);
  if (r.ok() && type != "ephemeral") r.Fail(cp.Member("type"), "must be 'ephemeral'");
  CacheControl cache;
  if (auto ttl = r.OptString(*c, "ttl", cp)) cache.ttl = *ttl;
  return cache;
}

// Official block types the model does not cover: kept whole (kOpaque).
bool OpaqueBlock(std::string_view type) {
  static constexpr std::string_view kTypes[] = {
      "search_result", "container_upload", "server_tool_use", "web_search_tool_result",
      "web_fetch_tool_result", "code_execution_tool_result",
      "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
      "tool_search_tool_result", "mcp_tool_use", "mcp_tool_result", "compaction"};
  for (std::string_view t : kTypes) {
    if (t == type) return true;
  }
  return false;
}

// A media source (image or document) into `part`; false when the block must stay opaque.
bool ReadSource(Reader& r, const json::object& block, const Path& p, bool document,
                ContentPart& part) {
  const Path sp = p.Member("source");
  const json::value* sv = Reader::Get(block, "source");
  if (sv == nullptr) {
    r.Fail(sp, "missing");
    return true;
  }
  const json::object* s = r.Object(*sv, sp);
  if (s == nullptr) return true;
  const std::string_view type = r.ReqString(*s, "type", sp);
  if (!r.ok()) return true;
  if (type == "base64") {
    part.source = SourceKind::kBase64;
    part.media_type = r.ReqString(*s, "media_type", sp);
    part.data = r.ReqString(*s, "data", sp);
  } else if (type == "url") {
    part.source = SourceKind::kUrl;
    part.data = r.ReqString(*s, "url", sp);
  } else if (type == "file") {
    part.source = SourceKind::kFileId;
    part.data = r.ReqString(*s, "file_id", sp);
  } else if (type == "text" && document) {
    part.source = SourceKind::kText;
    part.media_type = r.OptString(*s, "media_type", sp).value_or("text/plain");
    part.text = r.ReqString(*s, "data", sp);
  } else if (type == "content" && document) {
    return false;
  } else {
    r.Fail(sp.Member("type"), "unknown source type '" + std::string(type) + "'");
  }
  return true;
}

void DecodeBlock(Reader& r, const json::value& v, bool assistant, const Path& p,
                 std::vector<ContentPart>& out);

void DecodeToolResultContent(Reader& r, const json::object& block, const Path& p,
                             ContentPart& part) {
  const json::value* c = Reader::Get(block, "content");
  if (c == nullptr) return;
  if (const auto* s = c->if_string()) {
    part.content.push_back(ContentPart::Text(std::string(s->data(), s->size())));
    return;
  }
  const Path cp = p.Member("content");
  const json::array* a = r.Array(*c, cp);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
    DecodeBlock(r, (*a)[i], false, cp.At(i), part.content);
  }
}

void DecodeBlock(Reader& r, const json::value& v, bool assistant, const Path& p,
                 std::vector<ContentPart>& out) {
  const json::object* o = r.Object(v, p);
  if (o == nullptr) return;
  const std::string_view type = r.ReqString(*o, "type", p);
  if (!r.ok()) return;
  ContentPart part;
  if (type == "text") {
    part.kind = PartKind::kText;
    part.text = r.ReqString(*o, "text", p);
    part.cache = ReadCache(r, *o, p);
    detail::CollectExtra(*o, {"type", "text", "cache_control"}, part.extra);
  } else if (type == "image") {
    part.kind = PartKind::kImage;
    ReadSource(r, *o, p, false, part);
    part.cache = ReadCache(r, *o, p);
    detail::CollectExtra(*o, {"type", "source", "cache_control"}, part.extra);
  } else if (type == "document") {
    part.kind = PartKind::kDocument;
    if (!ReadSource(r, *o, p, true, part)) {
      part = ContentPart{};
      part.kind = PartKind::kOpaque;
      part.raw = detail::Copy(v);
    } else {
      if (auto title = r.OptString(*o, "title", p)) part.name = *title;
      part.cache = ReadCache(r, *o, p);
      detail::CollectExtra(*o, {"type", "source", "title", "cache_control"}, part.extra);
    }
  } else if (type == "tool_use") {
    part.kind = PartKind::kToolUse;
    part.id = r.ReqString(*o, "id", p);
    part.name = r.ReqString(*o, "name", p);
    const json::value* input = Reader::Get(*o, "input");
    if (input == nullptr) {
      part.arguments = "{}";
    } else if (r.Object(*input, p.Member("input")) != nullptr) {
      part.arguments = detail::Serialize(*input);
    }
    part.cache = ReadCache(r, *o, p);
    detail::CollectExtra(*o, {"type", "id", "name", "input", "cache_control"}, part.extra);
  } else if (type == "tool_result") {
    part.kind = PartKind::kToolResult;
    part.id = r.ReqString(*o, "tool_use_id", p);
    DecodeToolResultContent(r, *o, p, part);
    part.is_error = r.OptBool(*o, "is_error", p).value_or(false);
    part.cache = ReadCache(r, *o, p);
    detail::CollectExtra(*o, {"type", "tool_use_id", "content", "is_error", "cache_control"},
                         part.extra);
  } else if (type == "thinking") {
    part.kind = PartKind::kThinking;
    part.text = r.ReqString(*o, "thinking", p);
    if (auto sig = r.OptString(*o, "signature", p)) part.signature = *sig;
    detail::CollectExtra(*o, {"type", "thinking", "signature"}, part.extra);
  } else if (type == "redacted_thinking") {
    part.kind = PartKind::kRedactedThinking;
    part.signature = r.ReqString(*o, "data", p);
    detail::CollectExtra(*o, {"type", "data"}, part.extra);
  } else if (OpaqueBlock(type)) {
    part.kind = PartKind::kOpaque;
    part.raw = detail::Copy(v);
  } else {
    r.Fail(p.Member("type"), "unknown content block '" + std::string(type) + "'");
    return;
  }
  const bool assistant_only = part.kind == PartKind::kToolUse ||
                              part.kind == PartKind::kThinking ||
                              part.kind == PartKind::kRedactedThinking;
  if (assistant_only && !assistant) {
    r.Fail(p.Member("type"), "'" + std::string(type) + "' blocks belong in assistant messages");
    return;
  }
  if (part.kind == PartKind::kToolResult && assistant) {
    r.Fail(p.Member("type"), "'tool_result' blocks belong in user messages");
    return;
  }
  out.push_back(std::move(part));
}

// One Anthropic message → canonical messages: a user message's tool_result blocks become
// kTool messages (one each), the blocks between them user messages, in order.
void DecodeMessage(Reader& r, const json::value& v, const Path& mp, int index,
                   std::vector<Message>& out) {
  const json::object* m = r.Object(v, mp);
  if (m == nullptr) return;
  const std::string_view role = r.ReqString(*m, "role", mp);
  if (!r.ok()) return;
  if (role != "user" && role != "assistant") {
    r.Fail(mp.Member("role"), "must be 'user' or 'assistant'");
    return;
  }
  const bool assistant = role == "assistant";
  json::object extra;
  detail::CollectExtra(*m, {"role", "content"}, extra);
  const json::value* c = Reader::Get(*m, "content");
  const Path cp = mp.Member("content");
  if (c == nullptr) {
    r.Fail(cp, "missing");
    return;
  }
  Message msg;
  msg.role = assistant ? Role::kAssistant : Role::kUser;
  msg.source = index;
  msg.extra = extra;
  if (const auto* s = c->if_string()) {
    msg.content.push_back(ContentPart::Text(std::string(s->data(), s->size())));
    out.push_back(std::move(msg));
    return;
  }
  const json::array* a = r.Array(*c, cp);
  if (a == nullptr) return;
  std::vector<ContentPart> parts;
  parts.reserve(a->size());
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
    DecodeBlock(r, (*a)[i], assistant, cp.At(i), parts);
  }
  if (!r.ok()) return;
  if (assistant) {
    msg.content = std::move(parts);
    out.push_back(std::move(msg));
    return;
  }
  bool any_result = false;
  for (const auto& p : parts) any_result |= p.kind == PartKind::kToolResult;
  if (!any_result) {
    msg.content = std::move(parts);
    out.push_back(std::move(msg));
    return;
  }
  Message run;
  run.role = Role::kUser;
  run.source = index;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].kind == PartKind::kToolResult) {
      if (!run.content.empty()) {
        out.push_back(std::move(run));
        run = Message{};
        run.role = Role::kUser;
        run.source = index;
      }
      Message tool;
      tool.role = Role::kTool;
      tool.source = index;
      tool.source_offset = static_cast<int>(i);
      tool.content.push_back(std::move(parts[i]));
      out.push_back(std::move(tool));
    } else {
      if (run.content.empty()) run.source_offset = static_cast<int>(i);
      run.content.push_back(std::move(parts[i]));
    }
  }
  if (!run.content.empty()) out.push_back(std::move(run));
  if (!extra.empty()) out.back().extra = extra;
}

void DecodeSystem(Reader& r, const json::value& v, const Path& p, std::vector<Message>& out) {
  Message sys;
  sys.role = Role::kSystem;
  sys.source = -1;
  if (const auto* s = v.if_string()) {
    sys.content.push_back(ContentPart::Text(std::string(s->data(), s->size())));
  } else if (const json::array* a = r.Array(v, p)) {
    for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
      const Path bp = p.At(i);
      const json::object* o = r.Object((*a)[i], bp);
      if (o == nullptr) return;
      const std::string_view type = r.ReqString(*o, "type", bp);
      if (r.ok() && type != "text") {
        r.Fail(bp.Member("type"), "system blocks must be 'text'");
        return;
      }
      DecodeBlock(r, (*a)[i], false, bp, sys.content);
    }
  }
  out.push_back(std::move(sys));
}

void DecodeTools(Reader& r, const json::value& v, const Path& p, std::vector<Tool>& out) {
  const json::array* a = r.Array(v, p);
  if (a == nullptr) return;
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
    const Path tp = p.At(i);
    const json::object* o = r.Object((*a)[i], tp);
    if (o == nullptr) return;
    Tool tool;
    auto type = r.OptString(*o, "type", tp);
    if (type && *type != "custom") {  // a server or client tool of Anthropic's own
      tool.raw = detail::Copy((*a)[i]);
      out.push_back(std::move(tool));
      continue;
    }
    tool.name = r.ReqString(*o, "name", tp);
    if (auto d = r.OptString(*o, "description", tp)) tool.description = *d;
    const json::value* schema = Reader::Get(*o, "input_schema");
    if (schema == nullptr) {
      r.Fail(tp.Member("input_schema"), "missing");
      return;
    }
    if (r.Object(*schema, tp.Member("input_schema")) != nullptr) {
      tool.parameters.emplace(*schema, json::storage_ptr());
    }
    tool.strict = r.OptBool(*o, "strict", tp);
    tool.cache = ReadCache(r, *o, tp);
    detail::CollectExtra(*o, {"type", "name", "description", "input_schema", "strict",
                              "cache_control"},
                         tool.extra);
    if (type) tool.extra["type"] = "custom";
    out.push_back(std::move(tool));
  }
}

void DecodeToolChoice(Reader& r, const json::value& v, const Path& p, ChatRequest& req) {
  const json::object* o = r.Object(v, p);
  if (o == nullptr) return;
  const std::string_view type = r.ReqString(*o, "type", p);
  if (!r.ok()) return;
  ToolChoice& c = req.tool_choice;
  if (type == "auto") c.mode = ToolChoice::Mode::kAuto;
  else if (type == "any") c.mode = ToolChoice::Mode::kRequired;
  else if (type == "none") c.mode = ToolChoice::Mode::kNone;
  else if (type == "tool") {
    c.mode = ToolChoice::Mode::kTool;
    c.name = r.ReqString(*o, "name", p);
  } else {
    r.Fail(p.Member("type"), "unknown tool_choice type '" + std::string(type) + "'");
    return;
  }
  if (auto d = r.OptBool(*o, "disable_parallel_tool_use", p)) req.parallel_tool_calls = !*d;
}

void DecodeFormat(Reader& r, const json::value& v, const Path& p, ChatRequest& req) {
  const json::object* o = r.Object(v, p);
  if (o == nullptr) return;
  const std::string_view type = r.ReqString(*o, "type", p);
  if (!r.ok()) return;
  if (type != "json_schema") {
    r.Fail(p.Member("type"), "unknown format type '" + std::string(type) + "'");
    return;
  }
  ResponseFormat f;
  f.type = ResponseFormat::Type::kJsonSchema;
  if (const json::value* schema = Reader::Get(*o, "schema")) f.schema = *schema;
  f.strict = true;  // Anthropic's output format is always enforced
  req.response_format = std::move(f);
}

// ---- request encoding --------------------------------------------------------------------

bool ValidToolId(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Anthropic tool ids match ^[a-zA-Z0-9_-]+$; other characters become '_' (the same rule for
// the tool_use and its tool_result, so pairs still match). docs/dialects.md.
std::string ToolId(std::string_view id) {
  if (ValidToolId(id)) return std::string(id);
  std::string out(id);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (out.empty()) out = "_";
  return out;
}

bool SupportedImageType(std::string_view t) {
  return t == "image/jpeg" || t == "image/png" || t == "image/gif" || t == "image/webp";
}

std::string TopField(Dialect origin, std::string_view canonical) {
  if (origin == Dialect::kOpenAiChat) {
    if (canonical == "reasoning") return "reasoning_effort";
    if (canonical == "max_tokens") return "max_completion_tokens";
  }
  if (origin == Dialect::kGemini) return detail::GeminiField(canonical);
  return std::string(canonical);
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
  std::string MsgPath(const Message& m, std::size_t i) const {
    if (req.origin == Dialect::kGemini) return detail::GeminiMessagePath(m);
    if (m.source < 0) {
      return req.origin == kSelf ? "system" : "messages[" + std::to_string(i) + "]";
    }
    return "messages[" + std::to_string(m.source) + "]";
  }
  std::string PartPath(const Message& m, std::size_t i, std::size_t j) const {
    if (req.origin == Dialect::kGemini) return detail::GeminiPartPath(m, j);
    if (req.origin == Dialect::kOpenAiChat) {
      const ContentPart& p = m.content[j];
      if (m.role == Role::kAssistant && p.kind == PartKind::kToolUse) {
        std::size_t k = 0;
        for (std::size_t x = 0; x < j; ++x) k += m.content[x].kind == PartKind::kToolUse;
        return MsgPath(m, i) + ".tool_calls[" + std::to_string(k) + "]";
      }
      if (p.kind == PartKind::kRefusal) return MsgPath(m, i) + ".refusal";
      if (m.role == Role::kTool) return MsgPath(m, i) + ".content";
    }
    if (m.source < 0 && req.origin == kSelf) return "system[" + std::to_string(j) + "]";
    return MsgPath(m, i) + ".content[" + std::to_string(m.source_offset + j) + "]";
  }

  void Cache(const std::optional<CacheControl>& cache) {
    if (!cache) return;
    w.Key("cache_control");
    w.BeginObject();
    w.Str("type", "ephemeral");
    if (!cache->ttl.empty()) w.Str("ttl", cache->ttl);
    w.EndObject();
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

  static bool PlainText(const std::vector<ContentPart>& parts) {
    return parts.size() == 1 && parts[0].kind == PartKind::kText && !parts[0].cache &&
           parts[0].extra.empty();
  }

  void Source(const ContentPart& p, const std::string& path, bool document) {
    w.Key("source");
    w.BeginObject();
    switch (p.source) {
      case SourceKind::kBase64: {
        w.Str("type", "base64");
        std::string_view mt = p.media_type;
        if (document && mt.empty()) mt = "application/pdf";  // OpenAI file inputs are PDFs
        if (mt == "image/jpg") mt = "image/jpeg";  // a common misspelling in data URLs
        if (!document && !SupportedImageType(mt)) {
          FailAt(path, "image type '" + std::string(mt) + "' is " + detail::Unsupported(kSelf) +
                           " (image/jpeg, image/png, image/gif, image/webp)");
        }
        w.Str("media_type", mt);
        w.Str("data", p.data);
        break;
      }
      case SourceKind::kUrl:
        w.Str("type", "url");
        w.Str("url", p.data);
        break;
      case SourceKind::kFileId:
        if (foreign()) FailAt(path, "file references are " + detail::Unsupported(kSelf));
        w.Str("type", "file");
        w.Str("file_id", p.data);
        break;
      case SourceKind::kText:
        w.Str("type", "text");
        w.Str("media_type", p.media_type.empty() ? std::string_view("text/plain")
                                                 : std::string_view(p.media_type));
        w.Str("data", p.text);
        break;
      case SourceKind::kNone: FailAt(path, "missing source"); break;
    }
    w.EndObject();
  }

  void Block(const ContentPart& p, const std::string& path) {
    switch (p.kind) {
      case PartKind::kText:
        w.BeginObject();
        w.Str("type", "text");
        w.Str("text", p.text);
        Cache(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      case PartKind::kRefusal:  // an OpenAI refusal in the history is what the model said
        w.BeginObject();
        w.Str("type", "text");
        w.Str("text", p.text);
        w.EndObject();
        return;
      case PartKind::kImage:
        w.BeginObject();
        w.Str("type", "image");
        Source(p, path, false);
        Cache(p.cache);  // image_url.detail has no Anthropic form: dropped (docs/dialects.md)
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      case PartKind::kDocument:
        w.BeginObject();
        w.Str("type", "document");
        Source(p, path, true);
        if (!p.name.empty()) w.Str("title", p.name);
        Cache(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      case PartKind::kToolUse: {
        w.BeginObject();
        w.Str("type", "tool_use");
        w.Str("id", ToolId(p.id));
        w.Str("name", p.name);
        w.Key("input");
        if (p.arguments.empty()) {
          w.Raw("{}");
        } else if (!foreign()) {
          w.Raw(p.arguments);  // decoded from an object: valid JSON already
        } else {
          boost::system::error_code ec;
          json::value input = json::parse(p.arguments, ec);
          if (ec || !input.is_object()) {
            FailAt(path + ".function.arguments", "must be a JSON object to be " +
                                                     std::string("sent to ") +
                                                     std::string(DialectTitle(kSelf)));
            w.Raw("{}");
          } else {
            w.Value(input);
          }
        }
        Cache(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      }
      case PartKind::kThinking:
        // Gemini thought parts are signed for Gemini: meaningless here (rule D4).
        if (req.origin == Dialect::kGemini) return;
        w.BeginObject();
        w.Str("type", "thinking");
        w.Str("thinking", p.text);
        w.Str("signature", p.signature);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      case PartKind::kRedactedThinking:
        w.BeginObject();
        w.Str("type", "redacted_thinking");
        w.Str("data", p.signature);
        w.EndObject();
        return;
      case PartKind::kToolResult: {
        w.BeginObject();
        w.Str("type", "tool_result");
        w.Str("tool_use_id", ToolId(p.id));
        if (PlainText(p.content)) {
          w.Str("content", p.content[0].text);
        } else if (!p.content.empty()) {
          w.Key("content");
          w.BeginArray();
          for (std::size_t k = 0; k < p.content.size() && r.ok(); ++k) {
            Block(p.content[k], path + "[" + std::to_string(k) + "]");
          }
          w.EndArray();
        }
        if (p.is_error) {
          w.Key("is_error");
          w.Bool(true);
        }
        Cache(p.cache);
        Extras(p.extra, detail::ExtraScope::kPart, path);
        w.EndObject();
        return;
      }
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
    // One system message of one plain text → a string; otherwise text blocks.
    if (count == 1 && PlainText(req.messages[0].content) && req.messages[0].extra.empty()) {
      w.Str("system", req.messages[0].content[0].text);
      return;
    }
    w.Key("system");
    w.BeginArray();
    for (std::size_t i = 0; i < count && r.ok(); ++i) {
      const Message& m = req.messages[i];
      Extras(m.extra, detail::ExtraScope::kMessage, MsgPath(m, i));
      for (std::size_t j = 0; j < m.content.size() && r.ok(); ++j) {
        const ContentPart& p = m.content[j];
        if (p.kind != PartKind::kText) {
          FailAt(PartPath(m, i, j), "system content must be text in " +
                                        std::string(DialectTitle(kSelf)));
          break;
        }
        Block(p, PartPath(m, i, j));
      }
    }
    w.EndArray();
  }

  void Messages(std::size_t first) {
    const auto& msgs = req.messages;
    w.Key("messages");
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
      w.Str("role", m.role == Role::kAssistant ? "assistant" : "user");
      if (m.role == Role::kTool) {
        // Consecutive tool results, and a user message right after them, form one user turn.
        // Their messages' members follow the content array (they are members of the turn).
        const std::size_t turn = i;
        w.Key("content");
        w.BeginArray();
        while (i < msgs.size() && msgs[i].role == Role::kTool && r.ok()) {
          const Message& t = msgs[i];
          for (std::size_t j = 0; j < t.content.size(); ++j) Block(t.content[j], PartPath(t, i, j));
          ++i;
        }
        if (i < msgs.size() && msgs[i].role == Role::kUser && r.ok()) {
          const Message& u = msgs[i];
          for (std::size_t j = 0; j < u.content.size() && r.ok(); ++j) {
            Block(u.content[j], PartPath(u, i, j));
          }
          ++i;
        }
        w.EndArray();
        for (std::size_t k = turn; k < i && r.ok(); ++k) {
          Extras(msgs[k].extra, detail::ExtraScope::kMessage, MsgPath(msgs[k], k));
        }
        w.EndObject();
        continue;
      }
      if (PlainText(m.content)) {
        w.Str("content", m.content[0].text);
      } else {
        w.Key("content");
        w.BeginArray();
        for (std::size_t j = 0; j < m.content.size() && r.ok(); ++j) {
          const ContentPart& p = m.content[j];
          if (m.role == Role::kUser &&
              (p.kind == PartKind::kToolUse || p.kind == PartKind::kThinking)) {
            FailAt(PartPath(m, i, j), "tool calls belong in assistant messages");
            break;
          }
          Block(p, PartPath(m, i, j));
        }
        w.EndArray();
      }
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
    for (std::size_t i = 0; i < req.tools.size() && r.ok(); ++i) {
      const Tool& t = req.tools[i];
      const std::string path = req.origin == Dialect::kGemini ? detail::GeminiToolPath(t, i)
                                                              : "tools[" + std::to_string(i) + "]";
      if (!t.raw.is_null()) {
        if (req.origin == Dialect::kGemini) {
          FailAt(path, "this tool is " + detail::Unsupported(kSelf));
          return;
        }
        if (foreign()) {
          FailAt(path + ".type", "this tool type is " + detail::Unsupported(kSelf));
          return;
        }
        w.Value(t.raw);
        continue;
      }
      w.BeginObject();
      if (!foreign()) {
        if (const auto* ty = t.extra.if_contains("type")) {
          w.Key("type");
          w.Value(*ty);
        }
      }
      w.Str("name", t.name);
      if (!t.description.empty()) w.Str("description", t.description);
      w.Key("input_schema");
      if (t.parameters) {
        w.Value(*t.parameters);
      } else {
        w.Raw(R"({"type":"object","properties":{}})");
      }
      if (t.strict) {
        w.Key("strict");
        w.Bool(*t.strict);
      }
      Cache(t.cache);
      if (!foreign()) {
        for (const auto& kv : t.extra) {
          if (kv.key() == "type") continue;
          w.Key(kv.key());
          w.Value(kv.value());
        }
      } else {
        Extras(t.extra, detail::ExtraScope::kTool,
               req.origin == Dialect::kGemini ? path : path + ".function");
      }
      w.EndObject();
    }
    w.EndArray();
  }

  void ToolChoiceField() {
    const ToolChoice& c = req.tool_choice;
    if (!c.raw.is_null()) {
      FailAt(TopField(req.origin, "tool_choice"), detail::Unsupported(kSelf));
      return;
    }
    ToolChoice::Mode mode = c.mode;
    const std::optional<bool>& parallel = req.parallel_tool_calls;
    if (mode == ToolChoice::Mode::kUnset) {
      // parallel_tool_calls: false needs a tool_choice to carry disable_parallel_tool_use.
      if (parallel && !*parallel && !req.tools.empty()) mode = ToolChoice::Mode::kAuto;
      else return;
    }
    w.Key("tool_choice");
    w.BeginObject();
    switch (mode) {
      case ToolChoice::Mode::kAuto: w.Str("type", "auto"); break;
      case ToolChoice::Mode::kRequired: w.Str("type", "any"); break;
      case ToolChoice::Mode::kNone: w.Str("type", "none"); break;
      case ToolChoice::Mode::kTool:
        w.Str("type", "tool");
        w.Str("name", c.name);
        break;
      case ToolChoice::Mode::kUnset: break;
    }
    // With "none" no tool is called: the parallel setting has nothing to act on.
    if (parallel && mode != ToolChoice::Mode::kNone && (!foreign() || !*parallel)) {
      w.Key("disable_parallel_tool_use");
      w.Bool(!*parallel);
    }
    w.EndObject();
  }

  // thinking + output_config (effort, format).
  void ReasoningAndFormat(std::int64_t max_tokens) {
    const Reasoning& rs = req.reasoning;
    std::string effort = rs.effort;
    Reasoning::Thinking thinking = rs.thinking;
    std::optional<std::int64_t> budget = rs.budget_tokens;
    if (foreign() && !effort.empty()) {
      // OpenAI reasoning_effort (docs/dialects.md, "Reasoning").
      if (effort == "none") {
        thinking = Reasoning::Thinking::kDisabled;
        effort.clear();
      } else {
        if (effort == "minimal") effort = "low";
        if (effort != "low" && effort != "medium" && effort != "high" && effort != "xhigh" &&
            effort != "max") {
          FailAt(TopField(req.origin, "reasoning"),
                 "'" + rs.effort + "' is " + detail::Unsupported(kSelf));
          return;
        }
        if (opt.effort_as_budget) {
          std::int64_t b = effort == "low" ? 2048 : effort == "medium" ? 8192
                           : effort == "high" ? 16384 : effort == "xhigh" ? 32768 : 65536;
          if (rs.effort == "minimal") b = 1024;
          b = std::min(b, max_tokens - 1);
          if (b < 1024) {
            FailAt(TopField(req.origin, "reasoning"),
                   "needs an output limit above 1024 tokens in " +
                       std::string(DialectTitle(kSelf)));
            return;
          }
          thinking = Reasoning::Thinking::kEnabled;
          budget = b;
          effort.clear();
        } else {
          thinking = Reasoning::Thinking::kAdaptive;
        }
      }
    }
    if (thinking != Reasoning::Thinking::kUnset) {
      w.Key("thinking");
      w.BeginObject();
      switch (thinking) {
        case Reasoning::Thinking::kEnabled:
          w.Str("type", "enabled");
          w.Int("budget_tokens", budget.value_or(1024));
          break;
        case Reasoning::Thinking::kDisabled: w.Str("type", "disabled"); break;
        case Reasoning::Thinking::kAdaptive: w.Str("type", "adaptive"); break;
        case Reasoning::Thinking::kUnset: break;
      }
      if (!rs.display.empty()) w.Str("display", rs.display);
      w.EndObject();
    }
    const auto& fmt = req.response_format;
    const bool schema = fmt && fmt->type == ResponseFormat::Type::kJsonSchema;
    if (fmt && fmt->type == ResponseFormat::Type::kJsonObject) {
      FailAt(TopField(req.origin, "response_format.type"),
             "'json_object' (JSON without a schema) is " + detail::Unsupported(kSelf) +
                 "; use 'json_schema'");
      return;
    }
    if (schema && !fmt->description.empty()) {
      FailAt(TopField(req.origin, "response_format.json_schema.description"),
             detail::Unsupported(kSelf));
      return;
    }
    const json::value* leftover = foreign() ? nullptr : req.extra.if_contains("output_config");
    if (effort.empty() && !schema && leftover == nullptr) return;
    w.Key("output_config");
    w.BeginObject();
    if (!effort.empty()) w.Str("effort", effort);
    if (schema) {
      w.Key("format");
      w.BeginObject();
      w.Str("type", "json_schema");
      w.Key("schema");
      w.Value(fmt->schema);
      w.EndObject();
    }
    if (leftover != nullptr && leftover->is_object()) w.Members(leftover->get_object());
    w.EndObject();
  }

  void Run() {
    const auto& msgs = req.messages;
    std::size_t system_count = 0;
    while (system_count < msgs.size() && (msgs[system_count].role == Role::kSystem ||
                                          msgs[system_count].role == Role::kDeveloper)) {
      ++system_count;
    }
    const std::int64_t max_tokens = req.max_tokens.value_or(opt.default_max_tokens);
    w.BeginObject();
    w.Str("model", req.model);
    w.Int("max_tokens", max_tokens);
    if (system_count > 0) System(system_count);
    Messages(system_count);
    if (!r.ok()) return;
    Tools();
    ToolChoiceField();
    ReasoningAndFormat(max_tokens);
    if (req.temperature) {
      if (foreign() && (*req.temperature < 0 || *req.temperature > 1)) {
        FailAt(TopField(req.origin, "temperature"), "values above 1 are " + detail::Unsupported(kSelf) + " (range 0..1)");
      }
      w.Key("temperature");
      w.Double(*req.temperature);
    }
    if (req.top_p) {
      w.Key("top_p");
      w.Double(*req.top_p);
    }
    if (req.top_k) w.Int("top_k", *req.top_k);
    if (!req.stop.empty()) {
      w.Key("stop_sequences");
      w.BeginArray();
      for (const auto& s : req.stop) w.String(s);
      w.EndArray();
    }
    if (req.seed) FailAt(TopField(req.origin, "seed"), detail::Unsupported(kSelf));
    if (req.stream) {
      w.Key("stream");
      w.Bool(true);
    }
    std::string_view user = req.user;
    if (user.empty() && foreign()) {
      if (const auto* s = req.extra.if_contains("safety_identifier"); s && s->is_string()) {
        user = s->get_string();
      }
    }
    if (!user.empty()) {
      w.Key("metadata");
      w.BeginObject();
      w.Str("user_id", user);
      w.EndObject();
    }
    if (!req.service_tier.empty()) {
      if (!foreign()) {
        w.Str("service_tier", req.service_tier);
      } else if (req.service_tier == "auto") {
        w.Str("service_tier", "auto");
      } else if (req.service_tier == "default") {
        w.Str("service_tier", "standard_only");
      } else {
        FailAt("service_tier", "'" + req.service_tier + "' is " + detail::Unsupported(kSelf));
      }
    }
    if (!foreign()) {
      for (const auto& kv : req.extra) {
        if (kv.key() == "output_config") continue;
        w.Key(kv.key());
        w.Value(kv.value());
      }
    } else {
      json::object rest;
      for (const auto& kv : req.extra) {
        if (kv.key() == "safety_identifier" && req.user.empty()) continue;
        if (kv.key() == "safety_identifier" && kv.value().is_string() &&
            kv.value().get_string() == req.user) {
          continue;
        }
        rest[kv.key()] = kv.value();
      }
      Extras(rest, detail::ExtraScope::kRequest, "");
    }
    w.EndObject();
  }
};

}  // namespace

core::Result<ChatRequest> DecodeRequest(const json::object& body) {
  Reader r;
  ChatRequest req;
  req.origin = kSelf;
  const Path root;
  req.model = r.ReqString(body, "model", root);
  if (const json::value* mt = Reader::Get(body, "max_tokens")) {
    req.max_tokens = r.Int(*mt, root.Member("max_tokens"));
  } else {
    r.Fail(root.Member("max_tokens"), "missing");
  }
  if (const json::value* s = Reader::Get(body, "system")) {
    DecodeSystem(r, *s, root.Member("system"), req.messages);
  }
  const json::value* msgs = Reader::Get(body, "messages");
  if (msgs == nullptr) {
    r.Fail(root.Member("messages"), "missing");
  } else if (const json::array* a = r.Array(*msgs, root.Member("messages"))) {
    req.messages.reserve(req.messages.size() + a->size());
    const Path mp = root.Member("messages");
    for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
      DecodeMessage(r, (*a)[i], mp.At(i), static_cast<int>(i), req.messages);
    }
  }
  if (const json::value* v = Reader::Get(body, "tools")) {
    DecodeTools(r, *v, root.Member("tools"), req.tools);
  }
  if (const json::value* v = Reader::Get(body, "tool_choice")) {
    DecodeToolChoice(r, *v, root.Member("tool_choice"), req);
  }
  req.temperature = r.OptNumber(body, "temperature", root);
  req.top_p = r.OptNumber(body, "top_p", root);
  req.top_k = r.OptInt(body, "top_k", root);
  if (const json::value* v = Reader::Get(body, "stop_sequences")) {
    if (const json::array* a = r.Array(*v, root.Member("stop_sequences"))) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        req.stop.emplace_back(r.String((*a)[i], root.Member("stop_sequences").At(i)));
      }
    }
  }
  req.stream = r.OptBool(body, "stream", root).value_or(false);
  if (req.stream) req.stream_include_usage = true;  // Anthropic streams always report usage
  if (const json::value* v = Reader::Get(body, "metadata")) {
    if (const json::object* m = r.Object(*v, root.Member("metadata"))) {
      if (auto u = r.OptString(*m, "user_id", root.Member("metadata"))) req.user = *u;
      json::object rest;
      detail::CollectExtra(*m, {"user_id"}, rest);
      if (!rest.empty()) req.extra["metadata"] = std::move(rest);
    }
  }
  if (const json::value* v = Reader::Get(body, "thinking")) {
    const Path tp = root.Member("thinking");
    if (const json::object* t = r.Object(*v, tp)) {
      const std::string_view type = r.ReqString(*t, "type", tp);
      if (type == "enabled") {
        req.reasoning.thinking = Reasoning::Thinking::kEnabled;
        req.reasoning.budget_tokens = r.OptInt(*t, "budget_tokens", tp);
        if (!req.reasoning.budget_tokens) r.Fail(tp.Member("budget_tokens"), "missing");
      } else if (type == "disabled") {
        req.reasoning.thinking = Reasoning::Thinking::kDisabled;
      } else if (type == "adaptive") {
        req.reasoning.thinking = Reasoning::Thinking::kAdaptive;
      } else if (r.ok()) {
        r.Fail(tp.Member("type"), "unknown thinking type '" + std::string(type) + "'");
      }
      if (auto d = r.OptString(*t, "display", tp)) req.reasoning.display = *d;
    }
  }
  if (const json::value* v = Reader::Get(body, "output_config")) {
    const Path op = root.Member("output_config");
    if (const json::object* o = r.Object(*v, op)) {
      if (auto e = r.OptString(*o, "effort", op)) req.reasoning.effort = *e;
      if (const json::value* f = Reader::Get(*o, "format")) {
        DecodeFormat(r, *f, op.Member("format"), req);
      }
      json::object rest;
      detail::CollectExtra(*o, {"effort", "format"}, rest);
      if (!rest.empty()) req.extra["output_config"] = std::move(rest);
    }
  }
  if (const json::value* f = Reader::Get(body, "output_format")) {  // deprecated beta name
    if (!req.response_format) DecodeFormat(r, *f, root.Member("output_format"), req);
  }
  if (auto t = r.OptString(body, "service_tier", root)) req.service_tier = *t;
  detail::CollectExtra(body,
                       {"model", "max_tokens", "system", "messages", "tools", "tool_choice",
                        "temperature", "top_p", "top_k", "stop_sequences", "stream", "metadata",
                        "thinking", "output_config", "output_format", "service_tier"},
                       req.extra);
  if (!r.ok()) return std::unexpected(r.TakeError());
  return req;
}

core::Result<ChatRequest> DecodeRequest(std::string_view body) {
  detail::ScratchObject scratch;
  auto obj = scratch.Parse(body, core::ErrorCode::kInvalidRequest);
  if (!obj) return std::unexpected(std::move(obj.error()));
  return DecodeRequest(**obj);
}

core::Result<std::string> EncodeRequest(const ChatRequest& request, const EncodeOptions& options) {
  Encoder e{request, options};
  e.out.reserve(1024);
  e.Run();
  if (!e.r.ok()) return std::unexpected(e.r.TakeError());
  return std::move(e.out);
}

// ---- stop reasons ------------------------------------------------------------------------

std::string_view StopReasonString(FinishReason reason, std::string_view raw) {
  switch (reason) {
    case FinishReason::kStop: return "end_turn";
    case FinishReason::kStopSequence: return "stop_sequence";
    case FinishReason::kLength: return "max_tokens";
    case FinishReason::kToolCalls: return "tool_use";
    case FinishReason::kContentFilter: return "refusal";
    case FinishReason::kPauseTurn: return "pause_turn";
    case FinishReason::kContextExhausted: return "model_context_window_exceeded";
    case FinishReason::kOther: return raw.empty() ? std::string_view("end_turn") : raw;
    case FinishReason::kNone: break;
  }
  return "end_turn";
}

FinishReason ParseStopReason(std::string_view s) {
  if (s == "end_turn") return FinishReason::kStop;
  if (s == "stop_sequence") return FinishReason::kStopSequence;
  if (s == "max_tokens") return FinishReason::kLength;
  if (s == "tool_use") return FinishReason::kToolCalls;
  if (s == "refusal") return FinishReason::kContentFilter;
  if (s == "pause_turn") return FinishReason::kPauseTurn;
  if (s == "model_context_window_exceeded") return FinishReason::kContextExhausted;
  return FinishReason::kOther;
}

// ---- responses ---------------------------------------------------------------------------

// Anthropic usage → canonical (input_tokens there excludes cache reads and writes).
void ReadUsage(Reader& r, const json::object& u, const Path& p, Usage& out, bool partial);
void ReadUsage(Reader& r, const json::object& u, const Path& p, Usage& out, bool partial) {
  auto in = r.OptInt(u, "input_tokens", p);
  auto write = r.OptInt(u, "cache_creation_input_tokens", p);
  auto read = r.OptInt(u, "cache_read_input_tokens", p);
  auto outp = r.OptInt(u, "output_tokens", p);
  if (partial) {
    // message_delta: counts present are cumulative and replace earlier ones.
    const std::int64_t old_read = out.cache_read_tokens.value_or(0);
    const std::int64_t old_write = out.cache_write_tokens.value_or(0);
    std::int64_t uncached = out.input_tokens - old_read - old_write;
    if (in) uncached = *in;
    if (read) out.cache_read_tokens = *read;
    if (write) out.cache_write_tokens = *write;
    out.input_tokens =
        uncached + out.cache_read_tokens.value_or(0) + out.cache_write_tokens.value_or(0);
    if (outp) out.output_tokens = *outp;
    return;
  }
  out.cache_read_tokens = read;
  out.cache_write_tokens = write;
  out.input_tokens = in.value_or(0) + read.value_or(0) + write.value_or(0);
  out.output_tokens = outp.value_or(0);
  detail::CollectExtra(u, {"input_tokens", "cache_creation_input_tokens",
                           "cache_read_input_tokens", "output_tokens", "service_tier"},
                       out.extra);
}

void WriteUsageMembers(JsonWriter& w, const Usage& u, bool same_dialect);
// Canonical → Anthropic counts: input_tokens there excludes cache reads and writes.
void WriteUsageMembers(JsonWriter& w, const Usage& u, bool same_dialect) {
  const std::int64_t read = u.cache_read_tokens.value_or(0);
  const std::int64_t write = u.cache_write_tokens.value_or(0);
  w.Int("input_tokens", std::max<std::int64_t>(0, u.input_tokens - read - write));
  w.Int("cache_creation_input_tokens", write);
  w.Int("cache_read_input_tokens", read);
  w.Int("output_tokens", u.output_tokens);
  if (same_dialect) w.Members(u.extra);
}

core::Result<ChatResponse> DecodeResponse(std::string_view body) {
  detail::ScratchObject scratch;
  auto parsed = scratch.Parse(body, core::ErrorCode::kUpstreamError);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  const json::object& o = **parsed;
  Reader r(core::ErrorCode::kUpstreamError);
  const Path root;
  ChatResponse resp;
  resp.origin = kSelf;
  if (auto type = r.OptString(o, "type", root); type && *type != "message") {
    r.Fail(root.Member("type"), "expected a message");
  }
  if (auto id = r.OptString(o, "id", root)) resp.id = *id;
  if (auto model = r.OptString(o, "model", root)) resp.model = *model;
  if (const json::value* c = Reader::Get(o, "content")) {
    if (const json::array* a = r.Array(*c, root.Member("content"))) {
      for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
        DecodeBlock(r, (*a)[i], true, root.Member("content").At(i), resp.content);
      }
    }
  }
  if (auto sr = r.OptString(o, "stop_reason", root)) {
    resp.finish_reason = ParseStopReason(*sr);
    resp.finish_raw = *sr;
  }
  if (auto ss = r.OptString(o, "stop_sequence", root)) resp.stop_sequence = *ss;
  if (const json::value* u = Reader::Get(o, "usage")) {
    if (const json::object* uo = r.Object(*u, root.Member("usage"))) {
      Usage usage;
      ReadUsage(r, *uo, root.Member("usage"), usage, false);
      resp.usage = usage;
      if (auto t = r.OptString(*uo, "service_tier", root.Member("usage"))) resp.service_tier = *t;
    }
  }
  detail::CollectExtra(o, {"id", "type", "role", "content", "model", "stop_reason",
                           "stop_sequence", "usage"},
                       resp.extra);
  if (!r.ok()) return std::unexpected(r.TakeError());
  return resp;
}

core::Result<std::string> EncodeResponse(const ChatResponse& resp) {
  const bool foreign = resp.origin != kSelf;
  std::string out;
  out.reserve(512);
  JsonWriter w(out);
  w.BeginObject();
  w.Str("id", resp.id);
  w.Str("type", "message");
  w.Str("role", "assistant");
  w.Str("model", resp.model);
  w.Key("content");
  w.BeginArray();
  bool refusal = false;
  for (const ContentPart& p : resp.content) {
    switch (p.kind) {
      case PartKind::kText:
        w.BeginObject();
        w.Str("type", "text");
        w.Str("text", p.text);
        if (!foreign) w.Members(p.extra);
        w.EndObject();
        break;
      case PartKind::kRefusal:  // OpenAI refusal text → a text block; stop_reason "refusal"
        refusal = true;
        w.BeginObject();
        w.Str("type", "text");
        w.Str("text", p.text);
        w.EndObject();
        break;
      case PartKind::kToolUse: {
        w.BeginObject();
        w.Str("type", "tool_use");
        w.Str("id", p.id);
        w.Str("name", p.name);
        w.Key("input");
        boost::system::error_code ec;
        json::value input =
            p.arguments.empty() ? json::value(json::object()) : json::parse(p.arguments, ec);
        if (ec || !input.is_object()) {
          return core::Fail(core::ErrorCode::kUpstreamError,
                            "the upstream tool call '" + p.name +
                                "' has arguments that are not a JSON object");
        }
        w.Value(input);
        if (!foreign) w.Members(p.extra);
        w.EndObject();
        break;
      }
      case PartKind::kThinking:
        w.BeginObject();
        w.Str("type", "thinking");
        w.Str("thinking", p.text);
        w.Str("signature", p.signature);
        w.EndObject();
        break;
      case PartKind::kRedactedThinking:
        w.BeginObject();
        w.Str("type", "redacted_thinking");
        w.Str("data", p.signature);
        w.EndObject();
        break;
      case PartKind::kOpaque:
        if (!foreign) {
          w.Value(p.raw);
          break;
        }
        [[fallthrough]];
      default:
        return core::Fail(core::ErrorCode::kUpstreamError,
                          "the upstream response holds " + std::string(PartKindName(p.kind)) +
                              " content that Anthropic Messages cannot carry");
    }
  }
  w.EndArray();
  FinishReason fr = resp.finish_reason;
  if (refusal && (fr == FinishReason::kStop || fr == FinishReason::kNone)) {
    fr = FinishReason::kContentFilter;
  }
  w.Key("stop_reason");
  if (fr == FinishReason::kNone) w.Null();
  else w.String(StopReasonString(fr, foreign ? "" : resp.finish_raw));
  w.Key("stop_sequence");
  if (resp.stop_sequence.empty()) w.Null();
  else w.String(resp.stop_sequence);
  w.Key("usage");
  w.BeginObject();
  WriteUsageMembers(w, resp.usage.value_or(Usage{}), !foreign);
  if (!resp.service_tier.empty() && !foreign) w.Str("service_tier", resp.service_tier);
  w.EndObject();
  if (!foreign) w.Members(resp.extra);
  w.EndObject();
  return out;
}

// ---- errors ------------------------------------------------------------------------------

namespace {

ErrorClass ClassForType(std::string_view type, int status) {
  if (type == "invalid_request_error") return status == 413 ? ErrorClass::kRequestTooLarge
                                              : status == 409 ? ErrorClass::kConflict
                                              : status == 422 ? ErrorClass::kUnprocessable
                                                              : ErrorClass::kInvalidRequest;
  if (type == "authentication_error") return ErrorClass::kAuthentication;
  if (type == "billing_error") return ErrorClass::kQuotaExceeded;
  if (type == "permission_error") return ErrorClass::kPermission;
  if (type == "not_found_error") return ErrorClass::kNotFound;
  if (type == "conflict_error") return ErrorClass::kConflict;
  if (type == "request_too_large") return ErrorClass::kRequestTooLarge;
  if (type == "rate_limit_error") return ErrorClass::kRateLimited;
  if (type == "timeout_error") return ErrorClass::kTimeout;
  if (type == "overloaded_error") return ErrorClass::kOverloaded;
  if (type == "api_error") {
    return status >= 500 ? ErrorClassForStatus(status) : ErrorClass::kInternal;
  }
  return ErrorClassForStatus(status);
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
  const json::object* err = nullptr;
  if (!ec && v.is_object()) {
    const json::object& top = v.get_object();
    if (const auto* inner = top.if_contains("error"); inner && inner->is_object()) {
      err = &inner->get_object();
    }
    if (const auto* rid = top.if_contains("request_id"); rid && rid->is_string()) {
      e.request_id = std::string(rid->get_string());
    }
  }
  if (err == nullptr) {
    e.message = "upstream error (HTTP " + std::to_string(status) + ")";
    return e;
  }
  if (const auto* t = err->if_contains("type"); t && t->is_string()) {
    e.type = std::string(t->get_string());
    e.cls = ClassForType(e.type, status);
  }
  if (const auto* m = err->if_contains("message"); m && m->is_string()) {
    e.message = std::string(m->get_string());
  }
  return e;
}

std::string ErrorBody(const ApiError& error) {
  const ErrorMapping& m = ErrorMappingFor(error.cls);
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Str("type", "error");
  w.Key("error");
  w.BeginObject();
  w.Str("type", error.origin == kSelf && !error.type.empty() ? std::string_view(error.type)
                                                              : m.anthropic_type);
  w.Str("message", error.message);
  w.EndObject();
  if (!error.request_id.empty()) w.Str("request_id", error.request_id);
  w.EndObject();
  return out;
}

HttpError EncodeError(const ApiError& error) {
  const ErrorMapping& m = ErrorMappingFor(error.cls);
  HttpError out;
  out.status = (error.cls == ErrorClass::kOther || error.origin == kSelf) ? error.status
                                                                           : m.anthropic_status;
  if (out.status < 400 || out.status > 599) out.status = 502;
  out.body = ErrorBody(error);
  if (!error.retry_after.empty()) out.headers.emplace_back("retry-after", error.retry_after);
  if (!error.retry_after_ms.empty()) {
    out.headers.emplace_back("retry-after-ms", error.retry_after_ms);
  }
  std::optional<bool> retry = error.should_retry;
  // An OpenAI quota error arrives as a retryable-looking 429; Anthropic's SDK must not retry.
  if (!retry && error.origin != kSelf && !m.retryable && error.cls == ErrorClass::kQuotaExceeded) {
    retry = false;
  }
  if (retry) out.headers.emplace_back("x-should-retry", *retry ? "true" : "false");
  return out;
}

}  // namespace meridian::dialect::anthropic

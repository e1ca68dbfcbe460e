// Anthropic Messages streams: events → canonical events, canonical events → events.

#include "dialect/anthropic_messages.hpp"

#include <boost/json/serialize.hpp>

namespace meridian::dialect::anthropic {

namespace json = boost::json;
using detail::JsonWriter;
using detail::Path;
using detail::Reader;

// anthropic_messages.cpp
void ReadUsage(Reader& r, const json::object& u, const Path& p, Usage& out, bool partial);
void WriteUsageMembers(JsonWriter& w, const Usage& u, bool same_dialect);

namespace {

std::string_view Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string_view(v->get_string()) : std::string_view();
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_object()) ? &v->get_object() : nullptr;
}

int Index(const json::object& o) {
  const json::value* v = o.if_contains("index");
  if (v != nullptr && v->is_int64()) return static_cast<int>(v->get_int64());
  if (v != nullptr && v->is_uint64()) return static_cast<int>(v->get_uint64());
  return -1;
}

void Event(std::string& out, std::string_view name, const std::string& data) {
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
}

}  // namespace

core::Result<void> StreamDecoder::Feed(std::string_view data, std::vector<StreamEvent>& out) {
  std::string problem;
  const json::object* e = parser_.Parse(data, problem);
  if (e == nullptr) return core::Fail(core::ErrorCode::kUpstreamError, problem);
  const std::string_view type = Str(*e, "type");
  StreamEvent ev;
  if (type == "content_block_delta") {
    const json::object* d = Obj(*e, "delta");
    if (d == nullptr) return core::Fail(core::ErrorCode::kUpstreamError, "delta missing");
    ev.index = Index(*e);
    const std::string_view dt = Str(*d, "type");
    if (dt == "text_delta") {
      ev.kind = StreamEventKind::kTextDelta;
      ev.text = Str(*d, "text");
    } else if (dt == "input_json_delta") {
      ev.kind = StreamEventKind::kToolArgsDelta;
      ev.block = PartKind::kToolUse;
      ev.text = Str(*d, "partial_json");
    } else if (dt == "thinking_delta") {
      ev.kind = StreamEventKind::kThinkingDelta;
      ev.block = PartKind::kThinking;
      ev.text = Str(*d, "thinking");
    } else if (dt == "signature_delta") {
      ev.kind = StreamEventKind::kSignatureDelta;
      ev.block = PartKind::kThinking;
      ev.text = Str(*d, "signature");
    } else {
      return {};  // citations_delta and future delta types: no canonical form
    }
    out.push_back(ev);
    return {};
  }
  if (type == "message_start") {
    const json::object* m = Obj(*e, "message");
    if (m == nullptr) return core::Fail(core::ErrorCode::kUpstreamError, "message missing");
    ev.kind = StreamEventKind::kMessageStart;
    ev.id = Str(*m, "id");
    ev.model = Str(*m, "model");
    usage_ = Usage{};
    if (const json::object* u = Obj(*m, "usage")) {
      Reader r(core::ErrorCode::kUpstreamError);
      ReadUsage(r, *u, Path{}, usage_, false);
      have_usage_ = true;
      ev.usage = usage_;
    }
  } else if (type == "content_block_start") {
    const json::object* b = Obj(*e, "content_block");
    if (b == nullptr) return core::Fail(core::ErrorCode::kUpstreamError, "content_block missing");
    ev.kind = StreamEventKind::kBlockStart;
    ev.index = Index(*e);
    const std::string_view bt = Str(*b, "type");
    if (bt == "text") {
      ev.block = PartKind::kText;
      ev.text = Str(*b, "text");
    } else if (bt == "tool_use") {
      ev.block = PartKind::kToolUse;
      ev.id = Str(*b, "id");
      ev.name = Str(*b, "name");
    } else if (bt == "thinking") {
      ev.block = PartKind::kThinking;
      ev.text = Str(*b, "thinking");
    } else if (bt == "redacted_thinking") {
      ev.block = PartKind::kRedactedThinking;
      ev.text = Str(*b, "data");
    } else {
      ev.block = PartKind::kOpaque;
      scratch_ = detail::Serialize(*b);
      ev.text = scratch_;
    }
  } else if (type == "content_block_stop") {
    ev.kind = StreamEventKind::kBlockStop;
    ev.index = Index(*e);
  } else if (type == "message_delta") {
    ev.kind = StreamEventKind::kMessageDelta;
    if (const json::object* d = Obj(*e, "delta")) {
      ev.finish_raw = Str(*d, "stop_reason");
      ev.finish = ev.finish_raw.empty() ? FinishReason::kNone : ParseStopReason(ev.finish_raw);
      ev.stop_sequence = Str(*d, "stop_sequence");
    }
    if (const json::object* u = Obj(*e, "usage")) {
      Reader r(core::ErrorCode::kUpstreamError);
      ReadUsage(r, *u, Path{}, usage_, true);
      have_usage_ = true;
    }
    if (have_usage_) ev.usage = usage_;
  } else if (type == "message_stop") {
    ev.kind = StreamEventKind::kMessageStop;
  } else if (type == "ping") {
    ev.kind = StreamEventKind::kPing;
  } else if (type == "error") {
    // The event is an error body; in a stream there is no status, the type says it.
    error_ = DecodeError(500, data);
    error_.status = ErrorMappingFor(error_.cls).anthropic_status;
    ev.kind = StreamEventKind::kError;
    ev.error = &error_;
  } else {
    return {};  // future event types: ignored, as Anthropic's versioning policy asks
  }
  out.push_back(ev);
  return {};
}

core::Result<void> StreamEncoder::Encode(const StreamEvent& ev, std::string& out) {
  scratch_.clear();
  JsonWriter w(scratch_);
  switch (ev.kind) {
    case StreamEventKind::kMessageStart:
      start_usage_ = ev.usage.value_or(Usage{});
      w.BeginObject();
      w.Str("type", "message_start");
      w.Key("message");
      w.BeginObject();
      w.Str("id", ev.id);
      w.Str("type", "message");
      w.Str("role", "assistant");
      w.Str("model", ev.model);
      w.Key("content");
      w.BeginArray();
      w.EndArray();
      w.Key("stop_reason");
      w.Null();
      w.Key("stop_sequence");
      w.Null();
      w.Key("usage");
      w.BeginObject();
      WriteUsageMembers(w, start_usage_, false);
      w.EndObject();
      w.EndObject();
      w.EndObject();
      Event(out, "message_start", scratch_);
      return {};
    case StreamEventKind::kBlockStart:
      w.BeginObject();
      w.Str("type", "content_block_start");
      w.Int("index", ev.index);
      w.Key("content_block");
      switch (ev.block) {
        case PartKind::kRefusal:
          refusal_ = true;
          [[fallthrough]];
        case PartKind::kText:
          w.BeginObject();
          w.Str("type", "text");
          w.Str("text", ev.text);
          w.EndObject();
          break;
        case PartKind::kToolUse:
          w.BeginObject();
          w.Str("type", "tool_use");
          w.Str("id", ev.id);
          w.Str("name", ev.name);
          w.Key("input");
          w.Raw("{}");
          w.EndObject();
          break;
        case PartKind::kThinking:
          w.BeginObject();
          w.Str("type", "thinking");
          w.Str("thinking", ev.text);
          w.Str("signature", "");
          w.EndObject();
          break;
        case PartKind::kRedactedThinking:
          w.BeginObject();
          w.Str("type", "redacted_thinking");
          w.Str("data", ev.text);
          w.EndObject();
          break;
        case PartKind::kOpaque:
          w.Raw(ev.text);  // an Anthropic block relayed as it came
          break;
        default:
          return core::Fail(core::ErrorCode::kUpstreamError,
                            "the upstream stream holds a content block Anthropic Messages "
                            "cannot carry");
      }
      w.EndObject();
      Event(out, "content_block_start", scratch_);
      return {};
    case StreamEventKind::kTextDelta:
    case StreamEventKind::kToolArgsDelta:
    case StreamEventKind::kThinkingDelta:
    case StreamEventKind::kSignatureDelta: {
      // Anthropic signs thinking blocks only; a Gemini signature on a text or tool-call part
      // has no Anthropic form (docs/dialects.md, rule G3).
      if (ev.kind == StreamEventKind::kSignatureDelta && ev.block != PartKind::kThinking) {
        return {};
      }
      w.BeginObject();
      w.Str("type", "content_block_delta");
      w.Int("index", ev.index);
      w.Key("delta");
      w.BeginObject();
      switch (ev.kind) {
        case StreamEventKind::kTextDelta:
          w.Str("type", "text_delta");
          w.Str("text", ev.text);
          break;
        case StreamEventKind::kToolArgsDelta:
          w.Str("type", "input_json_delta");
          w.Str("partial_json", ev.text);
          break;
        case StreamEventKind::kThinkingDelta:
          w.Str("type", "thinking_delta");
          w.Str("thinking", ev.text);
          break;
        default:
          w.Str("type", "signature_delta");
          w.Str("signature", ev.text);
          break;
      }
      w.EndObject();
      w.EndObject();
      Event(out, "content_block_delta", scratch_);
      return {};
    }
    case StreamEventKind::kBlockStop:
      w.BeginObject();
      w.Str("type", "content_block_stop");
      w.Int("index", ev.index);
      w.EndObject();
      Event(out, "content_block_stop", scratch_);
      return {};
    case StreamEventKind::kMessageDelta: {
      FinishReason fr = ev.finish;
      if (refusal_ && (fr == FinishReason::kStop || fr == FinishReason::kNone)) {
        fr = FinishReason::kContentFilter;
      }
      w.BeginObject();
      w.Str("type", "message_delta");
      w.Key("delta");
      w.BeginObject();
      w.Key("stop_reason");
      if (fr == FinishReason::kNone) w.Null();
      else w.String(StopReasonString(fr, ev.finish_raw));
      w.Key("stop_sequence");
      if (ev.stop_sequence.empty()) w.Null();
      else w.String(ev.stop_sequence);
      w.EndObject();
      w.Key("usage");
      w.BeginObject();
      WriteUsageMembers(w, ev.usage.value_or(start_usage_), false);
      w.EndObject();
      w.EndObject();
      Event(out, "message_delta", scratch_);
      return {};
    }
    case StreamEventKind::kMessageStop:
      Event(out, "message_stop", R"({"type":"message_stop"})");
      return {};
    case StreamEventKind::kPing:
      Event(out, "ping", R"({"type":"ping"})");
      return {};
    case StreamEventKind::kError:
      if (ev.error != nullptr) Event(out, "error", ErrorBody(*ev.error));
      return {};
  }
  return {};
}

}  // namespace meridian::dialect::anthropic

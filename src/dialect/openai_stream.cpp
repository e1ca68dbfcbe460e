// OpenAI Chat Completions streams: chunks → canonical events, canonical events → chunks.

#include "dialect/openai_chat.hpp"

namespace meridian::dialect::openai {

namespace json = boost::json;
using detail::JsonWriter;

void WriteUsage(JsonWriter& w, const Usage& u, bool same_dialect);  // openai_chat.cpp

namespace {

std::string_view Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string_view(v->get_string()) : std::string_view();
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_object()) ? &v->get_object() : nullptr;
}

std::int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return 0;
}

std::optional<std::int64_t> OptInt(const json::object* o, std::string_view key) {
  if (o == nullptr) return std::nullopt;
  const json::value* v = o->if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

Usage ReadUsage(const json::object& u) {
  Usage out;
  out.input_tokens = Int(u, "prompt_tokens");
  out.output_tokens = Int(u, "completion_tokens");
  const json::object* pd = Obj(u, "prompt_tokens_details");
  out.cache_read_tokens = OptInt(pd, "cached_tokens");
  out.cache_write_tokens = OptInt(pd, "cache_write_tokens");
  out.reasoning_tokens = OptInt(Obj(u, "completion_tokens_details"), "reasoning_tokens");
  return out;  // details beyond these are not carried in streams (docs/dialects.md)
}

ApiError StreamError(const json::object& err) {
  ApiError e;
  e.origin = Dialect::kOpenAiChat;
  e.message = std::string(Str(err, "message"));
  e.type = std::string(Str(err, "type"));
  e.code = std::string(Str(err, "code"));
  e.param = std::string(Str(err, "param"));
  // No status in a stream: the type and code say what it would have been. The mapping
  // table's own (type, code) pairs first (invalid_api_key, not_found, request_too_large,
  // timeout, overloaded, ...), then the type alone; the table's first row wins (500 over 503).
  e.cls = ErrorClass::kInternal;
  bool found = false;
  for (int pass = 0; pass < 2 && !found; ++pass) {
    for (int c = 0; c < static_cast<int>(ErrorClass::kOther); ++c) {
      const ErrorMapping& m = ErrorMappingFor(static_cast<ErrorClass>(c));
      if (m.openai_type != e.type || (pass == 0 && m.openai_code != e.code)) continue;
      e.cls = m.cls;
      found = true;
      break;
    }
  }
  if (e.code == "model_not_found") e.cls = ErrorClass::kNotFound;
  if (e.code == "rate_limit_exceeded" || e.type == "tokens") e.cls = ErrorClass::kRateLimited;
  e.status = ErrorMappingFor(e.cls).openai_status;
  return e;
}

}  // namespace

void StreamDecoder::CloseBlock(std::vector<StreamEvent>& out) {
  if (open_block_ < 0) return;
  StreamEvent ev;
  ev.kind = StreamEventKind::kBlockStop;
  ev.index = open_block_;
  ev.block = open_kind_;
  out.push_back(ev);
  open_block_ = -1;
  open_tool_ = -1;
}

void StreamDecoder::EmitFinish(std::vector<StreamEvent>& out, const Usage* usage) {
  StreamEvent ev;
  ev.kind = StreamEventKind::kMessageDelta;
  ev.finish = finish_;
  ev.finish_raw = finish_raw_;
  if (usage != nullptr) ev.usage = *usage;
  out.push_back(ev);
  finish_sent_ = true;
}

core::Result<void> StreamDecoder::Feed(std::string_view data, std::vector<StreamEvent>& out) {
  if (done_) return {};
  if (data == "[DONE]") {
    CloseBlock(out);
    if (started_ && !finish_sent_) EmitFinish(out, usage_ ? &*usage_ : nullptr);
    StreamEvent stop;
    stop.kind = StreamEventKind::kMessageStop;
    out.push_back(stop);
    done_ = true;
    return {};
  }
  std::string problem;
  const json::object* chunk = parser_.Parse(data, problem);
  if (chunk == nullptr) return core::Fail(core::ErrorCode::kUpstreamError, problem);
  if (const json::object* err = Obj(*chunk, "error")) {
    error_ = StreamError(*err);
    StreamEvent ev;
    ev.kind = StreamEventKind::kError;
    ev.error = &error_;
    out.push_back(ev);
    done_ = true;
    return {};
  }
  const json::value* choices_v = chunk->if_contains("choices");
  const bool no_choices = choices_v == nullptr || !choices_v->is_array() ||
                          choices_v->get_array().empty();
  if (!started_ && no_choices && Obj(*chunk, "usage") == nullptr) {
    return {};  // e.g. Azure's leading prompt_filter_results chunk: nothing to translate
  }
  if (!started_) {
    started_ = true;
    id_ = Str(*chunk, "id");
    model_ = Str(*chunk, "model");
    created_ = Int(*chunk, "created");
    StreamEvent ev;
    ev.kind = StreamEventKind::kMessageStart;
    ev.id = id_;
    ev.model = model_;
    ev.created = created_;
    out.push_back(ev);
  }
  if (!no_choices) {
    for (const json::value& choice_v : choices_v->get_array()) {
      if (!choice_v.is_object()) continue;
      const json::object& choice = choice_v.get_object();
      if (Int(choice, "index") != 0) continue;  // n > 1 is refused before it gets here
      if (const json::object* delta = Obj(choice, "delta")) {
        // Text and refusal deltas: one block each, opened on their first non-empty delta.
        using Field = std::pair<std::string_view, PartKind>;
        for (const auto& [key, kind] :
             {Field{"content", PartKind::kText}, Field{"refusal", PartKind::kRefusal}}) {
          const std::string_view text = Str(*delta, key);
          if (text.empty()) continue;
          if (open_block_ < 0 || open_kind_ != kind) {
            CloseBlock(out);
            StreamEvent start;
            start.kind = StreamEventKind::kBlockStart;
            start.index = open_block_ = next_block_++;
            start.block = open_kind_ = kind;
            out.push_back(start);
          }
          StreamEvent ev;
          ev.kind = StreamEventKind::kTextDelta;
          ev.index = open_block_;
          ev.block = kind;
          ev.text = text;
          out.push_back(ev);
        }
        if (const json::value* tcv = delta->if_contains("tool_calls");
            tcv != nullptr && tcv->is_array()) {
          for (const json::value& tc_v : tcv->get_array()) {
            if (!tc_v.is_object()) continue;
            const json::object& tc = tc_v.get_object();
            const std::int64_t k = Int(tc, "index");
            if (k < 0 || k > 1024) {
              return core::Fail(core::ErrorCode::kUpstreamError, "tool call index out of range");
            }
            const json::object* fn = Obj(tc, "function");
            const std::string_view args = fn ? Str(*fn, "arguments") : std::string_view();
            if (static_cast<std::size_t>(k) >= tool_blocks_.size()) {
              tool_blocks_.resize(static_cast<std::size_t>(k) + 1, -1);
            }
            int& block = tool_blocks_[static_cast<std::size_t>(k)];
            if (block < 0) {
              CloseBlock(out);
              StreamEvent start;
              start.kind = StreamEventKind::kBlockStart;
              start.index = block = open_block_ = next_block_++;
              start.block = open_kind_ = PartKind::kToolUse;
              open_tool_ = static_cast<int>(k);
              start.id = Str(tc, "id");
              start.name = fn ? Str(*fn, "name") : std::string_view();
              out.push_back(start);
            }
            if (!args.empty()) {
              // Fragments of a call that is no longer the open block (servers that interleave
              // calls) still go to that call's block index (docs/dialects.md).
              StreamEvent ev;
              ev.kind = StreamEventKind::kToolArgsDelta;
              ev.index = block;
              ev.block = PartKind::kToolUse;
              ev.text = args;
              out.push_back(ev);
            }
          }
        }
      }
      const std::string_view fr = Str(choice, "finish_reason");
      if (!fr.empty() && !finish_pending_) {
        CloseBlock(out);
        finish_ = ParseFinishReason(fr);
        finish_raw_ = fr;
        finish_pending_ = true;
      }
    }
  }
  if (const json::object* u = Obj(*chunk, "usage")) {
    usage_ = ReadUsage(*u);
    if (finish_pending_ && !finish_sent_) EmitFinish(out, &*usage_);
  }
  return {};
}

void StreamDecoder::Finish(std::vector<StreamEvent>& out) {
  if (done_ || !finish_pending_) return;  // no finish reason: the caller reports truncation
  CloseBlock(out);
  if (!finish_sent_) EmitFinish(out, usage_ ? &*usage_ : nullptr);
  StreamEvent stop;
  stop.kind = StreamEventKind::kMessageStop;
  out.push_back(stop);
  done_ = true;
}

// ---- encoder -----------------------------------------------------------------------------

void StreamEncoder::BeginChunk(JsonWriter& w) {
  w.BeginObject();
  w.Str("id", id_);
  w.Str("object", "chat.completion.chunk");
  w.Int("created", created_);
  w.Str("model", model_);
}

void StreamEncoder::EndChunk(JsonWriter& w, std::string& out) {
  if (options_.include_usage) {
    w.Key("usage");
    w.Null();
  }
  w.EndObject();
  out += "data: ";
  out += scratch_;
  out += "\n\n";
}

core::Result<void> StreamEncoder::Encode(const StreamEvent& ev, std::string& out) {
  scratch_.clear();
  JsonWriter w(scratch_);
  // A chunk with one choice whose delta the callback writes.
  auto delta_chunk = [&](auto&& write_delta, std::string_view finish) {
    BeginChunk(w);
    w.Key("choices");
    w.BeginArray();
    w.BeginObject();
    w.Int("index", 0);
    w.Key("delta");
    w.BeginObject();
    write_delta();
    w.EndObject();
    w.Key("logprobs");
    w.Null();
    w.Key("finish_reason");
    if (finish.empty()) w.Null();
    else w.String(finish);
    w.EndObject();
    w.EndArray();
    EndChunk(w, out);
  };
  auto kind_of = [&](int index) {
    return index >= 0 && static_cast<std::size_t>(index) < block_kind_.size()
               ? block_kind_[static_cast<std::size_t>(index)]
               : PartKind::kText;
  };
  switch (ev.kind) {
    case StreamEventKind::kMessageStart:
      id_ = ev.id;
      model_ = ev.model;
      created_ = ev.created != 0 ? ev.created : options_.created;
      if (ev.usage) {
        start_usage_ = *ev.usage;
        have_start_usage_ = true;
      }
      delta_chunk([&] {
        w.Str("role", "assistant");
        w.Str("content", "");
      }, {});
      return {};
    case StreamEventKind::kBlockStart: {
      if (ev.index < 0 || ev.index > 4096) {
        return core::Fail(core::ErrorCode::kUpstreamError, "content block index out of range");
      }
      const auto i = static_cast<std::size_t>(ev.index);
      if (block_kind_.size() <= i) {
        block_kind_.resize(i + 1, PartKind::kText);
        block_tool_.resize(i + 1, -1);
      }
      block_kind_[i] = ev.block;
      switch (ev.block) {
        case PartKind::kText:
          if (!ev.text.empty()) delta_chunk([&] { w.Str("content", ev.text); }, {});
          return {};
        case PartKind::kRefusal:
          refusal_ = true;
          if (!ev.text.empty()) delta_chunk([&] { w.Str("refusal", ev.text); }, {});
          return {};
        case PartKind::kToolUse: {
          const int k = tools_++;
          block_tool_[i] = k;
          delta_chunk([&] {
            w.Key("tool_calls");
            w.BeginArray();
            w.BeginObject();
            w.Int("index", k);
            w.Str("id", ev.id);
            w.Str("type", "function");
            w.Key("function");
            w.BeginObject();
            w.Str("name", ev.name);
            w.Str("arguments", "");
            w.EndObject();
            w.EndObject();
            w.EndArray();
          }, {});
          return {};
        }
        case PartKind::kThinking:
        case PartKind::kRedactedThinking: return {};  // no OpenAI form (docs/dialects.md)
        default:
          return core::Fail(core::ErrorCode::kUpstreamError,
                            "the upstream stream holds a content block OpenAI Chat Completions "
                            "cannot carry");
      }
    }
    case StreamEventKind::kTextDelta: {
      if (ev.text.empty()) return {};  // nothing to say (Anthropic's first deltas may be empty)
      const bool refusal = kind_of(ev.index) == PartKind::kRefusal;
      delta_chunk([&] { w.Str(refusal ? "refusal" : "content", ev.text); }, {});
      return {};
    }
    case StreamEventKind::kToolArgsDelta: {
      if (ev.text.empty()) return {};
      int k = -1;
      if (ev.index >= 0 && static_cast<std::size_t>(ev.index) < block_tool_.size()) {
        k = block_tool_[static_cast<std::size_t>(ev.index)];
      }
      if (k < 0) return core::Fail(core::ErrorCode::kUpstreamError, "arguments for no tool call");
      delta_chunk([&] {
        w.Key("tool_calls");
        w.BeginArray();
        w.BeginObject();
        w.Int("index", k);
        w.Key("function");
        w.BeginObject();
        w.Str("arguments", ev.text);
        w.EndObject();
        w.EndObject();
        w.EndArray();
      }, {});
      return {};
    }
    case StreamEventKind::kThinkingDelta:
    case StreamEventKind::kSignatureDelta:
    case StreamEventKind::kBlockStop: return {};
    case StreamEventKind::kMessageDelta: {
      delta_chunk([] {}, FinishReasonString(ev.finish, ev.finish_raw));
      if (options_.include_usage) {
        const Usage usage = ev.usage ? *ev.usage : start_usage_;
        scratch_.clear();
        JsonWriter u(scratch_);
        BeginChunk(u);
        u.Key("choices");
        u.BeginArray();
        u.EndArray();
        WriteUsage(u, usage, false);
        u.EndObject();
        out += "data: ";
        out += scratch_;
        out += "\n\n";
      }
      return {};
    }
    case StreamEventKind::kMessageStop: out += "data: [DONE]\n\n"; return {};
    case StreamEventKind::kPing: out += ": ping\n\n"; return {};
    case StreamEventKind::kError:
      if (ev.error != nullptr) {
        out += "data: ";
        out += ErrorBody(*ev.error);
        out += "\n\n";
      }
      return {};
  }
  return {};
}

}  // namespace meridian::dialect::openai

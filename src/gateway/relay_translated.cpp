// Relaying an answer when the client and the backend do not both speak OpenAI Chat:
// Gateway::RelayTranslatedBody and RelayTranslatedStream. The upstream's answer is decoded into
// the canonical model (so usage is read the same way for every dialect) and, unless the client
// speaks the backend's own dialect, encoded again in the client's. Streams are translated one
// upstream event at a time (docs/dialects.md, "Streams"); the events that arrived together are
// written as one chunk.

#include <chrono>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/codecs.hpp"
#include "gateway/gateway.hpp"
#include "gateway/relay_util.hpp"
#include "gateway/restore.hpp"
#include "net/client.hpp"
#include "net/sse.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using core::ErrorCode;
using dialect::Dialect;
using dialect::StreamEventKind;

namespace {

std::int64_t NowUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void TakeCanonicalUsage(const dialect::Usage& usage, RequestContext& ctx) {
  ctx.prompt_tokens = usage.input_tokens;
  ctx.completion_tokens = usage.output_tokens;
  if (usage.cache_read_tokens) ctx.cached_tokens = *usage.cache_read_tokens;
  if (usage.reasoning_tokens) ctx.reasoning_tokens = *usage.reasoning_tokens;
  if (usage.cache_write_tokens) ctx.cache_write_tokens = *usage.cache_write_tokens;
}

dialect::ErrorHeaders ErrorHeadersOf(const net::Exchange& ex) {
  dialect::ErrorHeaders h;
  const auto& fields = ex.headers();
  h.retry_after = std::string(fields["retry-after"]);
  h.retry_after_ms = std::string(fields["retry-after-ms"]);
  h.should_retry = std::string(fields["x-should-retry"]);
  std::string_view id = fields["request-id"];
  if (id.empty()) id = fields["x-request-id"];
  h.request_id = std::string(id);
  return h;
}

bool IsJsonObjectText(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  return !ec && v.is_object();
}

// A token count answer (Anthropic {"input_tokens": N}, Gemini {"totalTokens": N}) → N.
std::optional<std::int64_t> CountOf(Dialect upstream, std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* n = v.as_object().if_contains(upstream == Dialect::kGemini ? "totalTokens" : "input_tokens");
  if (!n || !n->is_int64() || n->as_int64() < 0) return std::nullopt;
  return n->as_int64();
}

core::Error MalformedFrom(const RequestContext& ctx, std::string_view what) {
  return core::Fail(ErrorCode::kUpstreamError, fmt::format("backend '{}' {}", ctx.backend->id(), what)).error();
}

}  // namespace

asio::awaitable<void> Gateway::RelayTranslatedBody(net::Responder& out, RequestContext& ctx, net::Exchange& ex,
                                                   Dialect upstream) {
  int status = ex.status();
  auto body = co_await ex.ReadAll(options_.max_upstream_body_bytes);
  if (!body) {
    if (out.peer_gone()) {
      ClientLeft(ctx);
      co_return;
    }
    co_await ReplyError(out, ctx, body.error());
    co_return;
  }
  const bool same = upstream == ctx.dialect;
  if (status >= 200 && status < 300) {
    std::string client_body;
    if (ctx.api == Api::kMessagesCountTokens || ctx.api == Api::kGeminiCountTokens) {
      auto count = CountOf(upstream, *body);
      if (!count) {
        co_await ReplyError(out, ctx, MalformedFrom(ctx, "returned a malformed token count"));
        co_return;
      }
      ctx.prompt_tokens = *count;
      client_body = same ? std::move(*body)
                         : (ctx.dialect == Dialect::kGemini ? fmt::format(R"({{"totalTokens":{}}})", *count)
                                                            : fmt::format(R"({{"input_tokens":{}}})", *count));
    } else {
      auto decoded = DecodeUpstreamResponse(upstream, *body);
      if (!decoded) {
        co_await ReplyError(out, ctx, MalformedFrom(ctx, fmt::format("returned a malformed {} response: {}",
                                                                     dialect::DialectTitle(upstream),
                                                                     decoded.error().message)));
        co_return;
      }
      if (decoded->usage) TakeCanonicalUsage(*decoded->usage, ctx);
      if (upstream == Dialect::kAnthropicMessages && !same) {
        // Signed thinking the client cannot carry: kept for the turn that returns the tool results.
        reasoning_.Remember(ReasoningScope(ctx), decoded->content);
      }
      if (same) {
        client_body = std::move(*body);
      } else {
        auto encoded = EncodeClientResponse(ctx.dialect, *decoded, NowUnixSeconds(),
                                            ctx.response_echo ? &*ctx.response_echo : nullptr);
        if (!encoded) {
          co_await ReplyError(out, ctx, encoded.error());
          co_return;
        }
        client_body = std::move(*encoded);
      }
    }
    if (ctx.pseudonyms) client_body = RestoreJsonBody(client_body, *ctx.pseudonyms);
    auto res = MakeResponse(ctx, static_cast<http::status>(status), std::move(client_body));
    AddMeridianHeaders(res, ctx);
    co_await Reply(out, ctx, std::move(res));
    co_return;
  }
  // An upstream error: the client's SDK must raise its own error class for it, with the
  // back-off headers (docs/dialects.md, "Errors").
  core::Error error = UpstreamStatusError(ctx, status);
  ctx.error_code = core::CodeName(error.code);
  net::Response res;
  if (same && IsJsonObjectText(*body)) {
    res = MakeResponse(ctx, static_cast<http::status>(status), std::move(*body));
    for (const auto& field : ex.headers()) {
      if (IsRelayedErrorHeader(field.name_string())) res.set(field.name_string(), field.value());
    }
  } else {
    dialect::ApiError api = DecodeUpstreamError(upstream, status, *body, ErrorHeadersOf(ex));
    dialect::HttpError translated = EncodeClientError(ctx.dialect, api);
    res = MakeResponse(ctx, static_cast<http::status>(translated.status), std::move(translated.body));
    for (auto& [name, value] : translated.headers) res.set(name, value);
  }
  AddMeridianHeaders(res, ctx);
  co_await Reply(out, ctx, std::move(res));
}

asio::awaitable<void> Gateway::RelayTranslatedStream(net::Responder& out, RequestContext& ctx, net::Exchange& ex,
                                                     Dialect upstream, bool client_wants_usage) {
  http::response_header<> head;
  head.result(http::status::ok);
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set("x-request-id", ctx.request_id);
  AddMeridianHeaders(head, ctx);
  ctx.status = 200;
  bool started = co_await out.StartStream(std::move(head));
  if (!started) {
    ex.Abort();
    co_return;
  }

  // Same dialect and nothing to restore: the upstream's events go out as they came (decoded
  // only to read usage and find the end); otherwise each is re-encoded for the client.
  const bool passthrough = upstream == ctx.dialect && !ctx.pseudonyms;
  AnyStreamDecoder decoder(upstream);
  AnyStreamEncoder encoder(ctx.dialect, client_wants_usage, NowUnixSeconds(),
                           ctx.response_echo ? &*ctx.response_echo : nullptr);
  std::optional<EventRestorer> restorer;
  if (ctx.pseudonyms) restorer.emplace(*ctx.pseudonyms);
  net::SseParser parser;
  std::vector<dialect::StreamEvent> events;
  std::string pending;
  bool saw_end = false;         // the message stopped, or the upstream sent its error event
  std::optional<core::Error> failure;
  // An Anthropic stream to another dialect: its thinking blocks are remembered at the end.
  std::optional<ReasoningCollector> collector;
  if (upstream == Dialect::kAnthropicMessages && ctx.dialect != Dialect::kAnthropicMessages) collector.emplace();

  auto translate = [&](std::vector<dialect::StreamEvent>& batch) {
    if (restorer) restorer->Process(batch);
    for (const dialect::StreamEvent& ev : batch) {
      if (ev.usage && (ev.kind == StreamEventKind::kMessageStart || ev.kind == StreamEventKind::kMessageDelta)) {
        TakeCanonicalUsage(*ev.usage, ctx);
      }
      if (ev.kind == StreamEventKind::kMessageStop) saw_end = true;
      if (ev.kind == StreamEventKind::kError) {
        saw_end = true;
        ctx.error_code = core::CodeName(ErrorCode::kUpstreamStatus);
      }
      if (passthrough) continue;
      if (auto encoded = encoder.Encode(ev, pending); !encoded && !failure) {
        failure = MalformedFrom(ctx, fmt::format("sent a stream the client's dialect cannot carry: {}",
                                                 encoded.error().message));
        return;
      }
    }
  };
  auto on_event = [&](const net::SseEvent& event) {
    if (failure || saw_end) return;
    events.clear();
    if (auto fed = decoder.Feed(event.data, events); !fed) {
      failure = MalformedFrom(ctx, fmt::format("sent a malformed stream event: {}", fed.error().message));
      return;
    }
    // A budget or token limit that runs out mid-stream ends it here, with an error event.
    std::int64_t text_bytes = 0;
    for (const auto& ev : events) text_bytes += static_cast<std::int64_t>(ev.text.size());
    if (auto cut = ChargeStream(ctx, text_bytes)) {
      failure = std::move(*cut);
      return;
    }
    if (passthrough) net::AppendSseEvent(pending, event.data, event.type);
    if (collector) {
      for (const auto& ev : events) collector->Add(ev);  // as signed, before any rewrite
    }
    translate(events);
  };
  auto feed = [&](std::string_view piece) {
    if (auto fed = parser.Feed(piece, on_event); !fed && !failure) {
      failure = MalformedFrom(ctx, fmt::format("sent a malformed stream: {}", fed.error().message));
    }
  };

  constexpr std::size_t kMaxBatch = 64 * 1024;
  bool ended = false;
  while (!ended && !failure && !saw_end) {
    auto piece = co_await ex.ReadSome();
    if (!piece) {
      if (out.peer_gone()) {
        ClientLeft(ctx);
        co_return;
      }
      failure = piece.error();
    } else if (piece->empty()) {
      ended = true;
    } else {
      feed(*piece);
      while (!failure && !saw_end && pending.size() < kMaxBatch) {
        auto more = ex.ReadBuffered();
        if (!more) {
          failure = more.error();
        } else if (more->empty()) {
          break;
        } else {
          feed(*more);
        }
      }
    }
    if (ended && !failure && !saw_end) {
      // The upstream closed: a decoder may still close what its dialect leaves implicit.
      events.clear();
      decoder.Finish(events);
      translate(events);
    }
    if (saw_end && !failure) {
      // Remembered before the end reaches the client, which may send the next turn at once.
      if (collector && collector->has_thinking()) reasoning_.Remember(ReasoningScope(ctx), collector->parts());
      bool recorded = co_await CommitBeforeEnd(out, ctx);  // strict: the end leaves once recorded
      if (!recorded) {
        ex.Abort();
        co_return;
      }
    }
    bool written = true;
    if (!pending.empty()) written = co_await out.WriteChunk(pending);
    pending.clear();
    if (!written) {
      ex.Abort();
      ClientLeft(ctx);
      co_return;
    }
  }
  if (!failure && !saw_end) failure = MalformedFrom(ctx, "ended the stream before the message was complete");
  if (failure) {
    ex.Abort();
    ctx.error_code = core::CodeName(failure->code);
    // One final error event in the client's dialect; what a restorer held back goes first.
    std::string tail;
    events.clear();
    dialect::ApiError api = dialect::ApiErrorFromCore(*failure);
    dialect::StreamEvent error_event;
    error_event.kind = StreamEventKind::kError;
    error_event.error = &api;
    events.push_back(error_event);
    if (restorer) restorer->Process(events);
    for (const auto& ev : events) (void)encoder.Encode(ev, tail);
    bool recorded = co_await CommitBeforeEnd(out, ctx);
    if (!recorded) co_return;
    co_await out.WriteChunk(tail);
    co_await out.EndStream();
    co_return;
  }
  bool recorded = co_await CommitBeforeEnd(out, ctx);
  if (!recorded) {
    ex.Abort();
    co_return;
  }
  co_await out.EndStream();
  out.WatchPeerClose(nullptr);
  while (!ex.done()) {
    auto rest = co_await ex.ReadSome();
    if (!rest || rest->empty()) break;
  }
}

}  // namespace meridian::gateway

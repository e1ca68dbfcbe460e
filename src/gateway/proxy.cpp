// Relaying an OpenAI Chat backend's answer to an OpenAI Chat client: RelayBody and RelayStream
// (relay_translated.cpp has every other pair; forward.cpp chooses the backend and starts the
// attempts). Errors before the first byte reaches the client are answered with a status;
// after that, a stream ends with one final error event.

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/codecs.hpp"
#include "gateway/gateway.hpp"
#include "gateway/http_error.hpp"
#include "gateway/json_scan.hpp"
#include "gateway/relay_util.hpp"
#include "gateway/restore.hpp"
#include "net/client.hpp"
#include "net/sse.hpp"

namespace meridian::gateway {

namespace json = boost::json;
using core::ErrorCode;

namespace {

bool IsOpenAiErrorBody(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const json::value* e = v.as_object().if_contains("error");
  return e && e->is_object() && e->as_object().contains("message");
}

std::string StreamErrorEvent(const core::Error& error) {
  std::string out;
  net::AppendSseEvent(out, OpenAiErrorBody(error));
  return out;
}



}  // namespace

asio::awaitable<void> Gateway::RelayBody(net::Responder& out, RequestContext& ctx, net::Exchange& ex) {
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
  if (status >= 200 && status < 300) {
    auto scan = ScanJson(*body);
    if (!scan || !scan->top_level_object) {
      co_await ReplyError(out, ctx,
                          core::Fail(ErrorCode::kUpstreamError,
                                     fmt::format("backend '{}' returned a malformed JSON body", ctx.backend->id()))
                              .error());
      co_return;
    }
    TakeUsage(*scan, ctx);
    if (ctx.pseudonyms) *body = RestoreJsonBody(*body, *ctx.pseudonyms);
    auto res = MakeResponse(ctx, static_cast<http::status>(status), std::move(*body));
    AddMeridianHeaders(res, ctx);
    co_await Reply(out, ctx, std::move(res));
    co_return;
  }
  // An upstream error keeps its status and back-off headers.
  core::Error error = UpstreamStatusError(ctx, status);
  ctx.error_code = core::CodeName(error.code);
  std::string out_body = IsOpenAiErrorBody(*body) ? std::move(*body) : OpenAiErrorBody(error);
  auto res = MakeResponse(ctx, StatusFor(error), std::move(out_body));
  for (const auto& field : ex.headers()) {
    if (IsRelayedErrorHeader(field.name_string())) res.set(field.name_string(), field.value());
  }
  AddMeridianHeaders(res, ctx);
  co_await Reply(out, ctx, std::move(res));
}

asio::awaitable<void> Gateway::RelayStream(net::Responder& out, RequestContext& ctx, net::Exchange& ex,
                                           bool client_wants_usage) {
  http::response_header<> head;
  head.result(http::status::ok);
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set("x-request-id", ctx.request_id);
  AddMeridianHeaders(head, ctx);
  ctx.status = 200;
  // (GCC 12 miscompiles some co_await inside conditions: results go through locals.)
  bool started = co_await out.StartStream(std::move(head));
  if (!started) {
    ex.Abort();
    co_return;
  }

  net::SseParser parser;
  std::string pending;  // translated events that arrived together, written as one chunk
  bool saw_done = false;
  std::optional<core::Error> failure;
  // Placeholders in the answer are restored as the events pass, a split one held back until
  // its end arrives (at most one placeholder's length).
  std::optional<ChatStreamRestorer> restorer;
  if (ctx.pseudonyms) restorer.emplace(*ctx.pseudonyms);
  std::string restored;
  auto on_event = [&](const net::SseEvent& upstream_event) {
    if (failure || saw_done) return;
    if (upstream_event.data == "[DONE]") {
      saw_done = true;
      if (restorer) {
        if (std::string rest = restorer->Finish(); !rest.empty()) net::AppendSseEvent(pending, rest);
      }
      net::AppendSseEvent(pending, upstream_event.data);
      return;
    }
    net::SseEvent event = upstream_event;
    if (restorer) {
      restored = restorer->Event(upstream_event.data);
      event.data = restored;
    }
    auto scan = ScanJson(event.data);
    if (!scan || !scan->top_level_object) {
      failure = core::Fail(ErrorCode::kUpstreamError,
                           fmt::format("backend '{}' sent a malformed stream event", ctx.backend->id()))
                    .error();
      return;
    }
    TakeUsage(*scan, ctx);
    // A budget or token limit that runs out mid-stream ends it here, with an error event.
    if (auto cut = ChargeStream(ctx, scan->text_bytes)) {
      failure = std::move(*cut);
      return;
    }
    if (client_wants_usage || scan->usage == JsonScan::Usage::kAbsent) {
      net::AppendSseEvent(pending, event.data, event.type);
      return;
    }
    // The client did not ask for usage: drop the usage-only chunk, and the "usage" member
    // the upstream adds to every other chunk because the gateway asked for it.
    if (scan->choices_empty) return;
    // Upstreams put the member last ("...,\"usage\":null}"): the member just before the final
    // brace belongs to the top-level object, so cutting it there is exact and copies nothing.
    constexpr std::string_view kNullUsageTail = ",\"usage\":null}";
    if (scan->usage == JsonScan::Usage::kNull && event.data.ends_with(kNullUsageTail) && event.type.empty() &&
        event.data.find('\n') == std::string_view::npos) {
      pending.append("data: ");
      pending.append(event.data.substr(0, event.data.size() - kNullUsageTail.size()));
      pending.append("}\n\n");
      return;
    }
    std::string data(event.data);
    if (scan->usage != JsonScan::Usage::kNull || !StripNullUsage(data)) {
      boost::system::error_code ec;
      json::value value = json::parse(event.data, ec);
      if (!ec && value.is_object()) {
        value.as_object().erase("usage");
        data = json::serialize(value);
      }
    }
    net::AppendSseEvent(pending, data, event.type);
  };

  auto feed = [&](std::string_view piece) {
    if (auto fed = parser.Feed(piece, on_event); !fed && !failure) {
      failure = core::Fail(ErrorCode::kUpstreamError,
                           fmt::format("backend '{}' sent a malformed stream: {}", ctx.backend->id(),
                                       fed.error().message))
                    .error();
    }
  };
  constexpr std::size_t kMaxBatch = 64 * 1024;
  bool ended = false;
  while (!ended && !failure && !saw_done) {
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
      // Events that arrived together leave together: translate what is already in memory
      // (never waiting for more), then write once.
      while (!failure && !saw_done && pending.size() < kMaxBatch) {
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
    if (saw_done && !failure) {
      // Strict durability: for an SSE client [DONE] is the end of the answer, so it leaves only
      // once the request's record is committed.
      bool recorded = co_await CommitBeforeEnd(out, ctx);
      if (!recorded) {
        ex.Abort();
        co_return;
      }
    }
    // Whatever was translated goes out before any error event or the end of the stream.
    bool written = true;
    if (!pending.empty()) written = co_await out.WriteChunk(pending);
    pending.clear();
    if (!written) {
      ex.Abort();  // the client is gone: stop the upstream now
      ClientLeft(ctx);
      co_return;
    }
  }
  if (!failure && !saw_done) {
    failure = core::Fail(ErrorCode::kUpstreamError,
                         fmt::format("backend '{}' ended the stream before [DONE]", ctx.backend->id()))
                  .error();
  }
  if (failure) {
    ex.Abort();
    ctx.error_code = core::CodeName(failure->code);
    std::string tail;
    if (restorer) {
      // What was held back is the client's text: it goes out before the error.
      if (std::string rest = restorer->Finish(); !rest.empty()) net::AppendSseEvent(tail, rest);
    }
    tail += StreamErrorEvent(*failure);
    bool recorded = co_await CommitBeforeEnd(out, ctx);  // strict: the error event ends the answer
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
  // The client has its answer; read the upstream's end of body so the connection is pooled.
  // A client that now closes must not abort that.
  out.WatchPeerClose(nullptr);
  while (!ex.done()) {
    auto rest = co_await ex.ReadSome();
    if (!rest || rest->empty()) break;
  }
}

}  // namespace meridian::gateway

#include "gateway/codecs.hpp"

namespace meridian::gateway {

using dialect::Dialect;
namespace openai = dialect::openai;
namespace anthropic = dialect::anthropic;
namespace gemini = dialect::gemini;
namespace responses = dialect::responses;

Dialect DialectOf(config::WireDialect wire) {
  switch (wire) {
    case config::WireDialect::kOpenAiChat: return Dialect::kOpenAiChat;
    case config::WireDialect::kOpenAiResponses: return Dialect::kOpenAiResponses;
    case config::WireDialect::kAnthropicMessages: return Dialect::kAnthropicMessages;
    case config::WireDialect::kGemini: return Dialect::kGemini;
  }
  return Dialect::kOpenAiChat;
}

core::Result<dialect::ChatRequest> DecodeClientRequest(Dialect client, const boost::json::object& body,
                                                       std::string_view gemini_model, bool gemini_stream) {
  switch (client) {
    case Dialect::kAnthropicMessages: return anthropic::DecodeRequest(body);
    case Dialect::kOpenAiResponses: return responses::DecodeRequest(body);
    case Dialect::kGemini: {
      gemini::Target target;
      target.model = std::string(gemini_model);
      target.stream = gemini_stream;
      return gemini::DecodeRequest(body, target);
    }
    default: return openai::DecodeRequest(body);
  }
}

core::Result<dialect::ChatResponse> DecodeUpstreamResponse(Dialect upstream, std::string_view body) {
  switch (upstream) {
    case Dialect::kAnthropicMessages: return anthropic::DecodeResponse(body);
    case Dialect::kOpenAiResponses: return responses::DecodeResponse(body);
    case Dialect::kGemini: return gemini::DecodeResponse(body);
    default: return openai::DecodeResponse(body);
  }
}

core::Result<std::string> EncodeClientResponse(Dialect client, const dialect::ChatResponse& response,
                                               std::int64_t created, const boost::json::object* echo) {
  switch (client) {
    case Dialect::kAnthropicMessages: return anthropic::EncodeResponse(response);
    case Dialect::kOpenAiResponses: {
      responses::ResponseOptions options;
      options.created = created;
      options.echo = echo;
      return responses::EncodeResponse(response, options);
    }
    case Dialect::kGemini: return gemini::EncodeResponse(response);
    default: {
      openai::ResponseOptions options;
      options.created = created;
      return openai::EncodeResponse(response, options);
    }
  }
}

dialect::ApiError DecodeUpstreamError(Dialect upstream, int status, std::string_view body,
                                      const dialect::ErrorHeaders& headers) {
  switch (upstream) {
    case Dialect::kAnthropicMessages: return anthropic::DecodeError(status, body, headers);
    case Dialect::kOpenAiResponses: return responses::DecodeError(status, body, headers);
    case Dialect::kGemini: return gemini::DecodeError(status, body, headers);
    default: return openai::DecodeError(status, body, headers);
  }
}

dialect::HttpError EncodeClientError(Dialect client, const dialect::ApiError& error) {
  switch (client) {
    case Dialect::kAnthropicMessages: return anthropic::EncodeError(error);
    case Dialect::kOpenAiResponses: return responses::EncodeError(error);
    case Dialect::kGemini: return gemini::EncodeError(error);
    default: return openai::EncodeError(error);
  }
}

namespace {

template <class Variant>
Variant MakeDecoder(Dialect d) {
  switch (d) {
    case Dialect::kAnthropicMessages: return Variant(std::in_place_type<anthropic::StreamDecoder>);
    case Dialect::kGemini: return Variant(std::in_place_type<gemini::StreamDecoder>);
    case Dialect::kOpenAiResponses: return Variant(std::in_place_type<responses::StreamDecoder>);
    default: return Variant(std::in_place_type<openai::StreamDecoder>);
  }
}

}  // namespace

AnyStreamDecoder::AnyStreamDecoder(Dialect upstream) : impl_(MakeDecoder<decltype(impl_)>(upstream)) {}

core::Result<void> AnyStreamDecoder::Feed(std::string_view data, std::vector<dialect::StreamEvent>& out) {
  return std::visit([&](auto& d) { return d.Feed(data, out); }, impl_);
}

void AnyStreamDecoder::Finish(std::vector<dialect::StreamEvent>& out) {
  std::visit([&](auto& d) { d.Finish(out); }, impl_);
}

namespace {

template <class Variant>
Variant MakeEncoder(Dialect d, bool include_usage, std::int64_t created, const boost::json::object* echo) {
  switch (d) {
    case Dialect::kAnthropicMessages: return Variant(std::in_place_type<anthropic::StreamEncoder>);
    case Dialect::kGemini: return Variant(std::in_place_type<gemini::StreamEncoder>);
    case Dialect::kOpenAiResponses: {
      responses::StreamOptions options;
      options.created = created;
      options.echo = echo;
      return Variant(std::in_place_type<responses::StreamEncoder>, options);
    }
    default: {
      openai::StreamOptions options;
      options.include_usage = include_usage;
      options.created = created;
      return Variant(std::in_place_type<openai::StreamEncoder>, options);
    }
  }
}

}  // namespace

AnyStreamEncoder::AnyStreamEncoder(Dialect client, bool include_usage, std::int64_t created,
                                   const boost::json::object* echo)
    : impl_(MakeEncoder<decltype(impl_)>(client, include_usage, created, echo)) {}

core::Result<void> AnyStreamEncoder::Encode(const dialect::StreamEvent& event, std::string& out) {
  return std::visit([&](auto& e) { return e.Encode(event, out); }, impl_);
}

}  // namespace meridian::gateway

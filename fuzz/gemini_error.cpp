// libFuzzer target: gemini::DecodeError on an upstream error; corpus/gemini_error.
// Input framing: fuzz_util.hpp, ParseErrorInput ("<status>\n<headers>\n\n<body>"). Decoding
// never fails; the error must encode in every dialect. Its Google Gemini form must
// decode and encode to the same status, JSON and headers (the first pass may normalize, e.g.
// a 2xx status or a detail the encoder does not write, the second not).
#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "fuzz_util.hpp"

namespace d = meridian::dialect;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = meridian::fuzz::ParseErrorInput(meridian::fuzz::AsText(data, size));
  const d::ApiError error = d::gemini::DecodeError(in.status, in.body, in.headers);
  (void)d::openai::EncodeError(error);
  (void)d::anthropic::EncodeError(error);
  (void)d::gemini::ErrorBody(error);
  const d::HttpError http = d::gemini::EncodeError(error);
  const d::ApiError again =
      d::gemini::DecodeError(http.status, http.body, meridian::fuzz::Headers(http));
  const d::HttpError http2 = d::gemini::EncodeError(again);
  FUZZ_CHECK(http2.status == http.status && meridian::fuzz::SameJsonText(http.body, http2.body) &&
                 http2.headers == http.headers,
             "not a fixpoint\nfirst:  " + std::to_string(http.status) + " " + http.body +
                 "\nsecond: " + std::to_string(http2.status) + " " + http2.body);
  return 0;
}

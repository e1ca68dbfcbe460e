// libFuzzer target: gemini::DecodeRequest (and ParseTarget); corpus/gemini_request.
// Input: an optional first line with the request path ("/v1beta/models/m:generateContent"; without
// it the target is model gemini-2.5-flash, not streaming), then the body. Encoding a decoded
// request (in any dialect) may fail, never crash. A path and body the Gemini encoder wrote must
// decode again and encode to the same JSON (the first pass may normalize, the second not).
#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "fuzz_util.hpp"

namespace d = meridian::dialect;
using meridian::fuzz::AsText;
using meridian::fuzz::SplitLine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = AsText(data, size);
  d::gemini::Target target{.model = "gemini-2.5-flash"};
  if (text.starts_with('/')) {
    auto [path, body] = SplitLine(text);
    auto parsed = d::gemini::ParseTarget(path);
    if (!parsed) return 0;
    target = *parsed;
    text = body;
  }
  auto request = d::gemini::DecodeRequest(text, target);
  if (!request) return 0;
  (void)d::openai::EncodeRequest(*request);
  (void)d::anthropic::EncodeRequest(*request);
  auto encoded = d::gemini::EncodeRequest(*request);
  if (!encoded) return 0;
  auto target2 = d::gemini::ParseTarget(encoded->path);
  FUZZ_CHECK(target2.has_value(), "encoded path does not parse: " + encoded->path);
  auto again = d::gemini::DecodeRequest(encoded->body, *target2);
  FUZZ_CHECK(again.has_value(), again.error().message + "\nbody: " + encoded->body);
  auto encoded2 = d::gemini::EncodeRequest(*again);
  FUZZ_CHECK(encoded2.has_value(), encoded2.error().message + "\nbody: " + encoded->body);
  FUZZ_CHECK(encoded2->path == encoded->path &&
                 meridian::fuzz::SameJsonText(encoded->body, encoded2->body),
             "not a fixpoint\nfirst:  " + encoded->path + " " + encoded->body + "\nsecond: " +
                 encoded2->path + " " + encoded2->body);
  return 0;
}

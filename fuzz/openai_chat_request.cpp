// libFuzzer target: openai::DecodeRequest on a request body; corpus/openai_chat_request.
// Encoding a decoded request (in any dialect) may fail, never crash. An OpenAI Chat Completions
// body that the encoder wrote must decode again and encode to the same JSON
// (fuzz_util.hpp, SameJson): the first pass may normalize (sanitized tool ids, members
// meaningless without `stream` dropped), the second not.
#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "fuzz_util.hpp"

namespace d = meridian::dialect;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto request = d::openai::DecodeRequest(meridian::fuzz::AsText(data, size));
  if (!request) return 0;
  (void)d::anthropic::EncodeRequest(*request);
  (void)d::gemini::EncodeRequest(*request);
  auto body = d::openai::EncodeRequest(*request);
  if (!body) return 0;
  auto again = d::openai::DecodeRequest(*body);
  FUZZ_CHECK(again.has_value(), again.error().message + "\nbody: " + *body);
  auto body2 = d::openai::EncodeRequest(*again);
  FUZZ_CHECK(body2.has_value(), body2.error().message + "\nbody: " + *body);
  FUZZ_CHECK(meridian::fuzz::SameJsonText(*body, *body2),
             "not a fixpoint\nfirst:  " + *body + "\nsecond: " + *body2);
  return 0;
}

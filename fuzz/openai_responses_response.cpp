// libFuzzer target: responses::DecodeResponse on a response body;
// corpus/openai_responses_response. Encoding a decoded response may fail for another dialect,
// never crash; as OpenAI Responses it must succeed, decode again and encode to the same JSON
// (fuzz_util.hpp, SameJson): the first pass may normalize, the second not.
#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "dialect/openai_responses.hpp"
#include "fuzz_util.hpp"

namespace d = meridian::dialect;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto response = d::responses::DecodeResponse(meridian::fuzz::AsText(data, size));
  if (!response) return 0;
  (void)d::openai::EncodeResponse(*response);
  (void)d::anthropic::EncodeResponse(*response);
  (void)d::gemini::EncodeResponse(*response);
  auto body = d::responses::EncodeResponse(*response);
  FUZZ_CHECK(body.has_value(), body.error().message);
  auto again = d::responses::DecodeResponse(*body);
  FUZZ_CHECK(again.has_value(), again.error().message + "\nbody: " + *body);
  auto body2 = d::responses::EncodeResponse(*again);
  FUZZ_CHECK(body2.has_value(), body2.error().message + "\nbody: " + *body);
  FUZZ_CHECK(meridian::fuzz::SameJsonText(*body, *body2),
             "not a fixpoint\nfirst:  " + *body + "\nsecond: " + *body2);
  return 0;
}

// libFuzzer target: responses::DecodeRequest on a request body; corpus/openai_responses_request.
// Encoding a decoded request for another dialect (after PrepareForeign, as the gateway does)
// may fail, never crash. An OpenAI Responses body that the encoder wrote must decode again and
// encode to the same JSON (fuzz_util.hpp, SameJson): the first pass may normalize, the second
// not.
#include "dialect/anthropic_messages.hpp"
#include "dialect/gemini.hpp"
#include "dialect/openai_chat.hpp"
#include "dialect/openai_responses.hpp"
#include "fuzz_util.hpp"

namespace d = meridian::dialect;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto request = d::responses::DecodeRequest(meridian::fuzz::AsText(data, size));
  if (!request) return 0;
  {
    d::ChatRequest foreign = *request;
    d::responses::PrepareForeign(foreign);
    (void)d::openai::EncodeRequest(foreign);
    (void)d::anthropic::EncodeRequest(foreign);
    (void)d::gemini::EncodeRequest(foreign);
  }
  auto body = d::responses::EncodeRequest(*request);
  if (!body) return 0;
  auto again = d::responses::DecodeRequest(*body);
  FUZZ_CHECK(again.has_value(), again.error().message + "\nbody: " + *body);
  auto body2 = d::responses::EncodeRequest(*again);
  FUZZ_CHECK(body2.has_value(), body2.error().message + "\nbody: " + *body);
  FUZZ_CHECK(meridian::fuzz::SameJsonText(*body, *body2),
             "not a fixpoint\nfirst:  " + *body + "\nsecond: " + *body2);
  return 0;
}

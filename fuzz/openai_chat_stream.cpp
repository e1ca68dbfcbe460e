// libFuzzer target: openai::StreamDecoder on SSE text (stream_util.hpp, RunStream);
// corpus/openai_chat_stream.
#include "stream_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using Decoder = meridian::dialect::openai::StreamDecoder;
  meridian::fuzz::RunStream<Decoder>(meridian::fuzz::AsText(data, size));
  return 0;
}

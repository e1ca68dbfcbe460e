// libFuzzer target: anthropic::StreamDecoder on SSE text (stream_util.hpp, RunStream);
// corpus/anthropic_messages_stream.
#include "stream_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using Decoder = meridian::dialect::anthropic::StreamDecoder;
  meridian::fuzz::RunStream<Decoder>(meridian::fuzz::AsText(data, size));
  return 0;
}

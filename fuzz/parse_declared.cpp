// libFuzzer target: gateway::ParseDeclared on the two declaration headers; corpus/parse_declared.
// Input: the x-meridian-data-classes value, a newline, the x-meridian-data-jurisdiction value.
// A failure names a header and never echoes more than a short, printable excerpt.
#include "fuzz_util.hpp"
#include "gateway/policy_stage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = meridian::fuzz::AsText(data, size);
  const auto [classes, jurisdiction] = meridian::fuzz::SplitLine(text);
  const auto declared = meridian::gateway::ParseDeclared(classes, jurisdiction);
  if (!declared) {
    const auto& e = declared.error();
    FUZZ_CHECK(e.param == meridian::gateway::kDataClassesHeader ||
                   e.param == meridian::gateway::kDataJurisdictionHeader,
               e.param);
    for (char c : e.message) {
      FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7e,
                 "unprintable byte in the message");
    }
    FUZZ_CHECK(e.message.size() < 512, e.message);
  }
  return 0;
}

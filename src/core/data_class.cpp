#include "core/data_class.hpp"

#include <array>

namespace meridian::core {
namespace {

constexpr std::array<std::string_view, kDataClassCount> kNames = {
    "email",  "phone",  "ip_address",      "payment_card",    "iban",   "us_ssn",
    "cn_resident_id", "de_tax_id", "fr_nir", "in_aadhaar", "uk_nino", "es_dni_nie",
    "it_codice_fiscale", "br_cpf", "secret", "classification_marking"};

}  // namespace

std::string_view DataClassName(DataClass c) { return kNames[static_cast<int>(c)]; }

std::optional<DataClass> ParseDataClass(std::string_view name) {
  for (int i = 0; i < kDataClassCount; ++i) {
    if (kNames[i] == name) return static_cast<DataClass>(i);
  }
  return std::nullopt;
}

}  // namespace meridian::core

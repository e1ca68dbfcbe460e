#pragma once
// Kinds of sensitive data the classifier finds and policies are written about.
// Names are stable identifiers used in configuration, metrics and audit records.

#include <optional>
#include <string_view>

namespace meridian::core {

enum class DataClass {
  kEmail,                   // "email"
  kPhone,                   // "phone"
  kIpAddress,               // "ip_address"
  kPaymentCard,             // "payment_card" (Luhn-validated)
  kIban,                    // "iban" (mod-97 validated)
  kUsSsn,                   // "us_ssn"
  kCnResidentId,            // "cn_resident_id"
  kDeTaxId,                 // "de_tax_id"
  kFrNir,                   // "fr_nir"
  kInAadhaar,               // "in_aadhaar"
  kUkNino,                  // "uk_nino"
  kEsDniNie,                // "es_dni_nie"
  kItCodiceFiscale,         // "it_codice_fiscale"
  kBrCpf,                   // "br_cpf"
  kSecret,                  // "secret": API keys, private keys, tokens, credentials in URLs
  kClassificationMarking,   // "classification_marking": TOP SECRET//..., NATO SECRET, ...
};

inline constexpr int kDataClassCount = 16;

// "email", "payment_card", ... (see the enum).
std::string_view DataClassName(DataClass c);
// The class named `name`, or nullopt.
std::optional<DataClass> ParseDataClass(std::string_view name);

}  // namespace meridian::core

#include "core/jurisdiction.hpp"

#include <algorithm>
#include <array>

namespace meridian::core {
namespace {

// ISO 3166-1 alpha-2, officially assigned codes (249), sorted for binary search.
constexpr std::array<std::string_view, 249> kAssigned = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX",
    "AZ",  // A
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR",
    "BS", "BT", "BV", "BW", "BY", "BZ",  // B
    "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV",
    "CW", "CX", "CY", "CZ",  // C
    "DE", "DJ", "DK", "DM", "DO", "DZ",  // D
    "EC", "EE", "EG", "EH", "ER", "ES", "ET",  // E
    "FI", "FJ", "FK", "FM", "FO", "FR",  // F
    "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS",
    "GT", "GU", "GW", "GY",  // G
    "HK", "HM", "HN", "HR", "HT", "HU",  // H
    "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT",  // I
    "JE", "JM", "JO", "JP",  // J
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ",  // K
    "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",  // L
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR",
    "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ",  // M
    "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",  // N
    "OM",  // O
    "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY",  // P
    "QA",  // Q
    "RE", "RO", "RS", "RU", "RW",  // R
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR",
    "SS", "ST", "SV", "SX", "SY", "SZ",  // S
    "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ",  // T
    "UA", "UG", "UM", "US", "UY", "UZ",  // U
    "VA", "VC", "VE", "VG", "VI", "VN", "VU",  // V
    "WF", "WS",  // W
    "YE", "YT",  // Y
    "ZA", "ZM", "ZW",  // Z
};

// The 27 EU member states (since 1 February 2020), sorted.
constexpr std::array<std::string_view, 27> kEuMembers = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
};

}  // namespace

bool IsKnownJurisdiction(std::string_view code) {
  if (code == "EU") return true;
  return std::binary_search(kAssigned.begin(), kAssigned.end(), code);
}

bool IsEuMember(std::string_view code) {
  return std::binary_search(kEuMembers.begin(), kEuMembers.end(), code);
}

std::span<const std::string_view> AssignedCountryCodes() { return kAssigned; }

}  // namespace meridian::core

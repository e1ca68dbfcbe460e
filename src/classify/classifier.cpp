#include "classify/classifier.hpp"

#include <arpa/inet.h>
#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "classify/validators.hpp"

namespace meridian::classify {
namespace {

using core::DataClass;

// How a candidate is confirmed after Hyperscan reports it.
enum class Check {
  kNone,
  kLuhn,
  kIban,
  kSsn,
  kCnId,
  kDeTaxId,
  kDeTaxIdSlashed,  // IdNr in slash-separated groups: not part of a longer slash/dot run
  kFrNir,
  kAadhaar,
  kNino,
  kEsId,
  kItCf,
  kBrCpf,
  kEmail,
  kPhone,
  kPhoneContext,  // bare national format: phone shape and a context word next to it
  kIpv4,
  kIpv6,
  kTokenBody,   // secret with a fixed prefix: body must mix letters and digits
  kMixedBody,   // like kTokenBody, or upper and lower case letters (base62 without digits)
  kSalesforceId,  // 00D org id: letters and digits, both cases or a digit after the prefix
  kUrlCred,     // scheme://user:pass@host: password must not be a placeholder
  kAssignment,  // password = "...": span narrowed to the value, placeholders dropped
  kKeyedValue,  // value after a strong credential context (IDENTIFIED BY, CURLOPT_PASSWORD)
  kDefinedValue,  // key "value" without '=': as kAssignment, and the value mixes kinds
  kPemBlock,    // PEM header: span extended to the matching END line when present
  kLineStart,   // only blanks between the line start and the match: span starts at the line
};

// Where a match starts. Hyperscan's start-of-match tracking is costly for patterns that begin
// with a common character class (it must follow every word), so those patterns are compiled
// without it and their start is recovered from the text here.
enum class Start {
  kSom,    // reported by Hyperscan (HS_FLAG_SOM_LEFTMOST)
  kEmail,  // walk back over the domain to '@', then over the local part
  kUrl,    // walk back to '@', then to "://", then over the scheme
  kRun,    // walk back over token characters [A-Za-z0-9_.-]
  kValue,  // walk back over a credential value (no space, quote, '<', '>', ',', ';')
  kLevel,  // walk back over trailing blanks to a classification level word (TOP SECRET, ...)
  kNumber,  // walk back over a written number: digits, blanks, '(', ')', '.', '-'
  kSlashed,  // walk back over digits and '/' (the whole run: the check counts its digits)
};

struct PatternDef {
  const char* regex;
  unsigned flags;
  DataClass cls;
  Check check;
  Start start = Start::kSom;
};

constexpr unsigned kCi = HS_FLAG_CASELESS;
constexpr unsigned kMl = HS_FLAG_MULTILINE;

// All patterns are written for this project from the published formats of each identifier.
// Word boundaries keep identifiers from being cut out of longer digit or letter runs.
constexpr PatternDef kPatterns[] = {
    // --- e-mail ---------------------------------------------------------------------------
    {R"([A-Za-z0-9_%+\-]@[A-Za-z0-9](?:[A-Za-z0-9\-]*\.)+[A-Za-z]{2,}\b)", 0, DataClass::kEmail,
     Check::kEmail, Start::kEmail},

    // --- phone ----------------------------------------------------------------------------
    // International: +CC, optional (0) trunk, groups separated by space, '.', '-'.
    {R"(\+[1-9]\d{0,2}(?:[ .\-]?\(0\))?(?:[ .\-]?\(\d{1,4}\))?(?:[ .\-]?\d{2,5}){1,5}\b)", 0,
     DataClass::kPhone, Check::kPhone},
    // North American: (555) 123-4567, 555-123-4567, 555.123.4567, optional 1- and extension.
    {R"((?:\b1[ .\-])?(?:\(\d{3}\) ?|\b\d{3}[.\-])\d{3}[.\-]\d{4}\b(?:x\d{1,5}\b)?)", 0,
     DataClass::kPhone, Check::kPhone},
    // National numbers with trunk prefix 0 written in groups: 07700 900 123, 01 23 45 67 89.
    {R"(\b0[1-9]\d{0,3}(?:[ .\-]\d{2,4}){2,4}\b)", 0, DataClass::kPhone, Check::kPhone},
    // Bare national numbers (467 3395, 60-56-85-91, (37) 788-063, 5403926876): claimed only
    // next to a phone context word (Phone:, Mobile:, fax, call me at, ... office).
    {R"((?:\(\d{2,4}\) ?|\b\d{2,5}[ .\-])\d{2,8}(?:[ .\-]\d{2,8}){0,3}(?:x\d{1,5})?\b)", 0,
     DataClass::kPhone, Check::kPhoneContext, Start::kNumber},
    {R"(\b\d{10}\b)", 0, DataClass::kPhone, Check::kPhoneContext, Start::kNumber},

    // --- IP addresses ---------------------------------------------------------------------
    {R"(\b(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b)", 0,
     DataClass::kIpAddress, Check::kIpv4},
    {R"([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?::\d{1,3}(?:\.\d{1,3}){3})?)", 0,
     DataClass::kIpAddress, Check::kIpv6},

    // --- payment cards --------------------------------------------------------------------
    {R"(\b[1-68]\d{11,18}\b)", 0, DataClass::kPaymentCard, Check::kLuhn},
    {R"(\b[1-68]\d{3}(?:[ \-]\d{4}){2}[ \-]\d{1,7}\b)", 0, DataClass::kPaymentCard, Check::kLuhn},
    {R"(\b[1-68]\d{3}(?:[ \-]\d{4}){3}[ \-]\d{3}\b)", 0, DataClass::kPaymentCard, Check::kLuhn},
    {R"(\b3\d{3}[ \-]\d{6}[ \-]\d{4,5}\b)", 0, DataClass::kPaymentCard, Check::kLuhn},

    // --- IBAN -----------------------------------------------------------------------------
    {R"(\b[A-Za-z]{2}\d{2}[A-Za-z0-9]{11,30}\b)", 0, DataClass::kIban, Check::kIban},
    {R"(\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?\b)", 0, DataClass::kIban,
     Check::kIban},

    // --- national identifiers -------------------------------------------------------------
    {R"(\b\d{3}-\d{2}-\d{4}\b)", 0, DataClass::kUsSsn, Check::kSsn},
    {R"(\b\d{3} \d{2} \d{4}\b)", 0, DataClass::kUsSsn, Check::kSsn},
    {R"(\b[1-9]\d{16}[0-9Xx]\b)", 0, DataClass::kCnResidentId, Check::kCnId},
    // Steuer-IdNr: 11 digits, the BZSt letter's "12 345 678 901", or digit groups split by '/'
    // (the separator of German tax numbers on forms; the validator counts 11 digits).
    {R"(\b[1-9]\d{10}\b)", 0, DataClass::kDeTaxId, Check::kDeTaxId},
    {R"(\b[1-9]\d \d{3} \d{3} \d{3}\b)", 0, DataClass::kDeTaxId, Check::kDeTaxId},
    {R"(\b[1-9]\d{0,4}(?:/\d{1,5}){1,4}\b)", 0, DataClass::kDeTaxId, Check::kDeTaxIdSlashed,
     Start::kSlashed},
    {R"(\b[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[ABab]) ?\d{3} ?\d{3} ?\d{2}\b)", 0, DataClass::kFrNir,
     Check::kFrNir},
    {R"(\b[2-9]\d{3}[ \-]?\d{4}[ \-]?\d{4}\b)", 0, DataClass::kInAadhaar, Check::kAadhaar},
    {R"(\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b)", 0, DataClass::kUkNino, Check::kNino},
    // DNI (8 digits) / NIE (X, Y, Z + 7 digits) + mod-23 letter. Upper case, or all in lower
    // case or mixed when the letter is glued to the number (typed "12345678z", "x1234567l");
    // after a blank or '-' the letter must be upper case (Spanish prose: "entre 20000000 y
    // 30000000"; checked in Check::kEsId). Dotted DNI "12.345.678-Z" and hyphenated NIE
    // "X-1234567-L" are how the numbers are printed on many documents.
    {R"(\b[XYZxyz]?\d{7,8}[ \-]?[A-Za-z]\b)", 0, DataClass::kEsDniNie, Check::kEsId},
    {R"(\b(?:[XYZ]-\d{7}|\d\d\.\d{3}\.\d{3})[ \-]?[A-Z]\b)", 0, DataClass::kEsDniNie,
     Check::kEsId},
    {R"(\b[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]\b)", 0,
     DataClass::kItCodiceFiscale, Check::kItCf},
    {R"(\b\d{3}\.\d{3}\.\d{3}-\d{2}\b)", 0, DataClass::kBrCpf, Check::kBrCpf},
    {R"(\b\d{11}\b)", 0, DataClass::kBrCpf, Check::kBrCpf},

    // --- secrets: vendor key formats ------------------------------------------------------
    {R"(\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|A3T[A-Z0-9])[A-Z0-9]{16}\b)", 0,
     DataClass::kSecret, Check::kNone},
    {R"(\bgh[pousr]_[A-Za-z0-9]{36,251}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bgithub_pat_[A-Za-z0-9_]{60,}\b)", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bglpat-[A-Za-z0-9_\-]{20,64}\b)", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bgl(?:dt|rt|rtr|ptt|ft|ffct|cbt|imt|agent|oas|soat|wt)-[A-Za-z0-9_\-]{20,80}\b)", 0,
     DataClass::kSecret, Check::kNone},
    {R"(\bxox[abposre]-[A-Za-z0-9\-]{10,}\b)", 0, DataClass::kSecret, Check::kTokenBody, Start::kRun},
    {R"(https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{20,120})", 0,
     DataClass::kSecret, Check::kNone},
    {R"(\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{20,250}\b)", 0, DataClass::kSecret,
     Check::kTokenBody},
    {R"(\bwhsec_[A-Za-z0-9+/]{24,64}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bsk-ant-(?:api|admin|oat|ort)\d{2}-[A-Za-z0-9_\-]{80,})", 0, DataClass::kSecret,
     Check::kNone, Start::kRun},
    {R"(\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,})",
     0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}\b)", 0, DataClass::kSecret,
     Check::kTokenBody, Start::kRun},
    {R"(\bsk-[a-f0-9]{32}\b)", 0, DataClass::kSecret, Check::kTokenBody},  // DeepSeek and kin
    {R"(\bgsk_[A-Za-z0-9]{52}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bhf_[A-Za-z0-9]{34,40}\b)", 0, DataClass::kSecret, Check::kMixedBody},
    {R"(\bAIza[0-9A-Za-z_\-]{35}(?:\b|$))", 0, DataClass::kSecret, Check::kNone},
    {R"(\bGOCSPX-[A-Za-z0-9_\-]{28}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bya29\.[A-Za-z0-9_\-]{30,})", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bnpm_[A-Za-z0-9]{36}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bdckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,})", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bdo[opr]_v1_[a-f0-9]{64}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bSG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bfigd_[A-Za-z0-9_\-]{40}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bATATT3[A-Za-z0-9_\-=]{150,})", 0, DataClass::kSecret, Check::kNone},
    {R"(\bops_eyJ[A-Za-z0-9_\-]{100,})", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bdapi[a-f0-9]{32}(?:-\d)?\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bkey-[a-f0-9]{32}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bsq0(?:atp|csp)-[A-Za-z0-9_\-]{22,60}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bEAAA[A-Za-z0-9_\-]{60}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bNRAK-[A-Z0-9]{27}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bph[acrsx]_[A-Za-z0-9]{39,64}\b)", 0, DataClass::kSecret, Check::kMixedBody},  // PostHog
    {R"(\bpscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-.]{32,64}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bsbp_(?:v0_)?[a-f0-9]{40}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bsqu_[a-f0-9]{40}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bglsa_[A-Za-z0-9]{32}_[a-fA-F0-9]{8}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bLLM\|[0-9]{10,20}\|[A-Za-z0-9_\-]{20,})", 0, DataClass::kSecret, Check::kNone},
    {R"(\btgp_v1_[A-Za-z0-9_\-]{40,})", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bABSK[A-Za-z0-9+/]{100,}={0,2})", 0, DataClass::kSecret, Check::kNone},
    {R"(\bATBB[A-Za-z0-9_=.\-]{28,}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bBBDC-[A-Za-z0-9+/@_\-]{40,})", 0, DataClass::kSecret, Check::kNone},
    {R"(\bxkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bCLOJARS_[a-z0-9]{60}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bdnkey-[A-Za-z0-9=_\-]{26}-[A-Za-z0-9=_\-]{52}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bLTAI[A-Za-z0-9]{12,20}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bcmVmdGtu[A-Za-z0-9]{50,})", 0, DataClass::kSecret, Check::kNone},
    {R"(\bAKCp[A-Za-z0-9]{69}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bda2-[a-z0-9]{26}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bamzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)", 0,
     DataClass::kSecret, Check::kNone},
    // More provider formats (prefixes from the providers' published token formats).
    {R"(\bbedrock-api-key-[A-Za-z0-9+/=]{20,200})", 0, DataClass::kSecret, Check::kMixedBody},
    {R"(\bakab-[a-z0-9]{16}-[a-z0-9]{16}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"([A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})", 0, DataClass::kSecret,
     Check::kTokenBody},  // Azure AD client secret
    {R"(\bcf(?:at|ut|k)_[A-Za-z0-9]{40,50}\b)", 0, DataClass::kSecret, Check::kMixedBody},
    {R"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_\-]{60,68})",
     0, DataClass::kSecret, Check::kNone},
    {R"(\bSWMTKN-1-[a-z0-9]{50}-[a-z0-9]{25}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bSWMKEY-1-[A-Za-z0-9+/]{43}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}\b)", 0, DataClass::kSecret,
     Check::kMixedBody},
    {R"(\bsl\.[A-Za-z0-9_\-]{130,160})", 0, DataClass::kSecret, Check::kTokenBody},  // Dropbox
    {R"(\bdt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bGR1348941[A-Za-z0-9_\-]{20}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\b_gitlab_session=[a-f0-9]{32}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\b1//0[A-Za-z0-9_\-]{40,})", 0, DataClass::kSecret, Check::kTokenBody},  // Google refresh
    {R"(\b\d{12}-[a-z0-9]{32}\.apps\.googleusercontent\.com\b)", 0, DataClass::kSecret,
     Check::kNone},
    {R"(\bglc_[A-Za-z0-9+/]{32,400}={0,2})", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\beyJrIjoi[A-Za-z0-9]{60,}={0,2})", 0, DataClass::kSecret, Check::kNone, Start::kRun},  // Grafana
    {R"(\bhv[sbr]\.[A-Za-z0-9_\-]{24,})", 0, DataClass::kSecret, Check::kTokenBody, Start::kRun},
    {R"(\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70})", 0, DataClass::kSecret,
     Check::kNone},
    {R"(\bHRKU-[A-Za-z0-9_\-]{30,60}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bIGQVJ[A-Za-z0-9_\-]{100,})", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\blin_api_[A-Za-z0-9]{40}\b)", 0, DataClass::kSecret, Check::kMixedBody},
    {R"(\bllx-[A-Za-z0-9_\-]{48}\b)", 0, DataClass::kSecret, Check::kMixedBody},
    {R"(\b[A-Za-z0-9]{32}-us\d{1,2}\b)", 0, DataClass::kSecret, Check::kTokenBody},  // Mailchimp
    {R"(\bnfp_[A-Za-z0-9]{36,}\b)", 0, DataClass::kSecret, Check::kMixedBody, Start::kRun},
    {R"(\bNR(?:BR|II|JS|AK|IQ|RA|SP|AA|EI)-[A-Za-z0-9_\-]{19,40}\b)", 0, DataClass::kSecret,
     Check::kTokenBody},
    {R"(\b[a-f0-9x]{36}NRAL\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bntn_\d{11}[A-Za-z0-9]{35}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bTlRMTVNTUAA[A-Za-z0-9+/]{20,}={0,2})", 0, DataClass::kSecret, Check::kNone,
     Start::kValue},  // NTLM
    {R"(\bAuthorization:\s{0,3}(?:NTLM|Negotiate) [A-Za-z0-9+/]{20,512}={0,2})", kCi,
     DataClass::kSecret, Check::kNone},
    {R"(\boy2[a-z0-9]{43}\b)", 0, DataClass::kSecret, Check::kTokenBody},  // NuGet
    {R"(\baccess_token\$production\$[a-z0-9]{16}\$[a-f0-9]{32}\b)", 0, DataClass::kSecret,
     Check::kNone},
    {R"(\bpplx-[A-Za-z0-9]{48}\b)", 0, DataClass::kSecret, Check::kMixedBody},
    {R"(\bPMAT-[A-Z0-9]{26}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\brubygems_[a-f0-9]{48}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\b00D[A-Za-z0-9]{12,15}\b)", 0, DataClass::kSecret, Check::kSalesforceId},
    {R"(\b00D[A-Za-z0-9]{12}![A-Za-z0-9_.]{80,200})", 0, DataClass::kSecret, Check::kNone},
    {R"(\b3MVG[A-Za-z0-9_.]{80,100})", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bsntrys_eyJ[A-Za-z0-9+/=_]{80,})", 0, DataClass::kSecret, Check::kNone, Start::kRun},
    {R"(\bsntryu_[a-f0-9]{64}\b)", 0, DataClass::kSecret, Check::kNone},
    {R"(\bxapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{40,70}\b)", 0, DataClass::kSecret,
     Check::kNone},
    {R"(\b\d{8,10}:AA[A-Za-z0-9_\-]{33}\b)", 0, DataClass::kSecret, Check::kNone},  // Telegram
    {R"(\btvly-[A-Za-z0-9]{32}\b)", 0, DataClass::kSecret, Check::kMixedBody},
    {R"(\b(?:SK|AC)[0-9a-fA-F]{32}\b)", 0, DataClass::kSecret, Check::kTokenBody},  // Twilio
    {R"(\bAAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{30,})", 0, DataClass::kSecret,
     Check::kTokenBody, Start::kValue},  // X app-only bearer
    {R"(\bvc[pikar]_[A-Za-z0-9]{40,60}\b)", 0, DataClass::kSecret, Check::kMixedBody},  // Vercel
    {R"(\bwx[a-f0-9]{16}\b)", 0, DataClass::kSecret, Check::kTokenBody},  // WeChat app id
    {R"(\bcosmo_[a-f0-9]{32}\b)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bxai-[A-Za-z0-9]{80}\b)", 0, DataClass::kSecret, Check::kMixedBody},
    // Private keys: the PEM header, and the whole block when it is there.
    // Private keys: the PEM header; the span is extended over the body to the END marker.
    {R"(-----BEGIN[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----)", 0, DataClass::kSecret,
     Check::kPemBlock},
    // JWT: base64url header and payload that both start with '{"'.
    {R"(\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{0,600})", 0,
     DataClass::kSecret, Check::kNone, Start::kRun},
    // Credentials in URLs.
    {R"([A-Za-z]://[^\s:/@"'<>]{1,128}:[^\s/@"'<>]{1,256}@[A-Za-z0-9][A-Za-z0-9.\-_]*)", 0,
     DataClass::kSecret, Check::kUrlCred, Start::kUrl},
    // Authorization headers.
    {R"(\b[Bb]earer [A-Za-z0-9\-._~+/]{20,1024}=*)", 0, DataClass::kSecret, Check::kTokenBody},
    {R"(\bAuthorization:\s{0,3}Basic [A-Za-z0-9+/]{12,512}={0,2})", kCi, DataClass::kSecret,
     Check::kNone},
    // Assignments to a credential-named key: password = "...", "api_key": "...".
    // Key names end the identifier (AwsSecretKey, db_password, "api_key"); short ones (pw,
    // pass, key) need a boundary or '_' before them.
    {R"((?:passwords?|passwd|passwort|pswd|psswd|pswrd|psword|psswrd|pssword|paswd|paswrd|pasword|passphrase|secret|secret[ _\-]?(?:access[ _\-]?)?key|api[_\-]?key|apikey|access[ _\-]?key|access[_\-]?token|auth[_\-]?token|client[_\-]?secret|private[_\-]?key|token|credentials?|authori[sz]ation|authentication|nonce|(?:\b|_)(?:pwd|pw|pass|key))["']?\s{0,3}(?::=|=>|===|==|!==|!=|=|:)\s{0,3}[bru]?(?:["'`]|&quot;|&#34;|&#39;)?[^\s"'`<>,;]{4,256})",
     kCi, DataClass::kSecret, Check::kAssignment, Start::kValue},
    // A key followed by a quoted value without '=': #define PASSWORD "x", SET password "x",
    // define('PASSWORD', 'x'); and unquoted after #define / %define / %global. (A leading
    // "define|set" alternative cost a tenth of the prose scan: "set" is a common word.)
    {R"((?:passwords?|passwd|passwort|pswd|psswd|pswrd|psword|psswrd|pssword|paswd|paswrd|pasword|passphrase|secret|secret[ _\-]?(?:access[ _\-]?)?key|api[_\-]?key|apikey|access[ _\-]?key|access[_\-]?token|auth[_\-]?token|client[_\-]?secret|private[_\-]?key|token|credentials?|authori[sz]ation|authentication|nonce|(?:\b|_)(?:pwd|pw|pass|key))["']?\s{0,3},?\s{1,3}\\?["'][^\s"'`<>,;\\]{4,256})", kCi, DataClass::kSecret,
     Check::kDefinedValue, Start::kValue},
    {R"((?:#|%)(?:define|global)\s{1,3}(?:passwords?|passwd|passwort|pswd|psswd|pswrd|psword|psswrd|pssword|paswd|paswrd|pasword|passphrase|secret|secret[ _\-]?(?:access[ _\-]?)?key|api[_\-]?key|apikey|access[ _\-]?key|access[_\-]?token|auth[_\-]?token|client[_\-]?secret|private[_\-]?key|token|credentials?|authori[sz]ation|authentication|nonce|(?:\b|_)(?:pwd|pw|pass|key))\s{1,3}[^\s"'`<>,;\\]{4,256})", kCi,
     DataClass::kSecret, Check::kDefinedValue, Start::kValue},
    // Command-line flags: --password X, -Password 'X', --db-password X, --oauth2-bearer X.
    {R"((?:\s|^)--?(?:[A-Za-z0-9]{1,20}[\-_]){0,3}(?:password|passwd|passphrase|pass|pw|token|secret|api-key|bearer)[ =]["']?[^\s"'`<>,;\-][^\s"'`<>,;]{3,255})",
     kCi, DataClass::kSecret, Check::kAssignment, Start::kValue},
    // SQL: IDENTIFIED BY 'x', IDENTIFIED WITH plugin BY 'x', WITH/LOGIN/ENCRYPTED PASSWORD 'x'.
    {R"(\b(?:IDENTIFIED(?:\s{1,3}WITH\s{1,3}["'`]?\w{1,40}["'`]?)?\s{1,3}(?:BY|AS)|(?:WITH|LOGIN|ENCRYPTED|UNENCRYPTED)\s{1,3}PASSWORD)\s{1,3}\\?["'`]?[^\s"'`<>,;\\]{4,128})",
     kCi, DataClass::kSecret, Check::kKeyedValue, Start::kValue},
    // libcurl options that carry a credential: CURLOPT_PASSWORD, CURLOPT_USERPWD, ...
    {R"(\bCURLOPT_[A-Z0-9_]{0,20}(?:PASSWORD|PASSWD|PWD|BEARER)\s{0,3},\s{0,3}"[^"\s]{4,256})", 0,
     DataClass::kSecret, Check::kKeyedValue, Start::kValue},
    // PowerShell: ConvertTo-SecureString [-String] [-AsPlainText] [-Force] "x".
    {R"(\bConvertTo-SecureString(?:\s{1,3}-[A-Za-z]{1,20}){0,4}\s{1,3}\\?["']?[^\s"'`<>,;\-\\$(][^\s"'`<>,;\\]{3,255})",
     kCi, DataClass::kSecret, Check::kKeyedValue, Start::kValue},
    // Private JSON Web Key: the "d" member (private exponent / EC private key).
    {R"("d"\s{0,3}:\s{0,3}"[A-Za-z0-9_\-]{20,})", 0, DataClass::kSecret, Check::kMixedBody,
     Start::kRun},

    // --- classification markings (upper case, banner or portion form) ---------------------
    {R"(\b(?:TOP SECRET|SECRET|CONFIDENTIAL|RESTRICTED)//[A-Z0-9][A-Z0-9 ,/\-]*[A-Z0-9])", 0,
     DataClass::kClassificationMarking, Check::kNone},
    {R"(//(?:NATO|COSMIC|JOINT|[A-Z]{3}) (?:TOP SECRET|SECRET|CONFIDENTIAL|RESTRICTED)(?:[A-Z0-9 ,/\-]*[A-Z0-9])?)",
     0, DataClass::kClassificationMarking, Check::kNone},
    {R"(\b(?:NATO (?:SECRET|CONFIDENTIAL|RESTRICTED)|COSMIC TOP SECRET)\b)", 0,
     DataClass::kClassificationMarking, Check::kNone},
    // A level alone on its line. Written without the leading "^[ \t]*" (which forced costly
    // start-of-match tracking); the start and the line-start condition are checked afterwards.
    {R"((?:TOP SECRET|SECRET|CONFIDENTIAL|RESTRICTED)[ \t\r]*$)", kMl,
     DataClass::kClassificationMarking, Check::kLineStart, Start::kLevel},
    {R"(\((?:TS|S|C|R)//[A-Z0-9][A-Z0-9 ,/\-]*\))", 0, DataClass::kClassificationMarking,
     Check::kNone},
    {R"(\(TS\))", 0, DataClass::kClassificationMarking, Check::kNone},
    {R"(\(S\) )", 0, DataClass::kClassificationMarking, Check::kLineStart},
    {R"(\bNOFORN\b)", 0, DataClass::kClassificationMarking, Check::kNone},
    {R"(\bREL TO USA(?:, ?[A-Z]{3,4})+\b)", 0, DataClass::kClassificationMarking, Check::kNone},

    // Discord bot token: the first part is the base64 of a decimal user id (ASCII digits), so
    // each 4-character group is [MNO][DTjz][AEIMQUYcgk][w-z0-5]; spelling out four groups
    // keeps the automaton idle on prose (a bare [MNO] start cost a fifth of the prose scan).
    {R"(\b(?:[MNO][DTjz][AEIMQUYcgk][w-z0-5]){4}[A-Za-z\d]{8,10}\.[\w\-]{6}\.[\w\-]{27,38}\b)", 0,
     DataClass::kSecret, Check::kTokenBody, Start::kRun},
};

constexpr std::size_t kPatternCount = std::size(kPatterns);

// Two stages. Patterns for numeric identifiers (phones, IPs, cards, national IDs) begin with
// digit classes that Hyperscan cannot anchor on a literal, and together they slow a scan of
// prose several times over. Stage 1 therefore runs only cheap "gates" in their place: every
// match of a stage-2 pattern lies on a gate hit (a run of >= 6 digits with short separators,
// a dotted quad, or hex-colon IPv6 shape). Stage 2 runs the real patterns on small windows
// around the gate hits. IBANs count as numeric: nearly every BBAN holds a run of >= 6 digits
// (bank, branch or account number); one without such a run is missed (docs/classification.md).
constexpr const char* kGates[] = {
    R"(\d(?:[ \-./()]{0,2}\d){5,})",
    R"(\d\.\d{1,3}\.\d{1,3}\.\d)",
    R"([0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:|::[0-9A-Fa-f])",
    // Codice fiscale: its pattern starts with six letters and has no literal, which made it the
    // costliest stage-1 pattern. Gates: the year's last digit, month letter, day and town code
    // (covers up to five omocodia substitutions), or day + town code + check letter (covers an
    // omocodic year, e.g. AXXFAXTTD41H501D).
    R"(\d[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]\b)",
    R"(\d\d[A-Z]\d{3}[A-Z]\b)",
};
constexpr unsigned kGateBase = 1000;  // gate ids in the stage-1 database
// Window margins around a gate hit. Before: the longest stage-2 match that starts before its
// first gate hit is a grouped IBAN (34 characters + 8 spaces); 64 covers it (was 96; the
// smaller windows are ~2% of the prose scan).
constexpr std::size_t kGateBefore = 64;
constexpr std::size_t kGateAfter = 64;

bool IsStage2(DataClass c) {
  switch (c) {
    case DataClass::kEmail:
    case DataClass::kSecret:
    case DataClass::kClassificationMarking:
      return false;
    default:
      return true;
  }
}


// Lower is stronger: when findings of different classes overlap, the stronger one stays.
int Priority(DataClass c) {
  switch (c) {
    case DataClass::kSecret: return 0;
    case DataClass::kClassificationMarking: return 1;
    case DataClass::kEmail: return 2;
    case DataClass::kIban: return 3;
    case DataClass::kPaymentCard: return 4;
    case DataClass::kCnResidentId: return 5;
    case DataClass::kItCodiceFiscale: return 6;
    case DataClass::kUkNino: return 7;
    case DataClass::kEsDniNie: return 8;
    case DataClass::kFrNir: return 9;
    case DataClass::kInAadhaar: return 10;
    case DataClass::kUsSsn: return 11;
    case DataClass::kBrCpf: return 12;
    case DataClass::kDeTaxId: return 13;
    case DataClass::kIpAddress: return 14;
    case DataClass::kPhone: return 15;
  }
  return 16;
}

bool IsDigitC(char c) { return c >= '0' && c <= '9'; }
bool IsAlphaC(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHexC(char c) { return IsDigitC(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool CheckPhone(std::string_view t) {
  int digits = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t.compare(i, 3, "(0)") == 0) {
      i += 2;
      continue;
    }
    if (t[i] == 'x') break;  // extension
    if (IsDigitC(t[i])) ++digits;
  }
  if (t.front() == '+') return digits >= 8 && digits <= 15;
  if (t.front() == '0') {
    // Trunk-prefixed national number: 9–12 digits and not a date such as 01.02.2023.
    return digits >= 9 && digits <= 12;
  }
  return digits == 10 || digits == 11;
}

// Case-insensitive: does all[.., end) end with the lower-case word `w`?
bool EndsWithWordCi(std::string_view all, std::size_t end, std::string_view w) {
  if (end < w.size()) return false;
  const std::size_t at = end - w.size();
  for (std::size_t i = 0; i < w.size(); ++i) {
    char c = all[at + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != w[i]) return false;
  }
  return at == 0 || !IsAlphaC(all[at - 1]);
}

bool StartsWithCi(std::string_view all, std::size_t from, std::string_view w) {
  if (all.size() - from < w.size()) return false;
  for (std::size_t i = 0; i < w.size(); ++i) {
    char c = all[from + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != w[i]) return false;
  }
  return true;
}

// A number written without a country code, NANP shape or trunk 0 is a phone number only if
// the text says so: a label or phrase just before it ("Phone:", "Mobile:\n", "call me at"),
// or "office" / "fax" right after it. Never claimed on digits alone.
bool PhoneContext(std::string_view all, std::size_t b, std::size_t e) {
  std::size_t k = b;
  while (k > 0 && b - k < 4 &&
         std::string_view(" \t\r\n:#.-").find(all[k - 1]) != std::string_view::npos) {
    --k;
  }
  constexpr std::string_view kLabels[] = {
      "phone", "tel", "telephone", "mobile", "cell", "fax", "desk", "whatsapp", "sms",
      "call me at", "call me on", "reach me at", "reach me on", "text me at", "answering at",
      "messages to", "my registered", "phone number", "phone no", "mob", "ph"};
  for (std::string_view w : kLabels) {
    if (EndsWithWordCi(all, k, w)) return true;
  }
  std::size_t a = e;
  while (a < all.size() && a - e < 3 && (all[a] == ' ' || all[a] == '-' || all[a] == '\t')) ++a;
  if (a == e) return false;
  for (std::string_view w : {"office", "fax", "mobile", "home"}) {
    if (StartsWithCi(all, a, w)) return true;
  }
  return false;
}

bool CheckPhoneContext(std::string_view all, std::size_t b, std::size_t e) {
  if (!PhoneContext(all, b, e)) return false;
  const std::string_view t = all.substr(b, e - b);
  int digits = 0;
  for (char c : t) {
    if (c == 'x') break;
    if (IsDigitC(c)) ++digits;
  }
  if (digits < 7 || digits > 13) return false;
  // Dates and times are not phone numbers: 2024-01-02, 12.05.2023.
  if (t.size() >= 10 && IsDigitC(t[0]) && IsDigitC(t[3]) && (t[4] == '-' || t[4] == '.') &&
      (t[0] == '1' || t[0] == '2')) {
    return false;
  }
  return true;
}

// Dotted quad not embedded in a longer dotted run (version numbers such as 1.2.3.4.5).
bool CheckIpv4(std::string_view all, std::size_t b, std::size_t e) {
  if (b >= 2 && all[b - 1] == '.' && IsDigitC(all[b - 2])) return false;
  if (b >= 1 && (IsAlphaC(all[b - 1]) || all[b - 1] == '_')) return false;
  // Product versions such as "Chrome/104.0.0.0" (but not URLs: "//127.0.0.1").
  if (b >= 2 && all[b - 1] == '/' && (IsAlphaC(all[b - 2]) || IsDigitC(all[b - 2]))) return false;
  if (e + 1 < all.size() && all[e] == '.' && IsDigitC(all[e + 1])) return false;
  return true;
}

bool CheckIpv6(std::string_view all, std::size_t& b, std::size_t& e) {
  // Trim a trailing lone ':' (ends of sentences like "addr::1:") is left to inet_pton.
  if (e - b < 3 || e - b > 45) return false;
  if (b > 0) {
    const char p = all[b - 1];
    if (IsHexC(p) || p == ':' || p == '_' || IsAlphaC(p) || p == '.') return false;
  }
  if (e < all.size()) {
    const char n = all[e];
    if (IsHexC(n) || n == ':' || IsAlphaC(n) || n == '_') return false;
  }
  const std::string_view t = all.substr(b, e - b);
  int groups = 0;
  bool in_group = false;
  for (char c : t) {
    if (c == ':') {
      in_group = false;
    } else if (!in_group) {
      in_group = true;
      ++groups;
    }
  }
  // "::1" is the loopback; otherwise demand three groups (rejects C++ "d::" and "a::b").
  if (groups < 3 && t != "::1") return false;
  char buf[64];
  std::memcpy(buf, t.data(), t.size());
  buf[t.size()] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET6, buf, out) == 1;
}

bool CheckTokenBody(std::string_view t) {
  bool digit = false, lower = false, upper = false;
  for (char c : t) {
    digit = digit || IsDigitC(c);
    lower = lower || (c >= 'a' && c <= 'z');
    upper = upper || (c >= 'A' && c <= 'Z');
  }
  return digit && (lower || upper);
}

bool CheckMixedBody(std::string_view t) {
  bool lower = false, upper = false;
  for (char c : t) {
    lower = lower || (c >= 'a' && c <= 'z');
    upper = upper || (c >= 'A' && c <= 'Z');
  }
  return CheckTokenBody(t) || (lower && upper);
}

bool IsPlaceholder(std::string_view v) {
  if (v.empty()) return true;
  const char f = v.front();
  if (f == '$' || f == '{' || f == '<' || f == '%' || f == '[' || f == '(' || f == '*') return true;
  if (v.find_first_not_of(".*xX-_#") == std::string_view::npos) return true;  // "...", "****"
  auto lower_eq = [&](std::string_view w) {
    if (v.size() != w.size()) return false;
    for (std::size_t i = 0; i < v.size(); ++i) {
      char c = v[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != w[i]) return false;
    }
    return true;
  };
  for (std::string_view w : {"password", "passwd", "changeme", "example", "xxxxxx", "xxxx",
                             "none", "null", "true", "false", "undefined", "required",
                             "string", "secret", "token"}) {
    if (lower_eq(w)) return true;
  }
  return false;
}

constexpr std::string_view kCredentialKeys[] = {
    "password", "passwd", "passwort", "pwd", "passphrase", "secret", "secretkey", "secret_key",
    "apikey", "api_key", "accesskey", "access_key", "accesstoken", "access_token", "authtoken",
    "auth_token", "clientsecret", "client_secret", "privatekey", "private_key", "token",
    "credential", "credentials", "key", "pw", "pass", "pwd", "passwords", "authorization",
    "authorisation", "authentication", "nonce"};

bool EndsWithKey(std::string_view key) {
  while (!key.empty() && (key.back() == '"' || key.back() == '\'')) key.remove_suffix(1);
  for (std::string_view k : kCredentialKeys) {
    if (key.size() < k.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < k.size() && eq; ++i) {
      char c = key[key.size() - k.size() + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      eq = c == k[i];
    }
    if (eq) return true;
  }
  return false;
}

// Key names that mean a password: password, passwd, pwd, pw, pass, passphrase, secret and the
// shorthand spellings pswd, psswd, pswrd, psword, paswd, ... (p a? s s? w (o? r)? d).
bool IsPasswordKey(std::string_view key) {
  auto ends = [&](std::string_view w) {
    return key.size() >= w.size() && key.compare(key.size() - w.size(), w.size(), w) == 0;
  };
  if (ends("passwort") || ends("pw") || ends("pass") || ends("passphrase") || ends("secret")) {
    return true;
  }
  std::string_view k = key;
  if (!k.empty() && k.back() == 's') k.remove_suffix(1);
  if (k.empty() || k.back() != 'd') return false;
  k.remove_suffix(1);
  if (!k.empty() && k.back() == 'r') {
    k.remove_suffix(1);
    if (!k.empty() && k.back() == 'o') k.remove_suffix(1);
  }
  if (k.empty() || k.back() != 'w') return false;
  k.remove_suffix(1);
  if (k.empty() || k.back() != 's') return false;
  k.remove_suffix(1);
  if (!k.empty() && k.back() == 's') k.remove_suffix(1);
  if (!k.empty() && k.back() == 'a') k.remove_suffix(1);
  return !k.empty() && k.back() == 'p';
}

constexpr std::string_view kEntities[] = {"&quot;", "&#34;", "&#39;"};

// Drops what follows a value but is not part of it: an HTML-escaped closing quote ("&quot"
// up to the ';' the value pattern stops at) and closing brackets with no opening one inside
// the value ("(pw:abc)").
void TrimValueEnd(std::string_view all, std::size_t b, std::size_t& e) {
  for (std::string_view ent : kEntities) {
    const std::string_view stem = ent.substr(0, ent.size() - 1);
    const std::string_view v = all.substr(b, e - b);
    const std::size_t at = v.find(stem);
    if (at != std::string_view::npos) e = b + at;
  }
  while (e > b) {
    const char c = all[e - 1];
    const char open = c == ')' ? '(' : c == ']' ? '[' : c == '}' ? '{' : 0;
    if (open == 0 || all.substr(b, e - b).find(open) != std::string_view::npos) break;
    --e;
  }
}

// Characters between a key and its value: blanks, quotes, separators, "define(" punctuation.
bool IsKeyValueGap(char c) {
  return std::string_view(" \t\"'`:=>-,(\\!").find(c) != std::string_view::npos;
}

// Value shape shared by the assignment checks: not a placeholder, not code.
bool PlausibleValue(std::string_view run) {
  if (run.size() < 4 || IsPlaceholder(run)) return false;
  // Calls, templates and member access are code, not values: getToken(), {{ secret }},
  // user.password, ${VAR}, $(cmd).
  if (run.find_first_of("(){}[]") != std::string_view::npos) return false;
  if (run.find("${") != std::string_view::npos || run.find("$(") != std::string_view::npos) {
    return false;
  }
  bool dotted_identifier = IsAlphaC(run[0]) && run.find('.') != std::string_view::npos;
  for (char c : run) {
    dotted_identifier = dotted_identifier && (IsAlphaC(c) || c == '_' || c == '.');
  }
  return !dotted_identifier;
}

// password = "value": [b, e) is the run of value characters that ends the match. When the
// key is glued to the value (password=abc, host(pw:abc)), the run starts with the key: cut it
// off. Keep only values that look like credentials, not prose ("the secret: always ...").
bool CheckAssignment(std::string_view all, std::size_t& b, std::size_t& e) {
  std::string_view run = all.substr(b, e - b);
  for (std::size_t sep = run.find_first_of(":="); sep != std::string_view::npos && sep > 0;
       sep = run.find_first_of(":=", sep + 1)) {
    if (!EndsWithKey(run.substr(0, sep)) && !IsPasswordKey([&] {
          std::string k;
          for (std::size_t i = sep; i > 0 && IsAlphaC(run[i - 1]); --i) {
            k.insert(k.begin(), static_cast<char>(run[i - 1] | 0x20));
          }
          return k;
        }())) {
      continue;
    }
    std::size_t v = sep;
    while (v < run.size() && (run[v] == ':' || run[v] == '=' || run[v] == '>')) ++v;
    b += v;
    break;
  }
  bool quoted = b > 0 && (all[b - 1] == '"' || all[b - 1] == '\'' || all[b - 1] == '`');
  for (std::string_view ent : kEntities) {
    if (all.substr(b).starts_with(ent)) {
      b += ent.size();
      quoted = true;
    }
  }
  TrimValueEnd(all, b, e);
  if (e <= b) return false;
  run = all.substr(b, e - b);
  // The key name before the value, to tell password-like keys from generic ones ("key").
  std::size_t k = b;
  for (std::string_view ent : kEntities) {
    if (k >= ent.size() && all.substr(k - ent.size(), ent.size()) == ent) k -= ent.size();
  }
  while (k > 0 && b - k < 12 && IsKeyValueGap(all[k - 1])) --k;
  std::size_t ks = k;
  while (ks > 0 && k - ks < 40 && (IsAlphaC(all[ks - 1]) || all[ks - 1] == '_')) --ks;
  std::string key(all.substr(ks, k - ks));
  for (char& c : key) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  const bool strong = IsPasswordKey(key);
  if (!PlausibleValue(run)) return false;
  bool digit = false, alpha = false, other = false;
  for (char c : run) {
    if (IsDigitC(c)) digit = true;
    else if (IsAlphaC(c)) alpha = true;
    else other = true;
  }
  const int kinds = int(digit) + int(alpha) + int(other);
  if (strong) {
    if (!quoted && (kinds < 2 || run.size() < 6)) return false;
  } else if (!digit || !alpha || run.size() < 8) {
    return false;  // generic keys ("key", "token") need a value that mixes letters and digits
  }
  return true;
}

// The value after a context that only ever introduces a credential (IDENTIFIED BY,
// CURLOPT_PASSWORD, ConvertTo-SecureString): quoted values are kept unless placeholders;
// unquoted ones must mix character kinds (prose: "with password protection").
bool CheckKeyedValue(std::string_view all, std::size_t& b, std::size_t& e) {
  const bool quoted = b > 0 && (all[b - 1] == '"' || all[b - 1] == '\'' || all[b - 1] == '`');
  TrimValueEnd(all, b, e);
  if (e <= b) return false;
  const std::string_view run = all.substr(b, e - b);
  if (run.size() < 4 || IsPlaceholder(run)) return false;
  if (run.find("${") != std::string_view::npos || run.find("$(") != std::string_view::npos) {
    return false;
  }
  if (quoted) return true;
  bool digit = false, alpha = false, other = false;
  for (char c : run) {
    if (IsDigitC(c)) digit = true;
    else if (IsAlphaC(c)) alpha = true;
    else other = true;
  }
  return run.size() >= 6 && int(digit) + int(alpha) + int(other) >= 2 && PlausibleValue(run);
}

bool CheckUrlCred(std::string_view t) {
  const auto scheme_end = t.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const auto rest = t.substr(scheme_end + 3);
  const auto at = rest.rfind('@');
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos || at == std::string_view::npos || colon > at) return false;
  const auto pass = rest.substr(colon + 1, at - colon - 1);
  return !pass.empty() && !IsPlaceholder(pass);
}


bool IsLocalChar(char c) {
  return IsDigitC(c) || IsAlphaC(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool IsHostChar(char c) { return IsDigitC(c) || IsAlphaC(c) || c == '.' || c == '-' || c == '_'; }
bool IsValueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > ' ' && c != '"' && c != '\'' && c != '`' && c != '<' && c != '>' && c != ',' &&
         c != ';' && u != 0x7f;
}
bool IsTokenChar(char c) { return IsDigitC(c) || IsAlphaC(c) || c == '.' || c == '_' || c == '-'; }

// Finds the start of a match that ends at `e` for patterns compiled without SOM.
bool RecoverStart(Start how, std::string_view all, std::size_t e, std::size_t& b) {
  if (e > all.size()) return false;
  std::size_t i = e;
  switch (how) {
    case Start::kSom: return true;
    case Start::kRun:
      while (i > 0 && IsTokenChar(all[i - 1])) --i;
      b = i;
      return b < e;
    case Start::kValue:
      while (i > 0 && e - i < 320 && IsValueChar(all[i - 1])) --i;
      b = i;
      return b < e;
    case Start::kNumber: {
      while (i > 0 && e - i < 24 &&
             (IsDigitC(all[i - 1]) || std::string_view(" ().-").find(all[i - 1]) != std::string_view::npos)) {
        --i;
      }
      // Start at the first digit, or at a '(' right before one.
      while (i < e && !IsDigitC(all[i]) && !(all[i] == '(' && i + 1 < e && IsDigitC(all[i + 1]))) ++i;
      b = i;
      return b < e;
    }
    case Start::kSlashed:
      while (i > 0 && e - i < 32 && (IsDigitC(all[i - 1]) || all[i - 1] == '/')) --i;
      while (i < e && !IsDigitC(all[i])) ++i;
      b = i;
      return b < e;
    case Start::kLevel: {
      while (i > 0 && e - i < 4096 && (all[i - 1] == ' ' || all[i - 1] == '\t' || all[i - 1] == '\r')) --i;
      for (std::string_view w : {"TOP SECRET", "SECRET", "CONFIDENTIAL", "RESTRICTED"}) {
        if (i >= w.size() && all.substr(i - w.size(), w.size()) == w) {
          b = i - w.size();
          return true;
        }
      }
      return false;
    }
    case Start::kEmail: {
      while (i > 0 && all[i - 1] != '@' && IsHostChar(all[i - 1])) --i;
      if (i == 0 || all[i - 1] != '@') return false;
      --i;  // at '@'
      std::size_t j = i;
      while (j > 0 && i - j < 64 && IsLocalChar(all[j - 1])) --j;
      b = j;
      return b < i;
    }
    case Start::kUrl: {
      while (i > 0 && all[i - 1] != '@' && IsHostChar(all[i - 1])) --i;
      if (i == 0) return false;
      const std::size_t at = i - 1;
      const std::size_t lo = at > 400 ? at - 400 : 0;
      const std::size_t sep = all.substr(lo, at - lo).rfind("://");
      if (sep == std::string_view::npos) return false;
      std::size_t j = lo + sep;
      while (j > 0 && e - j < 512 &&
             (IsAlphaC(all[j - 1]) || IsDigitC(all[j - 1]) || all[j - 1] == '+' ||
              all[j - 1] == '.' || all[j - 1] == '-')) {
        --j;
      }
      while (j < lo + sep && !IsAlphaC(all[j])) ++j;  // scheme starts with a letter
      b = j;
      return b < lo + sep;
    }
  }
  return false;
}

// Runs the check for `def` over [b, e) of `all`; may narrow the span.
bool Confirm(const PatternDef& def, std::string_view all, std::size_t& b, std::size_t& e) {
  const std::string_view t = all.substr(b, e - b);
  switch (def.check) {
    case Check::kNone: return true;
    case Check::kLuhn: return LuhnValid(t);
    case Check::kIban: return IbanValid(t);
    case Check::kSsn: return UsSsnValid(t);
    case Check::kCnId: return CnResidentIdValid(t);
    case Check::kDeTaxId: return DeTaxIdValid(t);
    case Check::kDeTaxIdSlashed: {
      // The span is the whole digit-and-slash run (Start::kSlashed), so eleven digits out of a
      // longer run ("2023/11/659/299/7048/9") fail the digit count; nor may the run go on
      // with '.' or '-' and digits on either side (dates, versions).
      if (b >= 2 && (all[b - 1] == '.' || all[b - 1] == '-') && IsDigitC(all[b - 2])) {
        return false;
      }
      if (e + 1 < all.size() && std::string_view("/.-").find(all[e]) != std::string_view::npos &&
          IsDigitC(all[e + 1])) {
        return false;
      }
      return DeTaxIdValid(t);
    }
    case Check::kFrNir: return FrNirValid(t);
    case Check::kAadhaar: return InAadhaarValid(t);
    case Check::kNino: return UkNinoValid(t);
    case Check::kEsId: {
      // Lower case only with the letter glued to the digits: "12345678z", not "12345678 y".
      const bool lower =
          std::any_of(t.begin(), t.end(), [](char c) { return c >= 'a' && c <= 'z'; });
      if (lower && !IsDigitC(t[t.size() - 2])) return false;
      return EsDniNieValid(t);
    }
    case Check::kItCf: return ItCodiceFiscaleValid(t);
    case Check::kBrCpf: return BrCpfValid(t);
    case Check::kEmail: {
      while (b < e && (all[b] == '.' || all[b] == '-')) ++b;
      return b < e && all[b] != '@';
    }
    case Check::kPhone: {
      // Not inside a longer run of digits or a dotted version/IP-like sequence.
      if (b > 0 && (IsDigitC(all[b - 1]) || all[b - 1] == '.' || all[b - 1] == '-' ||
                    all[b - 1] == '/' || all[b - 1] == '+')) {
        return false;
      }
      if (e < all.size() && (all[e] == '.' || all[e] == '-' || all[e] == '/') &&
          e + 1 < all.size() && IsDigitC(all[e + 1])) {
        return false;
      }
      return CheckPhone(t);
    }
    case Check::kPhoneContext: {
      if (b > 0 && (IsDigitC(all[b - 1]) || all[b - 1] == '.' || all[b - 1] == '-' ||
                    all[b - 1] == '/' || all[b - 1] == '+' || IsAlphaC(all[b - 1]))) {
        return false;
      }
      if (e < all.size() && (all[e] == '.' || all[e] == '/' || all[e] == ':') &&
          e + 1 < all.size() && IsDigitC(all[e + 1])) {
        return false;
      }
      return CheckPhoneContext(all, b, e);
    }
    case Check::kIpv4: return CheckIpv4(all, b, e);
    case Check::kIpv6: return CheckIpv6(all, b, e);
    case Check::kTokenBody: return CheckTokenBody(t);
    case Check::kMixedBody: return CheckMixedBody(t);
    case Check::kSalesforceId: return t.size() >= 4 && CheckTokenBody(t.substr(3));
    case Check::kUrlCred: return CheckUrlCred(t);
    case Check::kAssignment: return CheckAssignment(all, b, e);
    case Check::kKeyedValue: return CheckKeyedValue(all, b, e);
    case Check::kDefinedValue: {
      if (!CheckAssignment(all, b, e)) return false;
      bool digit = false, alpha = false, other = false;
      for (char c : all.substr(b, e - b)) {
        if (IsDigitC(c)) digit = true;
        else if (IsAlphaC(c)) alpha = true;
        else other = true;
      }
      return e - b >= 6 && int(digit) + int(alpha) + int(other) >= 2;
    }
    case Check::kLineStart: {
      std::size_t i = b;
      while (i > 0 && (all[i - 1] == ' ' || all[i - 1] == '\t')) --i;
      if (i > 0 && all[i - 1] != '\n') return false;
      b = i;
      return true;
    }
    case Check::kPemBlock: {
      const std::size_t lim = std::min(all.size(), e + 16384);
      const std::size_t end_at = all.substr(0, lim).find("-----END", e);
      if (end_at != std::string_view::npos) {
        const std::size_t tail = all.substr(0, lim).find("-----", end_at + 8);
        if (tail != std::string_view::npos) e = tail + 5;
      }
      return true;
    }
  }
  return false;
}

struct Candidate {
  unsigned id;
  std::size_t from;
  std::size_t to;
};

struct ScanState {
  std::vector<Candidate>* out;
  const std::vector<hs_database*>* locators;  // non-null entry: start located afterwards
  std::array<std::int32_t, kPatternCount> last;  // index of each pattern's latest candidate
  std::vector<std::pair<std::size_t, std::size_t>> windows;  // stage-2 windows from gate hits
};

constexpr std::size_t kMaxCandidates = 1 << 20;

// Patterns whose longest match is the one wanted (no checksum may prefer a shorter one).
constexpr bool Coalesces(const PatternDef& p) {
  return p.check == Check::kNone || p.check == Check::kPemBlock || p.check == Check::kTokenBody ||
         p.check == Check::kMixedBody || p.check == Check::kSalesforceId || p.check == Check::kUrlCred ||
         p.check == Check::kAssignment || p.check == Check::kKeyedValue ||
         p.check == Check::kDefinedValue;
}

int OnMatch(unsigned id, unsigned long long from, unsigned long long to, unsigned /*flags*/,
            void* ctx) {
  auto& state = *static_cast<ScanState*>(ctx);
  if (id >= kGateBase) {
    // Ends arrive in increasing order: extend the last window or open a new one.
    const auto end = static_cast<std::size_t>(to);
    const std::size_t lo = end > kGateBefore ? end - kGateBefore : 0;
    if (!state.windows.empty() && lo <= state.windows.back().second) {
      state.windows.back().second = end + kGateAfter;
    } else {
      state.windows.emplace_back(lo, end + kGateAfter);
    }
    return 0;
  }
  auto& out = *state.out;
  // Hyperscan reports every end offset. Where the longest match is wanted, extend the
  // pattern's previous candidate instead of adding one: same start (SOM patterns) or the
  // very next end offset (patterns whose start is recovered later).
  const PatternDef& def = kPatterns[id];
  const std::int32_t li = state.last[id];
  if (li >= 0 && Coalesces(def)) {
    Candidate& last = out[static_cast<std::size_t>(li)];
    const bool som_reported = def.start == Start::kSom && (*state.locators)[id] == nullptr;
    const bool same = som_reported ? last.from == from : last.to + 1 == to;
    if (same) {
      last.to = static_cast<std::size_t>(to);
      return 0;
    }
  }
  if (out.size() < kMaxCandidates) {
    state.last[id] = static_cast<std::int32_t>(out.size());
    out.push_back({id, static_cast<std::size_t>(from), static_cast<std::size_t>(to)});
  }
  return 0;
}


struct LocateState {
  std::size_t target_end;
  std::size_t best_from;
  bool found;
};

int OnLocate(unsigned, unsigned long long from, unsigned long long to, unsigned, void* ctx) {
  auto& st = *static_cast<LocateState*>(ctx);
  if (to == st.target_end && (!st.found || from < st.best_from)) {
    st.best_from = static_cast<std::size_t>(from);
    st.found = true;
  }
  return 0;
}

// Leftmost start of a match of `locator` that ends at `e`, searched in the `width` bytes before
// `e` plus one byte of context on each side (for word boundaries).
bool Locate(hs_database* locator, unsigned width, std::string_view all, std::size_t e,
            hs_scratch* scratch, std::size_t& b) {
  const std::size_t ws = e > std::size_t{width} + 1 ? e - width - 1 : 0;
  const std::size_t we = std::min(all.size(), e + 1);
  LocateState st{e - ws, 0, false};
  hs_scan(locator, all.data() + ws, static_cast<unsigned>(we - ws), 0, scratch,
          OnLocate, &st);
  if (!st.found) return false;
  b = ws + st.best_from;
  return true;
}

std::atomic<unsigned long long> g_generation{1};

struct ThreadScratch {
  Scratch scratch;
  const hs_database* db = nullptr;
  unsigned long long generation = 0;
};

thread_local ThreadScratch t_scratch;

}  // namespace

Scratch::Scratch(Scratch&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
Scratch& Scratch::operator=(Scratch&& other) noexcept {
  if (this != &other) {
    if (raw_ != nullptr) hs_free_scratch(raw_);
    raw_ = std::exchange(other.raw_, nullptr);
  }
  return *this;
}
Scratch::~Scratch() {
  if (raw_ != nullptr) hs_free_scratch(raw_);
}

core::Result<std::unique_ptr<Classifier>> Classifier::Create(const ClassifierOptions& options) {
  if (hs_valid_platform() != HS_SUCCESS) {
    return core::Fail(core::ErrorCode::kInternal, "classifier: CPU lacks SSSE3 for Hyperscan");
  }
  std::unique_ptr<Classifier> c(new Classifier());
  c->generation_ = g_generation.fetch_add(1);
  c->locators_.assign(kPatternCount, nullptr);
  c->widths_.assign(kPatternCount, 0);
  std::vector<const char*> exprs, exprs2;
  std::vector<unsigned> flags, flags2;
  std::vector<unsigned> ids, ids2;
  for (unsigned i = 0; i < kPatternCount; ++i) {
    const PatternDef& def = kPatterns[i];
    if (!options.enabled[static_cast<int>(def.cls)]) continue;
    unsigned main_flags = def.flags;
    if (def.start == Start::kSom && !IsStage2(def.cls)) {
      // Start-of-match tracking slows the whole database down when a pattern begins with a
      // common character class. A pattern with a short bounded width is instead found without
      // it, and its start located afterwards by a SOM database run only on the few bytes
      // before the match end. (Stage-2 patterns get their start from the stage-2 database,
      // which tracks it: a locator there would only scan every candidate a second time.)
      hs_expr_info_t* info = nullptr;
      hs_compile_error_t* info_err = nullptr;
      const unsigned som_flags = def.flags | HS_FLAG_SOM_LEFTMOST;
      bool windowed = false;
      if (hs_expression_info(def.regex, som_flags, &info, &info_err) == HS_SUCCESS) {
        windowed = info->max_width <= 600 && (def.flags & HS_FLAG_MULTILINE) == 0;
        if (windowed) c->widths_[i] = info->max_width;
        std::free(info);
      } else {
        hs_free_compile_error(info_err);
      }
      if (windowed) {
        hs_compile_error_t* loc_err = nullptr;
        if (hs_compile(def.regex, som_flags, HS_MODE_BLOCK, nullptr, &c->locators_[i], &loc_err) !=
            HS_SUCCESS) {
          hs_free_compile_error(loc_err);
          c->locators_[i] = nullptr;
          windowed = false;
        }
      }
      if (!windowed) main_flags |= HS_FLAG_SOM_LEFTMOST;
    }
    if (IsStage2(def.cls)) {
      exprs2.push_back(def.regex);
      // Start-of-match tracking unless the pattern's start is recovered from the text.
      flags2.push_back(def.start == Start::kSom ? def.flags | HS_FLAG_SOM_LEFTMOST : def.flags);
      ids2.push_back(i);
      continue;
    }
    exprs.push_back(def.regex);
    flags.push_back(main_flags);
    ids.push_back(i);
  }
  if (!exprs2.empty()) {
    // Gates go first: with them last, Hyperscan (5.4) built a database less than half as
    // fast on prose (it depends on the order; measured with bench/classify_quality.sh).
    for (unsigned g = 0; g < std::size(kGates); ++g) {
      exprs.insert(exprs.begin() + g, kGates[g]);
      flags.insert(flags.begin() + g, 0u);
      ids.insert(ids.begin() + g, kGateBase + g);
    }
    hs_compile_error_t* err2 = nullptr;
    if (hs_compile_multi(exprs2.data(), flags2.data(), ids2.data(),
                         static_cast<unsigned>(exprs2.size()), HS_MODE_BLOCK, nullptr, &c->db2_,
                         &err2) != HS_SUCCESS) {
      std::string message = fmt::format("classifier: stage-2 pattern rejected by Hyperscan: {}",
                                        err2 != nullptr ? err2->message : "unknown error");
      hs_free_compile_error(err2);
      return core::Fail(core::ErrorCode::kInternal, std::move(message));
    }
  }
  if (exprs.empty()) return c;
  hs_compile_error_t* err = nullptr;
  const hs_error_t rc = hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                                         static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                                         nullptr, &c->db_, &err);
  if (rc != HS_SUCCESS) {
    // Name every rejected pattern, not only the first: compile them one by one.
    std::string rejected;
    for (std::size_t k = 0; k < exprs.size(); ++k) {
      hs_database_t* one = nullptr;
      hs_compile_error_t* one_err = nullptr;
      if (hs_compile(exprs[k], flags[k], HS_MODE_BLOCK, nullptr, &one, &one_err) != HS_SUCCESS) {
        rejected += fmt::format(" {}", ids[k]);
        hs_free_compile_error(one_err);
      } else {
        hs_free_database(one);
      }
    }
    std::string message = fmt::format("classifier: pattern {} rejected by Hyperscan: {}",
                                      err != nullptr && err->expression >= 0
                                          ? ids[static_cast<std::size_t>(err->expression)]
                                          : 0u,
                                      err != nullptr ? err->message : "unknown error");
    message += " (rejected:" + rejected + ")";
    hs_free_compile_error(err);
    return core::Fail(core::ErrorCode::kInternal, std::move(message));
  }
  return c;
}

Classifier::~Classifier() {
  if (db_ != nullptr) hs_free_database(db_);
  if (db2_ != nullptr) hs_free_database(db2_);
  for (hs_database* l : locators_) {
    if (l != nullptr) hs_free_database(l);
  }
}

core::Result<void> Classifier::PrepareScratch(Scratch& scratch) const {
  if (db_ == nullptr) return {};
  if (hs_alloc_scratch(db_, &scratch.raw_) != HS_SUCCESS) {
    return core::Fail(core::ErrorCode::kInternal, "classifier: cannot allocate scratch");
  }
  if (db2_ != nullptr && hs_alloc_scratch(db2_, &scratch.raw_) != HS_SUCCESS) {
    return core::Fail(core::ErrorCode::kInternal, "classifier: cannot allocate scratch");
  }
  for (hs_database* l : locators_) {
    if (l != nullptr && hs_alloc_scratch(l, &scratch.raw_) != HS_SUCCESS) {
      return core::Fail(core::ErrorCode::kInternal, "classifier: cannot allocate scratch");
    }
  }
  return {};
}

core::Result<Scratch> Classifier::MakeScratch() const {
  Scratch s;
  if (auto r = PrepareScratch(s); !r) return std::unexpected(r.error());
  return s;
}

Classification Classifier::Scan(std::string_view text) const {
  ThreadScratch& ts = t_scratch;
  if (ts.db != db_ || ts.generation != generation_) {
    if (!PrepareScratch(ts.scratch)) return {};
    ts.db = db_;
    ts.generation = generation_;
  }
  return Scan(text, ts.scratch);
}

Classification Classifier::Scan(std::string_view text, Scratch& scratch) const {
  Classification result;
  if (db_ == nullptr || text.empty()) return result;
  if (scratch.raw_ == nullptr && !PrepareScratch(scratch)) return result;

  std::vector<Candidate> candidates;
  ScanState state{&candidates, &locators_, {}, {}};
  state.last.fill(-1);
  // Hyperscan takes an unsigned length; scan very large inputs in overlapping windows.
  constexpr std::size_t kWindow = std::size_t{1} << 30;
  if (text.size() <= kWindow) {
    hs_error_t rc = hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch.raw_,
                            OnMatch, &state);
    if (rc == HS_INVALID || rc == HS_SCRATCH_IN_USE) {
      // A scratch prepared for another database: grow it and retry once.
      if (!PrepareScratch(scratch)) return result;
      candidates.clear();
      state.windows.clear();
      state.last.fill(-1);
      hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch.raw_, OnMatch,
              &state);
    }
  } else {
    for (std::size_t off = 0; off < text.size(); off += kWindow - 8192) {
      const std::size_t len = std::min(kWindow, text.size() - off);
      const std::size_t before = candidates.size();
      const std::size_t windows_before = state.windows.size();
      state.last.fill(-1);
      hs_scan(db_, text.data() + off, static_cast<unsigned>(len), 0, scratch.raw_, OnMatch,
              &state);
      for (std::size_t k = before; k < candidates.size(); ++k) {
        candidates[k].from += off;
        candidates[k].to += off;
      }
      for (std::size_t k = windows_before; k < state.windows.size(); ++k) {
        state.windows[k].first += off;
        state.windows[k].second += off;
      }
      if (off + len >= text.size()) break;
    }
  }

  // Stage 2: numeric-identifier patterns on the windows around gate hits. A match that
  // touches a window edge inside the text could be cut short there: drop it (the window
  // margins are wider than any such match, so the full match lies inside).
  if (db2_ != nullptr && !state.windows.empty()) {
    ScanState state2{&candidates, &locators_, {}, {}};
    for (auto [lo, hi] : state.windows) {
      hi = std::min(hi, text.size());
      if (lo >= hi) continue;
      const std::size_t before = candidates.size();
      state2.last.fill(-1);
      hs_scan(db2_, text.data() + lo, static_cast<unsigned>(hi - lo), 0, scratch.raw_, OnMatch,
              &state2);
      std::size_t keep = before;
      for (std::size_t k = before; k < candidates.size(); ++k) {
        Candidate cand = candidates[k];
        const bool som = kPatterns[cand.id].start == Start::kSom;
        if ((som && cand.from == 0 && lo > 0) || (cand.to == hi - lo && hi < text.size())) continue;
        cand.from += lo;
        cand.to += lo;
        candidates[keep++] = cand;
      }
      candidates.resize(keep);
    }
  }

  // Confirm candidates.
  struct Confirmed {
    Finding f;
    int priority;
  };
  std::vector<Confirmed> confirmed;
  confirmed.reserve(candidates.size());
  for (const Candidate& cand : candidates) {
    const PatternDef& def = kPatterns[cand.id];
    std::size_t b = cand.from, e = cand.to;
    if (locators_[cand.id] != nullptr) {
      if (!Locate(locators_[cand.id], widths_[cand.id], text, e, scratch.raw_, b)) continue;
    } else if (def.start != Start::kSom && !RecoverStart(def.start, text, e, b)) {
      continue;
    }
    if (e <= b || e > text.size()) continue;
    if (!Confirm(def, text, b, e)) continue;
    confirmed.push_back({Finding{def.cls, b, e}, Priority(def.cls)});
  }
  // Stronger class first, then longer span; keep a finding only if it overlaps none kept.
  std::sort(confirmed.begin(), confirmed.end(), [](const Confirmed& x, const Confirmed& y) {
    if (x.priority != y.priority) return x.priority < y.priority;
    const auto lx = x.f.end - x.f.begin, ly = y.f.end - y.f.begin;
    if (lx != ly) return lx > ly;
    return x.f.begin < y.f.begin;
  });
  std::vector<Finding>& kept = result.findings;
  for (const Confirmed& c : confirmed) {
    // `kept` is sorted by begin: binary-search the neighbours.
    auto it = std::lower_bound(kept.begin(), kept.end(), c.f.begin,
                               [](const Finding& f, std::size_t pos) { return f.end <= pos; });
    if (it != kept.end() && it->begin < c.f.end) continue;  // overlaps a kept finding
    kept.insert(it, c.f);
  }
  for (const Finding& f : kept) ++result.counts[static_cast<int>(f.cls)];
  return result;
}

RequestClassification Classifier::ScanFields(std::span<const FieldText> fields,
                                             Scratch& scratch) const {
  RequestClassification out;
  for (const FieldText& field : fields) {
    Classification c = Scan(field.text, scratch);
    if (c.findings.empty()) continue;
    for (int k = 0; k < core::kDataClassCount; ++k) out.counts[k] += c.counts[k];
    out.fields.push_back(FieldFindings{std::string(field.path), std::move(c.findings)});
  }
  return out;
}

void Declare(Classification& result, core::DataClass cls) {
  int& n = result.counts[static_cast<int>(cls)];
  n = std::max(n, 1);
}

void Declare(RequestClassification& result, core::DataClass cls) {
  int& n = result.counts[static_cast<int>(cls)];
  n = std::max(n, 1);
}

}  // namespace meridian::classify

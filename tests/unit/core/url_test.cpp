#include "core/url.hpp"

#include <gtest/gtest.h>

#include <string>

namespace meridian::core {
namespace {

struct GoodCase {
  std::string text;
  bool tls;
  std::string host;
  uint16_t port;
  std::string base_path;
  std::string host_header;
};

class ParseUrlGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParseUrlGood, Parses) {
  const GoodCase& c = GetParam();
  auto url = ParseUrl(c.text);
  ASSERT_TRUE(url.has_value()) << c.text << ": " << url.error().message;
  EXPECT_EQ(url->tls, c.tls);
  EXPECT_EQ(url->host, c.host);
  EXPECT_EQ(url->port, c.port);
  EXPECT_EQ(url->base_path, c.base_path);
  EXPECT_EQ(url->HostHeader(), c.host_header);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseUrlGood,
    ::testing::Values(
        GoodCase{"https://api.openai.com/v1", true, "api.openai.com", 443, "/v1", "api.openai.com"},
        GoodCase{"http://127.0.0.1:18101/v1", false, "127.0.0.1", 18101, "/v1", "127.0.0.1:18101"},
        GoodCase{"http://localhost", false, "localhost", 80, "", "localhost"},
        GoodCase{"http://localhost/", false, "localhost", 80, "", "localhost"},
        GoodCase{"https://example.com:443/", true, "example.com", 443, "", "example.com"},
        GoodCase{"http://example.com:443", false, "example.com", 443, "", "example.com:443"},
        GoodCase{"https://example.com:80", true, "example.com", 80, "", "example.com:80"},
        GoodCase{"HTTPS://API.Example.COM/V1/", true, "api.example.com", 443, "/V1",
                 "api.example.com"},
        GoodCase{"HtTp://h:1", false, "h", 1, "", "h:1"},
        GoodCase{"http://h:65535", false, "h", 65535, "", "h:65535"},
        GoodCase{"http://[::1]:8080/v1", false, "::1", 8080, "/v1", "[::1]:8080"},
        GoodCase{"https://[2001:db8::1]", true, "2001:db8::1", 443, "", "[2001:db8::1]"},
        GoodCase{"http://my_service:8000/v1", false, "my_service", 8000, "/v1",
                 "my_service:8000"},
        GoodCase{"https://generativelanguage.googleapis.com/v1beta/openai", true,
                 "generativelanguage.googleapis.com", 443, "/v1beta/openai",
                 "generativelanguage.googleapis.com"},
        GoodCase{"https://h/a/b//", true, "h", 443, "/a/b", "h"},
        GoodCase{"https://h/models%2Fx/v1", true, "h", 443, "/models%2Fx/v1", "h"},
        GoodCase{"https://h/a:b;c=d", true, "h", 443, "/a:b;c=d", "h"}));

struct BadCase {
  std::string text;
  std::string message;
};

class ParseUrlBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseUrlBad, Rejects) {
  const BadCase& c = GetParam();
  auto url = ParseUrl(c.text);
  ASSERT_FALSE(url.has_value()) << c.text;
  EXPECT_EQ(url.error().code, ErrorCode::kInvalidRequest);
  EXPECT_EQ(url.error().message, c.message) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseUrlBad,
    ::testing::Values(
        BadCase{"", "URL is empty"},
        BadCase{"api.openai.com/v1", "URL must start with http:// or https://"},
        BadCase{"ftp://example.com", "unsupported scheme 'ftp' (expected http or https)"},
        BadCase{"ws://example.com", "unsupported scheme 'ws' (expected http or https)"},
        BadCase{"://example.com", "unsupported scheme (expected http or https)"},
        BadCase{"https://", "URL has no host"},
        BadCase{"https:///v1", "URL has no host"},
        BadCase{"https://:8080/v1", "URL has no host"},
        BadCase{"https://user:secret@example.com/v1",
                "user-info (user:password@) is not allowed in URLs; pass credentials as api_key"},
        BadCase{"https://sk-abc@example.com",
                "user-info (user:password@) is not allowed in URLs; pass credentials as api_key"},
        BadCase{"https://example.com/v1?key=1", "query strings are not allowed in URLs"},
        BadCase{"https://example.com?", "query strings are not allowed in URLs"},
        BadCase{"https://example.com/v1#top", "fragments are not allowed in URLs"},
        BadCase{"https://exa mple.com", "URL must not contain spaces or control characters"},
        BadCase{" https://example.com", "URL must not contain spaces or control characters"},
        BadCase{"https://example.com/v1\n", "URL must not contain spaces or control characters"},
        BadCase{"https://example.com/\tv1", "URL must not contain spaces or control characters"},
        BadCase{"https://b\xc3\xbc"
                "cher.de",
                "URL must be ASCII (write international host names in punycode)"},
        BadCase{"http://h:0", "port must be a number from 1 to 65535"},
        BadCase{"http://h:65536", "port must be a number from 1 to 65535"},
        BadCase{"http://h:123456", "port must be a number from 1 to 65535"},
        BadCase{"http://h:80a", "port must be a number from 1 to 65535"},
        BadCase{"http://h:-1", "port must be a number from 1 to 65535"},
        BadCase{"http://h:", "empty port after ':'"},
        BadCase{"http://::1/v1",
                "IPv6 addresses must be written in brackets, e.g. http://[::1]:8080"},
        BadCase{"http://[::1", "unterminated '[' in IPv6 host"},
        BadCase{"http://[nothex]:80", "invalid IPv6 address in host"},
        BadCase{"http://[::1]x", "unexpected characters after IPv6 host"},
        BadCase{"http://256.1.1.1", "invalid IPv4 address in host"},
        BadCase{"http://1.2.3", "invalid IPv4 address in host"},
        BadCase{"http://01.2.3.4", "invalid IPv4 address in host"},
        BadCase{"http://-bad.example", "invalid host name"},
        BadCase{"http://a..b", "invalid host name"},
        BadCase{"http://exa!mple.com", "invalid host name"},
        BadCase{"http://h/a%2", "invalid percent-encoding in path"},
        BadCase{"http://h/a%zz", "invalid percent-encoding in path"},
        BadCase{"http://h/a<b", "character '<' is not allowed in the path"},
        BadCase{"http://h/a\\b", "character '\\' is not allowed in the path"}));

TEST(ParseUrlTest, UserInfoIsNeverEchoed) {
  for (std::string text : {"https://alice:hunter2@example.com/v1", "https://hunter2@h",
                           "hunter2:x@h", "https://alice:hunter2@exa mple.com?x#y"}) {
    auto url = ParseUrl(text);
    ASSERT_FALSE(url.has_value()) << text;
    EXPECT_EQ(url.error().message.find("hunter2"), std::string::npos) << url.error().message;
    EXPECT_EQ(url.error().message.find("alice"), std::string::npos) << url.error().message;
  }
}

TEST(UrlTest, HostHeaderOmitsDefaultPortOnly) {
  Url url;
  url.tls = true;
  url.host = "h";
  url.port = 443;
  EXPECT_EQ(url.HostHeader(), "h");
  url.port = 8443;
  EXPECT_EQ(url.HostHeader(), "h:8443");
  url.tls = false;
  url.port = 80;
  EXPECT_EQ(url.HostHeader(), "h");
  url.host = "fe80::1";
  EXPECT_EQ(url.HostHeader(), "[fe80::1]");
  url.port = 0;  // unset port: treated as default
  EXPECT_EQ(url.HostHeader(), "[fe80::1]");
}

}  // namespace
}  // namespace meridian::core

// Unit tests of the AT+QFOTADL URL parser (the note's 2.2.1.1 and 2.2.1.2).

#include <gtest/gtest.h>

#include <string>

#include "protocol/net/url.hpp"

namespace bg95::net {
namespace {

TEST(Url, HttpWithPortPathAndQuery) {
  const Url url = parse_url("http://127.0.0.1:8080/fw/update.bin?v=2&x=%41");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.scheme, Scheme::Http);
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.host_kind, HostKind::Ipv4);
  EXPECT_EQ(url.port, 8080);
  EXPECT_TRUE(url.port_given);
  EXPECT_EQ(url.path, "/fw/update.bin");
  EXPECT_EQ(url.query, "v=2&x=%41");
  EXPECT_EQ(url.target(), "/fw/update.bin?v=2&x=%41");
  EXPECT_EQ(url.authority(), "127.0.0.1:8080");
}

TEST(Url, SchemeInAnyCase) {
  EXPECT_EQ(parse_url("HTTP://example.com/a").scheme, Scheme::Http);
  EXPECT_EQ(parse_url("HTTPS://example.com/a").scheme, Scheme::Https);
  EXPECT_EQ(parse_url("hTtPs://example.com/a").scheme, Scheme::Https);
  EXPECT_EQ(parse_url("CoAP://example.com/a").scheme, Scheme::Coap);
  EXPECT_EQ(parse_url("CoAPS://example.com/a").scheme, Scheme::Coaps);
  EXPECT_EQ(parse_url("coaps://example.com/a").scheme, Scheme::Coaps);
  for (const char* text : {"HTTP://example.com/a", "HTTPS://example.com/a", "CoAP://example.com/a",
                           "CoAPS://example.com/a"}) {
    EXPECT_TRUE(parse_url(text).ok()) << text << ": " << parse_url(text).error;
  }
}

TEST(Url, DefaultPorts) {
  // The note says 80 for every scheme; we read that as a typo and use each scheme's own.
  EXPECT_EQ(parse_url("http://h/x").port, 80);
  EXPECT_EQ(parse_url("https://h/x").port, 443);
  EXPECT_EQ(parse_url("coap://h/x").port, 5683);
  EXPECT_EQ(parse_url("coaps://h/x").port, 5684);
  EXPECT_FALSE(parse_url("http://h/x").port_given);
  EXPECT_EQ(default_port(Scheme::Coaps), 5684);
  EXPECT_EQ(parse_url("https://h:443/x").authority(), "h");
  EXPECT_EQ(parse_url("https://h:80/x").authority(), "h:80");
}

TEST(Url, HostNameFoldedToLowerCase) {
  const Url url = parse_url("HTTP://Update.Example.COM/Path/File.BIN");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.host, "update.example.com");
  EXPECT_EQ(url.host_kind, HostKind::Name);
  EXPECT_EQ(url.path, "/Path/File.BIN");  // the path keeps its case
  EXPECT_EQ(url.to_string(), "http://update.example.com/Path/File.BIN");
}

TEST(Url, PathDefaultsToSlash) {
  EXPECT_EQ(parse_url("http://h").path, "/");
  EXPECT_EQ(parse_url("http://h:81").path, "/");
  const Url url = parse_url("http://h?q=1");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.path, "/");
  EXPECT_EQ(url.query, "q=1");
  EXPECT_EQ(url.target(), "/?q=1");
}

TEST(Url, FragmentDropped) {
  const Url url = parse_url("http://h/a.bin?x=1#frag");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.path, "/a.bin");
  EXPECT_EQ(url.query, "x=1");
}

TEST(Url, Ipv6InBrackets) {
  const Url url = parse_url("https://[::1]:8443/update.bin");
  ASSERT_TRUE(url.ok()) << url.error;
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.host_kind, HostKind::Ipv6);
  EXPECT_EQ(url.port, 8443);
  EXPECT_EQ(url.host_literal(), "[::1]");
  EXPECT_EQ(url.authority(), "[::1]:8443");

  const Url no_port = parse_url("coap://[2001:DB8::1]/fw");
  ASSERT_TRUE(no_port.ok()) << no_port.error;
  EXPECT_EQ(no_port.host, "2001:db8::1");
  EXPECT_EQ(no_port.port, 5683);

  EXPECT_FALSE(parse_url("http://::1/x").ok());              // no brackets
  EXPECT_FALSE(parse_url("http://[::1/x").ok());             // unterminated
  EXPECT_FALSE(parse_url("http://[::1]x/x").ok());           // junk after ']'
  EXPECT_FALSE(parse_url("http://[not-an-ip]/x").ok());      // not an address
  EXPECT_FALSE(parse_url("http://[fe80::1%25eth0]/").ok());  // zone ids not supported
  EXPECT_FALSE(parse_url("http://[]/x").ok());
}

TEST(Url, Ipv4Checked) {
  EXPECT_TRUE(parse_url("http://10.0.0.1/x").ok());
  EXPECT_FALSE(parse_url("http://256.1.1.1/x").ok());
  EXPECT_FALSE(parse_url("http://1.2.3/x").ok());
  EXPECT_FALSE(parse_url("http://1.2.3.4.5/x").ok());
}

TEST(Url, HostNamesChecked) {
  EXPECT_TRUE(parse_url("http://localhost/x").ok());
  EXPECT_TRUE(parse_url("http://my-host_1.example/x").ok());
  EXPECT_FALSE(parse_url("http://-bad.example/x").ok());
  EXPECT_FALSE(parse_url("http://bad-.example/x").ok());
  EXPECT_FALSE(parse_url("http://a..b/x").ok());
  EXPECT_FALSE(parse_url("http://exa%6Dple.com/x").ok());
  EXPECT_FALSE(parse_url("http://" + std::string(64, 'a') + ".com/x").ok());
  EXPECT_TRUE(parse_url("http://" + std::string(63, 'a') + ".com/x").ok());
}

TEST(Url, MissingHost) {
  for (const char* text : {"http://", "http:///file.bin", "http://:8080/file.bin", "https://?q"}) {
    const Url url = parse_url(text);
    EXPECT_FALSE(url.ok()) << text;
    EXPECT_NE(url.error.find("host"), std::string::npos) << text << ": " << url.error;
  }
}

TEST(Url, BadPorts) {
  for (const char* text :
       {"http://h:0/x", "http://h:65536/x", "http://h:abc/x", "http://h:/x", "http://h:-1/x",
        "http://h:99999999999/x", "http://h:80a/x", "http://h: 80/x"}) {
    EXPECT_FALSE(parse_url(text).ok()) << text;
  }
  EXPECT_EQ(parse_url("http://h:1/x").port, 1);
  EXPECT_EQ(parse_url("http://h:65535/x").port, 65535);
  EXPECT_EQ(parse_url("http://h:08080/x").port, 8080);
}

TEST(Url, LengthLimitIs700Bytes) {
  const std::string head = "http://127.0.0.1/";
  const std::string exactly = head + std::string(kMaxUrlLength - head.size(), 'a');
  ASSERT_EQ(exactly.size(), 700u);
  EXPECT_TRUE(parse_url(exactly).ok()) << parse_url(exactly).error;
  const std::string over = exactly + "a";
  const Url url = parse_url(over);
  EXPECT_FALSE(url.ok());
  EXPECT_NE(url.error.find("700"), std::string::npos) << url.error;
}

TEST(Url, UnsupportedOrMissingScheme) {
  EXPECT_FALSE(parse_url("ftp://h/x").ok());
  EXPECT_NE(parse_url("ftp://h/x").error.find("unsupported scheme"), std::string::npos);
  EXPECT_FALSE(parse_url("httpx://h/x").ok());
  EXPECT_FALSE(parse_url("://h/x").ok());
  EXPECT_FALSE(parse_url("h/x").ok());
  EXPECT_FALSE(parse_url("http:/h/x").ok());
  EXPECT_FALSE(parse_url("").ok());
}

TEST(Url, UserInfoRejected) {
  const Url url = parse_url("http://user:pass@h/x");
  EXPECT_FALSE(url.ok());
  EXPECT_NE(url.error.find("user"), std::string::npos) << url.error;
  EXPECT_FALSE(parse_url("http://user@h/x").ok());
}

TEST(Url, SpacesControlsAndBadEscapesRejected) {
  EXPECT_FALSE(parse_url("http://h/a b.bin").ok());
  EXPECT_FALSE(parse_url("http://h/a\tb").ok());
  EXPECT_FALSE(parse_url(std::string("http://h/a\0b", 12)).ok());
  EXPECT_FALSE(parse_url("http://h/a%zz").ok());
  EXPECT_FALSE(parse_url("http://h/a%4").ok());
  EXPECT_FALSE(parse_url("http://h/a?x=%").ok());
  EXPECT_TRUE(parse_url("http://h/a%20b").ok());
}

TEST(Url, LooksLikeUrl) {
  EXPECT_TRUE(looks_like_url("http://h/x"));
  EXPECT_TRUE(looks_like_url("CoAP://h/x"));
  EXPECT_TRUE(looks_like_url("ftp://h/x"));  // the form only; parse_url() decides validity
  EXPECT_FALSE(looks_like_url("/data/ufs/dfota_update.bin"));
  EXPECT_FALSE(looks_like_url("COM:"));
  EXPECT_FALSE(looks_like_url("UFS:dfota_update.bin"));
  EXPECT_FALSE(looks_like_url(""));
}

}  // namespace
}  // namespace bg95::net

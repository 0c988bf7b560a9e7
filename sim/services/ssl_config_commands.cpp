// AT+QSSLCFG: the six SSL contexts every TLS user of the module reads (sim/net/ssl_context.hpp).
// Each parameter is one row of kRows: its name, the values it takes, and where it is kept; the
// test form lists the rows, the write form with no value reads one, with a value sets it.
// Formats, ranges and defaults, with their sources: docs/ssl.md.

#include <fmt/format.h>

#include <optional>
#include <string>

#include "sim/module.hpp"
#include "sim/net/ssl_context.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"

namespace bg95::services {
namespace {

using net::SslContextConfig;

enum class Kind { Number, Cipher, Path };

struct Row {
  const char* name;
  Kind kind;
  int min = 0, max = 0;    // Number
  const char* range = "";  // the test form's values: "(0-4)", "<cacertpath>"
  int SslContextConfig::*number = nullptr;
  bool SslContextConfig::*flag = nullptr;
  std::string SslContextConfig::*path = nullptr;
};

// The note's order (BG96 SSL AT commands manual 2.2.1; BG95&BG77 SSL application note), then
// "sni" and "checkhost", which BG95 host drivers set (docs/ssl.md).
const Row kRows[] = {
    {"sslversion", Kind::Number, 0, 4, "(0-4)", &SslContextConfig::ssl_version},
    {"ciphersuite", Kind::Cipher},
    {"cacert", Kind::Path, 0, 0, "<cacertpath>", nullptr, nullptr, &SslContextConfig::ca_cert},
    {"clientcert", Kind::Path, 0, 0, "<client_cert_path>", nullptr, nullptr,
     &SslContextConfig::client_cert},
    {"clientkey", Kind::Path, 0, 0, "<client_key_path>", nullptr, nullptr,
     &SslContextConfig::client_key},
    {"seclevel", Kind::Number, 0, 2, "(0-2)", &SslContextConfig::sec_level},
    {"ignorelocaltime", Kind::Number, 0, 1, "(0,1)", nullptr, &SslContextConfig::ignore_local_time},
    {"negotiatetime", Kind::Number, 10, 300, "(10-300)", &SslContextConfig::negotiate_time},
    {"sni", Kind::Number, 0, 1, "(0,1)", nullptr, &SslContextConfig::sni},
    {"checkhost", Kind::Number, 0, 1, "(0,1)", nullptr, &SslContextConfig::check_host},
};

// A file name of the module's file system, as AT+QFUPL takes it (at most 80 characters).
constexpr std::size_t kMaxPath = 80;

const Row* find_row(const std::string& name) {
  for (const Row& r : kRows)
    if (name == r.name) return &r;
  return nullptr;
}

std::string hex(std::uint16_t code) {
  return fmt::format("0X{:04X}", code);
}

std::string cipher_range() {
  std::string s = "(";
  for (const net::CipherSuite& suite : net::cipher_suites())
    s += hex(suite.code) + ",";
  return s + hex(net::kAllCipherSuites) + ")";
}

// "0X0035" or "0x0035": one of the note's suites, or 0XFFFF.
std::optional<std::uint16_t> parse_cipher(const std::string& text) {
  if (text.size() < 3 || text.size() > 6 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
    return std::nullopt;
  unsigned value = 0;
  for (std::size_t i = 2; i < text.size(); ++i) {
    const char c = text[i];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<unsigned>(digit);
  }
  const auto code = static_cast<std::uint16_t>(value);
  if (code != net::kAllCipherSuites && !net::cipher_suite(code)) return std::nullopt;
  return code;
}

std::string value_of(const Row& row, const SslContextConfig& c) {
  switch (row.kind) {
    case Kind::Number:
      return std::to_string(row.number ? c.*row.number : (c.*row.flag ? 1 : 0));
    case Kind::Cipher:
      return c.cipher_suites.empty() ? hex(net::kAllCipherSuites) : hex(c.cipher_suites.front());
    case Kind::Path:
      return "\"" + c.*row.path + "\"";
  }
  return {};
}

// Sets the row's value from the host's argument; false when it is not one the row takes.
bool set_value(const Row& row, SslContextConfig& c, const at::RawArgument& arg) {
  switch (row.kind) {
    case Kind::Number: {
      const auto n = at::parse_integer(arg.text);
      if (arg.quoted || !n || *n < row.min || *n > row.max) return false;
      if (row.number) {
        c.*row.number = static_cast<int>(*n);
      } else {
        c.*row.flag = *n == 1;
      }
      return true;
    }
    case Kind::Cipher: {
      const auto code = parse_cipher(arg.text);
      if (!code) return false;
      c.cipher_suites = {*code};
      return true;
    }
    case Kind::Path:
      if (!arg.quoted || arg.text.empty() || arg.text.size() > kMaxPath) return false;
      c.*row.path = arg.text;
      return true;
  }
  return false;
}

}  // namespace

void add_ssl_config_commands(at::CommandTable& t, Module& m) {
  t.add({"+QSSLCFG", Form::Test, {}, [](Call& c) {
           for (const Row& r : kRows) {
             const std::string values = r.kind == Kind::Cipher ? cipher_range() : r.range;
             c.line(fmt::format("+QSSLCFG: \"{}\",(0-{}),{}", r.name, net::SslContexts::kCount - 1,
                                values));
           }
           c.ok();
         }});
  // AT+QSSLCFG="<name>",<SSL_ctxID>[,<value>]: no value reads the context's setting.
  t.add({"+QSSLCFG",
         Form::Write,
         {at::quoted(32), integer(0, net::SslContexts::kCount - 1), optional(at::any())},
         [&m](Call& c) {
           const Row* row = find_row(c.args().str(0));
           if (!row) return c.error();
           net::SslContextConfig& config =
               m.ssl_contexts().at(static_cast<int>(c.args().integer(1)));
           const auto& raw = c.raw_arguments();
           if (raw.size() == 2) {
             c.line(fmt::format("+QSSLCFG: \"{}\",{},{}", row->name, c.args().integer(1),
                                value_of(*row, config)));
             return c.ok();
           }
           return raw[2].present && set_value(*row, config, raw[2]) ? c.ok() : c.error();
         },
         at::Outcome::error()});
}

}  // namespace bg95::services

// parse_url (protocol/net/url.*) on any text: never a crash, and a URL it accepts is stable:
// its normalised form parses again to the same fields.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/net/url.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bg95::net::Url url = bg95::net::parse_url(text);
  (void)bg95::net::looks_like_url(text);
  if (!url.ok()) return 0;
  BG95_FUZZ_CHECK(!url.path.empty() && url.path.front() == '/');
  BG95_FUZZ_CHECK(url.port != 0);
  const std::string normal = url.to_string();
  // Normalising can add a byte ("/" for an empty path): past the limit it is refused again.
  if (normal.size() > bg95::net::kMaxUrlLength) return 0;
  const bg95::net::Url again = bg95::net::parse_url(normal);
  BG95_FUZZ_CHECK(again.ok());
  BG95_FUZZ_CHECK(again.scheme == url.scheme && again.host == url.host &&
                  again.host_kind == url.host_kind && again.port == url.port &&
                  again.path == url.path && again.query == url.query);
  BG95_FUZZ_CHECK(again.to_string() == normal);
  return 0;
}

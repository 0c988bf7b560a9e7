#pragma once
// Base64 (RFC 4648, with padding) for binary bytes in JSON transcripts.

#include <optional>
#include <string>
#include <string_view>

namespace bg95::util {

std::string base64_encode(std::string_view bytes);
// nullopt when the text is not valid base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace bg95::util

#include "sim/firmware/synthetic.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <map>
#include <optional>

namespace bg95::firmware {
namespace {

// splitmix64, as synthetic_body uses: the same sequence on every machine and compiler, which
// std::uniform_*_distribution does not promise.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed ^ 0xD1B54A32D192ED03ull) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Sizes of code changes are heavy-tailed: many small fixes, a few rewritten functions.
  std::size_t log_uniform(std::size_t lo, std::size_t hi) {
    const double l = std::log(static_cast<double>(lo)), h = std::log(static_cast<double>(hi));
    return static_cast<std::size_t>(std::exp(l + unit() * (h - l)));
  }

 private:
  std::uint64_t state_;
};

// Replaces old[pos, pos + old_len) by bytes; old_len 0 is an insertion, empty bytes a deletion.
struct Edit {
  std::size_t old_len = 0;
  std::vector<std::uint8_t> bytes;
};

class Editor {
 public:
  Editor(std::span<const std::uint8_t> body, std::uint64_t seed) : body_(body), rng_(seed) {}

  void run(std::uint64_t budget, BodyEdits& summary) {
    const std::size_t n = body_.size();
    if (n == 0 || budget == 0) return;
    // Placement fails more often as the body fills up; the cap only stops a hopeless search
    // (change_fraction near 1), it is far above what a few per cent needs.
    std::uint64_t attempts = 10000 + 64 * (budget / 256);
    while (spent_ < budget && attempts-- > 0) {
      const std::uint64_t left = budget - spent_;
      const std::uint64_t kind = rng_.below(100);
      if (kind < 65)
        patch_function(left, summary);
      else if (kind < 80)
        insert_block(left, summary);
      else if (kind < 92)
        delete_block(left, summary);
      else
        fix_pointer(summary);
    }
  }

  std::vector<std::uint8_t> result() const {
    std::vector<std::uint8_t> out;
    out.reserve(body_.size() + body_.size() / 16);
    std::size_t at = 0;
    for (const auto& [pos, e] : edits_) {
      out.insert(out.end(), body_.begin() + static_cast<std::ptrdiff_t>(at),
                 body_.begin() + static_cast<std::ptrdiff_t>(pos));
      out.insert(out.end(), e.bytes.begin(), e.bytes.end());
      at = pos + e.old_len;
    }
    out.insert(out.end(), body_.begin() + static_cast<std::ptrdiff_t>(at), body_.end());
    return out;
  }

 private:
  // Edits keep a gap between them so that each stays a separate, recognisable cluster.
  static constexpr std::size_t kGap = 8;

  bool free_at(std::size_t pos, std::size_t old_len) const {
    const std::size_t end = pos + std::max<std::size_t>(old_len, 1);
    auto next = edits_.lower_bound(pos);
    if (next != edits_.end() && next->first < end + kGap) return false;
    if (next == edits_.begin()) return true;
    const auto& [prev_pos, prev] = *std::prev(next);
    return prev_pos + std::max<std::size_t>(prev.old_len, 1) + kGap <= pos;
  }

  // A position for an edit of old_len bytes, 4-aligned as instructions are; nullopt if taken.
  std::optional<std::size_t> place(std::size_t old_len) {
    const std::size_t n = body_.size();
    if (old_len > n) return std::nullopt;
    const std::size_t pos = static_cast<std::size_t>(rng_.below(n - old_len + 1)) & ~std::size_t{3};
    if (!free_at(pos, old_len)) return std::nullopt;
    return pos;
  }

  // A new instruction: the opcode bits of an existing word of the body with new operand bits
  // (the split synthetic_body uses), so that new code compresses like the old code (about
  // half its size) rather than like noise.
  std::uint32_t code_word() {
    const std::uint64_t r = rng_.next();
    std::uint32_t word = static_cast<std::uint32_t>(r >> 32);
    if (body_.size() >= 4) {
      const std::size_t at = static_cast<std::size_t>(rng_.below(body_.size() / 4)) * 4;
      word = 0;
      for (std::size_t k = 0; k < 4; ++k)
        word |= static_cast<std::uint32_t>(body_[at + k]) << (8 * k);
    }
    return (word & 0xFFF0F0F0u) | (static_cast<std::uint32_t>(r) & 0x000F0F0Fu);
  }

  void put_word(std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t word) {
    for (std::size_t k = 0; k < 4 && at + k < out.size(); ++k)
      out[at + k] = static_cast<std::uint8_t>(word >> (8 * k));
  }

  std::vector<std::uint8_t> new_code(std::size_t len) {
    std::vector<std::uint8_t> code(len);
    for (std::size_t i = 0; i < len; i += 4)
      put_word(code, i, code_word());
    return code;
  }

  static std::uint64_t differing(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    std::uint64_t d = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      d += a[i] != b[i] ? 1u : 0u;
    return d;
  }

  // A patched function: a run of instructions of which a part is rewritten in place.
  void patch_function(std::uint64_t left, BodyEdits& summary) {
    const double density = 0.35 + 0.55 * rng_.unit();
    std::size_t len = rng_.log_uniform(32, 4096);
    len = std::min<std::size_t>(len,
                                static_cast<std::size_t>(static_cast<double>(left) / density) + 4);
    len = std::min(len, body_.size());
    const auto pos = place(len);
    if (!pos) return;
    const auto old = body_.subspan(*pos, len);
    Edit e{len, std::vector<std::uint8_t>(old.begin(), old.end())};
    for (std::size_t i = 0; i < len; i += 4)
      if (rng_.unit() < density) put_word(e.bytes, i, code_word());
    const std::uint64_t changed = differing(old, e.bytes);
    if (changed == 0) return;
    summary.changed += changed;
    spent_ += changed;
    ++summary.clusters;
    edits_.emplace(*pos, std::move(e));
  }

  // New code (a function or a larger one): everything after it moves forward.
  void insert_block(std::uint64_t left, BodyEdits& summary) {
    std::size_t len = rng_.log_uniform(16, 2048) & ~std::size_t{3};
    len =
        std::clamp<std::size_t>(len, 4, static_cast<std::size_t>(std::max<std::uint64_t>(left, 4)));
    const auto pos = place(0);
    if (!pos) return;
    summary.inserted += len;
    spent_ += len;
    ++summary.clusters;
    edits_.emplace(*pos, Edit{0, new_code(len)});
  }

  // Removed code: everything after it moves back.
  void delete_block(std::uint64_t left, BodyEdits& summary) {
    std::size_t len = rng_.log_uniform(16, 1024) & ~std::size_t{3};
    len =
        std::clamp<std::size_t>(len, 4, static_cast<std::size_t>(std::max<std::uint64_t>(left, 4)));
    // Never delete so much that the body would shrink to nothing.
    if (len >= body_.size() / 2) return;
    const auto pos = place(len);
    if (!pos) return;
    summary.deleted += len;
    spent_ += len;
    ++summary.clusters;
    edits_.emplace(*pos, Edit{len, {}});
  }

  // A literal pool entry or a call target that moved when the code before it was relinked:
  // the low bytes of a 32-bit address change by a small amount.
  void fix_pointer(BodyEdits& summary) {
    const auto pos = place(4);
    if (!pos) return;
    const auto old = body_.subspan(*pos, 4);
    std::uint32_t word = 0;
    for (std::size_t k = 0; k < 4; ++k)
      word |= static_cast<std::uint32_t>(old[k]) << (8 * k);
    word += 4 * static_cast<std::uint32_t>(1 + rng_.below(255));
    Edit e{4, std::vector<std::uint8_t>(4)};
    put_word(e.bytes, 0, word);
    const std::uint64_t changed = differing(old, e.bytes);
    summary.changed += changed;
    spent_ += changed;
    edits_.emplace(*pos, std::move(e));
  }

  std::span<const std::uint8_t> body_;
  Rng rng_;
  std::map<std::size_t, Edit> edits_;  // by position in the old body, so output is in order
  std::uint64_t spent_ = 0;
};

// Increments the decimal number text[begin, end), keeping its width unless it overflows.
std::string bump_number(const std::string& text, std::size_t begin, std::size_t end) {
  std::string digits = text.substr(begin, end - begin);
  std::size_t i = digits.size();
  while (i > 0) {
    --i;
    if (digits[i] != '9') {
      ++digits[i];
      return text.substr(0, begin) + digits + text.substr(end);
    }
    digits[i] = '0';
  }
  return text.substr(0, begin) + "1" + digits + text.substr(end);
}

bool all_digits(const std::string& s, std::size_t begin, std::size_t end) {
  if (begin >= end) return false;
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(begin),
                     s.begin() + static_cast<std::ptrdiff_t>(end),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

std::string bump_last_number(const std::string& text, const char* suffix_if_none) {
  std::size_t end = text.size();
  while (end > 0 && !std::isdigit(static_cast<unsigned char>(text[end - 1])))
    --end;
  if (end == 0) return text + suffix_if_none;
  std::size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(text[begin - 1])))
    --begin;
  return bump_number(text, begin, end);
}

}  // namespace

std::vector<std::uint8_t> derive_next_body(std::span<const std::uint8_t> body,
                                           double change_fraction, std::uint64_t seed,
                                           BodyEdits& edits) {
  edits = {};
  const double fraction = std::isnan(change_fraction) ? 0.0 : std::clamp(change_fraction, 0.0, 1.0);
  const auto budget =
      static_cast<std::uint64_t>(std::llround(fraction * static_cast<double>(body.size())));
  Editor editor(body, seed);
  editor.run(budget, edits);
  return editor.result();
}

std::vector<std::uint8_t> derive_next_body(std::span<const std::uint8_t> body,
                                           double change_fraction, std::uint64_t seed) {
  BodyEdits ignored;
  return derive_next_body(body, change_fraction, seed, ignored);
}

std::string next_full_version(const std::string& full_version) {
  // Quectel's shape: <revision>_<major>.<minor>.<major2>.<minor2>, both minors stepping
  // together from one release to the next (01.011.01.011 -> 01.012.01.012).
  const std::size_t underscore = full_version.rfind('_');
  if (underscore != std::string::npos) {
    std::vector<std::size_t> dots;
    for (std::size_t i = underscore + 1; i < full_version.size(); ++i)
      if (full_version[i] == '.') dots.push_back(i);
    if (dots.size() == 3 && all_digits(full_version, underscore + 1, dots[0]) &&
        all_digits(full_version, dots[0] + 1, dots[1]) &&
        all_digits(full_version, dots[1] + 1, dots[2]) &&
        all_digits(full_version, dots[2] + 1, full_version.size())) {
      // The later field first, so that a carry widening it does not move the earlier one.
      std::string v = bump_number(full_version, dots[2] + 1, full_version.size());
      return bump_number(v, dots[0] + 1, dots[1]);
    }
  }
  return bump_last_number(full_version, "_01");
}

std::string next_revision(const std::string& revision) {
  if (revision.empty() || !std::isdigit(static_cast<unsigned char>(revision.back())))
    return revision + "01";
  return bump_last_number(revision, "01");
}

}  // namespace bg95::firmware

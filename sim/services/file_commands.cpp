// The application file system commands (BG96 FILE manual style, docs/file-system.md):
// AT+QFUPL upload in data mode, AT+QFDWL download, AT+QFLST list, AT+QFLDS space, AT+QFDEL.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <memory>

#include "protocol/at/data_session.hpp"
#include "protocol/at/result_codes.hpp"
#include "sim/fs/checksum.hpp"
#include "sim/fs/module_fs.hpp"
#include "sim/module.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"
#include "sim/util/text.hpp"

namespace bg95::services {
namespace {

constexpr std::int64_t kDefaultUploadSize = 10240;  // BG96 FILE manual
constexpr std::int64_t kDefaultUploadTimeout = 5;   // seconds
constexpr std::uint64_t kAckEvery = 1024;           // ack mode: one "A" per 1 KiB received

// Arguments that fit no signature (a number where a name goes, a timeout of 0, ...).
const at::Outcome kBadArguments = at::Outcome::cme_error(at::cme::kFsInvalidParameter);

void fail(Call& c, fs::Error e) {
  c.cme(fs::cme_code(e));
}

using util::iequals;

// AT+QFUPL in data mode: the bytes go straight to a temporary file; what ends data mode
// decides whether the file is kept.
class UploadSession : public at::DataSession {
 public:
  UploadSession(fs::ModuleFs::Upload upload, std::uint64_t expected, double timeout,
                at::RawWriter ack)
      : upload_(std::move(upload)), expected_(expected), timeout_(timeout), ack_(std::move(ack)) {}

  std::size_t on_data(std::string_view bytes) override {
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), left()));
    const std::string_view data = bytes.substr(0, take);
    if (data.empty()) return 0;
    // A host write error is reported at the end; the bytes are still consumed so that the
    // rest of the transfer does not turn into commands.
    if (error_ == fs::Error::None) error_ = upload_.append(data);
    const std::uint64_t before = checksum_.size();
    checksum_.update(data);
    if (ack_) {
      const auto acks = checksum_.size() / kAckEvery - before / kAckEvery;
      if (acks > 0) ack_(std::string(static_cast<std::size_t>(acks), 'A'));
    }
    return take;
  }

  bool complete() const override { return left() == 0; }
  double idle_timeout_seconds() const override { return timeout_; }

  at::Reply finish(at::DataEnd why) override {
    switch (why) {
      case at::DataEnd::Reset:  // power lost: nothing is kept, nobody hears an answer
        upload_.abort();
        return {};
      case at::DataEnd::DtrHangup:  // AT&D2: the transfer is dropped
        upload_.abort();
        return {{}, {at::Outcome::Kind::NoCarrier, 0}, nullptr};
      case at::DataEnd::Timeout:
        // Nothing arrived at all: no file, the "time out" error.
        if (checksum_.size() == 0) {
          upload_.abort();
          return {{}, at::Outcome::cme_error(at::cme::kFsTimeout), nullptr};
        }
        break;
      case at::DataEnd::Complete:
      case at::DataEnd::Escape:   // "+++" keeps what arrived (BG96 FILE manual, the note)
      case at::DataEnd::DtrDrop:  // AT&D1 leaves data mode like "+++"
      case at::DataEnd::Closed:   // (an upload has no far end to close it)
        break;
    }
    if (error_ != fs::Error::None) {
      upload_.abort();
      return {{}, at::Outcome::cme_error(fs::cme_code(error_)), nullptr};
    }
    if (const fs::Error e = upload_.commit(); e != fs::Error::None)
      return {{}, at::Outcome::cme_error(fs::cme_code(e)), nullptr};
    return {
        {fmt::format("+QFUPL: {},{}", checksum_.size(), fs::format_checksum(checksum_.value()))},
        at::Outcome::ok(),
        nullptr};
  }

 private:
  std::uint64_t left() const { return expected_ - checksum_.size(); }

  fs::ModuleFs::Upload upload_;
  std::uint64_t expected_;
  double timeout_;
  at::RawWriter ack_;  // empty unless ack mode
  fs::XorChecksum checksum_;
  fs::Error error_ = fs::Error::None;
};

void upload(const fs::ModuleFs& fs, Call& c) {
  const auto& a = c.args();
  const std::string name = a.str(0);
  const std::int64_t size = a.has(1) ? a.integer(1) : kDefaultUploadSize;
  const std::int64_t timeout = a.has(2) ? a.integer(2) : kDefaultUploadTimeout;
  const bool ack = a.has(3) && a.integer(3) == 1;

  auto taken = fs.exists(name);  // also checks the name (406)
  if (!taken)
    return fail(c,
                taken.error() == fs::Error::InvalidName ? taken.error() : fs::Error::WriteFailed);
  if (*taken) return fail(c, fs::Error::Exists);
  const auto wanted = static_cast<std::uint64_t>(size);
  if (wanted > fs.total()) return fail(c, fs::Error::TooLarge);
  auto space = fs.free();
  if (!space) return fail(c, space.error());
  if (wanted > *space) return fail(c, fs::Error::NoSpace);
  auto up = fs.begin_upload(name);
  if (!up) return fail(c, up.error());
  c.connect(std::make_shared<UploadSession>(std::move(*up), wanted, static_cast<double>(timeout),
                                            ack ? c.raw_writer() : at::RawWriter{}));
}

// AT+QFDWL: "CONNECT", the file's bytes, "+QFDWL: <size>,<checksum>", OK — one response, so
// it is built as the command's information text and written in one piece with the echo, in
// order within a chain, and framed by the engine in every V0/V1/Q1 setting:
//
//   \r\nCONNECT\r\n<data>\r\n+QFDWL: <size>,<checksum>\r\n\r\nOK\r\n     (ATV1)
//
// (Writing CONNECT and the data raw from the handler would put them before the echo, which
// the engine writes after the handler returns.)
void download(const fs::ModuleFs& fs, Call& c) {
  auto data = fs.read(c.args().str(0));
  if (!data) return fail(c, data.error());
  // frame_information() puts a line break before the first line in ATV1; CONNECT as
  // frame_result() writes it already starts with one.
  std::string connect = at::frame_result(at::ResultCode::Connect, c.profile());
  if (c.profile().verbose && connect.size() >= 2) connect.erase(0, 2);
  const auto checksum = fs::xor_checksum(*data);
  const auto size = data->size();
  c.line(connect + std::move(*data));
  c.line(fmt::format("+QFDWL: {},{}", size, fs::format_checksum(checksum)));
  c.ok();
}

void list(const fs::ModuleFs& fs, Call& c, std::string_view pattern) {
  auto entries = fs.list(pattern);
  if (!entries) return fail(c, entries.error());
  // A name without wildcards that names no file is an error, not an empty listing: fwupd's
  // Quectel DFOTA set-up (plugins/modem-manager/fu-mm-dfota-device.c) reads OK to
  // AT+QFLST="dfota_update.bin" as "an old package is there" and deletes it next.
  const bool wildcard = pattern.find_first_of("*?") != std::string_view::npos;
  if (entries->empty() && !wildcard) return c.cme(at::cme::kFsFileNotFound);
  for (const auto& e : *entries)
    c.line(fmt::format("+QFLST: \"{}\",{}", e.name, e.size));
  c.ok();
}

}  // namespace

void add_file_commands(at::CommandTable& t, Module& m) {
  auto fs = std::make_shared<const fs::ModuleFs>(m.config().state_dir / "fs");
  // At start no upload runs: temporaries of an upload cut by a power loss go now.
  fs->prepare();
  const auto name_arg = at::string();  // length checked by the file system (406, not 425)

  // AT+QFUPL=<name>[,<file_size>[,<timeout>[,<ackmode>]]]
  t.add({"+QFUPL",
         Form::Write,
         {name_arg, optional(integer(1, std::numeric_limits<std::int64_t>::max())),
          optional(integer(1, 65535)), optional(integer(0, 1))},
         [fs](Call& c) { upload(*fs, c); },
         kBadArguments});
  t.add({"+QFUPL", Form::Test, {}, [](Call& c) { c.ok(); }});

  // AT+QFDWL=<name>
  t.add({"+QFDWL", Form::Write, {name_arg}, [fs](Call& c) { download(*fs, c); }, kBadArguments});
  t.add({"+QFDWL", Form::Test, {}, [](Call& c) { c.ok(); }});

  // AT+QFLST[=<pattern>]: no pattern lists every UFS file.
  t.add({"+QFLST", Form::Execute, {}, [fs](Call& c) { list(*fs, c, "*"); }});
  t.add({"+QFLST",
         Form::Write,
         {name_arg},
         [fs](Call& c) { list(*fs, c, c.args().str(0)); },
         kBadArguments});
  t.add({"+QFLST", Form::Test, {}, [](Call& c) { c.ok(); }});

  // AT+QFLDS="UFS" -> +QFLDS: <free>,<total>; AT+QFLDS -> +QFLDS: <size of the UFS files>,
  // <number of UFS files> (BG96 FILE manual).
  t.add({"+QFLDS",
         Form::Write,
         {name_arg},
         [fs](Call& c) {
           if (!iequals(c.args().str(0), "UFS")) return c.cme(at::cme::kFsInvalidParameter);
           auto space = fs->free();
           if (!space) return fail(c, space.error());
           c.line(fmt::format("+QFLDS: {},{}", *space, fs->total()));
           c.ok();
         },
         kBadArguments});
  t.add({"+QFLDS", Form::Execute, {}, [fs](Call& c) {
           auto entries = fs->list("*");
           if (!entries) return fail(c, fs::Error::DiskInfoFailed);
           std::uint64_t bytes = 0;
           for (const auto& e : *entries)
             bytes += e.size;
           c.line(fmt::format("+QFLDS: {},{}", bytes, entries->size()));
           c.ok();
         }});
  t.add({"+QFLDS", Form::Test, {}, [](Call& c) { c.ok(); }});

  // AT+QFDEL=<name>: "*" deletes every UFS file, "/datatx/*" every certificate.
  t.add({"+QFDEL",
         Form::Write,
         {name_arg},
         [fs](Call& c) {
           const std::string name = c.args().str(0);
           if (fs::has_wildcard(name)) {
             auto removed = fs->remove_matching(name);
             if (!removed) return fail(c, removed.error());
             return c.ok();
           }
           if (const fs::Error e = fs->remove(name); e != fs::Error::None) return fail(c, e);
           c.ok();
         },
         kBadArguments});
  t.add({"+QFDEL", Form::Test, {}, [](Call& c) { c.ok(); }});
}

}  // namespace bg95::services

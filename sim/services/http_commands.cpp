// The HTTP(S) application's commands (Quectel BG95&BG77 HTTP(S) Application Note V1.0; the
// BG96 HTTP(S) AT Commands Manual V1.0 where it is silent; docs/http-app.md has every format
// with its source): AT+QHTTPCFG, AT+QHTTPURL, AT+QHTTPGET, AT+QHTTPPOST, AT+QHTTPPOSTFILE,
// AT+QHTTPREAD, AT+QHTTPREADFILE, AT+QHTTPSTOP. The requests themselves: sim/http_app/.

#include <fmt/format.h>

#include <memory>

#include "protocol/at/data_session.hpp"
#include "protocol/at/result_codes.hpp"
#include "sim/http_app/http_app.hpp"
#include "sim/module.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"
#include "sim/util/text.hpp"

namespace bg95::services {
namespace {

using http_app::HttpApp;
using http_app::HttpError;
using std::chrono::seconds;

constexpr std::int64_t kDefaultTime = 60;  // <timeout>, <rsptime>, <input_time>, <wait_time>
constexpr std::int64_t kMaxTime = 65535;
constexpr std::int64_t kMaxUrl = 700;           // <URL_length>
constexpr std::int64_t kMaxGetRequest = 2048;   // <data_length> of AT+QHTTPGET
constexpr std::int64_t kMaxPostData = 1024000;  // <data_length> of AT+QHTTPPOST

const at::Outcome kInvalidParameter = at::Outcome::cme_error(code(HttpError::InvalidParameter));

void fail(Call& c, HttpError e) {
  c.cme(code(e));
}

// A test form's answer: one line, then OK.
at::Handler answer_line(std::string text) {
  return [text = std::move(text)](Call& c) {
    c.line(text);
    c.ok();
  };
}

at::ArgSpec time_arg() {
  return optional(integer(1, kMaxTime));
}

seconds time_or_default(const at::Args& a, std::size_t i) {
  return seconds(a.has(i) ? a.integer(i) : kDefaultTime);
}

// Bytes the host writes in data mode after CONNECT: the URL of AT+QHTTPURL, the body (or the
// whole request) of AT+QHTTPPOST, the request of AT+QHTTPGET with requestheader 1. When all
// have arrived, `complete` answers; the note names no code for the input time running out,
// and "Input timeout" (726) is the one that says it.
class InputSession : public at::DataSession {
 public:
  using Complete = std::function<at::Reply(std::string bytes)>;
  InputSession(std::size_t length, double timeout, Complete complete)
      : length_(length), timeout_(timeout), complete_(std::move(complete)) {}

  std::size_t on_data(std::string_view bytes) override {
    const std::size_t take = std::min(bytes.size(), length_ - data_.size());
    data_.append(bytes.substr(0, take));
    return take;
  }
  bool complete() const override { return data_.size() == length_; }
  double idle_timeout_seconds() const override { return timeout_; }

  at::Reply finish(at::DataEnd why) override {
    switch (why) {
      case at::DataEnd::Reset:
        return {};
      case at::DataEnd::DtrHangup:
        return {{}, {at::Outcome::Kind::NoCarrier, 0}, nullptr};
      case at::DataEnd::Complete:
        return complete_(std::move(data_));
      case at::DataEnd::Timeout:
      case at::DataEnd::Escape:
      case at::DataEnd::DtrDrop:
      case at::DataEnd::Closed:
        break;
    }
    return {{}, at::Outcome::cme_error(code(HttpError::InputTimeout)), nullptr};
  }

 private:
  std::size_t length_;
  double timeout_;
  Complete complete_;
  std::string data_;
};

at::Reply ok_reply() {
  return {{}, at::Outcome::ok(), nullptr};
}

// The end of a request's data mode: the request starts, unless one from another port started
// meanwhile.
at::Reply start_after_input(HttpApp& app, std::string urc, std::string_view method,
                            std::string data, bool raw, seconds rsptime) {
  if (app.busy()) return {{}, at::Outcome::cme_error(code(HttpError::Busy)), nullptr};
  app.start(std::move(urc), method, std::move(data), raw, rsptime);
  return ok_reply();
}

// ---- AT+QHTTPCFG="<name>"[,<value>]: a name alone reads the value.

void configure(HttpApp& app, Call& c) {
  const std::string name = c.args().str(0);
  auto& cfg = app.config();
  // Booleans are kept as bool; these three read and write through an int view.
  int request_header = cfg.request_header, response_header = cfg.response_header;
  struct Item {
    std::string_view name;
    std::int64_t min, max;
    int* value;
  };
  const Item items[] = {
      {"contextid", 1, 16, &cfg.context_id},      {"requestheader", 0, 1, &request_header},
      {"responseheader", 0, 1, &response_header}, {"sslctxid", 0, 5, &cfg.ssl_context_id},
      {"contenttype", 0, 3, &cfg.content_type},
  };
  for (const Item& item : items) {
    if (!util::iequals(name, item.name)) continue;
    if (!c.args().has(1)) {
      c.line(fmt::format("+QHTTPCFG: \"{}\",{}", item.name, *item.value));
      return c.ok();
    }
    if (!c.args().is_integer(1)) return fail(c, HttpError::InvalidParameter);
    const std::int64_t v = c.args().integer(1);
    if (v < item.min || v > item.max) return fail(c, HttpError::InvalidParameter);
    *item.value = static_cast<int>(v);
    cfg.request_header = request_header != 0;
    cfg.response_header = response_header != 0;
    return c.ok();
  }
  fail(c, HttpError::InvalidParameter);
}

// ---- AT+QHTTPURL=<URL_length>[,<timeout>]: CONNECT, then the URL.

void enter_url(HttpApp& app, Call& c) {
  if (app.busy()) return fail(c, HttpError::Busy);
  const auto length = static_cast<std::size_t>(c.args().integer(0));
  const auto timeout = static_cast<double>(time_or_default(c.args(), 1).count());
  c.connect(std::make_shared<InputSession>(length, timeout, [&app](std::string url) {
    // "The URL must begin with http:// or https://" (BG96 HTTP(S) manual, AT+QHTTPURL).
    const std::string lower = util::ascii_lower(url.substr(0, 8));
    if (!lower.starts_with("http://") && !lower.starts_with("https://"))
      return at::Reply{{}, at::Outcome::cme_error(code(HttpError::UrlError)), nullptr};
    app.set_url(std::move(url));
    return ok_reply();
  }));
}

// ---- requests

// AT+QHTTPGET[=<rsptime>] (requestheader 0), AT+QHTTPGET=<rsptime>,<data_length>[,<input_time>]
// (requestheader 1: the host writes the request after CONNECT).
void get(HttpApp& app, Call& c) {
  const auto& a = c.args();
  if (const HttpError e = app.can_start(); e != HttpError::Ok) return fail(c, e);
  const seconds rsptime = time_or_default(a, 0);
  if (!app.config().request_header) {
    if (a.has(1)) return fail(c, HttpError::InvalidParameter);
    app.start("+QHTTPGET:", "GET", std::nullopt, false, rsptime);
    return c.ok();
  }
  if (!a.has(1)) return fail(c, HttpError::InvalidParameter);
  const auto length = static_cast<std::size_t>(a.integer(1));
  const auto input = static_cast<double>(time_or_default(a, 2).count());
  c.connect(std::make_shared<InputSession>(length, input, [&app, rsptime](std::string request) {
    return start_after_input(app, "+QHTTPGET:", "GET", std::move(request), true, rsptime);
  }));
}

// AT+QHTTPPOST=<data_length>[,<input_time>,<rsptime>]: CONNECT, then the body (requestheader
// 0) or the whole request (requestheader 1).
void post(HttpApp& app, Call& c) {
  const auto& a = c.args();
  if (const HttpError e = app.can_start(); e != HttpError::Ok) return fail(c, e);
  const auto length = static_cast<std::size_t>(a.integer(0));
  const auto input = static_cast<double>(time_or_default(a, 1).count());
  const seconds rsptime = time_or_default(a, 2);
  const bool raw = app.config().request_header;
  c.connect(std::make_shared<InputSession>(length, input, [&app, rsptime, raw](std::string body) {
    return start_after_input(app, "+QHTTPPOST:", "POST", std::move(body), raw, rsptime);
  }));
}

// AT+QHTTPPOSTFILE=<file_name>[,<rsptime>]: the body (or whole request) is a file of the
// module's file system.
void post_file(HttpApp& app, Call& c) {
  const auto& a = c.args();
  if (const HttpError e = app.can_start(); e != HttpError::Ok) return fail(c, e);
  auto data = app.fs().read(a.str(0));
  if (!data) return c.cme(fs::cme_code(data.error()));
  app.start("+QHTTPPOSTFILE:", "POST", std::move(*data), app.config().request_header,
            time_or_default(a, 1));
  c.ok();
}

// Why the response cannot be read now (Ok when it can).
HttpError readable(HttpApp& app) {
  if (app.busy()) return HttpError::Busy;
  if (!app.response()) return HttpError::NoRequest;
  return HttpError::Ok;
}

std::string take_response(HttpApp& app) {
  auto& r = *app.response();
  std::string out = app.config().response_header ? std::move(r.head) : std::string{};
  out += std::move(r.body);
  app.response().reset();
  return out;
}

// AT+QHTTPREAD[=<wait_time>]: CONNECT, the response, OK, then +QHTTPREAD: <err>:
//
//   \r\nCONNECT\r\n<data>\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n     (ATV1)
//
// One answer whose last line holds the OK (Call::final_text), so that OK follows the data
// with one line end as in the note's example, not after an empty line as an information
// line's OK would; the URC comes after it.
void read(Module& m, HttpApp& app, Call& c) {
  if (const HttpError e = readable(app); e != HttpError::Ok) return fail(c, e);
  std::string connect = at::frame_result(at::ResultCode::Connect, c.profile());
  if (c.profile().verbose && connect.size() >= 2) connect.erase(0, 2);
  std::string ok = at::frame_result(at::ResultCode::Ok, c.profile());
  // The framing ends the line: without OK's own line end (CR LF, or S3 under ATV0).
  const std::size_t own_end = c.profile().verbose ? 2 : 1;
  if (ok.size() >= own_end) ok.resize(ok.size() - own_end);
  c.final_text(connect + take_response(app) + ok);
  m.emit_urc("+QHTTPREAD: 0");
}

// AT+QHTTPREADFILE=<file_name>[,<wait_time>]: OK, then +QHTTPREADFILE: <err> once the file is
// written. A file the file system refuses answers its own code (docs/file-system.md).
void read_file(Module& m, HttpApp& app, Call& c) {
  if (const HttpError e = readable(app); e != HttpError::Ok) return fail(c, e);
  const std::string name = c.args().str(0);
  if (auto ok = app.fs().exists(name); !ok && ok.error() == fs::Error::InvalidName)
    return c.cme(fs::cme_code(ok.error()));
  const fs::Error e = app.fs().write(name, take_response(app));
  if (e != fs::Error::None) return c.cme(fs::cme_code(e));
  c.ok();
  m.emit_urc("+QHTTPREADFILE: 0");
}

}  // namespace

void add_http_commands(at::CommandTable& t, Module& m) {
  auto app = std::make_shared<HttpApp>(m);
  const auto name_arg = at::string();  // length checked by the file system (406)

  t.add({"+QHTTPCFG", Form::Test, {}, [](Call& c) {
           c.line("+QHTTPCFG: \"contextid\",(1-16)");
           c.line("+QHTTPCFG: \"requestheader\",(0,1)");
           c.line("+QHTTPCFG: \"responseheader\",(0,1)");
           c.line("+QHTTPCFG: \"sslctxid\",(0-5)");
           c.line("+QHTTPCFG: \"contenttype\",(0-3)");
           c.ok();
         }});
  t.add({"+QHTTPCFG",
         Form::Write,
         {at::string(32), optional(at::any())},
         [app](Call& c) { configure(*app, c); },
         kInvalidParameter});

  t.add({"+QHTTPURL",
         Form::Test,
         {},
         answer_line(fmt::format("+QHTTPURL: (1-{}),(1-{})", kMaxUrl, kMaxTime))});
  t.add({"+QHTTPURL", Form::Read, {}, [app](Call& c) {
           if (!app->url().empty()) c.line("+QHTTPURL: " + app->url());
           c.ok();
         }});
  t.add({"+QHTTPURL",
         Form::Write,
         {integer(1, kMaxUrl), time_arg()},
         [app](Call& c) { enter_url(*app, c); },
         kInvalidParameter});

  t.add({"+QHTTPGET",
         Form::Test,
         {},
         answer_line(
             fmt::format("+QHTTPGET: (1-{}),(1-{}),(1-{})", kMaxTime, kMaxGetRequest, kMaxTime))});
  t.add({"+QHTTPGET", Form::Execute, {}, [app](Call& c) { get(*app, c); }});
  t.add({"+QHTTPGET",
         Form::Write,
         {time_arg(), optional(integer(1, kMaxGetRequest)), time_arg()},
         [app](Call& c) { get(*app, c); },
         kInvalidParameter});

  t.add({"+QHTTPPOST",
         Form::Test,
         {},
         answer_line(
             fmt::format("+QHTTPPOST: (1-{}),(1-{}),(1-{})", kMaxPostData, kMaxTime, kMaxTime))});
  t.add({"+QHTTPPOST",
         Form::Write,
         {integer(1, kMaxPostData), time_arg(), time_arg()},
         [app](Call& c) { post(*app, c); },
         kInvalidParameter});

  t.add({"+QHTTPPOSTFILE", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+QHTTPPOSTFILE",
         Form::Write,
         {name_arg, time_arg()},
         [app](Call& c) { post_file(*app, c); },
         kInvalidParameter});

  t.add({"+QHTTPREAD", Form::Test, {}, answer_line(fmt::format("+QHTTPREAD: (1-{})", kMaxTime))});
  t.add({"+QHTTPREAD", Form::Execute, {}, [&m, app](Call& c) { read(m, *app, c); }});
  t.add({"+QHTTPREAD",
         Form::Write,
         {time_arg()},
         [&m, app](Call& c) { read(m, *app, c); },
         kInvalidParameter});

  t.add({"+QHTTPREADFILE", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+QHTTPREADFILE",
         Form::Write,
         {name_arg, time_arg()},
         [&m, app](Call& c) { read_file(m, *app, c); },
         kInvalidParameter});

  t.add({"+QHTTPSTOP", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+QHTTPSTOP", Form::Execute, {}, [app](Call& c) {
           app->stop();
           c.ok();
         }});
}

}  // namespace bg95::services

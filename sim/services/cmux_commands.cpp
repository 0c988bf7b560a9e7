// AT+CMUX: the 3GPP TS 27.010 multiplexer on the port the command came from (docs/cmux-ppp.md).
// The handler makes the multiplexer and answers OK through Call::multiplex; the engine of
// whichever port ran it enters Cmux once the OK is out. It does not know the port.

#include <fmt/format.h>

#include <cstdlib>
#include <iterator>

#include "sim/cmux/multiplexer.hpp"
#include "sim/module.hpp"
#include "sim/services/services.hpp"

namespace bg95::services {
namespace {

using at::Call;
using at::Form;
using at::integer;
using at::optional;

std::string read_line(const cmux::Parameters& p) {
  return fmt::format("+CMUX: {},{},{},{},{},{},{},{},{}", p.mode, p.subset, p.port_speed, p.n1,
                     p.t1, p.n2, p.t2, p.t3, p.k);
}

// Each given parameter replaces the default (27.007 5.7: an omitted one keeps its default).
cmux::Parameters parameters_of(const at::Args& a) {
  cmux::Parameters p;
  int* fields[] = {&p.mode, &p.subset, &p.port_speed, &p.n1, &p.t1, &p.n2, &p.t2, &p.t3, &p.k};
  for (std::size_t i = 0; i < std::size(fields); ++i)
    if (a.has(i)) *fields[i] = static_cast<int>(a.integer(i));
  return p;
}

int urc_port(Module& m) {
  const auto& kept = m.settings().qcfg;
  const auto it = kept.find("cmux/urcport");
  return it == kept.end() ? 0 : std::atoi(it->second.c_str());
}

}  // namespace

void add_cmux_commands(at::CommandTable& t, Module& m) {
  t.add({"+CMUX", Form::Test, {}, [](Call& c) {
           c.line("+CMUX: (0),(0),(1-7),(1-32768),(1-255),(0-100),(2-255),(1-255),(1-7)");
           c.ok();
         }});
  t.add({"+CMUX", Form::Read, {}, [&m](Call& c) {
           const cmux::Multiplexer* mux = m.cmux();
           c.line(read_line(mux ? mux->parameters() : cmux::Parameters{}));
           c.ok();
         }});
  // <mode> 0 (basic), <subset> 0 (UIH only): the others are not supported; ranges of 27.007
  // 5.7 otherwise.
  t.add({"+CMUX",
         Form::Write,
         {integer(0, 0), optional(integer(0, 0)), optional(integer(1, 7)),
          optional(integer(1, 32768)), optional(integer(1, 255)), optional(integer(0, 100)),
          optional(integer(2, 255)), optional(integer(1, 255)), optional(integer(1, 7))},
         [&m](Call& c) {
           const cmux::Parameters p = parameters_of(c.args());
           // "T2 must be longer than T1" (27.007 5.7).
           if (p.t2 <= p.t1) return c.cme(50);
           // One multiplexer a module: AT+CMUX on a channel of it is refused.
           if (m.cmux()) return c.cme(3);
           cmux::Multiplexer::Hooks hooks{
               .make_engine =
                   [&m](const std::string& name, at::DteProfile& profile,
                        at::AtEngine::Writer writer) {
                     return m.make_channel_engine(name, profile, std::move(writer));
                   },
               .urc_port = [&m] { return urc_port(m); },
               .log = [&m](std::string_view what) { m.log_event(what); }};
           auto mux =
               std::make_shared<cmux::Multiplexer>(m.executor(), p, std::move(hooks), c.profile());
           m.set_cmux(mux);
           c.multiplex(std::move(mux));
         }});
}

}  // namespace bg95::services

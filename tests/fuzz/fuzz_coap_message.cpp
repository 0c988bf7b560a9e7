// CoAP messages from a hostile server, parsed by libcoap (coap_pdu_parse, as for every
// datagram a session receives) and handed to the project's own handling without a socket:
//
//   mode bit 0 clear: responses to a block-wise download. Each PDU with a response code goes to
//     read_block2_response + Block2Receiver (protocol/coap/block2_receiver.*), driven exactly as
//     CoapDownload's handle_response drives it: check, size check, take the payload, next block.
//   mode bit 0 set: requests to the LwM2M client (protocol/lwm2m/client.*): each PDU with a
//     GET/POST/PUT/DELETE code whose Uri-Path names an object, instance or resource of the model
//     (the ones the client registers with libcoap) goes to Client::handle_request, as libcoap's
//     resource dispatch would hand it; the model has every value type, multiple resources,
//     executes and a Block1-streamed Package like the Firmware Update object's.
//   mode bits 1-3: the download's preferred block size (SZX, 7 is clamped to 6).
//
// The rest of the input is a sequence of [length][length bytes] datagrams.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <coap3/coap.h>
#include <boost/asio/io_context.hpp>

#include "protocol/coap/block2_receiver.hpp"
#include "protocol/coap/coap_context.hpp"
#include "protocol/lwm2m/client.hpp"
#include "protocol/lwm2m/object_model.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace bg95;
using lwm2m::Type;
using lwm2m::Value;

constexpr std::uint64_t kMaxBody = 4096;

struct PduFree {
  void operator()(coap_pdu_t* pdu) const { coap_delete_pdu(pdu); }
};
using Pdu = std::unique_ptr<coap_pdu_t, PduFree>;
struct StringFree {
  void operator()(coap_string_t* s) const { coap_delete_string(s); }
};
using CoapString = std::unique_ptr<coap_string_t, StringFree>;

Pdu parse(std::span<const std::uint8_t> datagram) {
  Pdu pdu(coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0,
                        std::max<std::size_t>(datagram.size(), 4)));
  if (!pdu) return nullptr;
  if (coap_pdu_parse(COAP_PROTO_UDP, datagram.data(), datagram.size(), pdu.get()) == 0)
    return nullptr;
  return pdu;
}

struct Started {
  Started() {
    coap::ensure_libcoap_started();
    coap_set_log_level(LOG_EMERG);
  }
};

// ---- the download's side

void download(const std::vector<Pdu>& pdus, unsigned szx) {
  coap::Block2Receiver receiver(szx, kMaxBody);
  std::uint64_t delivered = 0;
  for (const auto& pdu : pdus) {
    // libcoap hands only responses (2.xx .. 5.xx) to the response handler.
    if (COAP_RESPONSE_CLASS(coap_pdu_get_code(pdu.get())) < 2) continue;
    const coap::Block2Response r = coap::read_block2_response(pdu.get());
    const std::uint64_t asked_offset = std::uint64_t{receiver.block_num()} << (receiver.szx() + 4);
    BG95_FUZZ_CHECK(asked_offset == receiver.taken());
    const auto verdict = receiver.check(r);
    if (verdict.failure) {
      BG95_FUZZ_CHECK(!verdict.failure->detail.empty() && verdict.failure->coap_err > 700);
      return;
    }
    if (receiver.check_size(r.payload.size())) return;
    receiver.took(r.payload.size());
    delivered += r.payload.size();
    BG95_FUZZ_CHECK(receiver.taken() == delivered && delivered <= kMaxBody);
    if (!verdict.more) return;
    BG95_FUZZ_CHECK(verdict.szx <= coap::kMaxSzx);
    receiver.next(verdict.szx);
    BG95_FUZZ_CHECK(receiver.szx() <= szx);
  }
}

// ---- the LwM2M client's side

struct Device {
  std::int64_t lifetime = 86400, pmin = 0, pmax = 0, time = 0;
  std::string binding = "U", package_uri, offset = "+01:00";
  double temperature = 21.5;
  bool bootstrap = false;
  std::string package;
  int updates = 0;
};

lwm2m::ObjectModel make_model(Device& d) {
  using namespace lwm2m;
  ObjectModel m;
  auto integer_rw = [](std::uint16_t id, std::int64_t& v) {
    Resource r = readable(
        id, Type::Integer, [&v] { return Value::number(v); }, kRead | kWrite);
    r.write = [&v](const Value& x) {
      v = x.integer;
      return code::kChanged;
    };
    return r;
  };
  auto string_rw = [](std::uint16_t id, std::string& v) {
    Resource r = readable(
        id, Type::String, [&v] { return Value::string(v); }, kRead | kWrite);
    r.write = [&v](const Value& x) {
      v = x.bytes;
      return code::kChanged;
    };
    return r;
  };
  m.object(0).reported = false;
  m.add(0, 0,
        readable(
            0, Type::String, [] { return Value::string("coap://127.0.0.1"); }, 0));
  m.add(0, 0,
        readable(
            1, Type::Boolean, [&d] { return Value::boolean(d.bootstrap); }, 0));
  m.add(1, 0, readable(0, Type::Integer, [] { return Value::number(1); }));
  m.add(1, 0, integer_rw(1, d.lifetime));
  m.add(1, 0, integer_rw(2, d.pmin));
  m.add(1, 0, integer_rw(3, d.pmax));
  m.add(1, 0, string_rw(7, d.binding));
  m.add(1, 0, executable(8, [](std::string_view) { return code::kChanged; }));
  m.add(3, 0, readable(0, Type::String, [] { return Value::string("Quectel"); }));
  m.add(3, 0, executable(4, [](std::string_view args) {
          return args.empty() ? code::kChanged : code::kBadRequest;
        }));
  Resource errors = multiple(11, Type::Integer);
  errors.read_instances = [] {
    return std::vector<std::pair<std::uint16_t, Value>>{{0, Value::number(0)},
                                                        {7, Value::number(-3)}};
  };
  m.add(3, 0, std::move(errors));
  Resource time = readable(
      13, Type::Time, [&d] { return Value::time(d.time); }, kRead | kWrite);
  time.write = [&d](const Value& v) {
    d.time = v.integer;
    return code::kChanged;
  };
  m.add(3, 0, std::move(time));
  m.add(3, 0, string_rw(14, d.offset));
  m.add(3303, 0, readable(5700, Type::Float, [&d] { return Value::real_number(d.temperature); }));
  // Firmware Update /5: Package streamed in blocks, bounded like the package area.
  Resource package = readable(0, Type::Opaque, {}, kWrite);
  package.write_stream = [&d](std::uint64_t offset, std::span<const std::uint8_t> bytes,
                              bool last) {
    if (offset == 0) d.package.clear();
    if (offset != d.package.size() || d.package.size() + bytes.size() > kMaxBody)
      return code::kTooLarge;
    d.package.append(bytes.begin(), bytes.end());
    return last ? code::kChanged : code::kContinue;
  };
  m.add(5, 0, std::move(package));
  m.add(5, 0, string_rw(1, d.package_uri));
  m.add(5, 0, executable(2, [&d](std::string_view) {
          ++d.updates;
          return code::kChanged;
        }));
  m.add(5, 0, readable(3, Type::Integer, [] { return Value::number(0); }));
  m.add(5, 0, readable(9, Type::Opaque, [&d] { return Value::opaque(d.package.substr(0, 16)); }));
  return m;
}

// The paths the client registers with libcoap ("3", "3/0", "3/0/1"): only these reach it.
std::set<std::string> registered_paths(const lwm2m::ObjectModel& model) {
  std::set<std::string> out;
  for (const auto& [oid, o] : model.objects()) {
    out.insert(std::to_string(oid));
    for (const auto& [iid, inst] : o.instances) {
      out.insert(std::to_string(oid) + "/" + std::to_string(iid));
      for (const auto& [rid, r] : inst.resources)
        out.insert(std::to_string(oid) + "/" + std::to_string(iid) + "/" + std::to_string(rid));
    }
  }
  return out;
}

void serve(const std::vector<Pdu>& pdus) {
  boost::asio::io_context io;
  Device device;
  lwm2m::ObjectModel model = make_model(device);
  const std::set<std::string> paths = registered_paths(model);
  lwm2m::Client client(io.get_executor(), model);
  for (const auto& request : pdus) {
    const coap_pdu_code_t method = coap_pdu_get_code(request.get());
    if (method != COAP_REQUEST_CODE_GET && method != COAP_REQUEST_CODE_POST &&
        method != COAP_REQUEST_CODE_PUT && method != COAP_REQUEST_CODE_DELETE)
      continue;
    CoapString uri(coap_get_uri_path(request.get()));
    if (!uri) continue;
    const std::string path(reinterpret_cast<const char*>(uri->s), uri->length);
    if (!paths.contains(path)) continue;  // libcoap answers 4.04 itself
    CoapString query(coap_get_query(request.get()));
    Pdu response(
        coap_pdu_init(COAP_MESSAGE_ACK, COAP_EMPTY_CODE, coap_pdu_get_mid(request.get()), 1152));
    BG95_FUZZ_CHECK(response != nullptr);
    const coap_bin_const_t token = coap_pdu_get_token(request.get());
    coap_add_token(response.get(), token.length, token.s);
    client.handle_request("/" + path, request.get(), query.get(), response.get());
    const auto code = static_cast<unsigned>(coap_pdu_get_code(response.get()));
    BG95_FUZZ_CHECK(COAP_RESPONSE_CLASS(code) >= 2 && COAP_RESPONSE_CLASS(code) <= 5);
    io.restart();
    io.poll();
  }
  BG95_FUZZ_CHECK(device.package.size() <= kMaxBody);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Started started;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::vector<Pdu> pdus;
  std::size_t at = 1;
  while (at < size) {
    const std::size_t length = std::min<std::size_t>(data[at], size - at - 1);
    if (Pdu pdu = parse(std::span(data + at + 1, length))) pdus.push_back(std::move(pdu));
    at += 1 + length;
  }
  if ((mode & 1) == 0) {
    download(pdus, std::min((mode >> 1) & 7u, coap::kMaxSzx));
  } else {
    serve(pdus);
  }
  return 0;
}

#pragma once
// The radio link under the module's data services: every byte a socket, the HTTP(S)
// application, MQTT or PPP sends or receives crosses it. It shapes time (throughput and
// latency per RAT in the realistic profile; nothing in the fast one), and it is where the
// network's faults on data live: a stalled link, latency and loss, connections refused or
// reset, DNS failures (the control socket and scenarios set them, sim/faults.cpp).
//
// (A first cut, passing everything at once, made so that the services and the link model can
// be written side by side; the network model owns it from here.)

#include <cstddef>
#include <functional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

namespace bg95::net {

class Link {
 public:
  enum class Direction { Up, Down };  // module -> network, network -> module
  // What a new connection meets instead of its server.
  enum class ConnectFault { None, Refused, Reset, Timeout };

  explicit Link(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  // `bytes` cross the link in `direction`: `arrived` runs on the executor once they would
  // have arrived at the other end, never inside this call. Within a direction the order is
  // kept. (A user sends or hands on its data when `arrived` runs.)
  void carry(Direction direction, std::size_t bytes, std::function<void()> arrived) {
    (void)direction;
    (void)bytes;
    boost::asio::post(executor_, std::move(arrived));
  }
  // Asked before each connection or datagram service opens.
  ConnectFault connect_fault() const { return ConnectFault::None; }
  // Asked before each name lookup: true, and the lookup fails as a DNS failure.
  bool dns_fails() const { return false; }
  // Asked for each datagram: true, and it is lost.
  bool drop_datagram() { return false; }
  // Power loss or reset: nothing in flight arrives.
  void reset() {}

 private:
  boost::asio::any_io_executor executor_;
};

}  // namespace bg95::net

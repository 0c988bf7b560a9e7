#pragma once
// The network behind a PPP link: the host's IPv4 packets go to libslirp (user-mode TCP/IP: no
// root, no kernel PPP), which opens ordinary sockets on this machine. Only the gateway address
// is reachable, and slirp maps it to 127.0.0.1 (its `vhost`); DNS queries to the servers IPCP
// handed out are answered from the module's local resolver; everything else is dropped, so no
// packet leaves the machine. slirp's descriptors and timers run on the module's io_context
// (its pollfds and timer callbacks, no thread). Every packet crosses the module's radio link.
// docs/ppp.md.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <poll.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

struct Slirp;

namespace bg95::net {
class Link;
}

namespace bg95::ppp {

struct NetworkConfig {
  std::uint32_t guest = 0;                 // the context's address (the host's end of the link)
  std::uint32_t gateway = 0;               // reaches 127.0.0.1
  std::uint32_t network = 0, netmask = 0;  // slirp's virtual network: guest and gateway in it
  std::vector<std::uint32_t> dns;          // answered locally
  std::filesystem::path hosts_file = "/etc/hosts";
};

class SlirpNetwork {
 public:
  SlirpNetwork(boost::asio::any_io_executor executor, net::Link& link, NetworkConfig config,
               std::function<void(std::string packet)> to_guest);
  ~SlirpNetwork();
  SlirpNetwork(const SlirpNetwork&) = delete;
  SlirpNetwork& operator=(const SlirpNetwork&) = delete;

  // An IPv4 packet from the host's stack.
  void from_guest(std::string packet);
  std::uint64_t dropped() const { return dropped_; }

  // libslirp's callbacks (C linkage trampolines call these).
  void on_slirp_frame(const std::uint8_t* frame, std::size_t length);
  int add_poll(int fd, int events);
  int revents(int index) const;
  struct Timer;
  Timer* new_timer(std::function<void()> fire);
  void modify_timer(Timer* timer, std::int64_t expire_ms);
  void free_timer(Timer* timer);
  void forget_fd(int fd);
  void schedule_poll();

 private:
  struct Watch {
    std::unique_ptr<boost::asio::posix::stream_descriptor> descriptor;
    bool read = false, write = false;  // the waits armed
    std::uint64_t epoch = 0;           // bumped at each cancel: older waits do nothing
  };
  void input_ethernet(std::string frame);
  void answer_arp(const std::uint8_t* frame, std::size_t length);
  void deliver_to_guest(std::string packet);
  void poll_now();
  void refill();
  void arm(int fd, Watch& w, bool read, bool write);

  boost::asio::any_io_executor executor_;
  net::Link& link_;
  NetworkConfig config_;
  std::function<void(std::string)> to_guest_;
  ::Slirp* slirp_ = nullptr;
  std::map<int, Watch> watches_;
  std::vector<pollfd> pollfds_;
  std::vector<std::unique_ptr<Timer>> timers_;
  boost::asio::steady_timer poll_timer_;
  bool poll_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t dropped_ = 0;
};

}  // namespace bg95::ppp

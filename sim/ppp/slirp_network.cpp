#include "sim/ppp/slirp_network.hpp"

#include <array>
#include <cstring>

#include <arpa/inet.h>
#include <libslirp.h>

#include <boost/asio/post.hpp>

#include "protocol/ppp/ipv4.hpp"
#include "sim/net/link.hpp"
#include "sim/packet/host_resolver.hpp"

namespace bg95::ppp {

struct SlirpNetwork::Timer {
  explicit Timer(boost::asio::any_io_executor executor) : timer(executor) {}
  boost::asio::steady_timer timer;
  std::function<void()> fire;
};

namespace {

using Clock = std::chrono::steady_clock;

// The host's stack sits behind a made-up Ethernet interface of slirp's: these MAC addresses
// never leave the process. (slirp's own is 52:55:<vhost>; any value does, it checks none.)
constexpr std::array<std::uint8_t, 6> kGuestMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr std::array<std::uint8_t, 6> kSlirpMac{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherArp = 0x0806;

SlirpNetwork* self(void* opaque) {
  return static_cast<SlirpNetwork*>(opaque);
}

std::int64_t clock_ns(void*) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

in_addr in(std::uint32_t a) {
  return in_addr{htonl(a)};
}

std::string ethernet(std::uint16_t type, std::string_view payload,
                     const std::array<std::uint8_t, 6>& to,
                     const std::array<std::uint8_t, 6>& from) {
  std::string f(to.begin(), to.end());
  f.append(from.begin(), from.end());
  f.push_back(static_cast<char>(type >> 8));
  f.push_back(static_cast<char>(type & 0xff));
  f.append(payload);
  return f;
}

// An ARP packet (RFC 826) over Ethernet for IPv4.
std::string arp(std::uint16_t op, const std::array<std::uint8_t, 6>& sha, std::uint32_t spa,
                const std::uint8_t* tha, std::uint32_t tpa) {
  std::string a{0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, static_cast<char>(op)};
  a.append(sha.begin(), sha.end());
  for (int s = 24; s >= 0; s -= 8)
    a.push_back(static_cast<char>(spa >> s & 0xff));
  a.append(reinterpret_cast<const char*>(tha), 6);
  for (int s = 24; s >= 0; s -= 8)
    a.push_back(static_cast<char>(tpa >> s & 0xff));
  return a;
}

const SlirpCb kCallbacks = {
    .send_packet = [](const void* buf, size_t len, void* opaque) -> ssize_t {
      self(opaque)->on_slirp_frame(static_cast<const std::uint8_t*>(buf), len);
      return static_cast<ssize_t>(len);
    },
    .guest_error = [](const char*, void*) {},
    .clock_get_ns = clock_ns,
    .timer_new = [](SlirpTimerCb cb, void* cb_opaque, void* opaque) -> void* {
      return self(opaque)->new_timer([cb, cb_opaque] { cb(cb_opaque); });
    },
    .timer_free =
        [](void* timer, void* opaque) {
          self(opaque)->free_timer(static_cast<SlirpNetwork::Timer*>(timer));
        },
    .timer_mod =
        [](void* timer, int64_t expire_ms, void* opaque) {
          self(opaque)->modify_timer(static_cast<SlirpNetwork::Timer*>(timer), expire_ms);
        },
    .register_poll_fd = [](int, void*) {},
    .unregister_poll_fd = [](int fd, void* opaque) { self(opaque)->forget_fd(fd); },
    .notify = [](void* opaque) { self(opaque)->schedule_poll(); },
    .init_completed = nullptr,
    .timer_new_opaque = nullptr,
};

}  // namespace

SlirpNetwork::SlirpNetwork(boost::asio::any_io_executor executor, net::Link& link,
                           NetworkConfig config, std::function<void(std::string)> to_guest)
    : executor_(executor),
      link_(link),
      config_(std::move(config)),
      to_guest_(std::move(to_guest)),
      poll_timer_(executor) {
  SlirpConfig c{};
  c.version = 3;  // timers through timer_new (version 4 adds timer_new_opaque; either works)
  c.in_enabled = true;
  c.vnetwork = in(config_.network);
  c.vnetmask = in(config_.netmask);
  c.vhost = in(config_.gateway);
  c.vdhcp_start = in(config_.guest);
  c.vnameserver = in(config_.gateway);
  c.if_mtu = 1500;
  c.if_mru = 1500;
  c.disable_host_loopback = false;  // the gateway is 127.0.0.1: the point of it
  c.disable_dns = true;             // DNS is answered here, never forwarded off the machine
  slirp_ = slirp_new(&c, &kCallbacks, this);
  // A gratuitous ARP: slirp learns the host's address and Ethernet address before the first
  // packet it sends back (otherwise it asks with ARP and holds the packet).
  const std::array<std::uint8_t, 6> zero{};
  input_ethernet(ethernet(kEtherArp, arp(1, kGuestMac, config_.guest, zero.data(), config_.guest),
                          {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kGuestMac));
  refill();
}

SlirpNetwork::~SlirpNetwork() {
  *alive_ = false;
  for (auto& [fd, w] : watches_) {
    w.descriptor->cancel();
    (void)w.descriptor->release();  // slirp owns and closes its sockets
  }
  watches_.clear();
  if (slirp_) slirp_cleanup(slirp_);
}

void SlirpNetwork::from_guest(std::string packet) {
  const auto ip = parse_ipv4(packet);
  if (!ip || ip->source != config_.guest) return void(++dropped_);
  const bool to_dns =
      std::find(config_.dns.begin(), config_.dns.end(), ip->destination) != config_.dns.end();
  if (to_dns && ip->protocol == kUdp) {
    const Resolve resolve =
        [this](const std::string& name) -> std::optional<std::vector<std::uint32_t>> {
      if (link_.dns_fails()) return std::nullopt;
      std::vector<std::uint32_t> out;
      for (const std::string& a : packet::resolve_locally(name, config_.hosts_file))
        if (const auto v4 = parse_dotted(a))
          out.push_back(*v4 == 0x7f000001 ? config_.gateway : *v4);
      return out;
    };
    auto answer = answer_dns(packet, resolve);
    if (!answer) return void(++dropped_);
    // The query crosses the link up and its answer down, as to a DNS server in the network.
    link_.carry(net::Link::Direction::Up, packet.size(),
                [this, alive = std::weak_ptr<bool>(alive_), a = std::move(*answer)]() mutable {
                  if (alive.lock()) deliver_to_guest(std::move(a));
                });
    return;
  }
  // Nothing but the gateway: no packet for another address leaves the machine.
  if (ip->destination != config_.gateway) return void(++dropped_);
  // Each IP packet is a datagram on the radio link: a lost one is gone (the host's TCP sends
  // it again).
  if (link_.drop_datagram()) return void(++dropped_);
  link_.carry(
      net::Link::Direction::Up, packet.size(),
      [this, alive = std::weak_ptr<bool>(alive_), p = std::move(packet)] {
        if (alive.lock()) input_ethernet(ethernet(kEtherIpv4, p, kSlirpMac, kGuestMac));
      },
      net::Link::Traffic::Datagram);
}

void SlirpNetwork::input_ethernet(std::string frame) {
  slirp_input(slirp_, reinterpret_cast<const std::uint8_t*>(frame.data()),
              static_cast<int>(frame.size()));
  schedule_poll();
}

void SlirpNetwork::on_slirp_frame(const std::uint8_t* f, std::size_t length) {
  if (length < 14) return;
  const auto type = static_cast<std::uint16_t>(f[12] << 8 | f[13]);
  if (type == kEtherArp) return answer_arp(f, length);
  if (type != kEtherIpv4) return;
  if (link_.drop_datagram()) return void(++dropped_);
  std::string packet(reinterpret_cast<const char*>(f + 14), length - 14);
  link_.carry(
      net::Link::Direction::Down, packet.size(),
      [this, alive = std::weak_ptr<bool>(alive_), p = std::move(packet)]() mutable {
        if (alive.lock()) deliver_to_guest(std::move(p));
      },
      net::Link::Traffic::Datagram);
}

void SlirpNetwork::answer_arp(const std::uint8_t* f, std::size_t length) {
  // slirp asks who has the host's address: the host's stack has no Ethernet, the module
  // answers for it. (Posted: slirp is in the middle of sending.)
  if (length < 14 + 28 || f[14 + 7] != 1) return;
  const std::uint8_t* a = f + 14;
  const std::uint32_t tpa =
      static_cast<std::uint32_t>(a[24] << 24 | a[25] << 16 | a[26] << 8 | a[27]);
  if (tpa != config_.guest) return;
  const std::uint32_t spa =
      static_cast<std::uint32_t>(a[14] << 24 | a[15] << 16 | a[16] << 8 | a[17]);
  std::array<std::uint8_t, 6> sha{};
  std::memcpy(sha.data(), a + 8, 6);
  std::string reply =
      ethernet(kEtherArp, arp(2, kGuestMac, config_.guest, sha.data(), spa), sha, kGuestMac);
  boost::asio::post(executor_, [this, alive = std::weak_ptr<bool>(alive_), r = std::move(reply)] {
    if (alive.lock()) input_ethernet(r);
  });
}

void SlirpNetwork::deliver_to_guest(std::string packet) {
  if (to_guest_) to_guest_(std::move(packet));
}

// ---- slirp on the event loop ----------------------------------------------------------------

int SlirpNetwork::add_poll(int fd, int events) {
  short e = 0;
  if (events & SLIRP_POLL_IN) e |= POLLIN;
  if (events & SLIRP_POLL_OUT) e |= POLLOUT;
  if (events & SLIRP_POLL_PRI) e |= POLLPRI;
  pollfds_.push_back({fd, e, 0});
  return static_cast<int>(pollfds_.size() - 1);
}

int SlirpNetwork::revents(int index) const {
  if (index < 0 || static_cast<std::size_t>(index) >= pollfds_.size()) return 0;
  const short r = pollfds_[static_cast<std::size_t>(index)].revents;
  int out = 0;
  if (r & POLLIN) out |= SLIRP_POLL_IN;
  if (r & POLLOUT) out |= SLIRP_POLL_OUT;
  if (r & POLLPRI) out |= SLIRP_POLL_PRI;
  if (r & POLLERR) out |= SLIRP_POLL_ERR;
  if (r & POLLHUP) out |= SLIRP_POLL_HUP;
  return out;
}

void SlirpNetwork::schedule_poll() {
  if (poll_posted_) return;
  poll_posted_ = true;
  boost::asio::post(executor_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.lock()) return;
    poll_posted_ = false;
    poll_now();
  });
}

// What slirp asked to watch last time is polled at once (the descriptor that woke us is ready;
// the others are asked in the same call), its answers handed over, and the watches renewed.
void SlirpNetwork::poll_now() {
  if (!pollfds_.empty()) ::poll(pollfds_.data(), pollfds_.size(), 0);
  slirp_pollfds_poll(
      slirp_, 0, [](int idx, void* opaque) { return self(opaque)->revents(idx); }, this);
  refill();
}

void SlirpNetwork::refill() {
  pollfds_.clear();
  std::uint32_t timeout_ms = 1000;
  slirp_pollfds_fill(
      slirp_, &timeout_ms,
      [](int fd, int events, void* opaque) { return self(opaque)->add_poll(fd, events); }, this);
  std::map<int, std::pair<bool, bool>> wanted;
  for (const pollfd& p : pollfds_) {
    auto& [r, w] = wanted[p.fd];
    r = r || (p.events & (POLLIN | POLLPRI));
    w = w || (p.events & POLLOUT);
  }
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (!wanted.contains(it->first)) {
      it->second.descriptor->cancel();
      (void)it->second.descriptor->release();
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [fd, rw] : wanted) {
    Watch& w = watches_[fd];
    if (!w.descriptor) {
      boost::system::error_code ec;
      w.descriptor = std::make_unique<boost::asio::posix::stream_descriptor>(executor_);
      w.descriptor->assign(fd, ec);
      if (ec) continue;
    }
    arm(fd, w, rw.first, rw.second);
  }
  // slirp's TCP timers run inside slirp_pollfds_poll: come back when it said.
  poll_timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  poll_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (!ec && alive.lock()) poll_now();
  });
}

void SlirpNetwork::arm(int fd, Watch& w, bool read, bool write) {
  if (w.read == read && w.write == write) return;
  if (w.read || w.write) {
    w.descriptor->cancel();
    ++w.epoch;
    w.read = w.write = false;
  }
  auto waiter = [this, fd, epoch = w.epoch, alive = std::weak_ptr<bool>(alive_)](bool is_read) {
    return [this, fd, epoch, alive, is_read](boost::system::error_code ec) {
      if (ec || !alive.lock()) return;
      const auto it = watches_.find(fd);
      if (it == watches_.end() || it->second.epoch != epoch) return;
      (is_read ? it->second.read : it->second.write) = false;
      schedule_poll();
    };
  };
  using W = boost::asio::posix::stream_descriptor;
  if (read) w.descriptor->async_wait(W::wait_read, waiter(true)), w.read = true;
  if (write) w.descriptor->async_wait(W::wait_write, waiter(false)), w.write = true;
}

void SlirpNetwork::forget_fd(int fd) {
  const auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  it->second.descriptor->cancel();
  (void)it->second.descriptor->release();
  watches_.erase(it);
}

SlirpNetwork::Timer* SlirpNetwork::new_timer(std::function<void()> fire) {
  timers_.push_back(std::make_unique<Timer>(executor_));
  timers_.back()->fire = std::move(fire);
  return timers_.back().get();
}

void SlirpNetwork::modify_timer(Timer* t, std::int64_t expire_ms) {
  const std::int64_t now_ms = clock_ns(nullptr) / 1'000'000;
  t->timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, expire_ms - now_ms)));
  t->timer.async_wait([t, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (!ec && alive.lock()) t->fire();
  });
}

void SlirpNetwork::free_timer(Timer* t) {
  std::erase_if(timers_, [t](const std::unique_ptr<Timer>& p) { return p.get() == t; });
}

}  // namespace bg95::ppp

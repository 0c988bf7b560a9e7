#pragma once
// The module's socket identities. TCP/UDP sockets (AT+QIOPEN <connectID>) and SSL clients
// (AT+QSSLOPEN <clientID>) are numbered 0-11 in both notes and share one pool: an id that one
// service uses, the other refuses with 563 "socket identity has been used" (BG95 TCP/IP note,
// error codes; SSL note, AT+QSSLOPEN). One per module; the services take and give ids here.

#include <array>
#include <cstddef>
#include <optional>

namespace bg95::net {

class SocketIds {
 public:
  static constexpr int kCount = 12;  // <connectID>/<clientID> 0-11
  enum class Owner { None, Socket, Ssl };

  static bool valid(int id) { return id >= 0 && id < kCount; }
  Owner owner(int id) const {
    return valid(id) ? owners_[static_cast<std::size_t>(id)] : Owner::None;
  }
  bool in_use(int id) const { return owner(id) != Owner::None; }
  // False when the id is out of range or already taken.
  bool take(int id, Owner by) {
    if (!valid(id) || in_use(id) || by == Owner::None) return false;
    owners_[static_cast<std::size_t>(id)] = by;
    return true;
  }
  void release(int id) {
    if (valid(id)) owners_[static_cast<std::size_t>(id)] = Owner::None;
  }
  // Power loss or reset: every socket is gone.
  void clear() { owners_.fill(Owner::None); }

 private:
  std::array<Owner, kCount> owners_{};
};

}  // namespace bg95::net

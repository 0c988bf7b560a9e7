#pragma once
// Timing profiles: `fast` has no artificial delays (CI); `realistic` takes the real module's
// order of time. A time-scale factor multiplies every delay of the realistic profile.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace bg95 {

struct Timing {
  enum class Profile { Fast, Realistic };
  Profile profile = Profile::Fast;
  double scale = 1.0;

  using ms = std::chrono::milliseconds;
  ms scaled(ms realistic) const {
    if (profile == Profile::Fast) return ms{0};
    return ms{static_cast<ms::rep>(static_cast<double>(realistic.count()) * scale)};
  }
  // From the end of a command line to CONNECT (AT+QFUPL, AT+QFOTADL="COM:"), in every
  // profile: the real module's command processor answers after the line's CR LF is in, so the
  // LF is never taken for data. No public measurement gives the figure; 5 ms is longer than
  // an LF takes at 2400 baud and far shorter than any host waits for CONNECT.
  ms connect_latency() const { return ms{5}; }
  // The framing of the byte stream, in every profile: with echo on, from the echo of a
  // command line to its answer; and between the URCs of a DFOTA update (START, UPDATING, END),
  // which waits for them. A host that reads as soon as data is there then gets the echo, the
  // answer and each of those URCs in reads of their own, as from a real module (fwupd's
  // Quectel DFOTA plugin takes a first read of exactly "<cmd>\r" as the echo, and matches only
  // the first +QIND: "FOTA" of each read). 0 only for in-process harnesses where no host reads.
  ms framing_gap{10};
  ms answer_gap() const { return framing_gap; }
  ms urc_gap() const { return framing_gap; }
  // From the last UPDATING line to END, with framing on: the module checks the new image and
  // leaves the updater. No public log gives the figure; 250 ms is longer than fwupd's 100 ms
  // retry delay plus its read, so END reaches it alone, whatever the profile.
  ms update_end_pause() const { return framing_gap.count() == 0 ? ms{0} : ms{250}; }
  // From power-on to RDY, and the gaps in the banner.
  ms boot() const { return scaled(ms{2500}); }
  ms banner_gap() const { return scaled(ms{200}); }
  ms network_attach() const { return scaled(ms{3000}); }
  // "RESETTING" to "START": the module restarts into DFOTA mode.
  ms dfota_reset() const { return scaled(ms{3000}); }
  // The gap between update steps that makes the update run at about 100 KiB/s of flash
  // work, the real module's order (a few minutes for a few MiB).
  ms update_gap(std::size_t bytes_per_step) const {
    return scaled(ms{static_cast<ms::rep>(bytes_per_step * 1000 / (100 * 1024))});
  }
  // The user-plane rate of the cell's access technology in practice: LTE-M (Cat-M1) around
  // 300 kbit/s, NB-IoT (Cat-NB1) around 26 kbit/s; 0 = unlimited (fast profile).
  std::uint64_t download_rate(bool nbiot) const {
    if (profile == Profile::Fast) return 0;
    const double bytes_per_s = nbiot ? 26.0 * 1000 / 8 : 37.5 * 1024;
    return static_cast<std::uint64_t>(bytes_per_s / scale);
  }
};

}  // namespace bg95

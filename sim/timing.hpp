#pragma once
// The timing model, in one place, in three layers (docs/timing.md gives each figure with its
// public source, or says that there is none):
//   1. the UART: in the realistic profile the port's output leaves at the host's line speed,
//      10 bits a byte (pty/pty_port: PtyPort::set_pacing);
//   2. the command processor: the echo as the bytes arrive, the answer a processing time after
//      the line's end, each URC in a write of its own (the framing, in every profile);
//   3. the module's activities: boot, registration, the DFOTA phases (realistic profile only;
//      `fast` compresses them to nothing, and --time-scale multiplies them).
// Durations of the realistic profile vary by a seeded jitter (Jitter below): the same seed
// gives the same run.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bg95 {

// A small deterministic generator (splitmix64) for the jitter of one module: no global state,
// and a module's durations depend only on its seed.
class Jitter {
 public:
  explicit Jitter(std::uint64_t seed = 0) : state_(seed) {}
  void reseed(std::uint64_t seed) { state_ = seed; }
  // A seed from a text (a module's IMEI): FNV-1a 64, the same on every build.
  static std::uint64_t seed_of(std::string_view text) {
    std::uint64_t h = 0xCBF29CE484222325ULL;
    for (const char c : text)
      h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
    return h;
  }
  // Uniform in [0, 1).
  double uniform() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    return static_cast<double>(z >> 11U) * 0x1.0p-53;
  }
  // `base` within ±spread of itself (spread 0.1: ±10 %).
  double around(double base, double spread) { return base * (1.0 + spread * (2 * uniform() - 1)); }

 private:
  std::uint64_t state_;
};

struct Timing {
  enum class Profile { Fast, Realistic };
  Profile profile = Profile::Fast;
  double scale = 1.0;

  using ms = std::chrono::milliseconds;

  // ---- 2. The command processor (every profile) -------------------------------------------

  // The framing of the byte stream: from the end of a command line to its answer (the
  // command processor's time; the echo goes out as the bytes come), and from any write to the
  // next URC. A host that reads as soon as data is there then gets the echo, the answer and
  // each URC in reads of their own, as from a real module (fwupd's Quectel DFOTA plugin takes
  // a first read of exactly "<cmd>\r" as the echo, and matches only the first
  // +QIND: "FOTA" of each read). 0 only for in-process harnesses where no host reads.
  // bench/urc_gap measures the smallest gap a reading host still sees apart (docs/timing.md).
  ms framing_gap{10};
  ms urc_gap() const { return framing_gap; }
  // The answer of a command line, after its end. Fast: the framing gap. Realistic: the
  // processing time of the line's first command (kProcessing), with ±50 % jitter, never
  // below the framing gap. Logs give 0-22 ms from echo to answer for plain commands.
  ms processing(std::string_view line, Jitter* jitter = nullptr) const {
    if (framing_gap.count() == 0) return ms{0};
    if (profile == Profile::Fast) return framing_gap;
    double t = static_cast<double>(processing_of(line).count());
    if (jitter) t = jitter->around(t, 0.5);
    return std::max(framing_gap, ms{static_cast<ms::rep>(t)});
  }
  // From the end of a command line to CONNECT (AT+QFUPL, AT+QFOTADL="COM:"), in every
  // profile: the real module's command processor answers after the line's CR LF is in, so the
  // LF is never taken for data. No public measurement gives the figure; 5 ms is longer than
  // an LF takes at 2400 baud and far shorter than any host waits for CONNECT.
  ms connect_latency() const { return ms{5}; }
  // From the last UPDATING line to END, with framing on: the module checks the new image and
  // leaves the updater. No public log gives the figure; 250 ms is longer than fwupd's 100 ms
  // retry delay plus its read, so END reaches it alone, whatever the profile.
  ms update_end_pause() const { return framing_gap.count() == 0 ? ms{0} : ms{250}; }

  // ---- 3. The module's activities (realistic only; scaled) ----------------------------------

  // From power-on to RDY: BG96 5.9 s from the OK of AT+CFUN=1,1 to RDY (TinyGSM issue #157),
  // which includes the shutdown; BG95 "several seconds" (Zephyr PR #93052).
  ms boot(Jitter* jitter = nullptr) const { return activity(ms{4500}, jitter); }
  // Before each line of the boot banner after RDY (urc::kBootBanner: RDY, +CFUN: 1, APP RDY,
  // +CPIN: READY, +QUSIM: 1, +QIND: SMS DONE): APP RDY about 2.5 s after RDY (Zephyr issue
  // #88686, low confidence); no public log gives the other gaps (200 ms is a choice).
  ms banner_gap(std::size_t line, Jitter* jitter = nullptr) const {
    return activity(line == 2 ? ms{2400} : ms{200}, jitter);
  }
  // From SMS DONE to registered (the radio on): a warm LTE-M attach. About 10 s from a warm
  // reset to cloud-connected on a BG95-M5 (Particle device-os PR #2735), which includes the
  // boot and the PDP context: 6 s here. No public figure for NB-IoT: the same.
  ms network_attach(Jitter* jitter = nullptr) const { return activity(ms{6000}, jitter); }
  // "RESETTING" to "START": the module restarts into DFOTA mode. No public BG95 figure; it
  // must stay well under fwupd's 15 s remove delay (its device waits that long to come back).
  ms dfota_reset(Jitter* jitter = nullptr) const { return activity(ms{3000}, jitter); }
  // The time the update's flash work takes for `bytes` written (programmed into staging or
  // the active image) and read (checked): programming at about 64 KiB/s, the middle of the
  // 35-85 KB/s a Quectel EG18 shows for a whole DFOTA (compact21/eg18-ea), and reading and
  // hashing ten times as fast. The checks of the source image and of the results are reads:
  // START comes a few seconds before the first UPDATING, not after a minute of silence.
  ms update_work(std::size_t written, std::size_t read, Jitter* jitter = nullptr) const {
    const double seconds =
        static_cast<double>(written) / (64.0 * 1024) + static_cast<double>(read) / (640.0 * 1024);
    return activity(ms{static_cast<ms::rep>(seconds * 1000)}, jitter);
  }
  // The update's work per step in pages: the realistic profile takes small steps (4 pages,
  // 8 KiB: about 125 ms of programming), so its UPDATING lines come steadily, one percent at a
  // time, as in the note's example, not in bursts; `fast` takes the module's larger steps.
  std::size_t update_pages_per_step(std::size_t fast) const {
    return profile == Profile::Realistic ? 4 : fast;
  }
  // The user-plane rate of the cell's access technology in practice: LTE-M (Cat-M1) around
  // 300 kbit/s, NB-IoT (Cat-NB1) around 26 kbit/s; 0 = unlimited (fast profile).
  std::uint64_t download_rate(bool nbiot) const {
    if (profile == Profile::Fast) return 0;
    const double bytes_per_s = nbiot ? 26.0 * 1000 / 8 : 37.5 * 1024;
    return static_cast<std::uint64_t>(bytes_per_s / scale);
  }

  // The radio link under the data services (sim/net/link.hpp; docs/network.md gives each
  // figure's source). Realistic: per RAT, bytes a second each way and the round trip; rates
  // divided and the round trip multiplied by the time scale. Fast: unlimited and no delay.
  //   LTE-M: 37.5 KiB/s both ways (the download's figure above; the BG95's Cat-M1 peaks are
  //   588 kbit/s down, 1119 kbit/s up), round trip 100 ms (no public BG95 measurement).
  //   NB-IoT: 26 kbit/s down, 62.5 kbit/s up (Cat-NB1 peaks, 3GPP Rel-13), round trip 837 ms
  //   (measured on a commercial NB-IoT network, Ugwuanyi et al., Electronics 2021).
  struct LinkRates {
    std::uint64_t up = 0, down = 0;  // bytes a second; 0 unlimited
    std::chrono::microseconds round_trip{0};
  };
  LinkRates link_rates(bool nbiot) const {
    if (profile == Profile::Fast) return {};
    const double up = nbiot ? 62.5 * 1000 / 8 : 37.5 * 1024;
    const auto rtt = std::chrono::duration<double, std::milli>(nbiot ? 837.0 : 100.0) * scale;
    return {static_cast<std::uint64_t>(up / scale), download_rate(nbiot),
            std::chrono::duration_cast<std::chrono::microseconds>(rtt)};
  }

  // The realistic jitter of an activity: ±10 % (no public source gives a spread; runs of one
  // module differ by about that in the logs above).
  static constexpr double kActivitySpread = 0.10;

 private:
  ms activity(ms realistic, Jitter* jitter) const {
    if (profile == Profile::Fast) return ms{0};
    double t = static_cast<double>(realistic.count()) * scale;
    if (jitter) t = jitter->around(t, kActivitySpread);
    return ms{static_cast<ms::rep>(t)};
  }
  // The command processor's time per command (the first of the line), realistic profile.
  struct Processing {
    std::string_view prefix;  // the command as typed after "AT", upper case
    ms time;
  };
  static constexpr std::array<Processing, 3> kProcessing{{
      // The vendor note gives AT+QFOTADL a maximum response time of 300 ms (2.2.1.1).
      {"+QFOTADL", ms{120}},
      // 27.007 network scans and radio switches are slow on every module; no BG95 figure.
      {"+COPS=?", ms{3000}},
      {"+CFUN=", ms{300}},
  }};
  // Plain commands: BG95 about 22 ms from command to answer, host stack included (Zephyr issue
  // #88686); BG96 0-11 ms from echo to OK (Quectel forum); 15 ms with ±50 %.
  static ms processing_of(std::string_view line) {
    for (const auto& p : kProcessing)
      if (starts_with_nocase(line, p.prefix)) return p.time;
    return ms{15};
  }
  static bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      char c = s[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != prefix[i]) return false;
    }
    return true;
  }
};

}  // namespace bg95

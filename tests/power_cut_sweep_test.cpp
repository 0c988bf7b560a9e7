// Power lost at every flash write of a whole DFOTA, not only of the update engine
// (docs/reliability.md, "Power cut at every flash write").
//
//  - DfotaSweep: a real bg95::Module in this process (its AT engine, DfotaService, PackageArea,
//    UpdateEngine and NandFlash; no pty) on an io_context owned by the test, and a real HTTP
//    server on 127.0.0.1. One DFOTA is started: an HTTP download (AT+QFOTADL=<url>, which goes
//    on into the update by itself) or a COM upload (AT+QFOTADL="COM:" and then AT+QFOTADL=1).
//    Power is lost at its flash operation k: cut before the operation, or the page (block)
//    torn half-way. Power comes back in the same process for odd k (as `bg95ctl power on`
//    does) and in a new process for even k (a new Module over the same state folder, nothing
//    kept in memory). Then:
//      * the module boots, and the active image is the source or the target (SHA-256 of the
//        partition), the one AT+QGMR names;
//      * the package area holds nothing or a whole package (its bytes hash to what was sent, or
//        to the old package the download replaces), never a half-written one or a mix, and
//        AT+QFOTADL=4 says so;
//      * what is there applies when asked (AT+QFOTADL=1): END,0 and the target for the good
//        package, END,506 and the source for the corrupt one, END,505 when nothing is there.
//    Without a cut the corrupt package ends the download with HTTPEND,710.
//  - RealisticUpdate: the update of the module's default 4 MiB image (N in the thousands) at
//    library level, the flash file restored from a snapshot for every point.
//  - PowerCutEndToEnd: a few points through the real bg95sim and `bg95ctl flash cut <n>`.
//
// The default run takes a spread of points; BG95_FULL_SWEEP=1 takes every operation and prints
// N and the number of points that passed.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "sim/dfota/dfota_service.hpp"
#include "sim/dfota/package_area.hpp"
#include "sim/dfota/update_engine.hpp"
#include "sim/firmware/firmware_store.hpp"
#include "sim/firmware/image.hpp"
#include "sim/flash/layout.hpp"
#include "sim/flash/nand_flash.hpp"
#include "sim/fs/module_fs.hpp"
#include "sim/module.hpp"
#include "sim/util/sha256.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"

namespace bg95::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using flash::Fault;
using flash::FlashOp;

bool full_sweep() {
  const char* v = std::getenv("BG95_FULL_SWEEP");
  return v != nullptr && std::string(v) == "1";
}

// Every point from 1 to n in the full sweep; else 1, n and `between` points spread over them.
std::vector<std::uint64_t> sweep_points(std::uint64_t n, std::uint64_t between) {
  std::vector<std::uint64_t> points;
  if (full_sweep()) {
    for (std::uint64_t k = 1; k <= n; ++k)
      points.push_back(k);
    return points;
  }
  points.push_back(1);
  for (std::uint64_t i = 1; i <= between; ++i)
    points.push_back(std::max<std::uint64_t>(1, n * i / (between + 1)));
  points.push_back(n);
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

const char* fault_name(Fault kind) {
  return kind == Fault::TornWrite ? "torn write" : "power cut";
}

std::string hex(const util::Digest& d) {
  std::string out;
  for (const auto b : d)
    out += fmt::format("{:02x}", b);
  return out;
}

// ---------------------------------------------------------------------------------------
// The module in this process

// The images of the module sweep: a 512 KiB source (what a new state folder gets), a target
// with 192 KiB of new bytes (so that the package spans two blocks of the package area), the
// package between them, and the same package with one payload byte flipped.
struct SweepImages {
  std::shared_ptr<const Bytes> source;
  Bytes target;
  Bytes package;
  Bytes corrupt;
  std::string source_version, target_version;
};

const SweepImages& sweep_images() {
  static const SweepImages im = [] {
    SweepImages s;
    s.source = std::make_shared<const Bytes>(make_default_image("BG95-M3", 512 * 1024));
    s.target = image_with_fresh_bytes(*s.source, 192 * 1024);
    s.package = make_package(*s.source, s.target);
    s.corrupt = s.package;
    s.corrupt[s.corrupt.size() / 2] ^= 0x01;
    s.source_version = firmware::decode_image_header(*s.source)->full_version;
    s.target_version = firmware::decode_image_header(s.target)->full_version;
    return s;
  }();
  return im;
}

// One bg95::Module over a state folder, powered on at construction, with its port output
// collected. Its io_context is its own, so that handlers still queued when it is destroyed
// (a process killed) never run.
class LiveModule {
 public:
  LiveModule(const fs::path& state, std::shared_ptr<const Bytes> image) {
    ModuleConfig config;
    config.state_dir = state;
    // In-process, nobody reads the port: output at once, the steps of the module's own work
    // exact (the framing gaps would only cost time).
    config.timing.framing_gap = std::chrono::milliseconds(0);
    config.default_image = image;
    config.default_image_size = image->size();
    module_ = std::make_unique<Module>(io_.get_executor(), config);
    module_->set_port_writer([this](std::string bytes) { out_ += bytes; });
    module_->power_on();
  }
  ~LiveModule() { module_.reset(); }  // before the io_context
  LiveModule(const LiveModule&) = delete;
  LiveModule& operator=(const LiveModule&) = delete;

  Module& module() { return *module_; }
  std::string& output() { return out_; }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_one_for(20ms);
    }
    return true;
  }
  void type(std::string_view bytes) {
    module_->host_input(bytes);
    io_.poll();
  }
  bool off() const { return module_->power_state() == PowerState::Off; }
  // Booted into normal mode, registered, and no DFOTA activity.
  bool ready() const {
    return module_->power_state() == PowerState::Normal &&
           module_->dfota().activity() == dfota::DfotaService::Activity::Idle &&
           module_->network().radio_on();
  }
  bool wait_ready() {
    return run_until([this] { return ready(); });
  }
  // A command line and its answer up to the final result (echo included).
  std::string command(const std::string& line) {
    out_.clear();
    type(line);
    run_until([this] {
      return out_.find("\r\nOK\r\n") != std::string::npos ||
             out_.find("\r\nERROR\r\n") != std::string::npos ||
             out_.find("+CME ERROR: ") != std::string::npos;
    });
    return out_;
  }

 private:
  boost::asio::io_context io_;
  // Without work a drained io_context stops, and later posts would never run.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::unique_ptr<Module> module_;
  std::string out_;
};

enum class Transport { Http, Com };

struct Scenario {
  Transport transport;
  bool corrupt;           // the package with a flipped byte
  bool over_old = false;  // the corrupt package is in the area before (uploaded, not applied)
};

std::string describe(const Scenario& s) {
  return fmt::format("{} of the {} package{}", s.transport == Transport::Http ? "HTTP" : "COM",
                     s.corrupt ? "corrupt" : "good", s.over_old ? " over the corrupt one" : "");
}

class DfotaSweep : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = serve_files({{"/good.bin", as_string(sweep_images().package)},
                           {"/corrupt.bin", as_string(sweep_images().corrupt)}})
                  .release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  const Bytes& package_of(const Scenario& s) const {
    return s.corrupt ? sweep_images().corrupt : sweep_images().package;
  }

  // AT+QFOTADL="COM:" with `pkg`, up to its answer (or until power is gone).
  static void upload(LiveModule& m, const Bytes& pkg) {
    m.type(fmt::format("AT+QFOTADL=\"COM:\",{}\r\n", pkg.size()));
    // As a host does: the data after CONNECT (the module answers a moment after the line).
    m.run_until([&] { return m.off() || m.output().find("CONNECT\r\n") != std::string::npos; });
    for (std::size_t at = 0; at < pkg.size() && !m.off(); at += 2048)
      m.type(std::string_view(reinterpret_cast<const char*>(pkg.data()) + at,
                              std::min<std::size_t>(2048, pkg.size() - at)));
    m.run_until([&] { return m.off() || m.output().find("\r\nOK\r\n") != std::string::npos; });
  }

  // The state before the DFOTA: a ready module, with the corrupt package in its area when the
  // scenario says so.
  static void prepare(LiveModule& m, const Scenario& s) {
    ASSERT_TRUE(m.wait_ready());
    if (!s.over_old) return;
    m.output().clear();
    upload(m, sweep_images().corrupt);
    ASSERT_NE(m.output().find(fmt::format("+QFOTADL: {},", sweep_images().corrupt.size())),
              std::string::npos)
        << m.output();
  }

  // Starts the scenario's DFOTA and runs it until it is over (the module ready again after
  // the update, or after the download failed) or power is gone.
  void run_dfota(LiveModule& m, const Scenario& s) {
    m.output().clear();
    if (s.transport == Transport::Http) {
      m.type(fmt::format("AT+QFOTADL=\"http://127.0.0.1:{}/{}\"\r", server_->port(),
                         s.corrupt ? "corrupt.bin" : "good.bin"));
    } else {
      upload(m, package_of(s));
      if (m.off()) return;
      m.type("AT+QFOTADL=1\r");
    }
    m.run_until([&] {
      if (m.off()) return true;
      const std::string& out = m.output();
      const bool ended = out.find("+QIND: \"FOTA\",\"END\",") != std::string::npos ||
                         (out.find("+QIND: \"FOTA\",\"HTTPEND\",") != std::string::npos &&
                          out.find("+QIND: \"FOTA\",\"HTTPEND\",0") == std::string::npos);
      return ended && m.ready();
    });
  }

  // Flash operations of the whole scenario (download or upload, update, reboot).
  std::uint64_t count_ops(const Scenario& s) {
    TempDir dir;
    LiveModule m(dir.path() / "state", sweep_images().source);
    prepare(m, s);
    const std::uint64_t before = m.module().flash().op_count();
    run_dfota(m, s);
    const std::string& out = m.output();
    if (s.corrupt && s.transport == Transport::Http) {
      // Refused by the download's check; no update is tried.
      EXPECT_TRUE(out.ends_with("\r\n+QIND: \"FOTA\",\"HTTPEND\",710\r\n")) << out;
      EXPECT_EQ(out.find("\"RESETTING\""), std::string::npos) << out;
    } else {
      EXPECT_NE(out.find(s.corrupt ? "\"END\",506\r\n" : "\"END\",0\r\n"), std::string::npos)
          << out;
    }
    EXPECT_TRUE(m.ready());
    return m.module().flash().op_count() - before;
  }

  // The image in the active partition, as many bytes as the source has.
  static Bytes active_image(Module& m) {
    Bytes image(sweep_images().source->size());
    flash::PartitionView(m.flash(), m.layout().active).read(0, image);
    return image;
  }

  // After power came back: the module runs the source or the target, and the package area is
  // empty or holds a whole package; what is there is applied (or refused) as it must be.
  void check_consistent(LiveModule& m, const Scenario& s) {
    const SweepImages& im = sweep_images();
    const Bytes& sent = package_of(s);
    ASSERT_TRUE(m.wait_ready()) << "the module did not boot; output: " << m.output();
    const Bytes image = active_image(m.module());
    const auto sha = util::sha256(image);
    const bool on_target = sha == util::sha256(im.target);
    ASSERT_TRUE(on_target || sha == util::sha256(*im.source))
        << "active image is neither source nor target: " << hex(sha);
    if (s.corrupt) {
      ASSERT_FALSE(on_target) << "a corrupt package was applied";
    }
    EXPECT_EQ(m.command("AT+QGMR\r"),
              fmt::format("AT+QGMR\r\r\n{}\r\n\r\nOK\r\n",
                          on_target ? im.target_version : im.source_version));

    std::uint64_t held = 0;
    bool held_corrupt = false;
    {
      dfota::PackageArea area(m.module().flash(), m.module().layout());  // reads only
      if (area.present()) {
        Bytes bytes(area.size());
        ASSERT_TRUE(area.read(0, bytes));
        // The old package survives only whole (a cut before the new upload's first record).
        held_corrupt = s.over_old && bytes == im.corrupt;
        ASSERT_TRUE(bytes == sent || held_corrupt)
            << "the package area holds a package that was never sent whole";
        EXPECT_EQ(area.sha256(), util::sha256(bytes));
        held = area.size();
      }
    }
    EXPECT_EQ(m.command("AT+QFOTADL=4\r"),
              fmt::format("AT+QFOTADL=4\r\r\n+QFOTADL: 4,{}\r\n\r\nOK\r\n", held));

    // What is there applies (or is refused) when asked.
    const int expected_end = held == 0                   ? dfota::kUpdateNoPackage
                             : s.corrupt || held_corrupt ? dfota::kUpdatePackageCheckFailed
                                                         : dfota::kUpdateOk;
    m.output().clear();
    m.type("AT+QFOTADL=1\r");
    const std::string end = fmt::format("+QIND: \"FOTA\",\"END\",{}\r\n", expected_end);
    ASSERT_TRUE(m.run_until([&] {
      return m.output().find("+QIND: \"FOTA\",\"END\",") != std::string::npos && m.ready();
    })) << m.output();
    EXPECT_NE(m.output().find(end), std::string::npos) << m.output();
    const bool target_now = expected_end == dfota::kUpdateOk || on_target;
    EXPECT_EQ(util::sha256(active_image(m.module())),
              util::sha256(target_now ? im.target : *im.source));
  }

  // Loses power at operation k of the scenario, powers on, checks.
  void cut_at(const Scenario& s, std::uint64_t k, Fault kind) {
    SCOPED_TRACE(fmt::format("{}: {} at operation {}", describe(s), fault_name(kind), k));
    TempDir dir;
    const fs::path state = dir.path() / "state";
    auto m = std::make_unique<LiveModule>(state, sweep_images().source);
    prepare(*m, s);
    if (HasFatalFailure()) return;
    bool fired = false;
    Module& module = m->module();
    const std::uint64_t target = module.flash().op_count() + k;
    module.flash().set_fault_hook([&](const FlashOp&, std::uint64_t index) {
      if (index != target) return Fault::None;
      fired = true;
      boost::asio::post(module.executor(), [&module] { module.power_cut(); });
      return kind;
    });
    run_dfota(*m, s);
    ASSERT_TRUE(fired) << "operation " << k << " never came";
    ASSERT_TRUE(m->run_until([&] { return m->off(); })) << "the module did not go dark";
    module.flash().set_fault_hook({});
    if (k % 2 != 0) {
      module.power_on();  // the same process
    } else {
      m.reset();  // a new process over the same state folder
      m = std::make_unique<LiveModule>(state, sweep_images().source);
    }
    check_consistent(*m, s);
  }

  void sweep(const Scenario& s, std::uint64_t between) {
    const std::uint64_t n = count_ops(s);
    ASSERT_GT(n, 10u);
    std::uint64_t points = 0;
    for (const Fault kind : {Fault::PowerCut, Fault::TornWrite})
      for (const auto k : sweep_points(n, between)) {
        cut_at(s, k, kind);
        if (HasFatalFailure()) return;
        ++points;
      }
    std::cout << "[ info ] " << describe(s) << ": N = " << n << " flash operations, " << points
              << " points (power cut and torn write) passed\n";
    RecordProperty("N", std::to_string(n));
    RecordProperty("points", std::to_string(points));
  }

  static RunningServer* server_;
};

RunningServer* DfotaSweep::server_ = nullptr;

TEST_F(DfotaSweep, HttpDownloadOfTheGoodPackage) {
  sweep({Transport::Http, false}, 12);
}

TEST_F(DfotaSweep, HttpDownloadOfACorruptPackage) {
  sweep({Transport::Http, true}, 8);
}

TEST_F(DfotaSweep, HttpDownloadOverAnOldPackage) {
  // A cut at any point leaves the old package whole, nothing, or the new one whole: never
  // the new bytes under the old commit, or a mix.
  sweep({Transport::Http, false, true}, 8);
}

TEST_F(DfotaSweep, ComUploadOfTheGoodPackage) {
  sweep({Transport::Com, false}, 12);
}

TEST_F(DfotaSweep, ComUploadOfACorruptPackage) {
  sweep({Transport::Com, true}, 8);
}

// ---------------------------------------------------------------------------------------
// The update of a realistic image, library level

// A file copied with its holes kept (SEEK_DATA / SEEK_HOLE): the flash file is sparse.
void copy_sparse(const fs::path& from, const fs::path& to) {
  bg95::fs::UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  bg95::fs::UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  struct stat st {};
  if (!in.valid() || !out.valid() || ::fstat(in.get(), &st) != 0 ||
      ::ftruncate(out.get(), st.st_size) != 0)
    throw std::runtime_error("cannot copy " + from.string());
  off_t pos = 0;
  while (pos < st.st_size) {
    off_t data = ::lseek(in.get(), pos, SEEK_DATA);
    if (data < 0) break;  // only a hole is left
    const off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
    off_t to_pos = data;
    while (data < hole) {
      const ssize_t n = ::copy_file_range(in.get(), &data, out.get(), &to_pos,
                                          static_cast<std::size_t>(hole - data), 0);
      if (n <= 0) throw std::runtime_error("cannot copy " + from.string());
    }
    pos = hole;
  }
}

// The module's default 4 MiB image, its next version (3 % changed), and a flash file holding
// the first with the package uploaded: the state AT+QFOTADL leaves before the reset, kept as
// a snapshot that every point starts from.
class RealisticUpdate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto* s = new Shared;
    s->source = default_image();
    s->target = next_image(s->source);
    const Bytes package = make_package(s->source, s->target);
    s->file = s->dir.path() / "flash.bin";
    s->snapshot = s->dir.path() / "flash.snapshot";
    {
      flash::NandFlash f(s->file, s->layout.geometry);
      flash::PartitionView active(f, s->layout.active);
      ASSERT_EQ(firmware::write_image(active, s->source), flash::FlashStatus::Ok);
      dfota::PackageArea area(f, s->layout);
      ASSERT_EQ(area.begin(package.size()), dfota::AreaStatus::Ok);
      ASSERT_EQ(area.append(package), dfota::AreaStatus::Ok);
      ASSERT_EQ(area.finish(), dfota::AreaStatus::Ok);
    }
    copy_sparse(s->file, s->snapshot);
    shared_ = s;
    // N: the operations of the whole update.
    flash::NandFlash f(s->file, s->layout.geometry);
    dfota::PackageArea area(f, s->layout);
    dfota::UpdateEngine engine(f, s->layout, area);
    ASSERT_EQ(engine.run(), dfota::UpdateEngine::Status::Done) << engine.message();
    s->n = f.op_count();
    s->package_size = package.size();
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  // Loses power at operation k of the update, powers on, and lets it finish.
  static void cut_at(std::uint64_t k, Fault kind) {
    SCOPED_TRACE(fmt::format("{} at update operation {}", fault_name(kind), k));
    const Shared& s = *shared_;
    copy_sparse(s.snapshot, s.file);
    {
      flash::NandFlash f(s.file, s.layout.geometry);
      f.set_fault_hook([k, kind](const FlashOp&, std::uint64_t index) {
        return index == k ? kind : Fault::None;
      });
      dfota::PackageArea area(f, s.layout);
      dfota::UpdateEngine engine(f, s.layout, area);
      ASSERT_EQ(engine.run(), dfota::UpdateEngine::Status::PowerLost);
      ASSERT_EQ(f.op_count(), k);
    }
    flash::NandFlash f(s.file, s.layout.geometry);  // power on
    dfota::PackageArea area(f, s.layout);
    dfota::UpdateEngine engine(f, s.layout, area);
    ASSERT_EQ(engine.run(), dfota::UpdateEngine::Status::Done) << engine.message();
    Bytes active(s.target.size());
    flash::PartitionView(f, s.layout.active).read(0, active);
    ASSERT_EQ(util::sha256(active), util::sha256(s.target));
    EXPECT_EQ(area.state(), dfota::PackageState::Absent);
    EXPECT_FALSE(engine.pending());
  }

  struct Shared {
    TempDir dir;
    flash::Layout layout = flash::Layout::standard();
    Bytes source, target;
    fs::path file, snapshot;
    std::uint64_t n = 0;
    std::uint64_t package_size = 0;
  };
  static Shared* shared_;
};

RealisticUpdate::Shared* RealisticUpdate::shared_ = nullptr;

TEST_F(RealisticUpdate, CutAndTornWriteOfAFourMebibyteUpdate) {
  ASSERT_NE(shared_, nullptr);
  const std::uint64_t n = shared_->n;
  ASSERT_GT(n, 4000u);  // 2 x 2048 pages, erases, journal records
  std::uint64_t points = 0;
  for (const Fault kind : {Fault::PowerCut, Fault::TornWrite})
    for (const auto k : sweep_points(n, 6)) {
      cut_at(k, kind);
      if (HasFatalFailure()) return;
      ++points;
    }
  std::cout << "[ info ] update of a " << shared_->source.size() / (1024 * 1024)
            << " MiB image (package " << shared_->package_size << " bytes): N = " << n
            << " flash operations, " << points << " points (power cut and torn write) passed\n";
  RecordProperty("N", std::to_string(n));
  RecordProperty("points", std::to_string(points));
}

// ---------------------------------------------------------------------------------------
// End to end: the real bg95sim, power cut through its control socket

class PowerCutEndToEnd : public ::testing::Test {
 protected:
  HostPort& start() {
    socket_ = dir_.path() / "ctl" / "bg95.sock";
    sim_ = std::make_unique<SimProcess>(
        SimProcess::Options{dir_.path() / "state", {"--control", socket_.string()}});
    HostPort& port = sim_->open_port();
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    return port;
  }
  std::string ctl(const std::string& words) {
    auto [rc, out] = run_bg95ctl(socket_, words);
    EXPECT_EQ(rc, 0) << words << ": " << out;
    return out;
  }
  void wait_dark() {
    for (int i = 0; i < 500 && ctl("status").find("power=off") == std::string::npos; ++i) {
    }
    ASSERT_NE(ctl("status").find("power=off"), std::string::npos);
  }
  // Power on after a cut: the old image runs, and no package is left.
  void expect_old_image_and_no_package(HostPort& port) {
    sim_->port().read_for(50ms);  // whatever was on its way when power went
    ctl("power on");
    wait_until_ready(port);
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    EXPECT_EQ(port.command("ATI\r"),
              "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n");
    EXPECT_EQ(port.command("AT+QGMR\r"), "\r\nBG95M3LAR02A03_01.011.01.011\r\n\r\nOK\r\n");
    EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,0\r\n\r\nOK\r\n");
    const std::string status = ctl("status");
    EXPECT_EQ(status.rfind("OK power=normal mode=command firmware=BG95M3LAR02A03_01.011.01.011 "
                           "revision=BG95M3LAR02A03 package=none dfota=idle progress=0",
                           0),
              0u)
        << status;
  }
  TempDir dir_;
  fs::path socket_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(PowerCutEndToEnd, CutDuringTheComUpload) {
  const Bytes source = default_image();
  const std::string pkg = as_string(make_package(source, next_image(source)));
  auto& port = start();
  ctl("flash cut 20");  // the Begin record, one erase, then the 18th page of the package
  EXPECT_EQ(port.command(fmt::format("AT+QFOTADL=\"COM:\",{}\r", pkg.size())), "\r\nCONNECT\r\n");
  port.write(pkg);
  wait_dark();
  expect_old_image_and_no_package(port);
  // The module takes the package again and applies it.
  EXPECT_EQ(port.command(fmt::format("AT+QFOTADL=\"COM:\",{}\r", pkg.size())), "\r\nCONNECT\r\n");
  port.write(pkg);
  EXPECT_EQ(port.read_until("OK\r\n", 30s).find("\r\n+QFOTADL: " + std::to_string(pkg.size())), 0u);
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  const std::string urcs = port.read_until("+QIND: SMS DONE\r\n", 60s);
  EXPECT_NE(urcs.find("\"END\",0\r\n"), std::string::npos) << urcs;
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
}

TEST_F(PowerCutEndToEnd, CutDuringTheHttpDownload) {
  const Bytes source = default_image();
  const std::string pkg = as_string(make_package(source, next_image(source)));
  const auto http = serve_files({{"/update.bin", pkg}});
  const std::string url = fmt::format("http://127.0.0.1:{}/update.bin", http->port());
  auto& port = start();
  ctl("flash cut 30");
  EXPECT_EQ(port.command("AT+QFOTADL=\"" + url + "\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("\"HTTPSTART\"\r\n"), "\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n");
  wait_dark();
  expect_old_image_and_no_package(port);
  EXPECT_EQ(port.command("AT+QFOTADL=\"" + url + "\"\r"), "\r\nOK\r\n");
  const std::string urcs = port.read_until("+QIND: SMS DONE\r\n", 60s);
  EXPECT_NE(urcs.find("\"HTTPEND\",0\r\n"), std::string::npos) << urcs;
  EXPECT_NE(urcs.find("\"END\",0\r\n"), std::string::npos) << urcs;
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test

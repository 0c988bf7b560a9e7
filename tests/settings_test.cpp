// The settings file (sim/state/settings.*): every field is checked when it is read, and only a
// regular file is read (issue 18: out-of-range values were taken silently, a FIFO hung).

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/state/settings.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::state {
namespace {

using nlohmann::json;

class SettingsTest : public ::testing::Test {
 protected:
  SettingsTest() {
    Settings s;
    s.identity = default_identity(0);
    save_settings(file_, s);
    std::ifstream in(file_);
    good_ = json::parse(in);
  }
  // load_settings() of the good file with the value at `pointer` replaced.
  std::string error_with(const std::string& pointer, const json& value) {
    json j = good_;
    j[json::json_pointer(pointer)] = value;
    std::ofstream(file_, std::ios::trunc) << j.dump();
    const auto loaded = load_settings(file_);
    return loaded ? "loaded" : loaded.error();
  }

  test::TempDir dir_;
  std::filesystem::path file_ = dir_.path() / "settings.json";
  json good_;
};

TEST_F(SettingsTest, TheGoodFileLoads) {
  const auto loaded = load_settings(file_);
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->saved_profile.s3, 13);
  EXPECT_EQ(loaded->ipr, 115200u);
}

TEST_F(SettingsTest, EachFieldOutOfRangeIsAnErrorNamingIt) {
  const std::string corrupt = file_.string() + ": corrupt settings: ";
  const struct {
    const char* pointer;
    json value;
    const char* message;
  } cases[] = {
      {"/profile/s3", 1000, "profile.s3 is 1000, not an integer in 0..127"},
      {"/profile/s4", 256, "profile.s4 is 256, not an integer in 0..127"},
      {"/profile/s5", -1, "profile.s5 is -1, not an integer in 0..127"},
      {"/profile/cmee", 3, "profile.cmee is 3, not an integer in 0..2"},
      {"/profile/dtr_mode", 3, "profile.dtr_mode is 3, not an integer in 0..2"},
      {"/profile/dcd_mode", 2, "profile.dcd_mode is 2, not an integer in 0..1"},
      {"/profile/echo", 2, "profile.echo is 2, not true or false"},
      {"/profile/s3", 13.5, "profile.s3 is 13.5, not an integer in 0..127"},
      {"/ipr", 9223372036854775808ull, "ipr is 9223372036854775808, not an integer in 0..3000000"},
      {"/ipr", 1234, "ipr is 1234, not a rate AT+IPR takes"},
      {"/model", "BG42", "model \"BG42\" is not a model bg95sim knows"},
      {"/identity/iccid", "123", "identity.iccid is not 19 digits and an F"},
      {"/fota_apn/ip_type", 3, "fota_apn.ip_type is 3, not an integer in 0..2"},
      {"/fota_apn/apn", std::string(100, 'a'), "fota_apn.apn is longer than 99 bytes"},
      {"/fota_apn/username", 7, "fota_apn.username is 7, not a string"},
      {"/lwm2m/short_server_id", 0, "lwm2m.short_server_id is 0, not an integer in 1..65534"},
      {"/lwm2m/lifetime", 4294967296ll,
       "lwm2m.lifetime is 4294967296, not an integer in 1..4294967295"},
      {"/lwm2m/security_mode", 1, "lwm2m.security_mode must be 0 (PSK) or 3 (NoSec)"},
      {"/lwm2m/version", 2, "lwm2m.version is 2, not an integer in 0..1"},
      {"/lwm2m/registered", "yes", "lwm2m.registered is \"yes\", not true or false"},
      {"/lwm2m/binding", "UQ", "lwm2m.binding must be \"U\""},
      {"/pdp/1/auth", 4, "pdp.1.auth is 4, not an integer in 0..3"},
      {"/qcfg/band", 5, "qcfg.band is 5, not a string"},
      {"/at_nv/+CTZU", std::string(257, '1'), "at_nv.+CTZU is longer than 256 bytes"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(error_with(c.pointer, c.value), corrupt + c.message) << c.pointer;
}

TEST_F(SettingsTest, OnlyARegularFileIsReadAndAFifoDoesNotBlock) {
  std::filesystem::remove(file_);
  ASSERT_EQ(::mkfifo(file_.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  const auto loaded = load_settings(file_);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error(), file_.string() + ": not a regular file of at most 1048576 bytes");
  std::filesystem::remove(file_);
  std::filesystem::create_directory(file_);
  EXPECT_FALSE(load_settings(file_));
}

}  // namespace
}  // namespace bg95::state

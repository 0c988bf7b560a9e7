// The module's file system and the 16-bit XOR checksum, without the AT layer.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "sim/fs/checksum.hpp"
#include "sim/fs/module_fs.hpp"

namespace bg95::fs {
namespace {

namespace stdfs = std::filesystem;

// ---- checksum ----------------------------------------------------------------------------

TEST(XorChecksum, WordsAreBigEndianAndAnOddByteIsHigh) {
  EXPECT_EQ(xor_checksum(""), 0);
  EXPECT_EQ(xor_checksum("AB"), 0x4142);
  EXPECT_EQ(xor_checksum("ABCD"), 0x4142 ^ 0x4344);
  EXPECT_EQ(xor_checksum("ABC"), 0x4142 ^ 0x4300);
  EXPECT_EQ(xor_checksum("A"), 0x4100);
  EXPECT_EQ(xor_checksum(std::string("\xff\x00\xff\x00", 4)), 0);
}

TEST(XorChecksum, ChunksOfAnySizeGiveTheSameSum) {
  std::mt19937 rng(7);
  std::string data(10001, '\0');
  for (auto& c : data)
    c = static_cast<char>(rng());
  const std::uint16_t whole = xor_checksum(data);
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 1024u, 4999u}) {
    XorChecksum sum;
    for (std::size_t i = 0; i < data.size(); i += chunk)
      sum.update(std::string_view(data).substr(i, chunk));
    EXPECT_EQ(sum.value(), whole) << chunk;
    EXPECT_EQ(sum.size(), data.size());
  }
  // The span overload agrees.
  XorChecksum bytes;
  std::vector<std::uint8_t> v(data.begin(), data.end());
  bytes.update(std::span<const std::uint8_t>(v).first(3));
  bytes.update(std::span<const std::uint8_t>(v).subspan(3));
  EXPECT_EQ(bytes.value(), whole);
}

TEST(XorChecksum, PrintedInLowerCaseHexWithoutLeadingZeros) {
  EXPECT_EQ(format_checksum(0x4f64), "4f64");
  EXPECT_EQ(format_checksum(0x0003), "3");
  EXPECT_EQ(format_checksum(0x0206), "206");
  EXPECT_EQ(format_checksum(0), "0");
  EXPECT_EQ(format_checksum(0xABCD), "abcd");
}

// ---- names -------------------------------------------------------------------------------

TEST(Names, ThreeSpellingsOfAUfsFileAndTheCertificateFolder) {
  for (const char* text : {"dfota_update.bin", "UFS:dfota_update.bin", "ufs:dfota_update.bin",
                           "/data/ufs/dfota_update.bin"}) {
    auto n = parse_name(text);
    ASSERT_TRUE(n) << text;
    EXPECT_EQ(n->area, Area::Ufs);
    EXPECT_EQ(n->base, "dfota_update.bin");
    EXPECT_EQ(n->display(), text);
  }
  auto cert = parse_name("/datatx/fota_cacert.pem");
  ASSERT_TRUE(cert);
  EXPECT_EQ(cert->area, Area::Datatx);
  EXPECT_EQ(cert->base, "fota_cacert.pem");
}

TEST(Names, EscapesAndOddCharactersAreInvalid) {
  const std::string too_long(81, 'a');
  for (const std::string& text : {std::string(""),
                                  std::string(".."),
                                  std::string("../x"),
                                  std::string("UFS:../x"),
                                  std::string("/data/ufs/../x"),
                                  std::string("/datatx/../ufs/x"),
                                  std::string("/etc/passwd"),
                                  std::string("/data/ufs/"),
                                  std::string("/datatx/"),
                                  std::string("/datatx/a/b"),
                                  std::string("a/b"),
                                  std::string("a\\b"),
                                  std::string("RAM:x"),
                                  std::string("UFS:a:b"),
                                  std::string(".hidden"),
                                  std::string("a*"),
                                  std::string("a?"),
                                  std::string("a\"b"),
                                  std::string("a\x01"),
                                  std::string("a\x7f"),
                                  std::string("a\xc3\xa9"),
                                  std::string("a\0b", 3),
                                  std::string("a\nb"),
                                  too_long}) {
    auto n = parse_name(text);
    EXPECT_FALSE(n) << "accepted: " << text;
    if (!n) {
      EXPECT_EQ(n.error(), Error::InvalidName);
    }
  }
  EXPECT_TRUE(parse_name(std::string(80, 'a')));
  EXPECT_TRUE(parse_name("a b.txt"));
  EXPECT_TRUE(parse_pattern("*"));
  EXPECT_TRUE(parse_pattern("/datatx/*.pem"));
  EXPECT_FALSE(parse_pattern("../*"));
}

// ---- the file system ---------------------------------------------------------------------

class ModuleFsTest : public ::testing::Test {
 protected:
  ModuleFsTest() {
    std::string tmpl = (stdfs::temp_directory_path() / "bg95fs-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    base = tmpl;
    root = base / "fs";
  }
  ~ModuleFsTest() override { stdfs::remove_all(base); }

  static std::string slurp(const stdfs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static void spit(const stdfs::path& p, std::string_view data) {
    std::ofstream out(p, std::ios::binary);
    out << data;
  }
  // Names of the entries of a host folder.
  static std::vector<std::string> entries(const stdfs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : stdfs::directory_iterator(dir))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  stdfs::path base;
  stdfs::path root;
};

TEST_F(ModuleFsTest, WriteReadListRemove) {
  ModuleFs fs(root);
  ASSERT_EQ(fs.prepare(), Error::None);
  EXPECT_TRUE(stdfs::is_directory(root / "ufs"));
  EXPECT_TRUE(stdfs::is_directory(root / "datatx"));
  EXPECT_EQ(fs.write("a.bin", "hello"), Error::None);
  EXPECT_EQ(fs.write("/datatx/fota_cacert.pem", "CERT"), Error::None);
  EXPECT_EQ(slurp(root / "ufs" / "a.bin"), "hello");
  EXPECT_EQ(slurp(root / "datatx" / "fota_cacert.pem"), "CERT");
  EXPECT_EQ(*fs.read("/data/ufs/a.bin"), "hello");
  EXPECT_EQ(*fs.size("UFS:a.bin"), 5u);
  EXPECT_EQ(*fs.resolve("/data/ufs/a.bin"), root / "ufs" / "a.bin");
  EXPECT_EQ(*fs.resolve("/datatx/fota_client_key.pem"), root / "datatx" / "fota_client_key.pem");

  auto all = fs.list("*");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);  // UFS only
  EXPECT_EQ((*all)[0].name, "a.bin");
  EXPECT_EQ((*all)[0].size, 5u);
  auto prefixed = fs.list("UFS:*");
  ASSERT_EQ(prefixed->size(), 1u);
  EXPECT_EQ((*prefixed)[0].name, "UFS:a.bin");
  auto certs = fs.list("/datatx/*");
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ((*certs)[0].name, "/datatx/fota_cacert.pem");
  EXPECT_TRUE(fs.list("b*")->empty());

  EXPECT_EQ(*fs.used(), 9u);
  EXPECT_EQ(*fs.free(), ModuleFs::kDefaultCapacity - 9);

  EXPECT_EQ(fs.write("a.bin", "x", false), Error::Exists);
  EXPECT_EQ(fs.write("a.bin", "bye"), Error::None);
  EXPECT_EQ(*fs.read("a.bin"), "bye");

  EXPECT_EQ(fs.remove("nope"), Error::NotFound);
  EXPECT_EQ(fs.remove("a.bin"), Error::None);
  EXPECT_EQ(fs.read("a.bin").error(), Error::NotFound);
  EXPECT_EQ(*fs.remove_matching("/datatx/*"), 1u);
  EXPECT_EQ(*fs.used(), 0u);
  EXPECT_TRUE(entries(root / "ufs").empty());  // no temporary left behind
}

TEST_F(ModuleFsTest, MissingFoldersAreEmpty) {
  ModuleFs fs(root);
  EXPECT_TRUE(fs.list("*")->empty());
  EXPECT_EQ(*fs.used(), 0u);
  EXPECT_EQ(fs.read("a").error(), Error::NotFound);
  EXPECT_FALSE(*fs.exists("a"));
  EXPECT_EQ(fs.write("a", "1"), Error::None);  // created on demand
}

TEST_F(ModuleFsTest, CapacityIsShared) {
  ModuleFs fs(root, 100);
  EXPECT_EQ(fs.total(), 100u);
  EXPECT_EQ(fs.write("big", std::string(101, 'x')), Error::TooLarge);
  EXPECT_EQ(fs.write("a", std::string(60, 'x')), Error::None);
  EXPECT_EQ(fs.write("/datatx/c", std::string(41, 'x')), Error::NoSpace);
  EXPECT_EQ(fs.write("/datatx/c", std::string(40, 'x')), Error::None);
  EXPECT_EQ(*fs.free(), 0u);
  // Replacing a file counts its old size as free.
  EXPECT_EQ(fs.write("a", std::string(60, 'y')), Error::None);
  EXPECT_EQ(fs.write("a", std::string(61, 'y')), Error::NoSpace);
  EXPECT_EQ(*fs.read("a"), std::string(60, 'y'));
  EXPECT_EQ(entries(root / "ufs"), std::vector<std::string>{"a"});
}

TEST_F(ModuleFsTest, UploadIsInvisibleUntilCommittedAndGoneWhenAborted) {
  ModuleFs fs(root);
  {
    auto up = fs.begin_upload("u.bin");
    ASSERT_TRUE(up);
    EXPECT_EQ(up->append("abc"), Error::None);
    EXPECT_TRUE(fs.list("*")->empty());
    EXPECT_EQ(*fs.used(), 0u);
    EXPECT_EQ(entries(root / "ufs").size(), 1u);  // the hidden temporary
    // Another writer takes the name meanwhile: the commit does not overwrite it.
    EXPECT_EQ(fs.write("u.bin", "other"), Error::None);
    EXPECT_EQ(up->commit(), Error::Exists);
    EXPECT_EQ(*fs.read("u.bin"), "other");
  }
  EXPECT_EQ(entries(root / "ufs"), std::vector<std::string>{"u.bin"});
  {
    auto up = fs.begin_upload("v.bin");
    ASSERT_TRUE(up);
    up->append("partial");
  }  // destroyed uncommitted
  EXPECT_EQ(entries(root / "ufs"), std::vector<std::string>{"u.bin"});
  auto up = fs.begin_upload("w.bin");
  up->append("12");
  up->append("34");
  EXPECT_EQ(up->size(), 4u);
  EXPECT_EQ(up->commit(), Error::None);
  EXPECT_EQ(*fs.read("w.bin"), "1234");
  EXPECT_EQ(fs.begin_upload("w.bin").error(), Error::Exists);
}

TEST_F(ModuleFsTest, PrepareDeletesTemporariesOfACutUpload) {
  ModuleFs fs(root);
  ASSERT_EQ(fs.prepare(), Error::None);
  spit(root / "ufs" / ".upload-0123456789abcdef", "junk");
  spit(root / "datatx" / ".upload-0000000000000000", "junk");
  ASSERT_EQ(fs.prepare(), Error::None);
  EXPECT_TRUE(entries(root / "ufs").empty());
  EXPECT_TRUE(entries(root / "datatx").empty());
}

TEST_F(ModuleFsTest, SymlinksAreNeverFollowed) {
  ModuleFs fs(root);
  ASSERT_EQ(fs.prepare(), Error::None);
  const auto secret = base / "secret";
  spit(secret, "top secret");
  stdfs::create_symlink(secret, root / "ufs" / "evil");
  ::mkfifo((root / "ufs" / "fifo").c_str(), 0600);
  stdfs::create_directory(root / "ufs" / "dir");

  for (const char* name : {"evil", "fifo", "dir"}) {
    EXPECT_EQ(fs.read(name).error(), Error::InvalidName) << name;
    EXPECT_EQ(fs.size(name).error(), Error::InvalidName) << name;
    EXPECT_EQ(fs.exists(name).error(), Error::InvalidName) << name;
    EXPECT_EQ(fs.resolve(name).error(), Error::InvalidName) << name;
    EXPECT_EQ(fs.begin_upload(name, true).error(), Error::InvalidName) << name;
    EXPECT_EQ(fs.write(name, "x"), Error::InvalidName) << name;
    EXPECT_EQ(fs.remove(name), Error::InvalidName) << name;
  }
  EXPECT_TRUE(fs.list("*")->empty());
  EXPECT_EQ(*fs.used(), 0u);
  EXPECT_EQ(*fs.remove_matching("*"), 0u);
  EXPECT_EQ(slurp(secret), "top secret");
  EXPECT_TRUE(stdfs::is_symlink(root / "ufs" / "evil"));
}

TEST_F(ModuleFsTest, AFolderReplacedByASymlinkIsNotEntered) {
  ModuleFs fs(root);
  ASSERT_EQ(fs.prepare(), Error::None);
  const auto outside = base / "outside";
  stdfs::create_directory(outside);
  spit(outside / "victim", "keep me");
  stdfs::remove(root / "ufs");
  stdfs::create_directory_symlink(outside, root / "ufs");

  EXPECT_EQ(fs.read("victim").error(), Error::OpenFailed);
  EXPECT_EQ(fs.list("*").error(), Error::ListFailed);
  EXPECT_EQ(fs.write("new", "x"), Error::WriteFailed);
  EXPECT_EQ(fs.remove("victim"), Error::DeleteFailed);
  EXPECT_EQ(fs.remove_matching("*").error(), Error::DeleteFailed);
  EXPECT_EQ(fs.used().error(), Error::DiskInfoFailed);
  EXPECT_NE(fs.prepare(), Error::None);
  EXPECT_EQ(entries(outside), std::vector<std::string>{"victim"});
  EXPECT_EQ(slurp(outside / "victim"), "keep me");

  // The root itself too.
  stdfs::remove(root / "ufs");
  stdfs::rename(root, base / "real-fs");
  stdfs::create_directory_symlink(outside, root);
  EXPECT_EQ(fs.read("victim").error(), Error::OpenFailed);
  EXPECT_EQ(fs.write("new", "x"), Error::WriteFailed);
  EXPECT_EQ(entries(outside), std::vector<std::string>{"victim"});
}

}  // namespace
}  // namespace bg95::fs

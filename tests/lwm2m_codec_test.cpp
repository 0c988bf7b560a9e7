// LwM2M content formats and the object model, without a network.

#include <gtest/gtest.h>

#include "protocol/lwm2m/codec.hpp"
#include "protocol/lwm2m/object_model.hpp"

namespace bg95::lwm2m {
namespace {

Bytes bytes(std::initializer_list<int> v) {
  Bytes out;
  for (int x : v)
    out.push_back(static_cast<std::uint8_t>(x));
  return out;
}

TEST(Lwm2mTlv, EncodesTheSpecExampleOfASingleInstance) {
  // OMA-TS-LightweightM2M-V1_0 6.4.3.1: Device object, Manufacturer "Open Mobile Alliance".
  const Tlv t{Tlv::Kind::Resource,
              0,
              Bytes{'O', 'p', 'e', 'n', ' ', 'M', 'o', 'b', 'i', 'l',
                    'e', ' ', 'A', 'l', 'l', 'i', 'a', 'n', 'c', 'e'},
              {}};
  const Bytes out = encode_tlv(std::span(&t, 1));
  ASSERT_EQ(out.size(), 23u);
  EXPECT_EQ(out[0], 0xC8);  // resource, 8-bit id, 8-bit length
  EXPECT_EQ(out[1], 0x00);
  EXPECT_EQ(out[2], 0x14);
}

TEST(Lwm2mTlv, ShortLengthsIdsAndNesting) {
  std::vector<Tlv> in{
      {Tlv::Kind::Resource, 3, tlv_value(Value::number(5)), {}},
      {Tlv::Kind::Resource, 300, tlv_value(Value::string("x")), {}},
      {Tlv::Kind::MultipleResource,
       8,
       {},
       {{Tlv::Kind::ResourceInstance, 0, tlv_value(Value::number(0)), {}},
        {Tlv::Kind::ResourceInstance, 1, tlv_value(Value::number(1)), {}}}},
  };
  const Bytes out = encode_tlv(in);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 3), bytes({0xC1, 0x03, 0x05}));
  EXPECT_EQ(Bytes(out.begin() + 3, out.begin() + 7), bytes({0xE1, 0x01, 0x2C, 'x'}));
  EXPECT_EQ(Bytes(out.begin() + 7, out.end()),
            bytes({0x86, 0x08, 0x41, 0x00, 0x00, 0x41, 0x01, 0x01}));
  const auto back = decode_tlv(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, in);
}

TEST(Lwm2mTlv, LongValuesUseWiderLengths) {
  for (std::size_t n : {7u, 8u, 255u, 256u, 65535u, 65536u, 200000u}) {
    const Tlv t{Tlv::Kind::Resource, 0, Bytes(n, 0xAB), {}};
    const Bytes out = encode_tlv(std::span(&t, 1));
    const auto back = decode_tlv(out);
    ASSERT_TRUE(back) << n;
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ((*back)[0].value.size(), n);
  }
}

TEST(Lwm2mTlv, RefusesTruncatedInput) {
  EXPECT_FALSE(decode_tlv(bytes({0xC8, 0x00, 0x14, 'a'})));
  EXPECT_FALSE(decode_tlv(bytes({0xE8})));
  EXPECT_TRUE(decode_tlv(Bytes{}));
}

TEST(Lwm2mTlv, IntegersRoundTripAtEveryWidth) {
  for (std::int64_t v : std::initializer_list<std::int64_t>{
           0LL, 1LL, -1LL, 127LL, -128LL, 128LL, 32767LL, -32769LL, 2147483647LL, -2147483648LL,
           2147483648LL, INT64_MIN, INT64_MAX}) {
    const Bytes b = tlv_value(Value::number(v));
    const auto back = from_tlv_value(b, Type::Integer);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->integer, v);
  }
  EXPECT_EQ(tlv_value(Value::number(128)).size(), 2u);
  EXPECT_FALSE(from_tlv_value(bytes({1, 2, 3}), Type::Integer));
  EXPECT_EQ(from_tlv_value(bytes({1}), Type::Boolean)->integer, 1);
  EXPECT_DOUBLE_EQ(from_tlv_value(tlv_value(Value::real_number(1.5)), Type::Float)->real, 1.5);
}

TEST(Lwm2mText, ParsesAndFormats) {
  EXPECT_EQ(to_text(Value::number(-42)), "-42");
  EXPECT_EQ(to_text(Value::boolean(true)), "1");
  EXPECT_FALSE(to_text(Value::opaque("x")));
  EXPECT_EQ(from_text("17", Type::Integer)->integer, 17);
  EXPECT_FALSE(from_text("17x", Type::Integer));
  EXPECT_FALSE(from_text("", Type::Integer));
  EXPECT_FALSE(from_text("2", Type::Boolean));
  EXPECT_EQ(from_text("http://a/b", Type::String)->bytes, "http://a/b");
}

TEST(Lwm2mLinks, FormatAndParse) {
  std::vector<Link> links{{"/1/0", {}}, {"/3/0", {}}, {"/5/0", {{"pmin", "10"}, {"ver", "1.0"}}}};
  const std::string text = format_links(links);
  EXPECT_EQ(text, "</1/0>,</3/0>,</5/0>;pmin=10;ver=1.0");
  EXPECT_EQ(parse_links(text), links);
  const auto quoted = parse_links("</>;rt=\"oma.lwm2m\";ct=11543, </1/0>");
  ASSERT_TRUE(quoted);
  ASSERT_EQ(quoted->size(), 2u);
  EXPECT_EQ((*quoted)[0].attributes[0].second, "\"oma.lwm2m\"");
  EXPECT_FALSE(parse_links("</1/0"));
  EXPECT_FALSE(parse_links("/1/0"));
}

TEST(Lwm2mPath, ParseAndFormat) {
  EXPECT_EQ(parse_path("/5/0/3"), (std::vector<std::uint16_t>{5, 0, 3}));
  EXPECT_EQ(parse_path("/"), std::vector<std::uint16_t>{});
  EXPECT_FALSE(parse_path("/5/x"));
  EXPECT_FALSE(parse_path("/65535"));
  EXPECT_EQ(format_path(std::vector<std::uint16_t>{3, 0}), "/3/0");
}

class ObjectModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model.add(3, 0, readable(0, Type::String, [] { return Value::string("Quectel"); }));
    Resource uri = readable(
        1, Type::String, [this] { return Value::string(written); }, kRead | kWrite);
    uri.write = [this](const Value& v) {
      written = v.bytes;
      return code::kChanged;
    };
    model.add(5, 0, std::move(uri));
    model.add(5, 0, executable(2, [this](std::string_view) {
                ++executed;
                return code::kChanged;
              }));
    Resource protocols = multiple(8, Type::Integer);
    protocols.read_instances = [] {
      return std::vector<std::pair<std::uint16_t, Value>>{{0, Value::number(0)},
                                                          {1, Value::number(2)}};
    };
    model.add(5, 0, std::move(protocols));
  }
  ObjectModel model;
  std::string written;
  int executed = 0;
};

TEST_F(ObjectModelTest, ReadsResourcesAsTextAndInstancesAsTlv) {
  auto c = model.read(std::vector<std::uint16_t>{3, 0, 0}, std::nullopt);
  EXPECT_EQ(c.code, 205);
  EXPECT_EQ(c.format, format::kText);
  EXPECT_EQ(std::string(c.payload.begin(), c.payload.end()), "Quectel");
  c = model.read(std::vector<std::uint16_t>{5, 0}, std::nullopt);
  EXPECT_EQ(c.format, format::kTlv);
  const auto tlvs = decode_tlv(c.payload);
  ASSERT_TRUE(tlvs);
  ASSERT_EQ(tlvs->size(), 2u);  // 1 and 8 (2 is not readable)
  EXPECT_EQ((*tlvs)[1].kind, Tlv::Kind::MultipleResource);
  EXPECT_EQ(model.read(std::vector<std::uint16_t>{5, 0, 2}, std::nullopt).code, 405);
  EXPECT_EQ(model.read(std::vector<std::uint16_t>{5, 1}, std::nullopt).code, 404);
  EXPECT_EQ(model.read(std::vector<std::uint16_t>{3, 0, 0}, std::uint16_t{50}).code, 406);
}

TEST_F(ObjectModelTest, WritesTextAndTlvAndExecutes) {
  const std::string url = "http://127.0.0.1/x";
  EXPECT_EQ(model.write(std::vector<std::uint16_t>{5, 0, 1}, format::kText,
                        std::span(reinterpret_cast<const std::uint8_t*>(url.data()), url.size())),
            204);
  EXPECT_EQ(written, url);
  const Tlv t{Tlv::Kind::Resource, 1, Bytes{'a'}, {}};
  EXPECT_EQ(
      model.write(std::vector<std::uint16_t>{5, 0}, format::kTlv, encode_tlv(std::span(&t, 1))),
      204);
  EXPECT_EQ(written, "a");
  EXPECT_EQ(model.write(std::vector<std::uint16_t>{3, 0, 0}, format::kText, Bytes{'b'}), 405);
  EXPECT_EQ(model.execute(std::vector<std::uint16_t>{5, 0, 2}, ""), 204);
  EXPECT_EQ(executed, 1);
  EXPECT_EQ(model.execute(std::vector<std::uint16_t>{5, 0, 1}, ""), 405);
}

TEST_F(ObjectModelTest, RegisterLinksAndDiscover) {
  EXPECT_EQ(format_links(model.register_links()), "</3/0>,</5/0>");
  const auto c = model.discover(std::vector<std::uint16_t>{5}, [](const std::string& p) {
    std::vector<std::pair<std::string, std::string>> a;
    if (p == "/5/0/1") a.emplace_back("pmin", "10");
    return a;
  });
  EXPECT_EQ(std::string(c.payload.begin(), c.payload.end()),
            "</5>,</5/0>,</5/0/1>;pmin=10,</5/0/2>,</5/0/8>;dim=2");
}

// ---- SenML JSON (LwM2M 1.1, content format 110) ----------------------------------------------

std::string text_of(const Bytes& b) {
  return std::string(b.begin(), b.end());
}
Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

TEST(Lwm2mSenml, EncodesEveryValueKindWithABaseName) {
  const std::vector<SenmlRecord> records{
      {"/3/0/0", Value::string("Quectel")}, {"/3/0/9", Value::number(-5)},
      {"/3/0/13", Value::time(1700000000)}, {"/3/0/20", Value::real_number(2.5)},
      {"/3/0/21", Value::boolean(true)},    {"/3/0/22", Value::opaque(std::string("\xfb\xff", 2))},
      {"/3/0/11/0", Value::number(0)}};
  EXPECT_EQ(encode_senml("/3/0/", records),
            R"([{"bn":"/3/0/","n":"0","vs":"Quectel"},{"n":"9","v":-5},)"
            R"({"n":"13","v":1700000000},{"n":"20","v":2.5},{"n":"21","vb":true},)"
            R"({"n":"22","vd":"-_8"},{"n":"11/0","v":0}])");
  // A single resource: the base name is its path, no "n".
  const SenmlRecord one{"/5/0/3", Value::number(2)};
  EXPECT_EQ(encode_senml("/5/0/3", std::span(&one, 1)), R"([{"bn":"/5/0/3","v":2}])");
  EXPECT_EQ(encode_senml("/5/0/", {}), "[]");
}

TEST(Lwm2mSenml, DecodesNamesValuesAndBaseFields) {
  const auto r = decode_senml(
      bytes_of(R"([{"bn":"/5/0/","n":"1","vs":"http://x/y"},{"n":"0","vd":"AAE="},)"
               R"({"n":"9","v":3},{"bn":"/1/0/","n":"6","vb":false},{"n":"20","v":1.5},)"
               R"({"n":"21","bv":10,"v":2},{"bn":"/3/0/0","bt":0,"t":0,"vs":"x"}])"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 7u);
  EXPECT_EQ((*r)[0], (SenmlRecord{"/5/0/1", Value::string("http://x/y")}));
  EXPECT_EQ((*r)[1], (SenmlRecord{"/5/0/0", Value::opaque(std::string("\0\1", 2))}));
  EXPECT_EQ((*r)[2], (SenmlRecord{"/5/0/9", Value::number(3)}));
  EXPECT_EQ((*r)[3], (SenmlRecord{"/1/0/6", Value::boolean(false)}));
  EXPECT_EQ((*r)[4], (SenmlRecord{"/1/0/20", Value::real_number(1.5)}));
  EXPECT_EQ((*r)[5], (SenmlRecord{"/1/0/21", Value::real_number(12)}));
  EXPECT_EQ((*r)[6], (SenmlRecord{"/3/0/0", Value::string("x")}));
  // base64 / base64url, padding or not.
  EXPECT_EQ(base64_decode("-_8"), std::string("\xfb\xff", 2));
  EXPECT_EQ(base64_decode("+/8="), std::string("\xfb\xff", 2));
  EXPECT_EQ(base64url_encode(std::string("\0\1", 2)), "AAE");
  EXPECT_FALSE(base64_decode("A"));
  EXPECT_FALSE(base64_decode("A*=="));
}

TEST(Lwm2mSenml, RefusesMalformedInput) {
  for (const char* bad :
       {"", "{}", "[1]", R"([{"n":"/1"}])", R"([{"n":"/1","v":1,"vs":"x"}])",
        R"([{"n":"/1","v":"1"}])", R"([{"n":"/1","vd":"***"}])", "[{", R"([{"n":2,"v":1}])"})
    EXPECT_FALSE(decode_senml(bytes_of(bad))) << bad;
  EXPECT_TRUE(decode_senml(bytes_of("[]")));
}

TEST(Lwm2mSenml, ConvertsToTheResourceType) {
  EXPECT_EQ(senml_as(Value::number(3), Type::Integer), Value::number(3));
  EXPECT_EQ(senml_as(Value::real_number(3.0), Type::Integer), Value::number(3));
  EXPECT_FALSE(senml_as(Value::real_number(3.5), Type::Integer));
  EXPECT_EQ(senml_as(Value::number(3), Type::Float), Value::real_number(3));
  EXPECT_EQ(senml_as(Value::number(7), Type::Time), Value::time(7));
  EXPECT_FALSE(senml_as(Value::string("3"), Type::Integer));
  EXPECT_FALSE(senml_as(Value::number(1), Type::Boolean));
  EXPECT_EQ(senml_as(Value::string("a"), Type::Opaque), Value::opaque("a"));
  EXPECT_FALSE(senml_as(Value::opaque("a"), Type::String));
}

TEST_F(ObjectModelTest, ReadsSenmlJsonOnlyWhen11) {
  const std::vector<std::uint16_t> instance{5, 0};
  written = "coap://h/p";
  // LwM2M 1.0: 110 is not acceptable.
  EXPECT_EQ(model.read(instance, format::kSenmlJson).code, 406);
  auto c = model.read(instance, format::kSenmlJson, true);
  EXPECT_EQ(c.code, 205);
  EXPECT_EQ(c.format, format::kSenmlJson);
  EXPECT_EQ(text_of(c.payload),
            R"([{"bn":"/5/0/","n":"1","vs":"coap://h/p"},{"n":"8/0","v":0},{"n":"8/1","v":2}])");
  c = model.read(std::vector<std::uint16_t>{3, 0, 0}, format::kSenmlJson, true);
  EXPECT_EQ(text_of(c.payload), R"([{"bn":"/3/0/0","vs":"Quectel"}])");
  c = model.read(std::vector<std::uint16_t>{5, 0, 8}, format::kSenmlJson, true);
  EXPECT_EQ(text_of(c.payload), R"([{"bn":"/5/0/8/","n":"0","v":0},{"n":"1","v":2}])");
  c = model.read(std::vector<std::uint16_t>{3}, format::kSenmlJson, true);
  EXPECT_EQ(text_of(c.payload), R"([{"bn":"/3/","n":"0/0","vs":"Quectel"}])");
  EXPECT_EQ(model.read(std::vector<std::uint16_t>{5, 0, 2}, format::kSenmlJson, true).code, 405);
  // TLV stays the default for instances under 1.1 too.
  EXPECT_EQ(model.read(instance, std::nullopt, true).format, format::kTlv);
}

TEST_F(ObjectModelTest, WritesSenmlJsonOnlyWhen11) {
  const std::vector<std::uint16_t> uri{5, 0, 1};
  const auto one = bytes_of(R"([{"bn":"/5/0/1","vs":"http://127.0.0.1/p.bin"}])");
  EXPECT_EQ(model.write(uri, format::kSenmlJson, one), 415);  // 1.0
  EXPECT_EQ(written, "");
  EXPECT_EQ(model.write(uri, format::kSenmlJson, one, true), 204);
  EXPECT_EQ(written, "http://127.0.0.1/p.bin");
  // On the instance, names relative to a base name.
  EXPECT_EQ(model.write(std::vector<std::uint16_t>{5, 0}, format::kSenmlJson,
                        bytes_of(R"([{"bn":"/5/0/","n":"1","vs":"coap://x"}])"), true),
            204);
  EXPECT_EQ(written, "coap://x");
  // Wrong type, outside the path, read-only, unknown resource, bad JSON: nothing written.
  written.clear();
  const std::vector<std::uint16_t> inst{5, 0};
  EXPECT_EQ(model.write(uri, format::kSenmlJson, bytes_of(R"([{"bn":"/5/0/1","v":1}])"), true),
            400);
  EXPECT_EQ(model.write(uri, format::kSenmlJson, bytes_of(R"([{"bn":"/3/0/0","vs":"a"}])"), true),
            400);
  EXPECT_EQ(model.write(inst, format::kSenmlJson,
                        bytes_of(R"([{"bn":"/5/0/","n":"1","vs":"a"},{"n":"8","v":1}])"), true),
            405);
  EXPECT_EQ(
      model.write(inst, format::kSenmlJson, bytes_of(R"([{"bn":"/5/0/","n":"7","v":1}])"), true),
      404);
  EXPECT_EQ(model.write(uri, format::kSenmlJson, bytes_of("[{"), true), 400);
  EXPECT_EQ(written, "");
}

}  // namespace
}  // namespace bg95::lwm2m

# Every dependency comes from a Debian 12 package (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(yaml-cpp REQUIRED)  # target yaml-cpp (0.7 has no namespace)
find_package(OpenSSL REQUIRED)
find_package(GTest REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(COAP REQUIRED IMPORTED_TARGET libcoap-3-openssl)

# Asio is header-only; this target carries its include path and the defines we want everywhere.
add_library(bg95_asio INTERFACE)
target_link_libraries(bg95_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(bg95_asio INTERFACE BOOST_ASIO_NO_DEPRECATED)

# BG95SIM_FUZZ=ON: the libraries get libFuzzer's coverage hooks (fuzzer-no-link) and
# AddressSanitizer + UndefinedBehaviorSanitizer; each target in tests/fuzz links the fuzzer's
# main (bg95_fuzz_target in tests/fuzz/CMakeLists.txt). UB aborts, so the fuzzer reports it.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "BG95SIM_FUZZ needs clang (libFuzzer); use the 'fuzz' preset "
                      "(clang++-14 from Debian's clang-14 and libclang-rt-14-dev)")
endif()
set(BG95_FUZZ_SANITIZERS "address,undefined")
add_compile_options(-fsanitize=fuzzer-no-link,${BG95_FUZZ_SANITIZERS}
                    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
add_link_options(-fsanitize=${BG95_FUZZ_SANITIZERS})
# Lets the code know it runs under a fuzzer (tests/fuzz only; the libraries do not look).
set(BG95SIM_FUZZING ON)

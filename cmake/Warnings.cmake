# Warnings on for every target of the project; -Werror is opt-in so that a
# newer compiler's new warning does not break a user's build.
option(BG95SIM_WERROR "Treat warnings as errors" OFF)

add_library(bg95_warnings INTERFACE)
target_compile_options(bg95_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wimplicit-fallthrough
  $<$<BOOL:${BG95SIM_WERROR}>:-Werror>)

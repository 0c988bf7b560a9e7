# What `cmake --install` puts in place and what the Debian package holds (issue 19): the five
# programs, a man page for each (help2man, from the program's own --help and --version), the
# docs and the scenario library, and bash completion. Nothing of the libraries, tests or
# benchmarks. `cpack -G DEB` in the build folder makes bg95sim_<version>_<arch>.deb.

include(GNUInstallDirs)

# Each program's one-line description, as its man page's NAME section gives it.
set(BG95SIM_PROGRAMS bg95sim bg95ctl dfota-pack bg95-scenario bg95-pkgserver)
set(BG95SIM_SUMMARY_bg95sim "a virtual Quectel BG95/BG77 module on a pseudo-terminal")
set(BG95SIM_SUMMARY_bg95ctl "control a running bg95sim: power, DTR, network, faults, status")
set(BG95SIM_SUMMARY_dfota-pack "synthetic firmware images and DFOTA delta packages for bg95sim")
set(BG95SIM_SUMMARY_bg95-scenario "check, run and replay bg95sim fault scenarios")
set(BG95SIM_SUMMARY_bg95-pkgserver "HTTP(S) and CoAP(S) package server with scripted faults")

foreach(program IN LISTS BG95SIM_PROGRAMS)
  # Every program answers --version with "<name> <project version>".
  target_compile_definitions(${program} PRIVATE BG95SIM_VERSION="${PROJECT_VERSION}")
endforeach()
install(TARGETS ${BG95SIM_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(pages)
  foreach(program IN LISTS BG95SIM_PROGRAMS)
    set(page ${CMAKE_BINARY_DIR}/man/${program}.1)
    add_custom_command(
      OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
              "--name=${BG95SIM_SUMMARY_${program}}"
              "--version-string=${PROJECT_VERSION}"
              "--include=${CMAKE_CURRENT_LIST_DIR}/man-see-also.h2m" --output=${page}
              $<TARGET_FILE:${program}>
      DEPENDS ${program} ${CMAKE_CURRENT_LIST_DIR}/man-see-also.h2m
      COMMENT "Man page of ${program}"
      VERBATIM)
    list(APPEND pages ${page})
  endforeach()
  add_custom_target(man ALL DEPENDS ${pages})
  install(FILES ${pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man not found: no man pages (scripts/setup.sh installs it)")
endif()

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY scenarios/ DESTINATION ${CMAKE_INSTALL_DATADIR}/bg95sim/scenarios
        FILES_MATCHING PATTERN "*.yaml")
# One completion script serves every program: it reads the options from the program's --help.
foreach(program IN LISTS BG95SIM_PROGRAMS)
  install(FILES scripts/bash-completion/bg95sim
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ${program})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME bg95sim)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "virtual Quectel BG95/BG77 LTE-M module for host driver and DFOTA tests")
set(CPACK_PACKAGE_DESCRIPTION
    "bg95sim answers AT commands on a pseudo-terminal as a Quectel BG95/BG77 module does, \
with its DFOTA update, file system, LwM2M client and scripted faults, for host driver tests.")
# A placeholder address in the reserved .invalid domain (RFC 2606): the project has no list.
set(CPACK_PACKAGE_CONTACT "bg95sim developers <bg95sim@example.invalid>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # the library packages, read off the programs
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion")
set(CPACK_STRIP_FILES ON)
include(CPack)

# Plain-main reproducers of every fuzz target, built in every host build:
#   fuzz_<name>_repro FILE...   runs the target on each file once.
# CTest runs each one over its committed corpus (fuzz/corpus/<name>/).
file(GLOB _fuzz_sources CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c")
foreach(src ${_fuzz_sources})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name}_repro ${src} "${CMAKE_SOURCE_DIR}/fuzz/repro_main.c")
  target_compile_options(${name}_repro PRIVATE ${WARD_WARNINGS})
  target_link_libraries(${name}_repro PRIVATE ${WARD_FUZZ_LIBS} ward_mbedtls)
  if(name STREQUAL "fuzz_bootstate") # the boot tests' fixtures
    target_include_directories(${name}_repro PRIVATE "${CMAKE_SOURCE_DIR}/tests" "${CMAKE_SOURCE_DIR}/tools/sign")
  endif()
  if(name STREQUAL "fuzz_csr")
    target_link_libraries(${name}_repro PRIVATE ward_fleet) # the fleet service's checks
  endif()
  string(REPLACE "fuzz_" "" corpus ${name})
  if(IS_DIRECTORY "${CMAKE_SOURCE_DIR}/fuzz/corpus/${corpus}")
    add_test(NAME ${name}_corpus COMMAND ${name}_repro "${CMAKE_SOURCE_DIR}/fuzz/corpus/${corpus}")
    set_tests_properties(${name}_corpus PROPERTIES LABELS "fuzz;unit" TIMEOUT 300)
  endif()
endforeach()

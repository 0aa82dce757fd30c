# Shared build settings for ward: target selection, warnings, Mbed TLS.

if(CMAKE_SYSTEM_NAME STREQUAL "Generic")
  set(WARD_TARGET "cortex-m" CACHE STRING "host or cortex-m")
else()
  set(WARD_TARGET "host" CACHE STRING "host or cortex-m")
endif()

option(WARD_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(WARD_FUZZ "Build the libFuzzer targets (clang only)" OFF)

if(DEFINED ENV{WARD_DEPS_DIR})
  set(_ward_deps_default "$ENV{WARD_DEPS_DIR}")
else()
  set(_ward_deps_default "$ENV{HOME}/.cache/ward")
endif()
set(WARD_DEPS_DIR "${_ward_deps_default}" CACHE PATH "Where scripts/bootstrap.sh put Mbed TLS")

# Warnings are errors everywhere in ward's own code.
set(WARD_WARNINGS -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wpointer-arith -Wvla -Wformat=2 -Wundef
    -Wcast-qual -Wwrite-strings)

if(WARD_FUZZ)
  # Coverage instrumentation for every ward library; the fuzz targets add
  # the libFuzzer driver (fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(WARD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# ---- Mbed TLS 3.6, built by scripts/bootstrap.sh with config/*.h ------------
if(WARD_TARGET STREQUAL "host")
  set(WARD_MBEDTLS_PREFIX "${WARD_DEPS_DIR}/mbedtls-host")
  set(WARD_MBEDTLS_CONFIG "${CMAKE_SOURCE_DIR}/config/mbedtls_host.h")
else()
  set(WARD_MBEDTLS_PREFIX "${WARD_DEPS_DIR}/mbedtls-boot-min")
  set(WARD_MBEDTLS_CONFIG "${CMAKE_SOURCE_DIR}/config/mbedtls_boot_min.h")
endif()
if(NOT EXISTS "${WARD_MBEDTLS_PREFIX}/.stamp")
  message(FATAL_ERROR "Mbed TLS not found in ${WARD_MBEDTLS_PREFIX}: run scripts/bootstrap.sh")
endif()
# The library must have been built from the config headers in this tree.
if(WARD_TARGET STREQUAL "host")
  set(_ward_cfg_headers mbedtls_host.h)
else()
  set(_ward_cfg_headers mbedtls_boot_min.h crypto_config_boot_min.h)
endif()
foreach(_h ${_ward_cfg_headers})
  file(READ "${CMAKE_SOURCE_DIR}/config/${_h}" _a)
  if(EXISTS "${WARD_MBEDTLS_PREFIX}/include/ward-config/${_h}")
    file(READ "${WARD_MBEDTLS_PREFIX}/include/ward-config/${_h}" _b)
  else()
    set(_b "")
  endif()
  if(NOT _a STREQUAL _b)
    message(FATAL_ERROR "config/${_h} changed since Mbed TLS was built: run scripts/bootstrap.sh")
  endif()
endforeach()

add_library(ward_mbedtls INTERFACE)
target_include_directories(ward_mbedtls SYSTEM INTERFACE
  "${WARD_MBEDTLS_PREFIX}/include" "${CMAKE_SOURCE_DIR}/config")
target_compile_definitions(ward_mbedtls INTERFACE
  "MBEDTLS_CONFIG_FILE=\"${WARD_MBEDTLS_CONFIG}\"")
if(WARD_TARGET STREQUAL "host")
  target_link_libraries(ward_mbedtls INTERFACE
    "${WARD_MBEDTLS_PREFIX}/lib/libmbedtls.a"
    "${WARD_MBEDTLS_PREFIX}/lib/libmbedx509.a"
    "${WARD_MBEDTLS_PREFIX}/lib/libmbedcrypto.a"
    "${WARD_MBEDTLS_PREFIX}/lib/libeverest.a"
    "${WARD_MBEDTLS_PREFIX}/lib/libp256m.a")
else()
  target_link_libraries(ward_mbedtls INTERFACE
    "${WARD_MBEDTLS_PREFIX}/lib/libmbedcrypto.a"
    "${WARD_MBEDTLS_PREFIX}/lib/libp256m.a")
endif()

# ward_add_module(<name> SOURCES ... [DEPS ...]): a static library of the
# portable core (or a port), with ward's warnings and include paths.
function(ward_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_compile_options(${name} PRIVATE ${WARD_WARNINGS})
  target_include_directories(${name} PUBLIC "${CMAKE_SOURCE_DIR}/include"
                                     PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}")
  target_link_libraries(${name} PUBLIC ${M_DEPS})
endfunction()

# ward_add_subdirs(): add every subdirectory of the current directory that
# has a CMakeLists.txt (one directory per module in tests/*).
function(ward_add_subdirs)
  file(GLOB _dirs LIST_DIRECTORIES true RELATIVE "${CMAKE_CURRENT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/*")
  foreach(d ${_dirs})
    if(IS_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}/${d}" AND EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/${d}/CMakeLists.txt")
      add_subdirectory(${d})
    endif()
  endforeach()
endfunction()

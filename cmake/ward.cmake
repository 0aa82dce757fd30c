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
# ward_mbedtls_flavour(<target> <flavour> <libs...>): an interface target for
# the Mbed TLS that bootstrap.sh built from config/mbedtls_<flavour>.h (and
# config/crypto_config_<flavour>.h when the flavour has one), refusing a
# library built from other config headers than the ones in this tree.
function(ward_mbedtls_flavour target flavour)
  string(REPLACE "-" "_" _f "${flavour}")
  set(_prefix "${WARD_DEPS_DIR}/mbedtls-${flavour}")
  if(NOT EXISTS "${_prefix}/.stamp")
    message(FATAL_ERROR "Mbed TLS not found in ${_prefix}: run scripts/bootstrap.sh")
  endif()
  set(_headers mbedtls_${_f}.h)
  if(EXISTS "${CMAKE_SOURCE_DIR}/config/crypto_config_${_f}.h")
    list(APPEND _headers crypto_config_${_f}.h)
  endif()
  foreach(_h ${_headers})
    file(READ "${CMAKE_SOURCE_DIR}/config/${_h}" _a)
    set(_b "")
    if(EXISTS "${_prefix}/include/ward-config/${_h}")
      file(READ "${_prefix}/include/ward-config/${_h}" _b)
    endif()
    if(NOT _a STREQUAL _b)
      message(FATAL_ERROR "config/${_h} changed since Mbed TLS was built: run scripts/bootstrap.sh")
    endif()
  endforeach()
  add_library(${target} INTERFACE)
  target_include_directories(${target} SYSTEM INTERFACE
    "${_prefix}/include" "${CMAKE_SOURCE_DIR}/config")
  target_compile_definitions(${target} INTERFACE
    "MBEDTLS_CONFIG_FILE=\"${CMAKE_SOURCE_DIR}/config/mbedtls_${_f}.h\"")
  list(TRANSFORM ARGN PREPEND "${_prefix}/lib/lib")
  list(TRANSFORM ARGN APPEND ".a")
  target_link_libraries(${target} INTERFACE ${ARGN})
endfunction()

if(WARD_TARGET STREQUAL "host")
  ward_mbedtls_flavour(ward_mbedtls host mbedtls mbedx509 mbedcrypto everest p256m)
else()
  # Two builds on the MCU: the bootloader's verify-only one, and the
  # application's (vault, software HSM). Every core module that uses PSA
  # gets an "_app" twin compiled against the second (ward_add_module).
  ward_mbedtls_flavour(ward_mbedtls boot-min mbedcrypto p256m)
  ward_mbedtls_flavour(ward_mbedtls_app cm-app mbedcrypto p256m)
endif()

# ---- libcbor and http-parser, built by scripts/bootstrap.sh ----------------
# ward_dep_lib(<target> <dir under WARD_DEPS_DIR> <library file>): an imported
# static library with its headers.
function(ward_dep_lib target dir lib)
  set(_prefix "${WARD_DEPS_DIR}/${dir}")
  if(NOT EXISTS "${_prefix}/.stamp")
    message(FATAL_ERROR "${dir} not found in ${WARD_DEPS_DIR}: run scripts/bootstrap.sh")
  endif()
  add_library(${target} INTERFACE)
  target_include_directories(${target} SYSTEM INTERFACE "${_prefix}/include")
  target_link_libraries(${target} INTERFACE "${_prefix}/lib/${lib}")
endfunction()
if(WARD_TARGET STREQUAL "host")
  ward_dep_lib(ward_cbor libcbor-host libcbor.a)
  ward_dep_lib(ward_http_parser http-parser-host libhttp_parser.a)
else()
  ward_dep_lib(ward_cbor libcbor-cm libcbor.a)
  ward_dep_lib(ward_http_parser http-parser-cm libhttp_parser.a)
endif()

# ward_add_module(<name> SOURCES ... [DEPS ...] [INCLUDES ...] [PUBLIC_INCLUDES ...]):
# a static library of the portable core (or a port), with ward's warnings and
# include paths (INCLUDES private, PUBLIC_INCLUDES for its users too).
#
# On the MCU, a module that depends on Mbed TLS (directly or through another
# module) also gets a twin, <name>_app, built from the same sources against
# ward_mbedtls_app: PSA's structures differ between the two configurations,
# so one object must never meet the other's library.
function(ward_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;INCLUDES;PUBLIC_INCLUDES" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_compile_options(${name} PRIVATE ${WARD_WARNINGS})
  target_include_directories(${name} PUBLIC "${CMAKE_SOURCE_DIR}/include" ${M_PUBLIC_INCLUDES}
                                     PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}" ${M_INCLUDES})
  target_link_libraries(${name} PUBLIC ${M_DEPS})
  if(TARGET ward_mbedtls_app)
    set(_deps "")
    set(_twin OFF)
    foreach(_d ${M_DEPS})
      if(_d STREQUAL "ward_mbedtls")
        list(APPEND _deps ward_mbedtls_app)
        set(_twin ON)
      elseif(TARGET ${_d}_app)
        list(APPEND _deps ${_d}_app)
        set(_twin ON)
      else()
        list(APPEND _deps ${_d})
      endif()
    endforeach()
    if(_twin)
      # Built only when a program links it.
      add_library(${name}_app STATIC EXCLUDE_FROM_ALL ${M_SOURCES})
      target_compile_options(${name}_app PRIVATE ${WARD_WARNINGS})
      target_include_directories(${name}_app PUBLIC "${CMAKE_SOURCE_DIR}/include" ${M_PUBLIC_INCLUDES}
                                             PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}" ${M_INCLUDES})
      target_link_libraries(${name}_app PUBLIC ${_deps})
    endif()
  endif()
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

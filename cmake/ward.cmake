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

# ---- the board (Cortex-M builds) ---------------------------------------------
# -DWARD_BOARD=<name> (a file in port/cortex-m/boards) or a path to a board
# file: its CPU flags go to every target of the build, and everything else
# of it to the port (port/cortex-m/CMakeLists.txt).
if(NOT WARD_TARGET STREQUAL "host")
  include("${CMAKE_CURRENT_LIST_DIR}/board.cmake")
  set(WARD_BOARD "" CACHE STRING "Board: a name in port/cortex-m/boards, or a board file")
  file(GLOB _boards RELATIVE "${CMAKE_SOURCE_DIR}/port/cortex-m/boards"
       "${CMAKE_SOURCE_DIR}/port/cortex-m/boards/*.board")
  string(REPLACE ".board" "" _boards "${_boards}")
  string(REPLACE ";" ", " _boards "${_boards}")
  if(WARD_BOARD STREQUAL "")
    message(FATAL_ERROR "No board: configure with a preset (cmake --list-presets) or "
                        "-DWARD_BOARD=<name>, one of: ${_boards}")
  endif()
  if(EXISTS "${WARD_BOARD}" AND NOT IS_DIRECTORY "${WARD_BOARD}")
    get_filename_component(WARD_BOARD_FILE_PATH "${WARD_BOARD}" ABSOLUTE)
  else()
    set(WARD_BOARD_FILE_PATH "${CMAKE_SOURCE_DIR}/port/cortex-m/boards/${WARD_BOARD}.board")
    if(NOT EXISTS "${WARD_BOARD_FILE_PATH}")
      message(FATAL_ERROR "Unknown board '${WARD_BOARD}': one of ${_boards}, or a path to a "
                          "board file (docs/porting.md, \"Add a board\")")
    endif()
  endif()
  ward_board_load("${WARD_BOARD_FILE_PATH}" WARD_BOARD)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${WARD_BOARD_FILE_PATH}")
  add_compile_options(${WARD_BOARD_CPU_FLAGS})
  add_link_options(${WARD_BOARD_CPU_FLAGS})
  message(STATUS "ward board ${WARD_BOARD_NAME}: ${WARD_BOARD_CPU_FLAGS}")
  # The bootloader, the sample app and their tests need the bootloader's
  # Mbed TLS only; the vault and OTA programs need the application's too, and
  # are built for a board with a vault area unless this is set.
  option(WARD_CM_BOOT_ONLY "Cortex-M: the bootloader and sample app only (boot-min Mbed TLS)" OFF)
  set(WARD_CM_APPS OFF)
  if(WARD_BOARD_HAS_VAULT AND NOT WARD_CM_BOOT_ONLY)
    set(WARD_CM_APPS ON)
  endif()
  # The bootloader's single signature check calls p256-m's verify directly
  # (docs/cortex-m.md, "Footprint"); OFF goes through PSA as the app twins do.
  option(WARD_CM_P256M_DIRECT "Cortex-M: ward_p256_verify calls p256-m directly (boot-min)" ON)
endif()

# ---- Mbed TLS 3.6, built by scripts/bootstrap.sh with config/*.h ------------
# ward_mbedtls_flavour(<target> <flavour> <dir> <libs...>): an interface
# target for the Mbed TLS that bootstrap.sh built from
# config/mbedtls_<flavour>.h (and config/crypto_config_<flavour>.h when the
# flavour has one) into WARD_DEPS_DIR/<dir>, refusing a library built from
# other config headers than the ones in this tree, or (on the MCU) for
# another CPU than the board's.
function(ward_mbedtls_flavour target flavour dir)
  string(REPLACE "-" "_" _f "${flavour}")
  set(_prefix "${WARD_DEPS_DIR}/${dir}")
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
  if(NOT WARD_TARGET STREQUAL "host")
    # Code for another CPU links and then faults (an M4 build on an M3 stops
    # at p256-m's first UMAAL): the flags it was built with must be the board's.
    string(REPLACE ";" " " _want "${WARD_BOARD_CPU_FLAGS}")
    set(_got "(none recorded)")
    if(EXISTS "${_prefix}/.cpu-flags")
      file(STRINGS "${_prefix}/.cpu-flags" _got LIMIT_COUNT 1)
    endif()
    if(NOT _got STREQUAL _want)
      message(FATAL_ERROR "${_prefix} was built for '${_got}', board ${WARD_BOARD_NAME} needs "
                          "'${_want}': run scripts/bootstrap.sh (it builds Mbed TLS per CPU)")
    endif()
  endif()
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
  ward_mbedtls_flavour(ward_mbedtls host mbedtls-host mbedtls mbedx509 mbedcrypto everest p256m)
else()
  # Two builds on the MCU, each per CPU: the bootloader's verify-only one,
  # and the application's (vault, software HSM, BLE). Every core module that
  # uses PSA gets an "_app" twin compiled against the second (ward_add_module).
  ward_mbedtls_flavour(ward_mbedtls boot-min "mbedtls-boot-min-${WARD_BOARD_CPU_TAG}" mbedcrypto p256m)
  if(WARD_CM_APPS)
    ward_mbedtls_flavour(ward_mbedtls_app cm-app "mbedtls-cm-app-${WARD_BOARD_CPU_TAG}" mbedcrypto p256m)
  endif()
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
elseif(WARD_CM_APPS)
  ward_dep_lib(ward_cbor "libcbor-cm-${WARD_BOARD_CPU_TAG}" libcbor.a)
  ward_dep_lib(ward_http_parser "http-parser-cm-${WARD_BOARD_CPU_TAG}" libhttp_parser.a)
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
  if(WARD_TARGET STREQUAL "host")
    add_library(${name} STATIC ${M_SOURCES})
  else()
    # On the MCU a library is built when a program links it: a bootloader-only
    # build never compiles the modules that need the application's libraries.
    add_library(${name} STATIC EXCLUDE_FROM_ALL ${M_SOURCES})
  endif()
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

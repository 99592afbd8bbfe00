# Install rules: the library, its public headers, a CMake package (authstoreConfig.cmake with a
# version file) and a pkg-config file, so that either of
#   find_package(authstore 0.1 REQUIRED) + target_link_libraries(app PRIVATE authstore::authstore)
#   c++ -std=c++20 app.cc $(pkg-config --cflags --libs authstore)
# works from an installed prefix. Both are relocatable: the prefix may be moved after install.
# tests/install/ checks both against a fresh `cmake --install`.
include(CMakePackageConfigHelpers)

set(AUTHSTORE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/authstore)

# The public headers use C++20: say so in the exported interface, so a consumer that forgets
# CMAKE_CXX_STANDARD still compiles them in C++20 mode.
target_compile_features(authstore PUBLIC cxx_std_20)

install(TARGETS authstore EXPORT authstoreTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/authstore
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
  FILES_MATCHING PATTERN "*.h")

install(EXPORT authstoreTargets
  NAMESPACE authstore::
  FILE authstoreTargets.cmake
  DESTINATION ${AUTHSTORE_CMAKE_DIR} COMPONENT development)

# A static libauthstore carries its private dependencies into the consumer's link line (as
# $<LINK_ONLY:...>), so the package config must find them again; a shared one needs only Threads.
# The calls are generated from what the library actually links, so a new private dependency is
# either known here or reported at configure time.
get_target_property(_authstore_type authstore TYPE)
set(AUTHSTORE_PACKAGE_STATIC_DEPS "")
if(_authstore_type STREQUAL "STATIC_LIBRARY")
  set(_authstore_known_deps
    "OpenSSL::Crypto=OpenSSL 3.0 COMPONENTS Crypto"
    "OpenSSL::SSL=OpenSSL 3.0 COMPONENTS Crypto SSL"
    "SQLite::SQLite3=SQLite3"
    "nlohmann_json::nlohmann_json=nlohmann_json 3.10"
    "tsl::robin_map=tsl-robin-map"
    "Threads::Threads=Threads")
  get_target_property(_authstore_links authstore LINK_LIBRARIES)
  set(_authstore_calls "")
  foreach(_lib IN LISTS _authstore_links)
    # Only targets need a lookup (imported ones are scoped to the directory that found them, so
    # they are matched by name); build-only entries and plain library names or paths do not.
    if(_lib MATCHES "^(\\$<BUILD_INTERFACE:|::@)" OR NOT (_lib MATCHES "::" OR _lib STREQUAL "authstore_hiredis"))
      continue()
    endif()
    set(_call "")
    foreach(_known IN LISTS _authstore_known_deps)
      string(REPLACE "=" ";" _pair "${_known}")
      list(GET _pair 0 _target)
      list(GET _pair 1 _find)
      if(_lib STREQUAL _target)
        set(_call "find_dependency(${_find})")
      endif()
    endforeach()
    if(_lib STREQUAL "authstore_hiredis")
      # The Redis client's local imported target (src/redis): recreated under the same name.
      set(_call [=[if(NOT TARGET authstore_hiredis)
  find_library(AUTHSTORE_HIREDIS_LIBRARY hiredis)
  if(NOT AUTHSTORE_HIREDIS_LIBRARY)
    set(authstore_FOUND FALSE)
    set(authstore_NOT_FOUND_MESSAGE "static libauthstore needs libhiredis, which was not found")
    return()
  endif()
  add_library(authstore_hiredis UNKNOWN IMPORTED)
  set_target_properties(authstore_hiredis PROPERTIES IMPORTED_LOCATION "${AUTHSTORE_HIREDIS_LIBRARY}")
endif()]=])
    endif()
    if(_call STREQUAL "")
      message(WARNING "static authstore links ${_lib}, which cmake/install.cmake does not know: "
                      "the installed package will not find it; add it to _authstore_known_deps")
    elseif(NOT _call IN_LIST _authstore_calls)
      list(APPEND _authstore_calls "${_call}")
    endif()
  endforeach()
  list(JOIN _authstore_calls "\n" AUTHSTORE_PACKAGE_STATIC_DEPS)
endif()
# Whether the Redis client (and so hiredis and libssl) is part of the library. (Its imported
# target is scoped to src/redis, so the link list is asked, not if(TARGET).)
get_target_property(_authstore_links authstore LINK_LIBRARIES)
if("authstore_hiredis" IN_LIST _authstore_links)
  set(AUTHSTORE_PACKAGE_HIREDIS ON)
else()
  set(AUTHSTORE_PACKAGE_HIREDIS OFF)
endif()

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/authstoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/authstoreConfig.cmake
  INSTALL_DESTINATION ${AUTHSTORE_CMAKE_DIR})
# 0.x: SameMajorVersion lets find_package(authstore 0.1) accept any 0.y >= 0.1.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/authstoreConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/authstoreConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/authstoreConfigVersion.cmake
  DESTINATION ${AUTHSTORE_CMAKE_DIR} COMPONENT development)

# pkg-config. Paths are relative to the .pc file's own directory (${pcfiledir}), so the file is
# right wherever `cmake --install --prefix` puts the tree.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(AUTHSTORE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(AUTHSTORE_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(AUTHSTORE_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _authstore_pc_up /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
  string(REGEX REPLACE "/$" "" _authstore_pc_up "${_authstore_pc_up}")
  set(AUTHSTORE_PC_PREFIX "\${pcfiledir}/${_authstore_pc_up}")
  set(AUTHSTORE_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(AUTHSTORE_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Cflags/Libs of the Requires.private packages are used only for static links (pkg-config
# --static); a shared libauthstore already names them in its DT_NEEDED entries.
set(AUTHSTORE_PC_REQUIRES_PRIVATE "libcrypto sqlite3")
set(AUTHSTORE_PC_LIBS_PRIVATE "")
if(AUTHSTORE_PACKAGE_HIREDIS)
  # Not "Requires.private: hiredis": hiredis.pc puts -I<include>/hiredis on every consumer's
  # --cflags, and that directory's read.h / sds.h shadow other headers.
  string(APPEND AUTHSTORE_PC_REQUIRES_PRIVATE " libssl")
  set(AUTHSTORE_PC_LIBS_PRIVATE "-lhiredis")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/authstore.pc.in ${PROJECT_BINARY_DIR}/cmake/authstore.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/authstore.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)

# The command-line tool, once src/cli defines it.
if(TARGET authstore_cli)
  # Finds the libauthstore installed beside it, wherever the prefix is.
  set_target_properties(authstore_cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
  install(TARGETS authstore_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

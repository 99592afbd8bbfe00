# ctest driver (cmake -P): install the build tree into WORK_DIR/prefix, then build and run
# consumer/ against it with find_package and with pkg-config. Prints "install test: OK".
# Inputs (-D): BUILD_DIR WORK_DIR CONSUMER_DIR LIBDIR GENERATOR MAKE_PROGRAM CXX_COMPILER
#              BUILD_TYPE EXTRA_FLAGS EXTRA_LDFLAGS PKG_CONFIG_STATIC SOVERSION EXPECT_RPATH
cmake_minimum_required(VERSION 3.25)

function(run)
  cmake_parse_arguments(R "" "WHAT;OUTPUT_VARIABLE" "COMMAND" ${ARGN})
  execute_process(COMMAND ${R_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${R_COMMAND}")
    message(FATAL_ERROR "install test: ${R_WHAT} failed (${rc})\n$ ${cmd}\n${out}\n${err}")
  endif()
  if(R_OUTPUT_VARIABLE)
    set(${R_OUTPUT_VARIABLE} "${out}" PARENT_SCOPE)
  endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

set(config_args "")
if(BUILD_TYPE)
  set(config_args --config ${BUILD_TYPE})
endif()
run(WHAT "cmake --install"
    COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})

foreach(f include/authstore/authstore.h ${LIBDIR}/cmake/authstore/authstoreConfig.cmake
          ${LIBDIR}/cmake/authstore/authstoreConfigVersion.cmake
          ${LIBDIR}/cmake/authstore/authstoreTargets.cmake ${LIBDIR}/pkgconfig/authstore.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install test: ${f} was not installed")
  endif()
endforeach()
# Private headers stay private.
file(GLOB_RECURSE leaked ${prefix}/include/*crypto.h ${prefix}/include/*/core/*)
if(leaked)
  message(FATAL_ERROR "install test: internal headers installed: ${leaked}")
endif()

# The license (Debian and vcpkg look for it there).
if(NOT EXISTS ${prefix}/share/doc/authstore/LICENSE)
  message(FATAL_ERROR "install test: share/doc/authstore/LICENSE was not installed")
endif()

# No RPATH or RUNPATH in any installed binary (Debian policy; AUTHSTORE_INSTALL_RPATH is off):
# they find libauthstore in the standard library directories. The library's soname follows the
# SOVERSION policy of docs/packaging.md (0.y: libauthstore.so.0.y).
if(NOT EXPECT_RPATH)
  find_program(READELF readelf REQUIRED)
  file(GLOB_RECURSE installed LIST_DIRECTORIES false ${prefix}/*)
  set(checked 0)
  foreach(f IN LISTS installed)
    if(IS_SYMLINK ${f})
      continue()
    endif()
    file(READ ${f} magic LIMIT 4 HEX)
    if(NOT magic STREQUAL "7f454c46")  # ELF
      continue()
    endif()
    run(WHAT "readelf -d ${f}" COMMAND ${READELF} -d ${f} OUTPUT_VARIABLE dyn)
    if(dyn MATCHES "\\((RPATH|RUNPATH)\\)[^\n]*")
      message(FATAL_ERROR "install test: ${f} has ${CMAKE_MATCH_0}")
    endif()
    if(f MATCHES "/libauthstore\\.so" AND NOT dyn MATCHES "\\(SONAME\\) *Library soname: \\[libauthstore\\.so\\.${SOVERSION}\\]")
      message(FATAL_ERROR "install test: ${f}: soname is not libauthstore.so.${SOVERSION}:\n${dyn}")
    endif()
    math(EXPR checked "${checked} + 1")
  endforeach()
  if(checked EQUAL 0)
    message(FATAL_ERROR "install test: no installed ELF file found to check")
  endif()
  message(STATUS "no RPATH/RUNPATH in ${checked} installed ELF files")
endif()
# What ld.so finds by itself in a standard prefix, this test names with LD_LIBRARY_PATH.
set(run_env ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR})

# The command-line tool, when built, runs from the prefix.
if(EXISTS ${prefix}/bin/authstore)
  run(WHAT "installed authstore --help" COMMAND ${run_env} ${prefix}/bin/authstore --help)
endif()

# 1. CMake package.
set(cmake_build ${WORK_DIR}/cmake-build)
set(gen_args -G ${GENERATOR})
if(MAKE_PROGRAM)
  list(APPEND gen_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
run(WHAT "consumer configure"
    COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${cmake_build} ${gen_args}
            -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
            -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
            -DCMAKE_PREFIX_PATH=${prefix}
            -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
            -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
            "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}"
            "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_LDFLAGS}")
# It must have found the package just installed, not one elsewhere on the machine.
file(STRINGS ${cmake_build}/CMakeCache.txt found_dir REGEX "^authstore_DIR:")
string(FIND "${found_dir}" "${prefix}/" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "install test: find_package used another authstore: ${found_dir}")
endif()
run(WHAT "consumer build" COMMAND ${CMAKE_COMMAND} --build ${cmake_build} ${config_args})
find_program(consumer_exe consumer PATHS ${cmake_build} ${cmake_build}/${BUILD_TYPE} NO_DEFAULT_PATH)
if(NOT consumer_exe)
  message(FATAL_ERROR "install test: consumer executable not found in ${cmake_build}")
endif()
run(WHAT "consumer (find_package) run" COMMAND ${consumer_exe} OUTPUT_VARIABLE out)
if(NOT out MATCHES "OK")
  message(FATAL_ERROR "install test: consumer (find_package) printed: ${out}")
endif()
message(STATUS "find_package consumer: OK")

# 2. pkg-config.
find_program(PKG_CONFIG NAMES pkg-config pkgconf)
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "install test: pkg-config not found (apt-get install pkg-config)")
endif()
set(pc_env ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/${LIBDIR}/pkgconfig)
set(pc_args --cflags --libs authstore)
if(PKG_CONFIG_STATIC)
  list(PREPEND pc_args --static)
endif()
run(WHAT "pkg-config" COMMAND ${pc_env} ${PKG_CONFIG} ${pc_args} OUTPUT_VARIABLE pc)
string(STRIP "${pc}" pc)
message(STATUS "pkg-config ${pc_args}: ${pc}")
separate_arguments(pc_flags UNIX_COMMAND "${pc}")
# The .pc file is relocatable (paths relative to ${pcfiledir}): they must resolve into the prefix.
set(pc_include "")
set(pc_libdir "")
foreach(flag IN LISTS pc_flags)
  if(flag MATCHES "^-I(.+)")
    file(REAL_PATH "${CMAKE_MATCH_1}" pc_include)
  elseif(flag MATCHES "^-L(.+)")
    file(REAL_PATH "${CMAKE_MATCH_1}" pc_libdir)
  endif()
endforeach()
file(REAL_PATH "${prefix}" real_prefix)
if(NOT pc_include STREQUAL "${real_prefix}/include" OR NOT pc_libdir STREQUAL "${real_prefix}/${LIBDIR}"
   OR NOT "-lauthstore" IN_LIST pc_flags)
  message(FATAL_ERROR "install test: pkg-config flags do not point into ${prefix}: ${pc}")
endif()
separate_arguments(extra UNIX_COMMAND "${EXTRA_FLAGS} ${EXTRA_LDFLAGS}")
set(pc_exe ${WORK_DIR}/consumer_pkgconfig)
run(WHAT "pkg-config consumer build"
    COMMAND ${CXX_COMPILER} -std=c++20 ${extra} ${CONSUMER_DIR}/main.cc -o ${pc_exe} ${pc_flags})
run(WHAT "consumer (pkg-config) run"
    COMMAND ${run_env} ${pc_exe} OUTPUT_VARIABLE out)
if(NOT out MATCHES "OK")
  message(FATAL_ERROR "install test: consumer (pkg-config) printed: ${out}")
endif()
message(STATUS "pkg-config consumer: OK")
message("install test: OK")

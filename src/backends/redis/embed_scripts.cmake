# Writes OUT: one C++ std::string_view per Lua script, its source being a shebang line, then
# common.lua, then the listed helper files, then the script itself (see CMakeLists.txt). Run with
# cmake -P.
#   -DSCRIPT_DIR=dir -DOUT=file.cc -DSPECS="name:helper+helper;name2;..."
#   -DNO_WRITES="name;..." -DALLOW_OOM="name;..."
# The shebang makes Redis (>= 7.0) decide on memory BEFORE a script runs: without it Redis checks
# maxmemory only at a script's first write command, and a first command that cannot grow memory
# (DEL, ZREMRANGEBYSCORE) let a script fill a full server anyway. So every script gets one:
#   #!lua                    adds state: refused with -OOM when used_memory > maxmemory
#   #!lua flags=no-writes    reads only: runs on a full server, and cannot write
#   #!lua flags=allow-oom    consumes, revokes or deletes: runs on a full server (refusing a
#                            revocation there would keep a token alive)
cmake_policy(SET CMP0057 NEW)  # if(IN_LIST)
set(body "// Generated from src/backends/redis/scripts/*.lua by embed_scripts.cmake. Do not edit.\n")
string(APPEND body "#include \"backends/redis/scripts.h\"\n\nnamespace authstore::internal::lua {\n")
file(READ ${SCRIPT_DIR}/common.lua common)
foreach(spec IN LISTS SPECS)
  string(REPLACE ":" ";" parts "${spec}")
  list(GET parts 0 name)
  if(name IN_LIST NO_WRITES)
    set(text "#!lua flags=no-writes\n")
  elseif(name IN_LIST ALLOW_OOM)
    set(text "#!lua flags=allow-oom\n")
  else()
    set(text "#!lua\n")
  endif()
  string(APPEND text "${common}")
  list(LENGTH parts n)
  if(n GREATER 1)
    list(GET parts 1 helpers)
    string(REPLACE "+" ";" helpers "${helpers}")
    foreach(h IN LISTS helpers)
      file(READ ${SCRIPT_DIR}/${h}.lua htext)
      string(APPEND text "${htext}")
    endforeach()
  endif()
  file(READ ${SCRIPT_DIR}/${name}.lua stext)
  string(APPEND text "${stext}")
  string(APPEND body "extern const std::string_view ${name};\nconst std::string_view ${name} = R\"authstore_lua(${text})authstore_lua\";\n")
endforeach()
string(APPEND body "\n}  // namespace authstore::internal::lua\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)

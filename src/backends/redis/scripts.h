// The Redis backend's Lua scripts, embedded at build time from scripts/*.lua (each one's source is
// common.lua + its helper files + the script; see CMakeLists.txt and docs/redis.md).
#pragma once

#include <string_view>

namespace authstore::internal::lua {

extern const std::string_view code_insert;
extern const std::string_view code_consume;
extern const std::string_view replay_reserve;
extern const std::string_view replay_release;
extern const std::string_view token_put;
extern const std::string_view token_take;
extern const std::string_view token_list;
extern const std::string_view token_migrate;
extern const std::string_view session_upsert;
extern const std::string_view session_remove;
extern const std::string_view session_get_all;
extern const std::string_view session_remove_all;
extern const std::string_view refresh_issue;
extern const std::string_view refresh_rotate;
extern const std::string_view refresh_peek;
extern const std::string_view refresh_revoke;
extern const std::string_view refresh_list;
extern const std::string_view refresh_revoke_subject;
extern const std::string_view refresh_revoke_client;
extern const std::string_view refresh_revoke_grant;
extern const std::string_view refresh_grant_live;
extern const std::string_view jti_store;
extern const std::string_view jti_consume;
extern const std::string_view payload_put;
extern const std::string_view payload_consume;
extern const std::string_view payload_revoke_grant;

}  // namespace authstore::internal::lua

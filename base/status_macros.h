// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status, which Debian's
// Abseil (20220623) does not ship.
#ifndef CHAOS_BASE_STATUS_MACROS_H_
#define CHAOS_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CHAOS_CONCAT_INNER_(a, b) a##b
#define CHAOS_CONCAT_(a, b) CHAOS_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function unless it is OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status chaos_status_ = (expr);             \
    if (!chaos_status_.ok()) return chaos_status_;     \
  } while (0)

// `lhs = value of expr`, or returns its error status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(CHAOS_CONCAT_(chaos_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#endif  // CHAOS_BASE_STATUS_MACROS_H_

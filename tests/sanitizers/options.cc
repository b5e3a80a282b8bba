// The sanitizers' default options for every test binary of a CHAOS_SANITIZE
// build (tests/CMakeLists.txt adds this file to each one), so a test run by
// hand finds the same settings as under ctest. ASAN_OPTIONS, LSAN_OPTIONS
// and UBSAN_OPTIONS in the environment still override them.
//
// LeakSanitizer reads its suppressions from lsan.supp beside this file:
// third-party libraries only, each with the reason.

extern "C" {

// Called by the ASan runtime before main.
const char* __asan_default_options() { return "detect_leaks=1:abort_on_error=0"; }

const char* __lsan_default_options() {
  return "suppressions=" CHAOS_SOURCE_DIR "/tests/sanitizers/lsan.supp:print_suppressions=0";
}

const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }

}  // extern "C"

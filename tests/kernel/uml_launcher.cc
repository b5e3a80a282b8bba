// uml_launcher: runs linux.uml with its extended-FPU-state ptrace calls
// refused, so that it saves and restores FP registers in the classic
// 512-byte FXSAVE format.
//
// Why: user-mode Linux 6.1 (Debian bookworm) sizes its XSAVE buffer for
// the FPU state of older CPUs. On hosts with AVX-512 or AMX the host kernel
// rejects that buffer (PTRACE_SETREGSET returns EFAULT unless it is the
// full XSAVE size), and the guest dies at its first context switch with
// "ptrace set fp regs failed, errno = 14". When its start-up probe of
// PTRACE_GETREGSET(NT_X86_XSTATE) fails, UML falls back to
// PTRACE_GETFPREGS/SETFPREGS, which every x86-64 host supports. A seccomp
// filter makes exactly that request fail with EIO; every other system call
// is allowed.
//
// usage: uml_launcher /usr/bin/linux.uml ARGS...
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>

namespace {

constexpr unsigned kNtX86Xstate = 0x202;  // NT_X86_XSTATE, from elf.h

bool RefuseXstatePtrace() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PTRACE_GETREGSET, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[2])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNtX86Xstate, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program = {static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s /usr/bin/linux.uml ARGS...\n", argv[0]);
    return 2;
  }
  if (!RefuseXstatePtrace()) {
    std::perror("uml_launcher: seccomp");
    return 125;
  }
  execv(argv[1], argv + 1);
  std::perror("uml_launcher: exec");
  return 126;
}

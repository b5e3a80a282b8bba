# The Debian packages, built by CPack from this build tree (`make package`,
# or `cpack` in the build directory): chaos-agent, and chaos-controller
# with chaosctl. The default build type, RelWithDebInfo, is optimized as
# Release (-O2 -DNDEBUG) and keeps -g, which CPack moves into the
# -dbgsym packages (.ddeb) while it strips the binaries: the tree make test
# built is the one packaged, with no second build. docs/OPERATIONS.md.
set(unit_dir lib/systemd/system)
install(TARGETS chaos-agent RUNTIME DESTINATION bin COMPONENT agent)
install(TARGETS chaos-controller chaosctl RUNTIME DESTINATION bin COMPONENT controller)
install(FILES chaos-agent.service DESTINATION ${unit_dir} COMPONENT agent)
install(FILES chaos-controller.service DESTINATION ${unit_dir} COMPONENT controller)
install(FILES etc/agent.conf etc/agent-policy.yaml DESTINATION /etc/chaos COMPONENT agent)
install(FILES etc/controller.conf etc/command-policy.yaml DESTINATION /etc/chaos
  COMPONENT controller)
# The shipped settings again, to restore a deleted conffile from.
install(FILES etc/agent.conf etc/agent-policy.yaml
  DESTINATION share/doc/chaos-agent/examples COMPONENT agent)
install(FILES etc/controller.conf etc/command-policy.yaml
  DESTINATION share/doc/chaos-controller/examples COMPONENT controller)
install(FILES completion/chaosctl.bash DESTINATION share/bash-completion/completions
  RENAME chaosctl COMPONENT controller)
install(FILES completion/_chaosctl DESTINATION share/zsh/vendor-completions
  COMPONENT controller)
install(FILES ${PROJECT_BINARY_DIR}/man/chaos-agent.1.gz DESTINATION share/man/man1
  COMPONENT agent)
install(FILES ${PROJECT_BINARY_DIR}/man/chaos-controller.1.gz
  ${PROJECT_BINARY_DIR}/man/chaosctl.1.gz DESTINATION share/man/man1 COMPONENT controller)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_NAME chaos)
set(CPACK_PACKAGE_VENDOR chaos)
set(CPACK_PACKAGE_CONTACT "chaos maintainers <chaos@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_COMPONENTS_ALL agent controller)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME chaos-agent)
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_NAME chaos-controller)
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_DEPENDS passwd)
set(CPACK_COMPONENT_AGENT_DESCRIPTION
  "chaos fault-injection agent\n The per-host agent of chaos: injects and reverts faults (process kill\n and pause, CPU burn, disk fill, memory pressure, netem, partitions,\n data loss) over gRPC, with a write-ahead ledger and a policy file.")
set(CPACK_COMPONENT_CONTROLLER_DESCRIPTION
  "chaos controller and chaosctl\n The central service of chaos (agent registry, schedules, the history\n of runs) and chaosctl, the command line that runs experiments.")
# Maintainer scripts and conffiles, per package (deploy/debian/PACKAGE/).
foreach(component agent controller)
  string(TOUPPER ${component} upper)
  set(dir ${CMAKE_CURRENT_SOURCE_DIR}/debian/chaos-${component})
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_EXTRA
    ${dir}/conffiles ${dir}/postinst ${dir}/prerm ${dir}/postrm)
endforeach()
include(CPack)

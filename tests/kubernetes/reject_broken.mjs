// Shows that check_manifests.mjs can fail: copies the manifests, breaks
// the copy one way at a time and expects check_manifests.mjs to exit 1 with
// the expected problem; the unbroken copy must pass first.
//
//   node reject_broken.mjs ARGS...   (the arguments of check_manifests.mjs)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const checker = path.join(here, "check_manifests.mjs");
const args = process.argv.slice(2);
const source = args[args.indexOf("--manifests") + 1];
if (args.indexOf("--manifests") < 0 || !source) {
  console.error("reject_broken: --manifests DIR is required");
  process.exit(2);
}

const kAgent = "agent-daemonset.yaml";
const kController = "controller.yaml";
const kContainer = "/spec/template/spec/containers/0";

// Each case: which file, the text to replace (exactly once), its
// replacement, and the problem line expected.
const cases = [
  { name: "unknown field", file: kAgent,
    from: "imagePullPolicy: IfNotPresent", to: "imagePullPolicyy: IfNotPresent",
    want: `DaemonSet/chaos-agent: ${kContainer}/imagePullPolicyy: unknown field` },
  { name: "wrong type", file: kAgent,
    from: "containerPort: 7070", to: 'containerPort: "7070"',
    want: `DaemonSet/chaos-agent: ${kContainer}/ports/0/containerPort: must be integer` },
  { name: "missing required field", file: kAgent,
    from: "- name: chaos-agent\n          image:", to: "- image:",
    want: `DaemonSet/chaos-agent: ${kContainer}: must have required property` },
  { name: "undocumented capability", file: kAgent,
    from: "- SYS_ADMIN\n", to: "- SYS_ADMIN\n                - SYS_PTRACE\n",
    want: `${kContainer}/securityContext/capabilities/add: [KILL, NET_ADMIN, IPC_LOCK, SYS_ADMIN, SYS_PTRACE] is not the documented list` },
  { name: "agent without the node's PIDs", file: kAgent,
    from: "hostPID: true", to: "hostPID: false",
    want: "DaemonSet/chaos-agent: /spec/template/spec/hostPID: must be true" },
  { name: "controller as root", file: kController,
    from: "runAsUser: 65532", to: "runAsUser: 0",
    want: `Deployment/chaos-controller: ${kContainer}/securityContext: must run as a non-root user` },
  { name: "controller with a capability", file: kController,
    from: "drop: [ALL]", to: "drop: [ALL]\n              add: [NET_RAW]",
    want: `Deployment/chaos-controller: ${kContainer}/securityContext/capabilities/add: must be empty` },
  { name: "a flag the agent does not have", file: kAgent,
    from: "--state-dir=", to: "--state-directory=",
    want: `DaemonSet/chaos-agent: ${kContainer}/args: --state-directory is not a flag of chaos-agent` },
  { name: "a policy file the ConfigMap lacks", file: kAgent,
    from: "--policy=/etc/chaos/policy/policy.yaml", to: "--policy=/etc/chaos/policy/agent.yaml",
    want: "ConfigMap chaos-agent-policy has no key agent.yaml" },
  { name: "an agent policy the agent refuses", file: kAgent,
    from: "maxFillPercent: 90", to: "maxFillPercents: 90",
    want: "ConfigMap chaos-agent-policy key policy.yaml: chaos-agent refuses it" },
  { name: "a command policy the controller refuses", file: kController,
    from: "commands: []", to: "commands: [{args: [x]}]",
    want: "ConfigMap chaos-controller-command-policy key command-policy.yaml: chaos-controller refuses it" },
];

function runChecker(dir) {
  const argv = [...args];
  argv[argv.indexOf("--manifests") + 1] = dir;
  const r = spawnSync(process.execPath, [checker, ...argv], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-k8s-"));
let passed = 0;
let failed = 0;
function report(ok, name, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `\n${detail}`}`);
}
try {
  const copy = (dir) => {
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(source)) {
      if (f.endsWith(".yaml")) fs.copyFileSync(path.join(source, f), path.join(dir, f));
    }
  };
  const base = path.join(tmp, "unbroken");
  copy(base);
  const r = runChecker(base);
  report(r.status === 0, "the unbroken copy passes", r.output);
  cases.forEach((c, i) => {
    const dir = path.join(tmp, `case-${i}`);
    copy(dir);
    const file = path.join(dir, c.file);
    const text = fs.readFileSync(file, "utf8");
    if (text.split(c.from).length !== 2) {
      report(false, c.name, `  ${c.file} does not hold ${JSON.stringify(c.from)} exactly once`);
      return;
    }
    fs.writeFileSync(file, text.replace(c.from, c.to));
    const out = runChecker(dir);
    const ok = out.status === 1 && out.output.split("\n").some((l) => l.includes(c.want));
    report(ok, `${c.name} is rejected`,
           `  want exit 1 and a line with: ${c.want}\n  got exit ${out.status}:\n${out.output}`);
  });
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

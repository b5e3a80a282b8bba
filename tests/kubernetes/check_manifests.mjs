// Checks the Kubernetes manifests in a directory without a cluster.
//
//   node check_manifests.mjs --manifests DIR --docs FILE
//        --binary chaos-agent=PATH --binary chaos-controller=PATH
//
// 1. The schema. Every YAML document of every *.yaml file is validated
//    against the Kubernetes API's schema as npm's kubernetes-models
//    compiles it (types, required fields, enums, formats). That schema, like
//    the API server's, lets unknown fields pass, while kubectl's strict
//    field validation refuses them: so every field the schema's validator
//    never looked at is reported as unknown too.
// 2. What the schema cannot say: the agent's DaemonSet shares the node's
//    PID and network namespaces, drops every capability and adds exactly
//    those the capability table of FILE documents, and is not privileged;
//    the controller runs as a non-root user with no capability; each
//    container's --flags are flags its binary's --help lists; each file a
//    flag names lies in a mounted volume, and one from a ConfigMap is a key
//    of it that the binary loads (the agent's --policy, the controller's
//    --command-policy); each Service reaches a named port of pods it
//    selects.
//
// Exit code 0 when all hold, 1 with one line per problem otherwise, each
// naming the file, the object (Kind/name) and the path in it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { parseAllDocuments } from "yaml";

function parseArgs(argv) {
  const opts = { manifests: null, docs: null, binaries: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag}: needs a value`);
    i++;
    if (flag === "--manifests") opts.manifests = value;
    else if (flag === "--docs") opts.docs = value;
    else if (flag === "--binary" && value.includes("=")) {
      const at = value.indexOf("=");
      opts.binaries.set(value.slice(0, at), value.slice(at + 1));
    } else throw new Error(`unknown argument ${flag} ${value}`);
  }
  if (!opts.manifests || !opts.docs) throw new Error("--manifests DIR and --docs FILE are required");
  return opts;
}

// Every document of every *.yaml file under `dir`, in name order.
export function loadManifests(dir) {
  const objects = [];
  const problems = [];
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
  for (const name of files) {
    const file = path.join(dir, name);
    for (const doc of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
      if (doc.errors.length > 0) {
        for (const e of doc.errors) problems.push(`${file}: YAML: ${e.message.split("\n")[0]}`);
        continue;
      }
      const object = doc.toJS();
      if (object == null) continue;  // an empty document
      objects.push({ file, object });
    }
  }
  if (objects.length === 0 && problems.length === 0) problems.push(`${dir}: no YAML documents`);
  return { objects, problems };
}

function describe({ object }) {
  const kind = object && object.kind ? object.kind : "?";
  const name = object && object.metadata && object.metadata.name ? object.metadata.name : "?";
  return `${kind}/${name}`;
}

// The object wrapped so that every property the validator reads (or lists,
// for maps) is recorded per object, keyed by the original object.
function tracked(value, nodes) {
  if (value === null || typeof value !== "object") return value;
  let node = nodes.get(value);
  if (!node) {
    node = { read: new Set(), listed: false };
    nodes.set(value, node);
  }
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") node.read.add(key);
      return tracked(Reflect.get(target, key, receiver), nodes);
    },
    has(target, key) {
      if (typeof key === "string") node.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      node.listed = true;
      return Reflect.ownKeys(target);
    },
  });
}

// JSON-pointer paths of fields the validator never looked at.
function unknownFields(value, at, nodes, out) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, `${at}/${i}`, nodes, out));
    return;
  }
  if (value === null || typeof value !== "object") return;
  const node = nodes.get(value) || { read: new Set(), listed: false };
  for (const key of Object.keys(value)) {
    if (node.listed || node.read.has(key)) unknownFields(value[key], `${at}/${key}`, nodes, out);
    else out.push(`${at}/${key}`);
  }
}

async function modelFor(object) {
  if (!object || typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
    return { error: "no apiVersion and kind" };
  }
  let group;
  try {
    group = await import(`kubernetes-models/${object.apiVersion}`);
  } catch {
    return { error: `no schema for apiVersion ${object.apiVersion}` };
  }
  const model = group[object.kind];
  if (typeof model !== "function" || typeof model.prototype.validate !== "function") {
    return { error: `no schema for ${object.apiVersion} ${object.kind}` };
  }
  return { model };
}

// Problems of one object against the API's schema, unknown fields included.
export async function schemaProblems(entry) {
  const where = `${entry.file}: ${describe(entry)}`;
  const { model, error } = await modelFor(entry.object);
  if (error) return [`${where}: ${error}`];
  const nodes = new Map();
  const problems = [];
  try {
    model.prototype.validate.call(tracked(entry.object, nodes));
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    for (const err of e.errors) {
      problems.push(`${where}: ${err.instancePath || "/"}: ${err.message}`);
    }
  }
  if (nodes.size === 0) throw new Error("the schema's validator read nothing: cannot find unknown fields");
  const unknown = [];
  unknownFields(entry.object, "", nodes, unknown);
  for (const p of unknown) problems.push(`${where}: ${p}: unknown field (not in the API's schema)`);
  return problems;
}

// The capabilities the docs' table lists: rows "| `NAME` | why |" under a
// heading that contains "Capabilities".
export function documentedCapabilities(docsFile) {
  const caps = [];
  let inTable = false;
  for (const line of fs.readFileSync(docsFile, "utf8").split("\n")) {
    if (/^#+ /.test(line)) inTable = /Capabilities/.test(line);
    const m = inTable && /^\| `([A-Z_]+)` \|/.exec(line);
    if (m) caps.push(m[1]);
  }
  return caps;
}

function helpFlags(binary) {
  const help = execFileSync(binary, ["--help"], { encoding: "utf8" });
  return new Set([...help.matchAll(/(?:^|[\s,])(--[a-z0-9][a-z0-9-]*)/gm)].map((m) => m[1]));
}

function podSpecOf(object) {
  if (!object || !object.spec) return null;
  if (object.kind === "Pod") return object.spec;
  return object.spec.template && object.spec.template.spec ? object.spec.template.spec : null;
}

function sameSet(a, b) {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

// The agent's DaemonSet: host namespaces and exactly the documented
// capabilities.
function agentProblems(where, spec, documented) {
  const problems = [];
  if (spec.hostPID !== true) problems.push(`${where}: /spec/template/spec/hostPID: must be true`);
  if (spec.hostNetwork !== true) problems.push(`${where}: /spec/template/spec/hostNetwork: must be true`);
  if (!(spec.tolerations || []).some((t) => t.operator === "Exists" && !t.key && !t.effect)) {
    problems.push(`${where}: /spec/template/spec/tolerations: needs {operator: Exists} to run on every node`);
  }
  spec.containers.forEach((c, i) => {
    const at = `${where}: /spec/template/spec/containers/${i}/securityContext`;
    const sc = c.securityContext || {};
    const caps = sc.capabilities || {};
    if (sc.privileged === true) problems.push(`${at}/privileged: must not be true`);
    if (!sameSet(caps.drop || [], ["ALL"])) problems.push(`${at}/capabilities/drop: must be [ALL]`);
    if (!sameSet(caps.add || [], documented)) {
      problems.push(`${at}/capabilities/add: [${(caps.add || []).join(", ")}] is not the documented ` +
                    `list [${documented.join(", ")}]`);
    }
    if (!c.livenessProbe || !c.readinessProbe) {
      problems.push(`${where}: /spec/template/spec/containers/${i}: needs a liveness and a readiness probe`);
    }
  });
  return problems;
}

// The controller's Deployment: non-root, no capability, one replica.
function controllerProblems(where, object, spec) {
  const problems = [];
  if (object.spec.replicas !== 1) problems.push(`${where}: /spec/replicas: must be 1 (one SQLite writer)`);
  const pod = spec.securityContext || {};
  spec.containers.forEach((c, i) => {
    const at = `${where}: /spec/template/spec/containers/${i}/securityContext`;
    const sc = c.securityContext || {};
    const caps = sc.capabilities || {};
    const nonRoot = (sc.runAsNonRoot ?? pod.runAsNonRoot) === true;
    const user = sc.runAsUser ?? pod.runAsUser;
    if (!nonRoot || user === undefined || user === 0) {
      problems.push(`${at}: must run as a non-root user (runAsNonRoot: true, runAsUser not 0)`);
    }
    if (sc.privileged === true) problems.push(`${at}/privileged: must not be true`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}/allowPrivilegeEscalation: must be false`);
    if (!sameSet(caps.drop || [], ["ALL"])) problems.push(`${at}/capabilities/drop: must be [ALL]`);
    if ((caps.add || []).length > 0) problems.push(`${at}/capabilities/add: must be empty`);
  });
  return problems;
}

// "--flag=value" or "--flag value" pairs of a container's command and args.
function flagsOf(container) {
  const argv = [...(container.command || []).slice(1), ...(container.args || [])];
  const out = [];
  argv.forEach((arg, i) => {
    if (!arg.startsWith("--")) return;
    const eq = arg.indexOf("=");
    if (eq >= 0) out.push({ flag: arg.slice(0, eq), value: arg.slice(eq + 1), index: i });
    else out.push({ flag: arg, value: argv[i + 1], index: i });
  });
  return out;
}

const kFileFlags = new Set(["--policy", "--command-policy", "--tls-cert", "--tls-key", "--tls-ca",
                            "--authz", "--state-dir"]);

// Flags the binary accepts, and files that lie in mounted volumes.
function containerProblems(where, spec, i, configMaps, flagCache, binaries) {
  const c = spec.containers[i];
  const at = `${where}: /spec/template/spec/containers/${i}`;
  const problems = [];
  const program = path.basename((c.command || [])[0] || "");
  const binary = binaries.get(program);
  if (!binary) return [`${at}/command/0: "${program}" is not a binary of ours (--binary NAME=PATH)`];
  if (!flagCache.has(binary)) {
    try {
      flagCache.set(binary, helpFlags(binary));
    } catch (e) {
      return [`${at}: cannot run ${binary} --help: ${e.message.split("\n")[0]}`];
    }
  }
  const known = flagCache.get(binary);
  const volumes = new Map((spec.volumes || []).map((v) => [v.name, v]));
  for (const { flag, value, index } of flagsOf(c)) {
    if (!known.has(flag)) {
      problems.push(`${at}/args: ${flag} is not a flag of ${program} (its --help)`);
      continue;
    }
    if (!kFileFlags.has(flag) || typeof value !== "string" || !value.startsWith("/")) continue;
    const mount = (c.volumeMounts || []).find(
        (m) => value === m.mountPath || value.startsWith(m.mountPath.replace(/\/?$/, "/")));
    if (!mount) {
      problems.push(`${at}/args/${index}: ${flag} ${value} is in no volume mount`);
      continue;
    }
    const volume = volumes.get(mount.name);
    if (!volume) {
      problems.push(`${at}/volumeMounts: ${mount.name} is no volume of the pod`);
      continue;
    }
    if (volume.configMap && value !== mount.mountPath) {
      const key = value.slice(mount.mountPath.replace(/\/?$/, "/").length);
      const data = configMaps.get(volume.configMap.name);
      if (!data) problems.push(`${at}/args/${index}: ConfigMap ${volume.configMap.name} is in no manifest`);
      else if (!(key in data)) {
        problems.push(`${at}/args/${index}: ${flag} ${value}: ConfigMap ${volume.configMap.name} has no key ${key}`);
      } else {
        const refusal = policyRefusal(program, binary, flag, data[key]);
        if (refusal) {
          problems.push(`${at}/args/${index}: ${flag}: ConfigMap ${volume.configMap.name} key ${key}: ` +
                        `${program} refuses it: ${refusal}`);
        }
      }
    }
  }
  return problems;
}

// What the binary says of a policy file from a ConfigMap: null when it
// loads. Nothing is served and nothing on the host is touched: the agent
// loads --policy before its TLS flags, so a lone --tls-cert stops it right
// after the policy loaded; the controller loads --command-policy and is
// stopped (SIGTERM) on loopback, its history in a scratch directory.
function policyRefusal(program, binary, flag, text) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-k8s-policy-"));
  try {
    const file = path.join(tmp, "policy.yaml");
    fs.writeFileSync(file, text);
    let argv;
    let loaded;
    if (program === "chaos-agent" && flag === "--policy") {
      argv = ["--policy", file, "--tls-cert", path.join(tmp, "none.crt")];
      loaded = (out) => out.includes("--tls-cert, --tls-key and --tls-ca go together");
    } else if (program === "chaos-controller" && flag === "--command-policy") {
      argv = ["--command-policy", file, "--listen", "127.0.0.1:0", "--state-dir", tmp];
      loaded = (out) => out.includes(`command policy ${file}:`);
    } else {
      return null;
    }
    const r = spawnSync(binary, argv, { encoding: "utf8", timeout: 2000, killSignal: "SIGTERM" });
    const out = `${r.stdout}${r.stderr}`;
    if (loaded(out)) return null;
    return out.split("\n").find((l) => l.trim() !== "") || `exit ${r.status}, no output`;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function serviceProblems(where, service, workloads) {
  const selector = (service.spec && service.spec.selector) || {};
  const matches = (labels) =>
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels && labels[k] === v);
  const pods = workloads.filter((w) => w.object.metadata.namespace === service.metadata.namespace &&
                                       matches(w.object.spec.template.metadata.labels));
  if (pods.length === 0) return [`${where}: /spec/selector: selects no pods of these manifests`];
  const problems = [];
  const portNames = new Set(pods.flatMap((w) => podSpecOf(w.object).containers)
                                .flatMap((c) => (c.ports || []).map((p) => p.name)));
  (service.spec.ports || []).forEach((p, i) => {
    if (typeof p.targetPort === "string" && !portNames.has(p.targetPort)) {
      problems.push(`${where}: /spec/ports/${i}/targetPort: no container port named ${p.targetPort}`);
    }
  });
  return problems;
}

// Problems the schema cannot see, across all objects.
export function policyProblems(objects, documented, binaries) {
  const problems = [];
  const configMaps = new Map();
  for (const { object } of objects) {
    if (object.kind === "ConfigMap") configMaps.set(object.metadata.name, object.data || {});
  }
  const workloads = objects.filter((e) => podSpecOf(e.object) && e.object.spec.template);
  const namespaces = new Set(objects.filter((e) => e.object.kind === "Namespace")
                                    .map((e) => e.object.metadata.name));
  const flagCache = new Map();
  let agents = 0;
  let controllers = 0;
  for (const entry of objects) {
    const { object } = entry;
    const where = `${entry.file}: ${describe(entry)}`;
    if (object.kind !== "Namespace" && !namespaces.has(object.metadata.namespace)) {
      problems.push(`${where}: /metadata/namespace: "${object.metadata.namespace}" is no Namespace of these manifests`);
    }
    if (object.kind === "Service") problems.push(...serviceProblems(where, object, workloads));
    const spec = podSpecOf(object);
    if (!spec) continue;
    spec.containers.forEach((_, i) => {
      problems.push(...containerProblems(where, spec, i, configMaps, flagCache, binaries));
    });
    const programs = spec.containers.map((c) => path.basename((c.command || [])[0] || ""));
    if (programs.includes("chaos-agent")) {
      agents++;
      if (object.kind !== "DaemonSet") problems.push(`${where}: the agent must run as a DaemonSet`);
      problems.push(...agentProblems(where, spec, documented));
    }
    if (programs.includes("chaos-controller")) {
      controllers++;
      problems.push(...controllerProblems(where, object, spec));
    }
  }
  if (agents !== 1) problems.push(`${agents} workloads run chaos-agent; want one DaemonSet`);
  if (controllers !== 1) problems.push(`${controllers} workloads run chaos-controller; want one`);
  return problems;
}

export async function checkAll(opts) {
  const { objects, problems } = loadManifests(opts.manifests);
  for (const entry of objects) problems.push(...(await schemaProblems(entry)));
  const documented = documentedCapabilities(opts.docs);
  if (documented.length === 0) problems.push(`${opts.docs}: no capability table (| \`NAME\` | ... |)`);
  if (problems.length === 0) problems.push(...policyProblems(objects, documented, opts.binaries));
  return { objects, problems };
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`check_manifests: ${e.message}`);
    process.exit(2);
  }
  const { objects, problems } = await checkAll(opts);
  for (const p of problems) console.log(p);
  console.log(`${objects.length} objects in ${opts.manifests}: ` +
              (problems.length === 0 ? "all valid" : `${problems.length} problem(s)`));
  process.exit(problems.length === 0 ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();

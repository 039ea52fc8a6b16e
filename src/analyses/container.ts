/**
 * Which service, container or pod a cgroup path belongs to: a pure function of the path (no I/O), from the path
 * shapes the runtimes and systemd create (docs/cgroups.md has the table; `container.test.ts` one real path per
 * runtime and Kubernetes QoS class, with its source).
 *
 * - systemd units: the deepest `*.service` or `*.scope` component (`/system.slice/mariadb.service`).
 * - Docker: `docker-<id>.scope` (systemd driver), `/docker/<id>` (cgroupfs driver).
 * - containerd (CRI): `cri-containerd-<id>.scope`, or `…slice:cri-containerd:<id>` (its cgroup v1 systemd form).
 * - CRI-O: `crio-<id>.scope` (and `crio-conmon-<id>.scope`, the container's monitor), `crio-<id>` (cgroupfs).
 * - Podman: `libpod-<id>.scope` (optionally with a `/container` child), `libpod-payload-<id>`.
 * - Kubernetes pods: `kubepods[-burstable|-besteffort]-pod<uid>.slice` (systemd driver, `_` for `-` in the uid) or
 *   `/kubepods[/burstable|/besteffort]/pod<uid>` (cgroupfs driver); no QoS level means Guaranteed. A container
 *   directory below the pod named by a bare 64-hex id has runtime `kubernetes` (the path does not say which).
 *
 * Never throws: anything unexpected (odd characters, a path too long) yields `null` fields, not an error.
 */

export type ContainerRuntime = 'systemd' | 'docker' | 'containerd' | 'crio' | 'podman' | 'kubernetes';
export type PodQos = 'guaranteed' | 'burstable' | 'besteffort';

export interface ContainerInfo {
  runtime: ContainerRuntime;
  /** Container id (hex, as the runtime shows it), or null for a plain systemd unit or a pod-level cgroup. */
  id: string | null;
  /** The systemd unit the cgroup is in (deepest `.service`/`.scope`), or null. */
  unit: string | null;
  /** Kubernetes pod UID (with dashes), or null. */
  pod_uid: string | null;
  qos: PodQos | null;
}

/** Longest path parsed (the kernel's own cgroup path buffers are 4 KiB; tracepoints cut at 1 KiB). */
export const MAX_CGROUP_PATH = 4096;

const HEX_ID = /^[0-9a-f]{12,128}$/;
/** systemd unit names: ASCII letters, digits, `:-_.\@` (escapes are `\xNN`), 255 bytes at most. */
const UNIT = /^[A-Za-z0-9:_.\\@-]{1,255}\.(service|scope)$/;
const UID = /^[0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12}$/;
/** Static pods (mirror pods) have a 32-hex config hash as UID. */
const HASH_UID = /^[0-9a-f]{32}$/;

/** Component patterns naming a container: [regex, runtime]. The id is group 1. */
const CONTAINER_COMPONENTS: [RegExp, ContainerRuntime][] = [
  [/^docker-([0-9a-f]{12,128})\.scope$/, 'docker'],
  [/^cri-containerd-([0-9a-f]{12,128})\.scope$/, 'containerd'],
  [/^crio-conmon-([0-9a-f]{12,128})\.scope$/, 'crio'],
  [/^crio-([0-9a-f]{12,128})(?:\.scope)?$/, 'crio'],
  [/^libpod-conmon-([0-9a-f]{12,128})\.scope$/, 'podman'],
  [/^libpod-(?:payload-)?([0-9a-f]{12,128})(?:\.scope)?$/, 'podman'],
  [/^containerd-([0-9a-f]{12,128})\.scope$/, 'containerd'],
];

/** `<slice>:cri-containerd:<id>` and `<slice>:docker:<id>` (cgroup v1 systemd-driver form, one component). */
const COLON_FORM = /^([A-Za-z0-9_.\\@-]+\.slice):(cri-containerd|docker|crio):([0-9a-f]{12,128})$/;

function podOf(component: string): { uid: string; qos: PodQos } | undefined {
  // systemd driver: kubepods-pod<uid>.slice, kubepods-burstable-pod<uid>.slice (possibly under a prefix like
  // kubelet-kubepods-...). cgroupfs driver: pod<uid>.
  let m = /^(?:[A-Za-z0-9_]+-)?kubepods(?:-(burstable|besteffort))?-pod([0-9a-fA-F_]+)\.slice$/.exec(component);
  let qos: string | undefined;
  let raw: string | undefined;
  if (m !== null) {
    qos = m[1];
    raw = m[2];
  } else {
    m = /^pod([0-9a-fA-F-]+)$/.exec(component);
    if (m === null) return undefined;
    raw = m[1];
  }
  if (!UID.test(raw) && !HASH_UID.test(raw)) return undefined;
  const uid = raw.replace(/_/g, '-').toLowerCase();
  return { uid, qos: (qos ?? 'guaranteed') as PodQos };
}

/**
 * The service, container and pod of a cgroup path (relative to the hierarchy's root, starting with `/`), or null
 * when the path names none of them (the root, a plain slice, a hand-made group, or anything malformed).
 */
export function parseContainer(path: string | null | undefined): ContainerInfo | null {
  if (typeof path !== 'string' || path.length < 2 || path.length > MAX_CGROUP_PATH || path[0] !== '/') return null;
  const parts = path.split('/');
  let unit: string | null = null;
  let runtime: ContainerRuntime | null = null;
  let id: string | null = null;
  let podUid: string | null = null;
  let qos: PodQos | null = null;
  let kubepods = false;
  for (let i = 1; i < parts.length; i++) {
    const c = parts[i];
    if (c === '' || c.length > 255) continue;
    if (UNIT.test(c)) unit = c;
    const colon = COLON_FORM.exec(c);
    if (colon !== null) {
      const pod = podOf(colon[1]);
      if (pod !== undefined) {
        podUid = pod.uid;
        qos = pod.qos;
      }
      runtime = colon[2] === 'cri-containerd' ? 'containerd' : colon[2] === 'crio' ? 'crio' : 'docker';
      id = colon[3];
      continue;
    }
    let matched = false;
    for (const [re, rt] of CONTAINER_COMPONENTS) {
      const m = re.exec(c);
      if (m !== null) {
        runtime = rt;
        id = m[1];
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (/^(?:[A-Za-z0-9_]+-)?kubepods(?:\.slice)?$/.test(c)) {
      kubepods = true;
      continue;
    }
    if (kubepods && (c === 'burstable' || c === 'besteffort')) {
      qos = c;
      continue;
    }
    if (/kubepods-(burstable|besteffort)\.slice$/.test(c)) {
      kubepods = true;
      continue;
    }
    const pod = podOf(c);
    if (pod !== undefined && (kubepods || c.endsWith('.slice'))) {
      podUid = pod.uid;
      // cgroupfs driver: the QoS level is the parent directory (none = Guaranteed).
      qos = c.endsWith('.slice') ? pod.qos : (qos ?? 'guaranteed');
      kubepods = true;
      continue;
    }
    // `/docker/<id>` (cgroupfs driver) and a bare container id under a pod (Kubernetes cgroupfs driver).
    if (HEX_ID.test(c) && c.length >= 32) {
      if (i > 1 && parts[i - 1] === 'docker') {
        runtime = 'docker';
        id = c;
      } else if (podUid !== null && id === null) {
        runtime = 'kubernetes';
        id = c;
      }
    }
  }
  if (runtime === null && podUid !== null) runtime = 'kubernetes';
  if (runtime === null && unit !== null) runtime = 'systemd';
  if (runtime === null) return null;
  return { runtime, id, unit, pod_uid: podUid, qos: podUid !== null ? qos : null };
}

/**
 * Short label for `--group-by container` and the text output: `docker:0123456789ab` (12 hex digits, like `docker
 * ps`), `pod:<uid>` for a pod-level cgroup, or null when the path is no container (a plain unit is not one).
 */
export function containerLabel(c: ContainerInfo | null): string | null {
  if (c === null) return null;
  if (c.id !== null) return `${c.runtime}:${c.id.slice(0, 12)}`;
  if (c.pod_uid !== null) return `pod:${c.pod_uid}`;
  return null;
}

/**
 * Why `p` is not acceptable as a cgroup path from a user (`--cgroup`, `?cgroup=`), or undefined when it is: absolute,
 * at most 4096 bytes, printable (no control characters), no `.`/`..` components. A trailing `/` is allowed.
 */
export function cgroupPathProblem(p: string): string | undefined {
  if (p.length === 0 || p[0] !== '/') return 'a cgroup path starts with / (e.g. /system.slice/mariadb.service)';
  if (p.length > MAX_CGROUP_PATH) return `longer than ${MAX_CGROUP_PATH} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'control characters are not allowed';
  for (const c of p.split('/')) if (c === '.' || c === '..') return '. and .. components are not allowed';
  return undefined;
}

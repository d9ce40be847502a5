import type { JsonObject, JsonValue, KubeObject } from "./types.js";

/** How many of each kind the §11 estate of `n` objects holds. */
export interface EstateCounts {
  namespaces: number;
  backupStorages: number;
  repositories: number;
  backupConfigurations: number;
  backupSessions: number;
  snapshots: number;
  restoreSessions: number;
}

export function estateCounts(n: number): EstateCounts {
  const backupStorages = Math.floor(n * 0.002);
  const repositories = Math.floor(n * 0.02);
  const backupConfigurations = Math.floor(n * 0.02);
  const backupSessions = Math.floor(n * 0.4);
  const snapshots = Math.floor(n * 0.4);
  const restoreSessions = Math.max(
    0,
    n - backupStorages - repositories - backupConfigurations - backupSessions - snapshots,
  );
  return {
    namespaces: Math.min(20, Math.max(3, Math.ceil(n / 5000))),
    backupStorages,
    repositories,
    backupConfigurations,
    backupSessions,
    snapshots,
    restoreSessions,
  };
}

/** mulberry32: small, fast and good enough to make the estate look varied yet reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, width = 5): string => String(n).padStart(width, "0");

/** Whole-second RFC 3339, as Kubernetes writes metav1.Time. */
const iso = (epochSeconds: number): string =>
  new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Go's time.Duration.String() for a non-negative number of seconds (millisecond precision). */
export function goDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

/** The way KubeStash prints sizes: "806 B", "7.003 KiB", "12.222 MiB". */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${Math.floor(bytes)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(3)} ${units[i] ?? "TiB"}`;
}

/** `fieldsV1` shaped after the object itself, so managedFields weigh what real ones do. */
function fieldsOf(value: JsonValue): JsonObject {
  const out: JsonObject = {};
  if (value === null || typeof value !== "object") return out;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const key =
        typeof item === "object" && item !== null && !Array.isArray(item) && typeof item.name === "string"
          ? `k:{"name":"${item.name}"}`
          : `i:${i}`;
      out[key] = { ".": {}, ...fieldsOf(item) };
    });
    return out;
  }
  for (const [k, v] of Object.entries(value)) out[`f:${k}`] = fieldsOf(v);
  return out;
}

const EPOCH = Date.UTC(2025, 0, 1) / 1000;
const APPS = [
  "postgres",
  "mysql",
  "mongodb",
  "redis",
  "elasticsearch",
  "kafka",
  "minio",
  "wordpress",
  "gitea",
  "keycloak",
];
const PROVIDERS = ["s3", "gcs", "azure", "s3", "s3"];
const ADDONS = ["workload-addon", "postgres-addon", "mysql-addon", "mongodb-addon"];

interface Ctx {
  rand: () => number;
  counts: EstateCounts;
  nsNames: string[];
}

function uuid(rand: () => number): string {
  const hex = (n: number): string => {
    let s = "";
    while (s.length < n)
      s += Math.floor(rand() * 0x100000000)
        .toString(16)
        .padStart(8, "0");
    return s.slice(0, n);
  };
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[Math.floor(rand() * 4)] ?? "8"}${hex(3)}-${hex(12)}`;
}

function condition(type: string, reason: string, message: string, at: number): JsonObject {
  return { lastTransitionTime: iso(at), message, reason, status: "True", type };
}

/**
 * Objects of one kind have the same shape, so their fieldsV1 trees are computed once and
 * shared: stored objects are never mutated in place, and sharing keeps 100k objects affordable.
 */
const fieldsCache = new Map<string, { spec: JsonObject; status: JsonObject }>();

function sharedFields(obj: KubeObject): { spec: JsonObject; status: JsonObject } {
  const key = typeof obj.kind === "string" ? obj.kind : "";
  let f = fieldsCache.get(key);
  if (!f) {
    const meta = obj.metadata as JsonObject;
    f = {
      spec: {
        "f:metadata": fieldsOf({ labels: meta.labels ?? {}, annotations: meta.annotations ?? {} }),
        "f:spec": fieldsOf(obj.spec ?? {}),
      },
      status: { "f:status": fieldsOf(obj.status ?? {}) },
    };
    fieldsCache.set(key, f);
  }
  return f;
}

function withManagedFields(obj: KubeObject, at: number, specManager: string): KubeObject {
  const meta = obj.metadata as JsonObject;
  const fields = sharedFields(obj);
  const managed: JsonValue[] = [
    {
      apiVersion: obj.apiVersion ?? null,
      fieldsType: "FieldsV1",
      fieldsV1: fields.spec,
      manager: specManager,
      operation: "Update",
      time: iso(at),
    },
  ];
  if (obj.status !== undefined)
    managed.push({
      apiVersion: obj.apiVersion ?? null,
      fieldsType: "FieldsV1",
      fieldsV1: fields.status,
      manager: "kubestash",
      operation: "Update",
      subresource: "status",
      time: iso(at + 30),
    });
  meta.managedFields = managed;
  return obj;
}

const appOf = (b: number): string => `${APPS[b % APPS.length] ?? "app"}-${pad(b)}`;
const bcName = (b: number): string => `${appOf(b)}-backup`;
const repoName = (r: number): string => `${appOf(r)}-repo`;
const storageName = (k: number): string => `storage-${pad(k, 4)}`;
/** Namespace of backup configuration / repository number `b`. */
const nsIndex = (ctx: Ctx, b: number): number => b % ctx.counts.namespaces;

function namespace(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name,
      labels: { "kubernetes.io/metadata.name": name, "app.kubernetes.io/part-of": "kubestash-estate" },
    },
  };
}

function backupStorage(ctx: Ctx, k: number): KubeObject {
  const { rand, counts } = ctx;
  const provider = PROVIDERS[k % PROVIDERS.length] ?? "s3";
  const created = EPOCH + k * 60;
  const repositories: JsonValue[] = [];
  let total = 0;
  for (
    let r = k;
    r < counts.repositories && repositories.length < 10;
    r += Math.max(1, counts.backupStorages)
  ) {
    const size = Math.floor(rand() * 50 * 1024 ** 3);
    total += size;
    repositories.push({
      name: repoName(r),
      namespace: ctx.nsNames[nsIndex(ctx, r)] ?? "default",
      path: `/${appOf(r)}/data`,
      size: humanSize(size),
      synced: true,
    });
  }
  const obj: KubeObject = {
    apiVersion: "storage.kubestash.com/v1alpha1",
    kind: "BackupStorage",
    metadata: {
      name: storageName(k),
      namespace: "kubestash",
      uid: uuid(rand),
      generation: 1,
      creationTimestamp: iso(created),
      labels: { "app.kubernetes.io/managed-by": "kubestash.com", "storage.kubestash.com/provider": provider },
      annotations: { "kubestash.com/description": `object storage bucket ${k} for backups` },
      finalizers: ["kubestash.com/cleanup"],
    },
    spec: {
      storage: {
        provider,
        [provider]: {
          bucket: `kubestash-backups-${pad(k, 4)}`,
          prefix: `cluster-${k % 3}`,
          secretName: `${provider}-credentials`,
        },
      },
      default: k === 0,
      deletionPolicy: k % 4 === 0 ? "WipeOut" : "Delete",
      runtimeSettings: {},
      usagePolicy: { allowedNamespaces: { from: "All" } },
    },
    status: {
      conditions: [
        condition(
          "BackendInitialized",
          "BackendInitializationSucceeded",
          "Successfully initialized backend.",
          created + 5,
        ),
        condition("BackendSecretFound", "BackendSecretAvailable", "Backend secret exists.", created + 5),
      ],
      phase: rand() < 0.97 ? "Ready" : "NotReady",
      repositories,
      totalSize: humanSize(total),
    },
  };
  return withManagedFields(obj, created, "kubectl-client-side-apply");
}

function appRef(ctx: Ctx, b: number): JsonObject {
  return {
    apiGroup: "apps",
    kind: b % 3 === 0 ? "Deployment" : "StatefulSet",
    name: appOf(b),
    namespace: ctx.nsNames[nsIndex(ctx, b)] ?? "default",
  };
}

function repository(ctx: Ctx, r: number): KubeObject {
  const { rand, counts } = ctx;
  const ns = ctx.nsNames[nsIndex(ctx, r)] ?? "default";
  const storage = storageName(counts.backupStorages > 0 ? r % counts.backupStorages : 0);
  const created = EPOCH + 3600 + r * 30;
  const snapshots = Math.max(1, Math.round(counts.snapshots / Math.max(1, counts.repositories)));
  const obj: KubeObject = {
    apiVersion: "storage.kubestash.com/v1alpha1",
    kind: "Repository",
    metadata: {
      name: repoName(r),
      namespace: ns,
      uid: uuid(rand),
      generation: 1,
      creationTimestamp: iso(created),
      labels: {
        "app.kubernetes.io/managed-by": "kubestash.com",
        "kubestash.com/app-ref-kind": "StatefulSet",
        "kubestash.com/app-ref-name": appOf(r),
        "kubestash.com/app-ref-namespace": ns,
      },
      ownerReferences: [
        {
          apiVersion: "core.kubestash.com/v1alpha1",
          blockOwnerDeletion: true,
          controller: true,
          kind: "BackupConfiguration",
          name: bcName(r),
          uid: uuid(rand),
        },
      ],
      finalizers: ["kubestash.com/cleanup"],
    },
    spec: {
      appRef: appRef(ctx, r),
      deletionPolicy: "Delete",
      encryptionSecret: { name: "encrypt-secret", namespace: ns },
      path: `/${appOf(r)}/data`,
      storageRef: { name: storage, namespace: "kubestash" },
    },
    status: {
      componentPaths: [`repository/v1/daily/dump`],
      conditions: [
        condition(
          "RepositoryInitialized",
          "RepositoryInitializationSucceeded",
          "Successfully initialized repository",
          created + 10,
        ),
      ],
      integrity: rand() < 0.98,
      lastBackupTime: iso(created + 86_400),
      phase: "Ready",
      recentSnapshots: [
        {
          name: `${repoName(r)}-${bcName(r)}-latest`,
          phase: "Succeeded",
          session: "daily",
          size: humanSize(rand() * 2 * 1024 ** 3),
          snapshotTime: iso(created + 86_400),
        },
      ],
      size: humanSize(rand() * 20 * 1024 ** 3),
      snapshotCount: snapshots,
    },
  };
  return withManagedFields(obj, created, "kubestash");
}

function backupConfiguration(ctx: Ctx, b: number): KubeObject {
  const { rand, counts } = ctx;
  const ns = ctx.nsNames[nsIndex(ctx, b)] ?? "default";
  const storage = storageName(counts.backupStorages > 0 ? b % counts.backupStorages : 0);
  const created = EPOCH + 3600 + b * 30;
  const phaseRoll = rand();
  const addon = ADDONS[b % ADDONS.length] ?? "workload-addon";
  const obj: KubeObject = {
    apiVersion: "core.kubestash.com/v1alpha1",
    kind: "BackupConfiguration",
    metadata: {
      name: bcName(b),
      namespace: ns,
      uid: uuid(rand),
      generation: 1 + Math.floor(rand() * 3),
      creationTimestamp: iso(created),
      labels: {
        "app.kubernetes.io/name": APPS[b % APPS.length] ?? "app",
        "app.kubernetes.io/instance": appOf(b),
        "backup.example.com/tier": b % 2 === 0 ? "gold" : "silver",
      },
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({
          apiVersion: "core.kubestash.com/v1alpha1",
          kind: "BackupConfiguration",
          metadata: { name: bcName(b), namespace: ns },
        }),
      },
      finalizers: ["kubestash.com/cleanup"],
    },
    spec: {
      backends: [
        {
          name: "default-backend",
          retentionPolicy: { name: "keep-30d", namespace: "kubestash" },
          storageRef: { name: storage, namespace: "kubestash" },
        },
      ],
      sessions: [
        {
          addon: { name: addon, tasks: [{ name: "logical-backup", params: { paths: "/data" } }] },
          name: "daily",
          repositories: [
            {
              backend: "default-backend",
              directory: `/${appOf(b)}/data`,
              encryptionSecret: { name: "encrypt-secret", namespace: ns },
              name: repoName(b),
            },
          ],
          retryConfig: { delay: "1m0s", maxRetry: 2 },
          scheduler: {
            jobTemplate: {
              backoffLimit: 1,
              template: { controller: {}, metadata: {}, spec: { resources: {} } },
            },
            schedule: `${b % 60} ${b % 24} * * *`,
          },
          sessionHistoryLimit: 3,
        },
      ],
      target: appRef(ctx, b),
    },
    status: {
      conditions: [
        condition(
          "ValidationPassed",
          "ResourceValidationPassed",
          "Validation has been passed successfully.",
          created + 2,
        ),
      ],
      phase: phaseRoll < 0.9 ? "Ready" : phaseRoll < 0.97 ? "NotReady" : "Invalid",
      repositories: [{ name: repoName(b), phase: "Ready" }],
      sessions: [
        {
          conditions: [
            condition(
              "SchedulerEnsured",
              "SchedulerEnsured",
              "Scheduler has been ensured successfully.",
              created + 2,
            ),
          ],
          name: "daily",
        },
      ],
      targetFound: true,
    },
  };
  return withManagedFields(obj, created, "kubectl-client-side-apply");
}

interface SessionRef {
  b: number;
  name: string;
  ns: string;
  started: number;
}

function sessionRef(ctx: Ctx, i: number): SessionRef {
  const bcs = Math.max(1, ctx.counts.backupConfigurations);
  const b = i % bcs;
  const started = EPOCH + 86_400 + Math.floor(i / bcs) * 3600 + (b % 60) * 60;
  return { b, name: `${bcName(b)}-${started}`, ns: ctx.nsNames[nsIndex(ctx, b)] ?? "default", started };
}

function backupSession(ctx: Ctx, i: number): KubeObject {
  const { rand } = ctx;
  const s = sessionRef(ctx, i);
  const obj: KubeObject = {
    apiVersion: "core.kubestash.com/v1alpha1",
    kind: "BackupSession",
    metadata: {
      name: s.name,
      namespace: s.ns,
      uid: uuid(rand),
      generation: 1,
      creationTimestamp: iso(s.started),
      labels: {
        "kubestash.com/invoker-kind": "BackupConfiguration",
        "kubestash.com/invoker-name": bcName(s.b),
        "kubestash.com/session": "daily",
      },
      ownerReferences: [
        {
          apiVersion: "core.kubestash.com/v1alpha1",
          blockOwnerDeletion: true,
          controller: true,
          kind: "BackupConfiguration",
          name: bcName(s.b),
          uid: uuid(rand),
        },
      ],
      finalizers: ["kubestash.com/cleanup"],
    },
    spec: {
      invoker: { apiGroup: "core.kubestash.com", kind: "BackupConfiguration", name: bcName(s.b) },
      retryLeft: 2,
      session: "daily",
    },
    status: {
      conditions: [
        condition(
          "SnapshotsEnsured",
          "SuccessfullyEnsuredSnapshots",
          "Snapshots have been ensured successfully.",
          s.started,
        ),
        condition(
          "BackupExecutorEnsured",
          "SuccessfullyEnsuredBackupExecutor",
          "Backup Executor has been ensured successfully.",
          s.started,
        ),
        condition(
          "MetricsPushed",
          "SuccessfullyPushedMetrics",
          "Metrics have been pushed successfully.",
          s.started + 40,
        ),
      ],
      duration: goDuration(5 + rand() * 300),
      phase: "Succeeded",
      retentionPolicy: [
        { phase: "Applied", ref: { name: "keep-30d", namespace: "kubestash" }, repository: repoName(s.b) },
      ],
      snapshots: [
        {
          appRef: appRef(ctx, s.b),
          name: `${repoName(s.b)}-${s.name}`,
          phase: "Succeeded",
          repository: repoName(s.b),
        },
      ],
    },
  };
  return withManagedFields(obj, s.started, "kubestash");
}

function snapshot(ctx: Ctx, i: number): KubeObject {
  const { rand } = ctx;
  const s = sessionRef(ctx, i);
  const size = rand() * 4 * 1024 ** 3;
  const obj: KubeObject = {
    apiVersion: "storage.kubestash.com/v1alpha1",
    kind: "Snapshot",
    metadata: {
      name: `${repoName(s.b)}-${s.name}`,
      namespace: s.ns,
      uid: uuid(rand),
      generation: 1,
      creationTimestamp: iso(s.started + 1),
      labels: {
        "kubestash.com/app-ref-kind": "StatefulSet",
        "kubestash.com/app-ref-name": appOf(s.b),
        "kubestash.com/app-ref-namespace": s.ns,
        "kubestash.com/repo-name": repoName(s.b),
      },
      ownerReferences: [
        {
          apiVersion: "storage.kubestash.com/v1alpha1",
          blockOwnerDeletion: true,
          controller: true,
          kind: "Repository",
          name: repoName(s.b),
          uid: uuid(rand),
        },
      ],
      finalizers: ["kubestash.com/cleanup"],
    },
    spec: {
      appRef: appRef(ctx, s.b),
      backupSession: s.name,
      deletionPolicy: "Delete",
      repository: repoName(s.b),
      session: "daily",
      snapshotID: uuid(rand).replace(/-/g, "").slice(0, 26).toUpperCase(),
      type: "FullBackup",
      version: "v1",
    },
    status: {
      components: {
        dump: {
          driver: "Restic",
          duration: goDuration(2 + rand() * 120),
          integrity: true,
          path: "repository/v1/daily/dump",
          phase: "Succeeded",
          size: humanSize(size),
        },
      },
      conditions: [
        condition(
          "RecentSnapshotListUpdated",
          "SuccessfullyUpdatedRecentSnapshotList",
          "Recent snapshot list updated successfully",
          s.started + 1,
        ),
        condition(
          "SnapshotMetadataUploaded",
          "SuccessfullyUploadedSnapshotMetadata",
          "Metadata uploaded to backend successfully",
          s.started + 40,
        ),
      ],
      integrity: true,
      phase: "Succeeded",
      size: humanSize(size),
      snapshotTime: iso(s.started + 10),
      totalComponents: 1,
    },
  };
  return withManagedFields(obj, s.started, "kubestash");
}

function restoreSession(ctx: Ctx, j: number, nsIdx: number): KubeObject {
  const { rand, counts } = ctx;
  const ns = ctx.nsNames[nsIdx] ?? "default";
  const b = counts.backupConfigurations > 0 ? nsIdx % counts.backupConfigurations : 0;
  const created = EPOCH + 172_800 + j * 120;
  const roll = rand();
  const phase =
    roll < 0.8
      ? "Succeeded"
      : roll < 0.88
        ? "Running"
        : roll < 0.94
          ? "Failed"
          : roll < 0.98
            ? "Pending"
            : "Invalid";
  const status: JsonObject = {
    components: {
      dump: { duration: goDuration(3 + rand() * 90), phase: phase === "Succeeded" ? "Succeeded" : "Running" },
    },
    conditions: [
      condition(
        "ValidationPassed",
        "ResourceValidationPassed",
        "Validation has been passed successfully.",
        created + 1,
      ),
    ],
    dependencies: [{ found: true, kind: "Snapshot", name: "latest", namespace: ns }],
    phase,
    targetFound: true,
    totalComponents: 1,
  };
  if (phase === "Succeeded" || phase === "Failed") status.duration = goDuration(10 + rand() * 200);
  const obj: KubeObject = {
    apiVersion: "core.kubestash.com/v1alpha1",
    kind: "RestoreSession",
    metadata: {
      name: `restore-${pad(j)}`,
      namespace: ns,
      uid: uuid(rand),
      generation: 1,
      creationTimestamp: iso(created),
      labels: {
        "app.kubernetes.io/managed-by": "restore-automation",
        "restore.example.com/drill": j % 5 === 0 ? "true" : "false",
      },
      annotations: { "restore.example.com/ticket": `OPS-${10_000 + j}` },
    },
    spec: {
      addon: {
        name: ADDONS[b % ADDONS.length] ?? "workload-addon",
        tasks: [{ name: "logical-backup-restore" }],
      },
      dataSource: {
        components: ["dump"],
        encryptionSecret: { name: "encrypt-secret", namespace: ns },
        namespace: ns,
        repository: repoName(b),
        snapshot: "latest",
      },
      target: { apiGroup: "apps", kind: "StatefulSet", name: `${appOf(b)}-restored`, namespace: ns },
    },
    status,
  };
  return withManagedFields(obj, created, "kubectl-client-side-apply");
}

/**
 * The SPEC §11 KubeStash estate of `n` objects (plus the Namespaces they live in, which are
 * not counted), deterministic for a given `n` and `seed`. Within each resource the objects come
 * in (namespace, name) order, which keeps loading them into the simulator cheap.
 */
export function* generateKubeStashEstate(n: number, seed = 1): Generator<KubeObject> {
  const counts = estateCounts(n);
  const nsNames = Array.from({ length: counts.namespaces }, (_, i) => `team-${pad(i, 2)}`);
  const ctx: Ctx = { rand: prng(seed), counts, nsNames };
  yield namespace("kubestash");
  for (const ns of nsNames) yield namespace(ns);
  for (let k = 0; k < counts.backupStorages; k++) yield backupStorage(ctx, k);
  const byName = (a: number, b: number): number => (appOf(a) < appOf(b) ? -1 : appOf(a) > appOf(b) ? 1 : 0);
  const byNamespace = (count: number, nsOf: (i: number) => number, sortByApp = true): number[][] => {
    const groups: number[][] = nsNames.map(() => []);
    for (let i = 0; i < count; i++) groups[nsOf(i)]?.push(i);
    if (sortByApp) for (const g of groups) g.sort(byName);
    return groups;
  };
  for (const group of byNamespace(counts.repositories, (r) => nsIndex(ctx, r)))
    for (const r of group) yield repository(ctx, r);
  for (const group of byNamespace(counts.backupConfigurations, (b) => nsIndex(ctx, b)))
    for (const b of group) yield backupConfiguration(ctx, b);
  // Sessions sort by (namespace, configuration, start time); collect the order without objects.
  const bcs = Math.max(1, counts.backupConfigurations);
  const sessionOrder = (count: number): number[] => {
    const perBc: number[][] = Array.from({ length: bcs }, () => []);
    for (let i = 0; i < count; i++) perBc[i % bcs]?.push(i);
    const out: number[] = [];
    for (const group of byNamespace(bcs, (b) => nsIndex(ctx, b)))
      for (const b of group) out.push(...(perBc[b] ?? []));
    return out;
  };
  for (const i of sessionOrder(counts.backupSessions)) yield backupSession(ctx, i);
  for (const i of sessionOrder(counts.snapshots)) yield snapshot(ctx, i);
  for (const [nsIdx, group] of byNamespace(
    counts.restoreSessions,
    (j) => j % counts.namespaces,
    false,
  ).entries())
    for (const j of group) yield restoreSession(ctx, j, nsIdx);
}

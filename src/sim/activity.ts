import type { ApiServer } from "./server.js";
import { goDuration, humanSize } from "./synthetic.js";
import { getObject, getString, nameOf, namespaceOf, type JsonObject, type JsonValue } from "./types.js";

/**
 * Live activity for `demo`: what a KubeStash operator does to its objects, compressed in time.
 * BackupSessions (with their Snapshots) appear on a schedule and move Pending → Running →
 * Succeeded or Failed, repositories and storages grow, RestoreSessions come and go, and history
 * is pruned so the estate stays the same size however long the demo runs.
 */

export interface ActivityOptions {
  /** A new BackupSession every this many ms. Default 5000. */
  intervalMs?: number;
  /** Sessions kept per BackupConfiguration, oldest deleted first. Default 6. */
  historyLimit?: number;
  /** Fraction of backups that fail. Default 0.15. */
  failureRate?: number;
  random?: () => number;
  log?: (line: string) => void;
}

export interface Activity {
  stop(): void;
}

const CORE = "core.kubestash.com/v1alpha1";
const STORAGE = "storage.kubestash.com/v1alpha1";

const nowIso = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function condition(type: string, status: "True" | "False", reason: string, message: string): JsonObject {
  return { type, status, reason, message, lastTransitionTime: nowIso() };
}

function parseHumanSize(s: string | undefined): number {
  const m = s === undefined ? null : /^([\d.]+)\s*(B|KiB|MiB|GiB|TiB)$/.exec(s);
  if (!m) return 0;
  const exp = ["B", "KiB", "MiB", "GiB", "TiB"].indexOf(m[2] ?? "B");
  return Number(m[1]) * 1024 ** exp;
}

export function startActivity(server: ApiServer, options: ActivityOptions = {}): Activity {
  const interval = options.intervalMs ?? 5000;
  const history = options.historyLimit ?? 6;
  const failureRate = options.failureRate ?? 0.15;
  const rand = options.random ?? Math.random;
  const log = options.log ?? (() => undefined);
  const timers = new Set<NodeJS.Timeout>();
  const created = new Map<string, { session: string; snapshot: string; namespace: string }[]>();
  const restores: { name: string; namespace: string }[] = [];
  let tick = 0;
  let stopped = false;

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (stopped) return;
      try {
        fn();
      } catch (err) {
        // An object deleted by hand (kubectl) mid-lifecycle is fine: skip that step.
        log(`activity: ${err instanceof Error ? err.message : String(err)}`);
      }
    }, ms);
    t.unref();
    timers.add(t);
  };

  const patchStatus = (
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
    status: JsonObject,
  ): void => {
    server.patch({ apiVersion, kind, namespace, name }, "merge", { status });
  };

  function growRepository(namespace: string, repo: string, bytes: number): void {
    const obj = server.get({ apiVersion: STORAGE, kind: "Repository", namespace, name: repo });
    if (!obj) return;
    const status = getObject(obj, "status") ?? {};
    const size = parseHumanSize(getString(status, "size")) + bytes;
    const count = typeof status.snapshotCount === "number" ? status.snapshotCount : 0;
    patchStatus(STORAGE, "Repository", namespace, repo, {
      size: humanSize(size),
      snapshotCount: count + 1,
      lastBackupTime: nowIso(),
      phase: "Ready",
      integrity: true,
    });
    for (const storage of server.list(STORAGE, "BackupStorage")) {
      const st = getObject(storage, "status") ?? {};
      const repos = Array.isArray(st.repositories) ? st.repositories : [];
      let total = 0;
      let touched = false;
      const next: JsonValue[] = [];
      for (const r of repos) {
        if (typeof r !== "object" || r === null || Array.isArray(r)) {
          next.push(r);
          continue;
        }
        let s = parseHumanSize(getString(r, "size"));
        if (getString(r, "name") === repo && getString(r, "namespace") === namespace) {
          s += bytes;
          touched = true;
        }
        total += s;
        next.push({ ...r, size: humanSize(s) });
      }
      if (touched) {
        patchStatus(STORAGE, "BackupStorage", namespaceOf(storage), nameOf(storage), {
          repositories: next,
          totalSize: humanSize(total),
        });
      }
    }
  }

  function backup(): void {
    const configs = server
      .list(CORE, "BackupConfiguration")
      .filter((bc) => getString(getObject(bc, "status"), "phase") === "Ready");
    if (configs.length === 0) return;
    const bc = configs[Math.floor(rand() * configs.length)]!;
    const namespace = namespaceOf(bc);
    const bcName = nameOf(bc);
    const spec = getObject(bc, "spec") ?? {};
    const sessions = Array.isArray(spec.sessions) ? spec.sessions : [];
    const first = sessions[0];
    const session = typeof first === "object" && first !== null && !Array.isArray(first) ? first : {};
    const sessionName = getString(session, "name") ?? "default";
    const repos = Array.isArray(session.repositories) ? session.repositories : [];
    const repoEntry = repos[0];
    const repo =
      (typeof repoEntry === "object" && repoEntry !== null && !Array.isArray(repoEntry)
        ? getString(repoEntry, "name")
        : undefined) ?? `${bcName}-repo`;
    const target = getObject(spec, "target") ?? {};
    const stamp = Math.floor(Date.now() / 1000);
    const bsName = `${bcName}-${sessionName}-${stamp}`;
    const snapName = `${repo}-${bsName}`;
    const appRef = {
      apiGroup: getString(target, "apiGroup") ?? "apps",
      kind: getString(target, "kind") ?? "StatefulSet",
      name: getString(target, "name") ?? bcName,
      namespace: getString(target, "namespace") ?? namespace,
    };

    server.create({
      apiVersion: CORE,
      kind: "BackupSession",
      metadata: { name: bsName, namespace, labels: { "kubestash.com/invoker-name": bcName } },
      spec: {
        invoker: { apiGroup: "core.kubestash.com", kind: "BackupConfiguration", name: bcName },
        session: sessionName,
      },
      status: { phase: "Pending" },
    });
    server.create({
      apiVersion: STORAGE,
      kind: "Snapshot",
      metadata: { name: snapName, namespace, labels: { "kubestash.com/repo-name": repo } },
      spec: {
        appRef,
        backupSession: bsName,
        repository: repo,
        session: sessionName,
        type: "FullBackup",
        version: "v1",
        deletionPolicy: "Delete",
      },
      status: { phase: "Pending" },
    });
    log(`activity: BackupSession ${namespace}/${bsName} Pending`);
    const list = created.get(`${namespace}/${bcName}`) ?? [];
    list.push({ session: bsName, snapshot: snapName, namespace });
    created.set(`${namespace}/${bcName}`, list);
    while (list.length > history) {
      const old = list.shift()!;
      for (const [apiVersion, kind, name] of [
        [CORE, "BackupSession", old.session],
        [STORAGE, "Snapshot", old.snapshot],
      ] as const) {
        if (server.get({ apiVersion, kind, namespace: old.namespace, name }))
          server.delete({ apiVersion, kind, namespace: old.namespace, name });
      }
    }

    const started = Date.now();
    later(1500, () => {
      const snapRef = { name: snapName, phase: "Running", repository: repo, appRef };
      patchStatus(CORE, "BackupSession", namespace, bsName, {
        phase: "Running",
        conditions: [
          condition(
            "SnapshotsEnsured",
            "True",
            "SuccessfullyEnsuredSnapshots",
            "Snapshots have been ensured.",
          ),
        ],
        snapshots: [snapRef],
      });
      patchStatus(STORAGE, "Snapshot", namespace, snapName, { phase: "Running" });
    });
    later(3000 + Math.floor(rand() * 3000), () => {
      const failed = rand() < failureRate;
      const phase = failed ? "Failed" : "Succeeded";
      const bytes = failed ? 0 : Math.floor(1024 * 1024 * (1 + rand() * 200));
      const duration = goDuration((Date.now() - started) / 1000);
      patchStatus(CORE, "BackupSession", namespace, bsName, {
        phase,
        duration,
        conditions: [
          condition(
            "SnapshotsEnsured",
            "True",
            "SuccessfullyEnsuredSnapshots",
            "Snapshots have been ensured.",
          ),
          failed
            ? condition("BackupExecutorEnsured", "False", "FailedToEnsureBackupExecutor", "backup job failed")
            : condition("MetricsPushed", "True", "SuccessfullyPushedMetrics", "Metrics have been pushed."),
        ],
        snapshots: [{ name: snapName, phase, repository: repo, appRef }],
      });
      patchStatus(STORAGE, "Snapshot", namespace, snapName, {
        phase,
        ...(failed
          ? {}
          : { integrity: true, size: humanSize(bytes), snapshotTime: nowIso(), totalComponents: 1 }),
      });
      if (!failed) growRepository(namespace, repo, bytes);
      log(`activity: BackupSession ${namespace}/${bsName} ${phase}`);
    });
  }

  function restore(): void {
    const repos = server.list(STORAGE, "Repository");
    if (repos.length === 0) return;
    const repo = repos[Math.floor(rand() * repos.length)]!;
    const namespace = namespaceOf(repo);
    const name = `restore-${nameOf(repo)}-${Math.floor(Date.now() / 1000)}`;
    const appRef = getObject(getObject(repo, "spec") ?? {}, "appRef") ?? {};
    server.create({
      apiVersion: CORE,
      kind: "RestoreSession",
      metadata: { name, namespace },
      spec: {
        target: { ...appRef, name: `${getString(appRef, "name") ?? "app"}-restored` },
        dataSource: { namespace, repository: nameOf(repo), snapshot: "latest" },
        addon: { name: "workload-addon" },
      },
      status: { phase: "Pending" },
    });
    restores.push({ name, namespace });
    while (restores.length > history) {
      const old = restores.shift()!;
      if (server.get({ apiVersion: CORE, kind: "RestoreSession", ...old }))
        server.delete({ apiVersion: CORE, kind: "RestoreSession", ...old });
    }
    const started = Date.now();
    later(2000, () => {
      patchStatus(CORE, "RestoreSession", namespace, name, { phase: "Running", totalComponents: 1 });
    });
    later(5000, () => {
      const failed = rand() < failureRate;
      patchStatus(CORE, "RestoreSession", namespace, name, {
        phase: failed ? "Failed" : "Succeeded",
        duration: goDuration((Date.now() - started) / 1000),
        conditions: [
          condition(
            "RestoreExecutorEnsured",
            failed ? "False" : "True",
            failed ? "RestoreFailed" : "SuccessfullyEnsuredRestoreExecutor",
            failed ? "restore job failed" : "Restore executor ensured.",
          ),
        ],
      });
    });
    log(`activity: RestoreSession ${namespace}/${name} Pending`);
  }

  const loop = setInterval(() => {
    tick++;
    try {
      backup();
      if (tick % 4 === 0) restore();
    } catch (err) {
      log(`activity: ${err instanceof Error ? err.message : String(err)}`);
    }
  }, interval);
  loop.unref();

  return {
    stop(): void {
      stopped = true;
      clearInterval(loop);
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
